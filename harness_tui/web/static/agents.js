// The agent view on the page: every open session of the user (GET /api/agents, the live
// registry), whatever runs it — this server, a TUI in a terminal, -p, a background
// session, an editor over ACP — in a side panel, grouped Needs you / Working / Idle, read
// again every REFRESH_MS. A row: its name (or last prompt), project folder and worktree
// branch, front end, model, state (a waiting one's question), cost, last activity. A
// waiting permission (or trust) question gets Allow / Always / Deny buttons (POST
// /api/agents/ID/answer), a running session a Stop button (POST /api/agents/ID/stop):
// both go through that session's control socket, wherever it runs. A session of this
// server opens in the page when its name is clicked. Only the server's token sees the
// list; with a session's token the panel stays hidden. Everything shown is set as text.
"use strict";

const Agents = (() => {
  //: How often the list is read again, in milliseconds.
  const REFRESH_MS = 1500;
  const GROUPS = [["waiting", "Needs you"], ["running", "Working"], ["idle", "Idle"]];
  const groupOf = (state) => (state === "waiting" || state === "running" ? state : "idle");
  const clip = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
  const lastPart = (path) => String(path || "").split("/").filter(Boolean).pop() || "/";

  function ago(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return `${s}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)}m ago`;
    return `${Math.floor(s / 3600)}h ago`;
  }

  // `el(tag, className, text)` makes elements; `api(method, path, body)` calls the server
  // (throws an Error with .hint); `panel` is the section (hidden until the list comes),
  // `list` its <div>; `open(id)` shows a session of this server in the page; `say(text,
  // kind)` tells the user something went wrong.
  function create({ el, api, panel, list, open, say }) {
    let timer = null;
    let busy = false;

    function stateText(agent) {
      if (agent.state === "waiting" && agent.question) return `waiting: ${agent.question.summary}`;
      return agent.state;
    }

    async function act(path, body, what) {
      try {
        await api("POST", path, body);
      } catch (error) {
        say(`${what}: ${error.message}`, error.hint);
      }
      refresh();
    }

    function buttons(agent) {
      const row = el("div", "actions");
      const where = encodeURIComponent(agent.session_id);
      const question = agent.question;
      if (agent.state === "waiting" && question && ["permission", "trust", undefined].includes(question.kind)) {
        for (const [label, decision] of [["Allow", "allow_once"], ["Always", "allow_always"], ["Deny", "deny"]]) {
          const button = el("button", `answer ${decision}`, label);
          button.type = "button";
          button.dataset.decision = decision;
          button.addEventListener("click", () => {
            button.disabled = true;
            act(`/api/agents/${where}/answer`, { request_id: question.request_id, decision },
                `Could not answer ${question.summary}`);
          });
          row.appendChild(button);
        }
      } else if (agent.state === "waiting") {
        row.appendChild(el("span", "hint", "answer it where it runs"));
      }
      if (agent.state === "running" || agent.state === "waiting") {
        const stop = el("button", "stop", "Stop");
        stop.type = "button";
        stop.addEventListener("click", () => {
          stop.disabled = true;
          act(`/api/agents/${where}/stop`, undefined, "Could not stop it");
        });
        row.appendChild(stop);
      }
      return row;
    }

    function card(agent, now) {
      const item = el("div", "agent");
      item.dataset.session = agent.session_id;
      item.dataset.state = agent.state;
      item.dataset.frontEnd = agent.front_end;
      const head = el("div", "head");
      const title = el(agent.here ? "a" : "span", "title", clip(agent.name || agent.detail || agent.session_id, 60));
      if (agent.here) {
        title.href = "#";
        title.title = "open it here";
        title.addEventListener("click", (event) => { event.preventDefault(); open(agent.session_id); });
      }
      head.appendChild(title);
      head.appendChild(el("span", "front-end", agent.front_end));
      item.appendChild(head);
      const project = lastPart(agent.cwd) + (agent.branch ? ` · ${agent.branch}` : "");
      const cost = agent.cost_usd ? ` · $${agent.cost_usd.toFixed(2)}` : "";
      item.appendChild(el("div", "where", `${project} · ${agent.model}${cost} · ${ago(now - agent.last_activity)}`));
      item.appendChild(el("div", "state", clip(stateText(agent), 90)));
      if (agent.reply && agent.state !== "waiting") item.appendChild(el("div", "reply", clip(agent.reply, 90)));
      item.appendChild(buttons(agent));
      return item;
    }

    function show(listing) {
      panel.hidden = false;
      list.replaceChildren();
      const agents = listing.agents || [];
      if (!agents.length) {
        list.appendChild(el("div", "empty", "no open session"));
        return;
      }
      for (const [group, title] of GROUPS) {
        const members = agents.filter((a) => groupOf(a.state) === group);
        if (!members.length) continue;
        const section = el("div", "group");
        section.dataset.group = group;
        section.appendChild(el("h3", "", `${title} (${members.length})`));
        for (const agent of members) section.appendChild(card(agent, listing.now));
        list.appendChild(section);
      }
    }

    async function refresh() {
      if (busy) return;
      busy = true;
      try {
        show(await api("GET", "/api/agents"));
      } catch (error) {
        if (error.status === 403) {  // a session's token: not for this list
          panel.hidden = true;
          stop();
          return;
        }
      } finally {
        busy = false;
      }
    }

    function start() {
      if (timer) return;
      refresh();
      timer = setInterval(refresh, REFRESH_MS);
    }

    function stop() {
      if (timer) clearInterval(timer);
      timer = null;
    }

    return { start, stop, refresh };
  }

  return { create, ago, groupOf };
})();
