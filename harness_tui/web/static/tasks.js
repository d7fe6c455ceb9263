// Background tasks and the Bash sandbox on the page, as the TUI shows them: a panel in
// the side bar lists the session's background tasks from the live events (TASK_STARTED,
// TASK_ENDED), a running one with its command, the time since it started (ticking each
// second), whether it runs in the sandbox, and a Stop button (POST
// /api/tasks/ID/TASK/stop: its whole process group ends). An ended task stays listed
// with its status for KEEP_ENDED_MS, then leaves the panel; the transcript keeps a line
// for it. SANDBOX_BLOCKED is a transcript line too (what the sandbox refused, and
// whether the user allowed it after all). The Sandbox button opens a dialog with the
// status lines of GET /api/sandbox/ID (what /sandbox prints in the TUI). Times are the
// server's (event timestamps); the page's clock is set right by GET /api/tasks's "now".
// Everything shown is set as text, never as markup: it comes from the server.
"use strict";

const Tasks = (() => {
  //: How long an ended task stays in the panel, in milliseconds.
  const KEEP_ENDED_MS = 60_000;
  const clip = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
  const oneLine = (text) => String(text || "").replace(/\s+/g, " ").trim();
  const two = (n) => String(n).padStart(2, "0");

  // "7s", "2m 05s", "1h 02m": time since a task started.
  function elapsed(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    if (h) return `${h}h ${two(m)}m`;
    if (m) return `${m}m ${two(s)}s`;
    return `${s}s`;
  }

  // A TASK_ENDED status in words: "completed", "failed (exit 2)", "stopped", "killed".
  function outcome(status, exitCode) {
    if (status === "failed" && exitCode != null) return `failed (exit ${exitCode})`;
    return status;
  }

  // What a SANDBOX_BLOCKED event says in the transcript.
  function refusal(event) {
    const what = event.kind === "network"
      ? `a connection to ${event.target}`
      : `a write to ${event.target}`;
    return `sandbox refused ${what}${event.allowed ? " — allowed by the user" : ""}`;
  }

  // `el(tag, className, text)` makes elements; `api(method, path, body)` calls the
  // server (throws an Error with .hint); `list` is the panel's <ul>; `openButton` and
  // `dialog` are the sandbox's; `sessionId()` reads the page's state; `line(kind, text,
  // hint, container)` adds a line to the transcript.
  function create({ el, api, list, openButton, dialog, sessionId, line }) {
    const tasks = new Map();  // task_id -> {info, item, parts}
    let generation = 0;       // bumped on a session switch: late answers are dropped
    let skew = 0;             // the server's clock minus the page's, in ms (GET's "now")
    const now = () => Date.now() + skew;
    const where = () => encodeURIComponent(sessionId());
    const lines = dialog.querySelector(".lines");
    const problem = dialog.querySelector(".error");

    function showEmpty() {
      const empty = list.querySelector(".empty");
      if (tasks.size && empty) empty.remove();
      if (!tasks.size && !empty) list.appendChild(el("li", "empty", "no background task"));
    }

    function paint(task) {
      const { info, item, parts } = task;
      item.dataset.status = info.status || "running";
      if (info.status) {
        const took = info.ended_at ? ` after ${elapsed((info.ended_at - info.started_at) * 1000)}` : "";
        parts.state.textContent = `${outcome(info.status, info.exit_code)}${took}`;
        parts.stop.remove();
      } else {
        parts.state.textContent = `running ${elapsed(now() - info.started_at * 1000)}`;
      }
    }

    // A task the page learns of (an event or the list); known ones are updated.
    function add(info) {
      const known = tasks.get(info.task_id);
      if (known) {
        // A list fetched before the task ended must not bring it back to life.
        if (known.info.status && !info.status) return known;
        Object.assign(known.info, info);
        paint(known);
        return known;
      }
      const item = el("li", "task");
      item.dataset.task = info.task_id;
      const head = item.appendChild(el("div", "head"));
      const command = head.appendChild(el("code", "command", clip(oneLine(info.command), 120)));
      command.title = info.description ? `${info.description}\n${info.command}` : info.command;
      const mark = head.appendChild(el("span", "mark", info.sandboxed ? "sandboxed" : "unconfined"));
      mark.dataset.sandboxed = String(Boolean(info.sandboxed));
      mark.title = info.sandboxed ? "runs in the Bash sandbox" : "runs outside the sandbox";
      const foot = item.appendChild(el("div", "foot"));
      const state = foot.appendChild(el("span", "state"));
      foot.appendChild(el("span", "id", info.task_id));
      const stop = foot.appendChild(el("button", "stop", "Stop"));
      stop.type = "button";
      stop.title = "end the task (its whole process group)";
      stop.addEventListener("click", () => stopTask(info.task_id, stop));
      const task = { info: { ...info }, item, parts: { state, stop } };
      tasks.set(info.task_id, task);
      list.appendChild(item);
      showEmpty();
      paint(task);
      return task;
    }

    async function stopTask(taskId, button) {
      const mine = generation;
      button.disabled = true;
      button.textContent = "Stopping…";
      try {
        const ended = await api("POST", `/api/tasks/${where()}/${encodeURIComponent(taskId)}/stop`);
        if (mine === generation) markEnded(ended);
      } catch (error) {
        if (mine !== generation) return;
        button.disabled = false;
        button.textContent = "Stop";
        line("error", `could not stop task ${taskId}: ${error.message}`, error.hint);
      }
    }

    // An ended task: painted so, and out of the panel KEEP_ENDED_MS after it ended.
    function markEnded(info) {
      const task = tasks.get(info.task_id);
      if (!task) return;
      Object.assign(task.info, info);
      paint(task);
      if (now() - (task.info.ended_at || 0) * 1000 > KEEP_ENDED_MS) forget(info.task_id);
    }

    function forget(taskId) {
      const task = tasks.get(taskId);
      if (!task) return;
      task.item.remove();
      tasks.delete(taskId);
      showEmpty();
    }

    function tick() {
      for (const [taskId, task] of tasks) {
        if (!task.info.status) paint(task);
        else if (now() - (task.info.ended_at || 0) * 1000 > KEEP_ENDED_MS) forget(taskId);
      }
    }

    function started(event) {
      add({
        task_id: event.task_id, command: event.command, description: event.description,
        started_at: event.timestamp, sandboxed: event.sandboxed, status: null,
      });
    }

    function endedEvent(event, container) {
      const task = tasks.get(event.task_id);
      const command = task ? ` (${clip(oneLine(task.info.command), 60)})` : "";
      const status = outcome(event.status, event.exit_code);
      const tail = oneLine(String(event.tail || "").trim().split("\n").slice(-1)[0]);
      const node = line("task-ended", `task ${event.task_id}${command} ${status}`, tail ? `last output: ${clip(tail, 200)}` : undefined, container);
      node.dataset.status = event.status;
      markEnded({
        task_id: event.task_id, status: event.status, exit_code: event.exit_code,
        ended_at: event.timestamp,
      });
    }

    function blocked(event, container) {
      const node = line("sandbox-blocked", refusal(event), event.reason || undefined, container);
      node.dataset.allowed = String(Boolean(event.allowed));
    }

    async function openSandbox() {
      if (!sessionId()) return;
      const mine = generation;
      lines.textContent = "loading…";
      problem.textContent = "";
      if (!dialog.open) dialog.showModal();
      try {
        const status = await api("GET", `/api/sandbox/${where()}`);
        if (mine !== generation) return;
        dialog.dataset.state = status.state;
        lines.textContent = status.lines.join("\n");
      } catch (error) {
        if (mine !== generation) return;
        lines.textContent = "";
        problem.textContent = error.hint ? `${error.message} (${error.hint})` : error.message;
      }
    }

    // Another session (or the first): an empty panel, then its tasks from the list (the
    // events replayed from the start add them too, and their ends).
    async function reset() {
      const mine = ++generation;
      for (const taskId of [...tasks.keys()]) forget(taskId);
      if (dialog.open) dialog.close();
      openButton.hidden = !sessionId();
      if (!sessionId()) return;
      try {
        const listing = await api("GET", `/api/tasks/${where()}`);
        if (mine !== generation) return;
        if (typeof listing.now === "number") skew = listing.now * 1000 - Date.now();
        for (const info of listing.tasks) {
          if (info.running || tasks.has(info.task_id)) add(info);
        }
      } catch (_) { /* the events still fill the panel */ }
    }

    openButton.addEventListener("click", openSandbox);
    dialog.querySelector(".close").addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
    setInterval(tick, 1000);
    showEmpty();

    return { started, ended: endedEvent, blocked, reset, openSandbox, get isOpen() { return dialog.open; } };
  }

  return { create, elapsed, outcome, refusal };
})();
