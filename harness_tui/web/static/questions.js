// Cards for what MCP servers ask the user, as the TUI's dialogs ask it: may the session's
// model answer a server's sampling request (approve / decline), and an elicitation form
// built from the server's JSON schema (string, number, integer, boolean and enumerated
// fields, defaults filled in, required ones marked) or, in URL mode, a page to open.
// Answers go to POST /api/sampling/ID and /api/elicitation/ID; the card shows the
// outcome when the *_RESOLVED event comes (from this page or any other front-end).
// Everything shown is set as text, never as markup: it comes from the server.
"use strict";

const Questions = (() => {
  // (label, value) pairs of an enumerated field: `enum` (with `enumNames`) or titled
  // `oneOf` / `anyOf` consts; null when the field is not enumerated.
  function choicesOf(prop) {
    if (!prop || typeof prop !== "object") return null;
    if (Array.isArray(prop.enum)) {
      const names = Array.isArray(prop.enumNames) ? prop.enumNames : prop.enum;
      return prop.enum.map((value, i) => [String(names[i] ?? value), value]);
    }
    const options = prop.oneOf || prop.anyOf;
    if (Array.isArray(options) && options.length
        && options.every((o) => o && typeof o === "object" && "const" in o)) {
      return options.map((o) => [String(o.title ?? o.const), o.const]);
    }
    return null;
  }

  const INPUT_TYPES = { email: "email", uri: "url", date: "date" };
  const sameValue = (a, b) => JSON.stringify(a) === JSON.stringify(b);

  // `el(tag, className, text)` makes elements; `post(kind, body)` sends an answer and
  // throws an Error (with .message and .hint) when the server refuses it.
  function create({ el, post }) {
    function shell(kind, event, title) {
      const card = el("div", `entry question ${kind}`);
      card.dataset.request = event.request_id;
      card.appendChild(el("div", "head")).appendChild(el("strong", "", title));
      return card;
    }

    function buttonsOf(choices, onClick) {
      const row = el("div", "buttons");
      for (const [answer, label] of choices) {
        const button = row.appendChild(el("button", "", label));
        button.type = answer === "accept" ? "submit" : "button";
        button.dataset.answer = answer;
        if (answer !== "accept") button.addEventListener("click", () => onClick(answer));
      }
      return row;
    }

    function setBusy(card, busy) {
      for (const control of card.querySelectorAll("button, input, select, textarea")) {
        control.disabled = busy;
      }
    }

    async function send(card, kind, body) {
      const error = card.querySelector(".error");
      error.textContent = "";
      setBusy(card, true);
      try {
        await post(kind, body);
      } catch (failure) {
        if (card.dataset.resolved) return;  // answered elsewhere meanwhile
        setBusy(card, false);
        error.textContent = failure.hint ? `${failure.message} (${failure.hint})` : failure.message;
      }
    }

    // --- sampling ----------------------------------------------------------------------

    function sampling(event) {
      const card = shell("sampling", event, `MCP server ${event.server} asks ${event.model} for a completion`);
      card.appendChild(el("div", "about", `up to ${Number(event.max_tokens).toLocaleString("en")} tokens, billed to your key`));
      const talk = card.appendChild(el("div", "messages"));
      const said = (role, text) => {
        const row = talk.appendChild(el("div", "message"));
        row.dataset.role = role;
        row.appendChild(el("span", "role", role));
        row.appendChild(el("pre", "text", text));
      };
      if (event.system_prompt) said("system", event.system_prompt);
      for (const message of event.messages || []) said(message.role || "?", message.text || "");
      const reason = el("input", "reason");
      reason.placeholder = "reason, if you decline (the server reads it)";
      reason.maxLength = 10000;
      const answer = (choice) => send(card, "sampling", {
        request_id: event.request_id,
        approved: choice === "approve",
        ...(choice === "decline" && reason.value.trim() ? { reason: reason.value.trim() } : {}),
      });
      const row = buttonsOf([["approve", "Approve"], ["decline", "Decline"]], answer);
      row.appendChild(reason);
      card.appendChild(row);
      card.appendChild(el("div", "error"));
      card.appendChild(el("div", "answer"));
      return card;
    }

    // --- elicitation -------------------------------------------------------------------

    function field(name, prop, required) {
      const title = String(prop.title || name);
      const kind = prop.type;
      const box = el("div", "field");
      box.dataset.field = name;
      const label = box.appendChild(el("label"));
      const caption = el("span", "caption", title);
      if (required) caption.appendChild(el("span", "required", " *"));
      const spec = { name, title, required, kind, values: null, control: null };
      const choices = choicesOf(prop);
      const itemChoices = kind === "array" ? choicesOf(prop.items) : null;
      let control;
      if (kind === "boolean") {
        control = el("input");
        control.type = "checkbox";
        control.checked = Boolean(prop.default);
        spec.kind = "boolean";
        label.appendChild(control);
        label.appendChild(caption);
      } else {
        label.appendChild(caption);
        if (choices || itemChoices) {
          const options = choices || itemChoices;
          control = el("select");
          control.multiple = Boolean(itemChoices);
          spec.kind = itemChoices ? "multi" : "choice";
          spec.values = [];
          if (!itemChoices) {  // a blank first: no default, or the field may be left out
            control.appendChild(el("option", "", required ? "choose one" : "—"));
            spec.values.push(undefined);
          }
          const chosen = itemChoices ? (Array.isArray(prop.default) ? prop.default : []) : [prop.default];
          for (const [text, value] of options) {
            const option = control.appendChild(el("option", "", text));
            option.selected = chosen.some((d) => sameValue(d, value));
            spec.values.push(value);
          }
          if (itemChoices) control.size = Math.min(options.length, 6);
        } else {
          control = el("input");
          if (kind === "integer" || kind === "number") {
            control.type = "number";
            control.step = kind === "integer" ? "1" : "any";
            if (typeof prop.minimum === "number") control.min = String(prop.minimum);
            if (typeof prop.maximum === "number") control.max = String(prop.maximum);
          } else {
            control.type = INPUT_TYPES[prop.format] || "text";
            if (typeof prop.maxLength === "number") control.maxLength = prop.maxLength;
          }
          const value = prop.default;
          if (value !== undefined && value !== null) {
            control.value = Array.isArray(value) ? value.join(", ") : String(value);
          }
          if (kind === "array") control.placeholder = "comma-separated";
        }
        label.appendChild(control);
      }
      control.name = name;
      if (required) label.title = "required";
      if (prop.description) box.appendChild(el("div", "about", String(prop.description)));
      spec.control = control;
      return [box, spec];
    }

    // The typed values, or the first problem with them (named by the field's title).
    function read(fields) {
      const content = {};
      for (const { name, title, required, kind, values, control } of fields) {
        if (kind === "boolean") { content[name] = control.checked; continue; }
        if (kind === "multi") {
          const picked = [...control.selectedOptions].map((o) => values[o.index]);
          if (!picked.length && required) return { problem: `${title}: choose at least one` };
          if (picked.length) content[name] = picked;
          continue;
        }
        if (kind === "choice") {
          const value = values[control.selectedIndex];
          if (value === undefined) {
            if (required) return { problem: `${title}: choose one` };
            continue;
          }
          content[name] = value;
          continue;
        }
        const raw = control.value.trim();
        if (control.validity && control.validity.badInput) {
          return { problem: `${title}: not ${kind === "integer" ? "a whole number" : "a number"}` };
        }
        if (!raw) {
          if (required) return { problem: `${title} is required` };
          continue;
        }
        if (kind === "integer") {
          if (!/^[+-]?\d+$/.test(raw)) return { problem: `${title}: '${raw}' is not a whole number` };
          content[name] = Number(raw);
        } else if (kind === "number") {
          const number = Number(raw);
          if (!Number.isFinite(number)) return { problem: `${title}: '${raw}' is not a number` };
          content[name] = number;
        } else if (kind === "array") {
          content[name] = raw.split(",").map((part) => part.trim()).filter(Boolean);
        } else {
          content[name] = raw;
        }
      }
      return { content };
    }

    function elicitation(event) {
      const card = shell("elicitation", event, `MCP server ${event.server} asks:`);
      card.appendChild(el("div", "asks", event.message));
      const form = card.appendChild(el("form"));
      form.noValidate = true;  // the problems are said in the card, in words
      const fields = [];
      const url = event.mode === "url" ? event.url || "" : null;
      const linkable = url !== null && /^https?:\/\//i.test(url);
      if (url !== null) {
        const where = form.appendChild(el("div", "url", "Open this page to continue: "));
        if (linkable) {
          const link = where.appendChild(el("a", "mono", url));
          link.href = url;
          link.target = "_blank";
          link.rel = "noopener noreferrer";
        } else {
          where.appendChild(el("span", "mono", url || "(the server sent no address)"));
        }
      } else {
        const schema = event.requested_schema || {};
        const required = new Set(Array.isArray(schema.required) ? schema.required : []);
        for (const [name, prop] of Object.entries(schema.properties || {})) {
          const [box, spec] = field(name, prop || {}, required.has(name));
          form.appendChild(box);
          fields.push(spec);
        }
      }
      const answer = (action) => send(card, "elicitation", { request_id: event.request_id, action });
      const accept = url !== null ? (linkable ? "Open the page" : "Accept") : "Accept";
      form.appendChild(buttonsOf([["accept", accept], ["decline", "Decline"], ["cancel", "Cancel"]], answer));
      form.addEventListener("submit", (submitted) => {
        submitted.preventDefault();
        if (card.dataset.resolved) return;
        if (url !== null) {
          if (linkable) window.open(url, "_blank", "noopener,noreferrer");
          answer("accept");
          return;
        }
        const { content, problem } = read(fields);
        if (problem) {
          card.querySelector(".error").textContent = problem;
          return;
        }
        send(card, "elicitation", { request_id: event.request_id, action: "accept", content });
      });
      // Esc in the form cancels this question (as in the TUI), not the whole run.
      form.addEventListener("keydown", (key) => {
        if (key.key !== "Escape") return;
        key.stopPropagation();
        if (!card.dataset.resolved) answer("cancel");
      });
      card.appendChild(el("div", "error"));
      card.appendChild(el("div", "answer"));
      return card;
    }

    // --- outcomes ----------------------------------------------------------------------

    const WORDS = {
      approved: "approved", declined: "declined", cancelled: "withdrawn", failed: "failed",
      accept: "answered", decline: "declined", cancel: "cancelled",
    };

    // `outcome`: a SAMPLING_RESOLVED decision or an ELICITATION_RESOLVED action.
    function resolved(card, outcome, reason, response) {
      card.dataset.resolved = outcome;
      setBusy(card, true);
      card.querySelector(".error").textContent = "";
      const answer = card.querySelector(".answer");
      answer.textContent = `→ ${WORDS[outcome] || outcome}${reason ? `: ${reason}` : ""}`;
      if (response) answer.appendChild(el("pre", "response", response));
    }

    return { sampling, elicitation, resolved };
  }

  return { create };
})();
