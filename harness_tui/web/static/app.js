// The harness-tui web page: renders one session's event stream and sends commands.
//
// Events arrive over a WebSocket as JSON arrays, in seq order. The page applies each
// event exactly once, in order: anything at or below `lastSeq` is a duplicate; anything
// past `lastSeq + 1` waits in `early` while the missing range is fetched from the events
// endpoint (after a STREAM_GAP marker, a dropped connection or a reload). So the page
// never shows text with holes in it, however slow it was.
"use strict";

(() => {
  const params = new URLSearchParams(location.search);
  const TOKEN = params.get("token") || "";
  const $ = (id) => document.getElementById(id);
  const ui = {
    log: $("log"), plan: $("plan"), queue: $("queue"), prompt: $("prompt"),
    send: $("send"), followUp: $("follow-up"), cancel: $("cancel"), conn: $("conn"),
    model: $("model"), mode: $("mode"), runState: $("run-state"), usage: $("usage"),
    picker: $("session-picker"), newSession: $("new-session"),
    modelInput: $("model-input"), modelList: $("model-list"),
    attach: $("attach"), attachInput: $("attach-input"), attachments: $("attachments"),
    composer: $("composer"),
  };

  let sessionId = null;
  let canCreate = false;
  const summaries = new Map(); // session id -> its summary from the API (modes, ...)
  let lastSeq = 0;
  let early = new Map();       // seq -> event that came before a missing range was filled
  let gapChain = Promise.resolve();
  let gapRequested = 0;        // the highest seq a fetch has been asked to reach
  let ws = null;
  let generation = 0;          // bumped when another session is opened: stale work stops
  let retries = 0;
  let running = false;
  let currentRun = null;
  // The dollar budgets (SESSION_STARTED) and what the current run spent, sub-agents too.
  const budget = { run: null, session: null, runCost: 0 };
  let messages = new Map();    // message_id -> {root, md, thinking, text, thoughts}
  let tools = new Map();       // tool_call_id -> card parts
  let permissions = new Map(); // request_id -> card
  let questions = new Map();   // request_id -> card of an MCP server's question
  const dirty = new Set();
  let frameRequested = false;

  // --- small helpers ---------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function stickToBottom(action) {
    const log = ui.log;
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 60;
    action();
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function append(node, container) {
    stickToBottom(() => (container || ui.log).appendChild(node));
    return node;
  }

  function line(kind, text, hint, container) {
    const node = el("div", `entry line ${kind}`, text);
    if (hint) node.appendChild(el("span", "hint", hint));
    return append(node, container);
  }

  const number = (n) => (n >= 10000 ? `${(n / 1000).toFixed(1)}k` : String(n));
  const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

  function brief(input) {
    for (const value of Object.values(input || {})) {
      if (typeof value === "string" && value.trim()) return value.slice(0, 120);
    }
    return "";
  }

  async function api(method, path, body) {
    const headers = { Authorization: `Bearer ${TOKEN}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (_) { /* not JSON */ }
    if (!response.ok) {
      const error = new Error((data && data.error && data.error.message) || `HTTP ${response.status}`);
      error.status = response.status;
      error.hint = data && data.error && data.error.hint;
      error.code = data && data.error && data.error.code;
      error.data = (data && data.error) || {};
      throw error;
    }
    return data;
  }

  // One of a session's images, as a Blob (its media type from the server).
  async function fetchImage(id, sha256) {
    const path = `/api/sessions/${encodeURIComponent(id)}/images/${encodeURIComponent(sha256)}`;
    const response = await fetch(path, { headers: { Authorization: `Bearer ${TOKEN}` } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return response.blob();
  }

  function setConn(state, text) {
    ui.conn.dataset.state = state;
    ui.conn.textContent = text || state.replace("-", " ");
  }

  function setRunning(value) {
    running = value;
    ui.runState.dataset.state = value ? "running" : "idle";
    ui.runState.textContent = value ? "running" : "idle";
    ui.cancel.disabled = !value;
    ui.send.textContent = value ? "Steer" : "Send";
    rewind.refresh();
  }

  // --- receiving events, in order --------------------------------------------------

  function receive(item) {
    switch (item.type) {
      case "STREAM_GAP": fillGap(item.to_seq); return;
      case "PONG": return;
      case "PROTOCOL_ERROR": console.warn("server:", item.message); return;
      default: ingest(item);
    }
  }

  function ingest(event) {
    if (event.seq <= lastSeq) return;
    if (event.seq > lastSeq + 1) {
      early.set(event.seq, event);
      fillGap(event.seq - 1);
      return;
    }
    apply(event);
    drainEarly();
  }

  function apply(event) {
    try {
      const handler = HANDLERS[event.type];
      if (handler) handler(event);
    } catch (error) {
      console.error("could not show", event, error);
    }
    lastSeq = event.seq;
    document.body.dataset.lastSeq = String(lastSeq);
  }

  function drainEarly() {
    for (let next = early.get(lastSeq + 1); next; next = early.get(lastSeq + 1)) {
      early.delete(next.seq);
      apply(next);
    }
    for (const seq of early.keys()) if (seq <= lastSeq) early.delete(seq);
  }

  // Fetch everything up to `until` that the page has not seen, one request at a time.
  function fillGap(until) {
    if (until <= gapRequested) return;
    gapRequested = until;
    const mine = generation;
    gapChain = gapChain
      .then(() => fetchUpTo(until, mine))
      .catch((error) => {
        if (mine !== generation) return;
        gapRequested = lastSeq;
        line("error", `could not fetch missed events: ${error.message}`, "reload the page to retry");
      });
  }

  async function fetchUpTo(until, mine) {
    if (lastSeq >= until) return;
    setConn("catching-up", "catching up");
    while (lastSeq < until && mine === generation) {
      const path = `/api/session/${encodeURIComponent(sessionId)}/events?since=${lastSeq}&until=${until}`;
      const data = await api("GET", path);
      if (mine !== generation) return;
      if (data.oldest_seq > lastSeq + 1) {
        const lost = Math.min(data.oldest_seq - 1, until);
        line("warning", `events ${lastSeq + 1}–${lost} are no longer kept by the server; earlier output is incomplete`);
        lastSeq = lost;
      }
      for (const event of data.events) ingest(event);
      drainEarly();
      if (!data.more || !data.events.length) break;
    }
    if (mine === generation) setConn(ws && ws.readyState === WebSocket.OPEN ? "live" : "reconnecting");
  }

  // --- the WebSocket -----------------------------------------------------------------

  // Compressed frames cost the server far less per browser; every current browser
  // can inflate them.
  const DEFLATE = typeof DecompressionStream === "function";
  let decoding = Promise.resolve();  // frames inflate asynchronously, but apply in order

  function inflate(buffer) {
    const stream = new Blob([buffer]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).text();
  }

  function connect() {
    const mine = generation;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const encoding = DEFLATE ? "&encoding=deflate" : "";
    const query = `token=${encodeURIComponent(TOKEN)}&since=${lastSeq}${encoding}`;
    const socket = new WebSocket(`${scheme}://${location.host}/ws/${encodeURIComponent(sessionId)}?${query}`);
    socket.binaryType = "arraybuffer";
    ws = socket;
    setConn(retries ? "reconnecting" : "connecting");
    socket.onopen = () => {
      if (mine !== generation) return;
      retries = 0;
      setConn("live");
    };
    socket.onmessage = (message) => {
      decoding = decoding.then(async () => {
        const text = typeof message.data === "string" ? message.data : await inflate(message.data);
        if (mine !== generation) return;
        let items;
        try { items = JSON.parse(text); } catch (_) { return; }
        for (const item of items) receive(item);
      }).catch((error) => console.error("bad frame", error));
    };
    socket.onclose = (closed) => {
      if (mine !== generation || ws !== socket) return;
      ws = null;
      if (closed.code === 1000) {
        setConn("ended", "session ended");
        setRunning(false);
        return;
      }
      retries += 1;
      setConn("reconnecting");
      setTimeout(() => reconnect(mine), Math.min(500 * 2 ** (retries - 1), 8000));
    };
  }

  async function reconnect(mine) {
    if (mine !== generation) return;
    try {
      const listing = await api("GET", "/api/sessions");
      if (!listing.sessions.some((s) => s.id === sessionId)) {
        setConn("ended", "session gone");
        return;
      }
    } catch (error) {
      if (error.status === 401) {
        setConn("failed", "token refused");
        line("error", "the server no longer accepts this page's token", "it was restarted: open the new URL it printed");
        return;
      }
      // The server is unreachable: keep trying, more slowly.
      retries += 1;
      setTimeout(() => reconnect(mine), Math.min(500 * 2 ** (retries - 1), 8000));
      return;
    }
    if (mine === generation) connect();
  }

  // --- rendering ---------------------------------------------------------------------

  // A message of the user's: its tag, text and images.
  function userEntry(event, tag) {
    const node = el("div", "entry user");
    node.appendChild(el("span", "tag", tag));
    node.appendChild(document.createTextNode(event.text));
    if (event.images && event.images.length) {
      node.appendChild(gallery.row(el, sessionId, event.images));
    }
    return append(node, containerFor(event));
  }

  function imageCount(images) {
    const n = (images || []).length;
    return n ? ` (+${n} image${n === 1 ? "" : "s"})` : "";
  }

  function message(id) {
    let entry = messages.get(id);
    if (!entry) {
      const root = el("div", "entry assistant streaming");
      root.dataset.id = id;
      entry = { root, md: el("div", "md"), thinking: null, text: "", thoughts: "" };
      root.appendChild(entry.md);
      append(root);
      messages.set(id, entry);
    }
    return entry;
  }

  function thinkingOf(entry) {
    if (!entry.thinking) {
      const box = el("details", "thinking");
      box.appendChild(el("summary", "", "thinking"));
      entry.thinking = box.appendChild(el("div"));
      entry.root.insertBefore(box, entry.md);
    }
    return entry.thinking;
  }

  function paint(entry) {
    dirty.add(entry);
    if (frameRequested) return;
    frameRequested = true;
    requestAnimationFrame(() => {
      frameRequested = false;
      stickToBottom(() => {
        for (const item of dirty) {
          item.md.innerHTML = Markdown.render(item.text);
          if (item.thinking) item.thinking.textContent = item.thoughts;
        }
      });
      dirty.clear();
    });
  }

  function toolCard(event) {
    const card = el("details", "entry tool");
    card.dataset.id = event.tool_call_id;
    card.dataset.status = "running";
    card.open = true;
    const summary = card.appendChild(el("summary"));
    summary.appendChild(el("span", "name", event.tool_name));
    summary.appendChild(el("span", "brief mono", brief(event.input)));
    summary.appendChild(el("span", "state"));
    const body = card.appendChild(el("div", "body"));
    body.appendChild(el("pre", "input", JSON.stringify(event.input, null, 2)));
    const parts = {
      card,
      output: body.appendChild(el("pre", "output")),
      result: body.appendChild(el("pre", "result")),
      nested: body.appendChild(el("div", "nested")),
    };
    parts.output.hidden = parts.result.hidden = true;
    return parts;
  }

  // Events of a sub-agent nest inside the card of the Task call that started it.
  function containerFor(event) {
    const parent = event.parent_tool_call_id && tools.get(event.parent_tool_call_id);
    return parent ? parent.nested : ui.log;
  }

  function finishTool(event, status, text, isError) {
    const parts = tools.get(event.tool_call_id);
    if (!parts) return;
    parts.card.dataset.status = status;
    parts.result.hidden = false;
    parts.result.className = isError ? "result error" : "result";
    parts.result.textContent = text;
    // The tool's own run time; a wait for the user's permission answer is not part of it.
    const waited = event.permission_wait_ms == null ? "" : ` · waited ${seconds(event.permission_wait_ms)} for permission`;
    parts.card.querySelector(".state").title = seconds(event.duration_ms) + waited;
    if (!isError && parts.nested.childElementCount === 0) parts.card.open = false;
  }

  function showPlan(entries) {
    ui.plan.replaceChildren();
    for (const entry of entries) {
      const item = ui.plan.appendChild(el("li", "", entry.status === "in_progress" && entry.active_form ? entry.active_form : entry.content));
      item.dataset.status = entry.status;
    }
    if (!entries.length) ui.plan.appendChild(el("li", "empty", "no plan yet"));
  }

  function refreshQueue() {
    const empty = ui.queue.querySelector(".empty");
    const items = ui.queue.querySelectorAll("li[data-id]").length;
    if (items && empty) empty.remove();
    if (!items && !empty) ui.queue.appendChild(el("li", "empty", "nothing queued"));
  }

  function permissionCard(event) {
    const card = el("div", "entry permission");
    card.dataset.request = event.request_id;
    const head = card.appendChild(el("div"));
    head.appendChild(el("strong", "", `Allow ${event.tool_name}? `));
    head.appendChild(el("span", "", event.reason));
    card.appendChild(el("pre", "mono", event.preview || JSON.stringify(event.input, null, 2)));
    const buttons = card.appendChild(el("div", "buttons"));
    const choices = [["allow_once", "Allow once"], ["allow_session", "Allow for this session"], ["deny", "Deny"]];
    for (const [decision, label] of choices) {
      const button = buttons.appendChild(el("button", "", label));
      button.type = "button";
      button.dataset.decision = decision;
      button.addEventListener("click", () => answer(event.request_id, decision, buttons));
    }
    card.appendChild(el("div", "answer"));
    return card;
  }

  async function answer(requestId, decision, buttons) {
    for (const button of buttons.querySelectorAll("button")) button.disabled = true;
    try {
      await api("POST", `/api/permission/${encodeURIComponent(sessionId)}`, { request_id: requestId, decision });
    } catch (error) {
      for (const button of buttons.querySelectorAll("button")) button.disabled = false;
      line("error", `could not answer: ${error.message}`, error.hint);
    }
  }

  // Images: those attached to the next message, and those of the conversation.
  const attachments = Attachments.create({
    el,
    chips: ui.attachments,
    prompt: ui.prompt,
    dropZone: ui.composer,
    button: ui.attach,
    input: ui.attachInput,
    complain: (text, hint) => line("error", text, hint),
  });
  const gallery = Attachments.gallery(fetchImage);

  // Rewind: the dialog, the transcript's REWOUND lines, the checkpoint marks (rewind.js).
  const rewind = Rewind.create({
    el,
    api,
    dialog: $("rewind"),
    openButton: $("rewind-open"),
    sessionId: () => sessionId,
    running: () => running,
    prompt: ui.prompt,
    line,
  });

  // Background tasks: the side panel, their transcript lines, the sandbox dialog (tasks.js).
  const tasks = Tasks.create({
    el,
    api,
    list: $("tasks"),
    openButton: $("sandbox-open"),
    dialog: $("sandbox"),
    sessionId: () => sessionId,
    line,
  });

  // Every open session of the user, wherever it runs: the Agents panel (agents.js).
  const agents = Agents.create({
    el,
    api,
    panel: $("agents-panel"),
    list: $("agents"),
    open: (id) => openSession(id),
    say: (text, hint) => line("error", text, hint),
  });

  // What MCP servers ask (sampling, elicitation): cards from questions.js.
  const questionCards = Questions.create({
    el,
    post: (kind, body) => api("POST", `/api/${kind}/${encodeURIComponent(sessionId)}`, body),
  });

  function ask(card, event) {
    questions.set(event.request_id, card);
    append(card, containerFor(event));
  }

  // The mode select offers what the server lets a browser choose (bypassPermissions
  // only in a session that started in it), and always shows the current mode.
  function showMode(mode) {
    const summary = summaries.get(sessionId);
    const modes = summary ? [...summary.modes] : ["default", "acceptEdits", "plan"];
    if (!modes.includes(mode)) modes.push(mode);
    ui.mode.replaceChildren(...modes.map((m) => { const o = el("option", "", m); o.value = m; return o; }));
    ui.mode.value = mode;
    ui.mode.dataset.mode = mode;
    ui.mode.hidden = false;
  }

  function pullBackButton(steeringId) {
    const button = el("button", "pull-back", "pull back");
    button.type = "button";
    button.title = "back into the prompt box (Alt+Up: the newest)";
    button.addEventListener("click", () => pullBack(steeringId));
    return button;
  }

  const HANDLERS = {
    SESSION_STARTED(e) {
      ui.model.textContent = e.model;
      ui.model.title = `model · ${e.cwd} (click to switch)`;
      showMode(e.permission_mode);
      budget.run = e.run_budget_usd ?? null;
      budget.session = e.session_budget_usd ?? null;
    },
    SESSION_ENDED() { setRunning(false); },
    NOTICE(e) { line(e.level === "warning" ? "warning" : "notice", e.message); },
    MODEL_CHANGED(e) { ui.model.textContent = e.model; line("notice", `model: ${e.model}`); },
    MODE_CHANGED(e) { showMode(e.mode); line("notice", `permission mode: ${e.mode}`); },
    PROMPT_RECEIVED(e) {
      currentRun = e.run_id;
      budget.runCost = 0;
      setRunning(true);
      userEntry(e, e.source === "follow_up" ? "follow-up" : "you");
    },
    TOKEN_DELTA(e) { const m = message(e.message_id); m.text += e.text; paint(m); },
    THINKING_DELTA(e) { const m = message(e.message_id); thinkingOf(m); m.thoughts += e.text; paint(m); },
    MESSAGE_COMPLETED(e) {
      const m = message(e.message.id);
      const blocks = e.message.content;
      m.text = blocks.filter((b) => b.type === "text").map((b) => b.text).join("");
      const thoughts = blocks.filter((b) => b.type === "thinking").map((b) => b.text).join("");
      if (thoughts) { thinkingOf(m); m.thoughts = thoughts; }
      m.root.classList.remove("streaming");
      m.root.classList.toggle("interrupted", Boolean(e.message.interrupted));
      if (!m.text && !thoughts) m.root.hidden = true;
      paint(m);
    },
    TOOL_CALL_STARTED(e) {
      const parts = toolCard(e);
      tools.set(e.tool_call_id, parts);
      append(parts.card, containerFor(e));
    },
    TOOL_CALL_PROGRESS(e) {
      const parts = tools.get(e.tool_call_id);
      if (!parts) return;
      if (e.output) { parts.output.hidden = false; parts.output.textContent += e.output; }
      if (e.status) parts.card.querySelector(".state").title = e.status;
    },
    TOOL_CALL_COMPLETED(e) { finishTool(e, "completed", e.display || e.content, false); },
    TOOL_CALL_FAILED(e) { finishTool(e, "failed", `${e.kind}: ${e.display || e.error}`, true); },
    HOOK_EXECUTED(e) {
      const parts = e.tool_call_id && tools.get(e.tool_call_id);
      const text = `hook ${e.hook_event}: ${e.hook}${e.decision ? ` → ${e.decision}` : ""}${e.error ? ` (error: ${e.error})` : ""}`;
      line("hook", text, e.output || undefined, parts ? parts.nested : containerFor(e));
    },
    HOOK_DENIED(e) {
      const parts = e.tool_call_id && tools.get(e.tool_call_id);
      line("error", `hook ${e.hook_event}: ${e.hook} denied`, e.reason, parts ? parts.nested : containerFor(e));
    },
    PERMISSION_REQUESTED(e) {
      const card = permissionCard(e);
      permissions.set(e.request_id, card);
      append(card, containerFor(e));
    },
    PERMISSION_RESOLVED(e) {
      const card = permissions.get(e.request_id);
      if (!card) return;
      card.dataset.resolved = e.decision;
      card.querySelector(".answer").textContent = `→ ${e.decision.replace("_", " ")}${e.reason ? `: ${e.reason}` : ""}`;
    },
    SAMPLING_REQUESTED(e) { ask(questionCards.sampling(e), e); },
    SAMPLING_RESOLVED(e) {
      const card = questions.get(e.request_id);
      if (card) questionCards.resolved(card, e.decision, e.reason, e.response);
    },
    ELICITATION_REQUESTED(e) { ask(questionCards.elicitation(e), e); },
    ELICITATION_RESOLVED(e) {
      const card = questions.get(e.request_id);
      if (card) questionCards.resolved(card, e.action);
    },
    CHECKPOINT_CREATED(e) { rewind.checkpoint(e, e.tool_call_id && tools.get(e.tool_call_id) && tools.get(e.tool_call_id).card); },
    REWOUND(e) { rewind.rewound(e, containerFor(e)); },
    MEMORY_UPDATED(e) {
      // Every memory write is seen, the model's and the user's (core/memory/tool.py describe).
      const who = e.by === "model" ? "The model" : "You";
      const did = { add: "kept", update: "updated", remove: "forgot", topic: "wrote the topic" }[e.action] || e.action;
      line("notice memory", `${who} ${did} in ${e.scope} memory: ${e.text} (${e.entry_id})`, "", containerFor(e));
    },
    TASK_STARTED(e) { tasks.started(e); },
    TASK_ENDED(e) { tasks.ended(e, containerFor(e)); },
    SANDBOX_BLOCKED(e) {
      const parts = e.tool_call_id && tools.get(e.tool_call_id);
      tasks.blocked(e, parts ? parts.nested : containerFor(e));
    },
    PLAN_GENERATED(e) { showPlan(e.entries); },
    PLAN_UPDATED(e) { showPlan(e.entries); },
    STEERING_QUEUED(e) {
      const item = ui.queue.appendChild(el("li"));
      item.appendChild(el("span", "text", `${e.kind === "follow_up" ? "follow-up" : "steer"}: ${e.text}${imageCount(e.images)}`));
      item.appendChild(pullBackButton(e.steering_id));
      item.dataset.id = e.steering_id;
      refreshQueue();
    },
    STEERING_DELIVERED(e) {
      const item = ui.queue.querySelector(`li[data-id="${CSS.escape(e.steering_id)}"]`);
      if (item) item.remove();
      refreshQueue();
      if (e.kind === "steer") userEntry(e, `steered (turn ${e.turn})`);
    },
    STEERING_WITHDRAWN(e) {
      const item = ui.queue.querySelector(`li[data-id="${CSS.escape(e.steering_id)}"]`);
      if (item) item.remove();
      refreshQueue();
    },
    USAGE_UPDATED(e) {
      const parts = [`${number(e.total.input_tokens)} in`, `${number(e.total.output_tokens)} out`];
      budget.runCost += e.cost_usd || 0;
      const spent = e.total_cost_usd || 0;
      if (budget.session != null) parts.push(`$${spent.toFixed(4)} / $${budget.session.toFixed(2)}`);
      else if (e.total_cost_usd != null) parts.push(`$${spent.toFixed(4)}`);
      if (budget.run != null) parts.push(`run $${budget.runCost.toFixed(4)} / $${budget.run.toFixed(2)}`);
      if (e.context_window) parts.push(`${Math.round((100 * e.context_tokens) / e.context_window)}% context`);
      ui.usage.textContent = parts.join(" · ");
    },
    RETRYING(e) { line("retry", `retrying (${e.attempt}/${e.max_attempts}) in ${e.delay_s}s: ${e.reason}`); },
    CONTEXT_COMPACTED(e) { line("notice", `context compacted (${e.trigger}): ${number(e.tokens_before)} → ${number(e.tokens_after)} tokens`); },
    ERROR(e) { line("error", e.message, e.hint || undefined, containerFor(e)); },
    BUDGET_EXCEEDED(e) { line("warning", e.message, undefined, containerFor(e)); },
    SUBAGENT_STARTED(e) {
      const parts = tools.get(e.tool_call_id);
      line("notice", `sub-agent ${e.agent_name} started${e.description ? `: ${e.description}` : ""}`, undefined, parts ? parts.nested : undefined);
    },
    SUBAGENT_COMPLETED(e) {
      const parts = tools.get(e.tool_call_id);
      line("notice", `sub-agent ${e.agent_name} ${e.status} in ${seconds(e.duration_ms)}`, undefined, parts ? parts.nested : undefined);
    },
    RUN_COMPLETED(e) {
      if (e.parent_tool_call_id) return;
      if (e.run_id === currentRun) setRunning(false);
      const cost = e.cost_usd != null ? ` · $${e.cost_usd.toFixed(4)}` : "";
      if (e.is_error) line("error", `run failed after ${e.turns} turn(s): ${e.error || e.stop_reason}`);
      else line("done", `done · ${e.turns} turn(s) · ${seconds(e.duration_ms)}${cost}`);
    },
    RUN_CANCELLED(e) {
      if (e.parent_tool_call_id) return;
      if (e.run_id === currentRun) setRunning(false);
      line("warning", `cancelled after ${e.turns} turn(s): ${e.reason}`);
    },
  };

  // --- commands ----------------------------------------------------------------------

  async function ensureSession() {
    if (sessionId) return true;
    if (!canCreate) return false;
    const made = await api("POST", "/api/session", {});
    addChoice(made.session);
    openSession(made.session.id);
    return true;
  }

  async function send(kind) {
    const text = ui.prompt.value;
    if (!text.trim() && !attachments.count) return;
    try {
      if (!(await ensureSession())) return;
      const where = encodeURIComponent(sessionId);
      const body = { text };
      if (attachments.count) body.images = await attachments.payload();
      if (kind === "follow_up") {
        await api("POST", `/api/steer/${where}`, { ...body, kind: "follow_up" });
      } else if (!running) {
        try {
          await api("POST", `/api/query/${where}`, body);
        } catch (error) {
          if (error.status !== 409) throw error;  // a run started meanwhile: steer it
          await api("POST", `/api/steer/${where}`, { ...body, kind: "steer" });
        }
      } else {
        await api("POST", `/api/steer/${where}`, { ...body, kind: "steer" });
      }
      ui.prompt.value = "";
      attachments.clear();
    } catch (error) {
      line("error", `could not send: ${error.message}`, error.hint);
    }
  }

  // A message back from the queue: its text into the prompt box, its images as chips.
  function takeBack(items) {
    for (const item of items) {
      for (const image of item.images || []) {
        fetchImage(sessionId, image.sha256).then(
          (blob) => attachments.add(blob, image.name),
          (error) => line("error", `could not take back ${image.name}: ${error.message}`),
        );
      }
    }
  }

  async function cancel() {
    if (!sessionId) return;
    try {
      const result = await api("POST", `/api/cancel/${encodeURIComponent(sessionId)}`);
      const returned = result.returned.map((m) => m.text);
      takeBack(result.returned);
      if (returned.length) {
        // Messages that never reached the model go back to the input, as in the TUI.
        ui.prompt.value = [...returned, ui.prompt.value].filter(Boolean).join("\n");
      }
    } catch (error) {
      line("error", `could not cancel: ${error.message}`, error.hint);
    }
  }

  // A queued message back into the prompt box (the newest when `steeringId` is null);
  // it leaves the queue on the STEERING_WITHDRAWN event, in every page showing it.
  async function pullBack(steeringId) {
    if (!sessionId) return;
    try {
      const body = steeringId ? { steering_id: steeringId } : undefined;
      const item = await api("POST", `/api/pullback/${encodeURIComponent(sessionId)}`, body);
      const current = ui.prompt.value.trimEnd();
      ui.prompt.value = current ? `${current}\n${item.text}` : item.text;
      takeBack([item]);
      ui.prompt.focus();
    } catch (error) {
      line("error", `could not pull back: ${error.message}`, error.hint);
    }
  }

  async function switchMode() {
    const wanted = ui.mode.value;
    try {
      await api("POST", `/api/mode/${encodeURIComponent(sessionId)}`, { mode: wanted });
    } catch (error) {
      ui.mode.value = ui.mode.dataset.mode;  // the header shows the session's mode
      line("error", `could not switch the mode: ${error.message}`, error.hint);
    }
  }

  function closeModelInput() {
    ui.modelInput.hidden = true;
    ui.modelInput.value = "";
  }

  async function openModelInput() {
    if (!sessionId) return;
    if (!ui.modelInput.hidden) { closeModelInput(); return; }
    ui.modelInput.hidden = false;
    ui.modelInput.focus();
    try {
      const listing = await api("GET", `/api/models?session=${encodeURIComponent(sessionId)}`);
      ui.modelList.replaceChildren(...listing.models.map((m) => {
        const option = el("option");
        option.value = m.name;
        option.label = [m.provider, m.price, m.key_present ? "" : m.note].filter(Boolean).join(" · ");
        return option;
      }));
    } catch (error) {
      line("error", `could not list the models: ${error.message}`, error.hint);
    }
  }

  // The header changes on the MODEL_CHANGED event (at once, or at the next turn of a run).
  async function switchModel() {
    const name = ui.modelInput.value.trim();
    if (!name) { closeModelInput(); return; }
    try {
      const result = await api("POST", `/api/model/${encodeURIComponent(sessionId)}`, { model: name });
      closeModelInput();
      if (result.applies === "next_turn") line("notice", `model ${result.model} from the next turn`);
    } catch (error) {
      line("error", `could not switch the model: ${error.message}`, error.hint);
    }
  }

  ui.model.addEventListener("click", openModelInput);
  ui.modelInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); switchModel(); }
    if (event.key === "Escape") { event.stopPropagation(); closeModelInput(); }
  });
  ui.mode.addEventListener("change", switchMode);
  ui.send.addEventListener("click", () => send("auto"));
  ui.followUp.addEventListener("click", () => send("follow_up"));
  ui.cancel.addEventListener("click", cancel);
  let lastEscape = 0;
  ui.prompt.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !running && !ui.prompt.value.trim()) {
      // Esc Esc in an empty prompt box opens the rewind dialog, as in the TUI.
      const now = Date.now();
      // preventDefault: the same key press would otherwise close the dialog it opened.
      event.preventDefault();
      if (now - lastEscape < 600) { lastEscape = 0; rewind.open(); } else lastEscape = now;
      return;
    }
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      send(event.altKey ? "follow_up" : "auto");
    } else if (event.key === "ArrowUp" && event.altKey && ui.queue.querySelector("li[data-id]")) {
      event.preventDefault();
      pullBack(null);
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && running && !rewind.isOpen && !tasks.isOpen) cancel();  // Esc in a dialog closes it
  });

  // --- sessions ----------------------------------------------------------------------

  function addChoice(session) {
    summaries.set(session.id, session);
    const option = el("option", "", `${session.id.slice(0, 12)} · ${session.model}`);
    option.value = session.id;
    ui.picker.appendChild(option);
  }

  function openSession(id) {
    generation += 1;
    if (ws) { const old = ws; ws = null; old.close(); }
    sessionId = id;
    lastSeq = 0;
    gapRequested = 0;
    early = new Map();
    messages = new Map();
    tools = new Map();
    permissions = new Map();
    questions = new Map();
    retries = 0;
    setRunning(false);
    ui.log.replaceChildren();
    showPlan([]);
    ui.queue.replaceChildren();
    refreshQueue();
    ui.usage.textContent = "";
    closeModelInput();
    rewind.reset();
    tasks.reset();
    const summary = summaries.get(id);
    if (summary) showMode(summary.mode);  // until the events say otherwise
    else ui.mode.hidden = true;
    ui.picker.value = id;
    const url = new URL(location.href);
    url.searchParams.set("session", id);
    history.replaceState(null, "", url);
    connect();
  }

  async function start() {
    if (!TOKEN) {
      setConn("failed", "no token");
      line("error", "This page needs its token.", "open the URL with ?token= that harness-tui printed");
      return;
    }
    let listing;
    try {
      listing = await api("GET", "/api/sessions");
    } catch (error) {
      setConn("failed", "refused");
      line("error", `the server refused: ${error.message}`, error.hint);
      return;
    }
    canCreate = listing.can_create;
    for (const session of listing.sessions) summaries.set(session.id, session);
    if (listing.scope === "all") {
      agents.start();
      ui.picker.hidden = false;
      listing.sessions.forEach(addChoice);
      ui.picker.addEventListener("change", () => openSession(ui.picker.value));
    }
    if (canCreate) {
      ui.newSession.hidden = false;
      ui.newSession.addEventListener("click", async () => {
        try {
          const made = await api("POST", "/api/session", {});
          addChoice(made.session);
          openSession(made.session.id);
        } catch (error) {
          line("error", `could not start a session: ${error.message}`, error.hint);
        }
      });
    }
    const wanted = params.get("session");
    const chosen = listing.sessions.find((s) => s.id === wanted) || listing.sessions[0];
    if (chosen) {
      openSession(chosen.id);
    } else {
      setConn("idle", "no session");
      line("notice", canCreate ? "No session yet: type a prompt to start one." : "No session.");
    }
  }

  // For tests and the curious: the page's position in the stream.
  window.harness = {
    get lastSeq() { return lastSeq; },
    get sessionId() { return sessionId; },
    get socket() { return ws; },
  };

  start();
})();
