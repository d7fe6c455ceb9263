// A small Markdown renderer for model output: headings, paragraphs, lists, quotes,
// fenced code, tables, rules, and inline code, emphasis and links. Everything is
// escaped first, so model text can never inject markup; links only to http(s)/mailto.
// It renders partial text too (an unclosed fence is code to the end), as it streams.
"use strict";

const Markdown = (() => {
  const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const escape = (text) => String(text).replace(/[&<>"']/g, (c) => ESC[c]);

  function inline(text) {
    const codes = [];
    let out = escape(text).replace(/`([^`]+)`/g, (_, code) => {
      codes.push(code);
      return `\u0000${codes.length - 1}\u0000`;
    });
    out = out
      .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (whole, label, url) =>
        /^(https?:|mailto:)/i.test(url)
          ? `<a href="${url}" target="_blank" rel="noopener noreferrer">${label}</a>`
          : whole)
      .replace(/\*\*([^*]+)\*\*|__([^_]+)__/g, (_, a, b) => `<strong>${a || b}</strong>`)
      .replace(/(^|[^*\w])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>")
      .replace(/(^|[^_\w])_([^_\s][^_]*)_(?!\w)/g, "$1<em>$2</em>")
      .replace(/~~([^~]+)~~/g, "<del>$1</del>");
    return out.replace(/\u0000(\d+)\u0000/g, (_, i) => `<code>${codes[Number(i)]}</code>`);
  }

  const isRow = (line) => /^\s*\|.*\|\s*$/.test(line);
  const isRule = (line) => /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(line);
  const cells = (line) => line.trim().replace(/^\||\|$/g, "").split("|").map((c) => inline(c.trim()));
  const LIST = /^\s*([-*+]|\d+[.)])\s+(.*)$/;

  function render(source) {
    const lines = String(source).replace(/\r\n?/g, "\n").split("\n");
    const html = [];
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      const fence = line.match(/^\s*(```|~~~)\s*([\w+-]*)/);
      if (fence) {
        const body = [];
        i += 1;
        while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
        i += 1;
        const lang = fence[2] ? ` class="language-${escape(fence[2])}"` : "";
        html.push(`<pre><code${lang}>${escape(body.join("\n"))}</code></pre>`);
        continue;
      }
      const heading = line.match(/^(#{1,6})\s+(.*)$/);
      if (heading) {
        const level = heading[1].length;
        html.push(`<h${level}>${inline(heading[2])}</h${level}>`);
        i += 1;
        continue;
      }
      if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
        html.push("<hr>");
        i += 1;
        continue;
      }
      if (isRow(line) && i + 1 < lines.length && isRule(lines[i + 1])) {
        const head = cells(line).map((c) => `<th>${c}</th>`).join("");
        const rows = [];
        i += 2;
        while (i < lines.length && isRow(lines[i])) {
          rows.push(`<tr>${cells(lines[i++]).map((c) => `<td>${c}</td>`).join("")}</tr>`);
        }
        html.push(`<table><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>`);
        continue;
      }
      if (/^\s*>/.test(line)) {
        const quoted = [];
        while (i < lines.length && /^\s*>/.test(lines[i])) quoted.push(lines[i++].replace(/^\s*>\s?/, ""));
        html.push(`<blockquote>${render(quoted.join("\n"))}</blockquote>`);
        continue;
      }
      const item = line.match(LIST);
      if (item) {
        const ordered = /\d/.test(item[1]);
        const items = [];
        while (i < lines.length) {
          const next = lines[i].match(LIST);
          if (next) {
            items.push(inline(next[2]));
          } else if (/^\s{2,}\S/.test(lines[i]) && items.length) {
            items[items.length - 1] += `<br>${inline(lines[i].trim())}`;
          } else {
            break;
          }
          i += 1;
        }
        const tag = ordered ? "ol" : "ul";
        html.push(`<${tag}>${items.map((t) => `<li>${t}</li>`).join("")}</${tag}>`);
        continue;
      }
      if (!line.trim()) {
        i += 1;
        continue;
      }
      const para = [];
      while (
        i < lines.length && lines[i].trim() && !LIST.test(lines[i]) &&
        !/^(#{1,6}\s|\s*```|\s*~~~|\s*>)/.test(lines[i]) &&
        !(isRow(lines[i]) && i + 1 < lines.length && isRule(lines[i + 1]))
      ) {
        para.push(inline(lines[i++]));
      }
      if (!para.length) para.push(inline(lines[i++])); // never stall on an odd line
      html.push(`<p>${para.join("<br>")}</p>`);
    }
    return html.join("\n");
  }

  return { render, escape };
})();
