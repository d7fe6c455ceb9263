// Rewind on the page, as the TUI's /rewind picker does it: a dialog lists the session's
// prompts (GET /api/rewind/ID) with the files the agent changed under each; choosing one
// shows what a rewind would do to the files (GET .../preview: a diff per file, files
// changed by hand marked) and rewinds code and conversation, the conversation or the
// code (POST /api/rewind/ID). Files changed by hand since then are a 409: the dialog asks
// to overwrite them, keep them or cancel. A conversation rewind puts the prompt back in
// the prompt box to edit and resend. The last rewind can be undone (POST /api/redo/ID).
// In the transcript a REWOUND event is one line saying what was restored and skipped;
// a CHECKPOINT_CREATED event only marks the tool card whose files it saved.
// Everything shown is set as text, never as markup: it comes from the server.
"use strict";

const Rewind = (() => {
  const MODES = [
    ["both", "Code and conversation"],
    ["conversation", "Conversation"],
    ["code", "Code"],
  ];
  const WHAT = { both: "code and conversation", conversation: "the conversation", code: "code" };
  const ACTIONS = { restore: "restore", remove: "remove", recreate: "recreate" };

  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const clip = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
  const oneLine = (text) => String(text || "").replace(/\s+/g, " ").trim();

  function when(timestamp) {
    if (typeof timestamp !== "number" || !timestamp) return "";
    return new Date(timestamp * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // What a REWOUND event did, in words: the line's text and its hint (the files).
  function describe(event) {
    const prompt = oneLine(event.prompt) ? ` to “${clip(oneLine(event.prompt), 80)}”` : "";
    const head = event.undoes
      ? `Undid the rewind${prompt}`
      : `Rewound ${WHAT[event.mode] || event.mode}${prompt}`;
    // The event also records the hand edits it noticed (by_hand): not its own changes.
    const own = (event.files || []).filter((f) => !f.by_hand);
    const byHand = new Set((event.files || []).filter((f) => f.by_hand).map((f) => f.path));
    const overwritten = own.filter((f) => byHand.has(f.path)).length;
    const counts = { modified: 0, deleted: 0, created: 0, mode: 0 };
    for (const file of own) counts[file.change] = (counts[file.change] || 0) + 1;
    const parts = [];
    if (counts.modified) parts.push(`${plural(counts.modified, "file")} restored`);
    if (counts.created) parts.push(`${counts.created} recreated`);
    if (counts.deleted) parts.push(`${counts.deleted} removed`);
    if (counts.mode) parts.push(`${counts.mode} with ${counts.mode === 1 ? "its" : "their"} mode back`);
    const skipped = event.skipped || [];
    let text = head;
    if (event.mode !== "conversation" || event.undoes) {
      text += parts.length ? `: ${parts.join(", ")}` : ": no file needed restoring";
    }
    if (overwritten) text += ` (overwriting ${plural(overwritten, "hand edit")})`;
    if (skipped.length) text += `; skipped ${skipped.length}`;
    if (event.mode === "conversation" && !event.undoes) text += " (files untouched)";
    const hints = [];
    if (own.length) hints.push(own.map((f) => `${f.path} (${f.change})`).join(", "));
    for (const skip of skipped) hints.push(`skipped ${skip.path}: ${skip.reason}`);
    return { text, hint: hints.join(" · ") };
  }

  // `el(tag, className, text)` makes elements; `api(method, path, body)` calls the
  // server and throws an Error (.status, .code, .hint, .data: the error object);
  // `sessionId()` and `running()` read the page's state; `prompt` is the prompt box;
  // `line(kind, text, hint)` adds a line to the transcript.
  function create({ el, api, dialog, openButton, sessionId, running, prompt, line }) {
    const $ = (selector) => dialog.querySelector(selector);
    const parts = {
      points: $(".points"), preview: $(".preview"), summary: $(".summary"),
      files: $(".files"), conflict: $(".conflict"), error: $(".error"),
      modes: $(".modes"), redo: $(".redo"), close: $(".close"),
    };
    let chosen = null;        // the rewind point whose preview is shown
    let asked = 0;            // bumped by each request: a late answer to an old one is dropped
    let redoable = false;     // the newest REWOUND event is a rewind that redo can undo
    let undoButton = null;    // the "undo" button on the newest rewind's line

    const where = () => encodeURIComponent(sessionId());

    for (const [mode, label] of MODES) {
      const button = parts.modes.appendChild(el("button", "", label));
      button.type = "button";
      button.dataset.mode = mode;
      button.addEventListener("click", () => rewind(mode, "refuse"));
    }

    function complain(error) {
      parts.error.textContent = error.hint ? `${error.message} (${error.hint})` : error.message;
    }

    function refresh() {
      const busy = running();
      for (const button of parts.modes.querySelectorAll("button")) button.disabled = busy || !chosen;
      parts.modes.title = busy ? "a run is active: wait for it to end, or cancel it" : "";
      parts.redo.disabled = busy || !redoable;
    }

    async function open() {
      if (!sessionId()) return;
      const mine = ++asked;
      chosen = null;
      parts.points.replaceChildren(el("li", "empty", "loading…"));
      parts.summary.textContent = "Choose a prompt to see what a rewind to it would change.";
      parts.files.replaceChildren();
      parts.conflict.hidden = true;
      parts.error.textContent = "";
      refresh();
      if (!dialog.open) dialog.showModal();
      try {
        const listing = await api("GET", `/api/rewind/${where()}`);
        if (mine !== asked) return;
        showPoints(listing.points);
      } catch (error) {
        if (mine !== asked) return;
        parts.points.replaceChildren();
        complain(error);
      }
    }

    function showPoints(points) {
      parts.points.replaceChildren();
      if (!points.length) {
        parts.points.appendChild(el("li", "empty", "no prompt to go back to yet"));
        return;
      }
      for (const point of [...points].reverse()) {  // the newest first
        const item = parts.points.appendChild(el("li", "point"));
        item.tabIndex = 0;
        item.dataset.number = String(point.number);
        item.dataset.checkpoint = point.checkpoint_id;
        const head = item.appendChild(el("div", "head"));
        head.appendChild(el("span", "number", String(point.number)));
        head.appendChild(el("span", "text", clip(oneLine(point.text), 200)));
        head.appendChild(el("span", "when", when(point.timestamp)));
        const files = point.files || [];
        const changed = files.length ? `${plural(files.length, "file")}: ${files.join(", ")}` : "no files changed";
        item.appendChild(el("div", "changed mono", changed));
        item.addEventListener("click", () => choose(point, item));
        item.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") { event.preventDefault(); choose(point, item); }
        });
      }
    }

    async function choose(point, item) {
      const mine = ++asked;
      chosen = point;
      for (const other of parts.points.querySelectorAll(".point")) other.classList.toggle("chosen", other === item);
      parts.summary.textContent = `Prompt ${point.number}: “${clip(oneLine(point.text), 120)}” · loading the preview…`;
      parts.files.replaceChildren();
      parts.conflict.hidden = true;
      parts.error.textContent = "";
      refresh();
      try {
        const plan = await api("GET", `/api/rewind/${where()}/preview?target=${encodeURIComponent(point.number)}`);
        if (mine !== asked) return;
        showPlan(point, plan);
      } catch (error) {
        if (mine !== asked) return;
        complain(error);
      }
    }

    function showPlan(point, plan) {
      const files = plan.files || [];
      const counts = {};
      for (const file of files) counts[file.action] = (counts[file.action] || 0) + 1;
      const said = Object.entries(counts).map(([action, n]) => `${n} to ${ACTIONS[action] || action}`);
      parts.summary.textContent = `Prompt ${point.number}: “${clip(oneLine(point.text), 120)}” · `
        + (files.length ? `${plural(files.length, "file")}: ${said.join(", ")}` : "no file to restore (a code rewind changes nothing)");
      parts.files.replaceChildren(...files.map(fileCard));
    }

    function fileCard(file) {
      const card = el("details", "file");
      card.dataset.path = file.path;
      card.dataset.action = file.action;
      card.open = true;
      const summary = card.appendChild(el("summary"));
      summary.appendChild(el("span", "action", ACTIONS[file.action] || file.action));
      summary.appendChild(el("span", "path mono", file.path));
      if (file.by_hand) summary.appendChild(el("span", "by-hand", "changed by hand since then"));
      if (file.problem) summary.appendChild(el("span", "problem", `will be skipped: ${file.problem}`));
      const diff = card.appendChild(el("pre", "diff"));
      if (!file.diff) {
        diff.appendChild(el("span", "none", file.problem ? "no preview" : "no text difference to show"));
        return card;
      }
      for (const text of file.diff.replace(/\n$/, "").split("\n")) {
        const kind = text.startsWith("@@") ? "hunk" : text.startsWith("+++") || text.startsWith("---") ? "head"
          : text.startsWith("+") ? "add" : text.startsWith("-") ? "del" : "";
        diff.appendChild(el("span", kind, `${text}\n`));
      }
      if (file.diff_truncated) diff.appendChild(el("span", "none", "… (cut short)"));
      return card;
    }

    async function rewind(mode, handEdits) {
      if (!chosen) return;
      const point = chosen;
      const mine = ++asked;
      parts.error.textContent = "";
      parts.conflict.hidden = true;
      for (const button of dialog.querySelectorAll(".modes button, .conflict button")) button.disabled = true;
      try {
        const event = await api("POST", `/api/rewind/${where()}`, {
          target: point.number, mode, hand_edits: handEdits,
        });
        if (mine !== asked) return;
        dialog.close();
        if (mode !== "code" && event.prompt) {
          // As in the TUI: the prompt comes back to be edited and sent again.
          const current = prompt.value.trim();
          prompt.value = current ? `${event.prompt}\n${prompt.value}` : event.prompt;
          prompt.focus();
        }
      } catch (error) {
        if (mine !== asked) return;
        refresh();
        if (error.code === "rewind_conflict") {
          askAboutHandEdits(error.data.files || [], (answer) => rewind(mode, answer));
        }
        else complain(error);
      }
    }

    // Files changed by hand since: overwrite them, keep them (and do the rest), or cancel;
    // `retry(handEdits)` asks the server again.
    function askAboutHandEdits(paths, retry) {
      parts.conflict.replaceChildren();
      parts.conflict.appendChild(el("strong", "", `${plural(paths.length, "file")} changed by hand since then: `));
      parts.conflict.appendChild(el("span", "mono", paths.join(", ")));
      const row = parts.conflict.appendChild(el("div", "buttons"));
      const choices = [
        ["overwrite", "Overwrite them", () => retry("overwrite")],
        ["keep", "Keep them, do the rest", () => retry("keep")],
        ["cancel", "Cancel", () => { parts.conflict.hidden = true; }],
      ];
      for (const [answer, label, action] of choices) {
        const button = row.appendChild(el("button", "", label));
        button.type = "button";
        button.dataset.answer = answer;
        button.addEventListener("click", action);
      }
      parts.conflict.hidden = false;
    }

    async function redo(button, handEdits = "refuse") {
      button.disabled = true;
      for (const choice of parts.conflict.querySelectorAll("button")) choice.disabled = true;
      try {
        await api("POST", `/api/redo/${where()}`, { hand_edits: handEdits });
        if (dialog.open) dialog.close();
      } catch (error) {
        button.disabled = false;
        if (error.code === "rewind_conflict") {
          if (!dialog.open) open();
          askAboutHandEdits(error.data.files || [], (answer) => redo(button, answer));
        } else if (dialog.open) {
          complain(error);
        } else {
          line("error", `could not undo the rewind: ${error.message}`, error.hint);
        }
      }
    }

    // The transcript's line for a REWOUND event (from this page or any other front end).
    function rewound(event, container) {
      const { text, hint } = describe(event);
      const node = line("rewound", text, hint, container);
      node.dataset.rewind = event.rewind_id;
      if (undoButton) undoButton.remove();
      undoButton = null;
      redoable = !event.undoes;
      if (redoable) {
        undoButton = el("button", "undo", "undo");
        undoButton.type = "button";
        undoButton.title = "undo this rewind (redo)";
        undoButton.addEventListener("click", () => redo(undoButton));
        node.insertBefore(undoButton, node.querySelector(".hint"));
      }
      refresh();
    }

    // A checkpoint is quiet: the tool card whose files it saved says so in a corner.
    function checkpoint(event, card) {
      const files = event.files || [];
      if (!card || !files.length) return;
      const mark = card.querySelector("summary").appendChild(el("span", "checkpoint", `⟲ ${plural(files.length, "file")} saved`));
      mark.title = files.map((f) => `${f.path} (${f.change})`).join("\n");
    }

    function reset() {
      asked += 1;
      chosen = null;
      redoable = false;
      undoButton = null;
      if (dialog.open) dialog.close();
      openButton.hidden = !sessionId();
    }

    openButton.addEventListener("click", open);
    parts.close.addEventListener("click", () => dialog.close());
    parts.redo.addEventListener("click", () => redo(parts.redo));
    dialog.addEventListener("close", () => { asked += 1; });
    // A click on the backdrop (outside the dialog's box) closes it.
    dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });

    return { open, rewound, checkpoint, reset, refresh, get isOpen() { return dialog.open; } };
  }

  return { create, describe };
})();
