// Images attached to the next message: pasted into the prompt box, dropped on the page,
// or picked with the attach button. Each shows as a chip (a thumbnail, its name, size in
// pixels and bytes, and × to remove it) until the message is sent; then they go as
// base64 in the body of POST /api/query or /api/steer. The server checks them again
// (and names the image it refuses); the page only turns away what it never could take.
//
// Also the images of the conversation: <img> elements filled from
// GET /api/sessions/ID/images/SHA256, which needs the token in a header, so each image
// is fetched once and shown from a blob: URL.
"use strict";

const Attachments = (() => {
  const TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
  const MAX_BYTES = 30 * 1024 * 1024;  // the server's cap (core MAX_INPUT_BYTES)
  const MAX_COUNT = 20;                // per message (web MAX_IMAGES_PER_MESSAGE)
  const SHOWN_HEIGHT = 180;            // an image in the conversation, until clicked
  const SHOWN_WIDTH = 480;

  function bytes(n) {
    if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
    if (n >= 1024) return `${Math.round(n / 1024)} KB`;
    return `${n} B`;
  }

  // The base64 of a Blob, without the "data:...;base64," of FileReader's answer.
  function base64(blob) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }

  // parts: {el, chips (container), prompt (textarea), dropZone, button, input, complain(text, hint)}
  function create(parts) {
    const { el, chips, complain } = parts;
    let items = [];  // {blob, name, url, chip}
    let pasted = 0;

    function refresh() {
      chips.hidden = items.length === 0;
      chips.dataset.count = String(items.length);
    }

    function add(blob, name) {
      if (!TYPES.includes(blob.type)) {
        complain(`${name}: ${blob.type || "this kind of file"} is not taken`, "attach a PNG, JPEG, GIF or WebP image");
        return;
      }
      if (blob.size > MAX_BYTES) {
        complain(`${name}: ${bytes(blob.size)} is more than the 30 MB an attached image may be`, "make it smaller or crop it first");
        return;
      }
      if (items.length >= MAX_COUNT) {
        complain(`${name}: a message carries at most ${MAX_COUNT} images`, "send these first");
        return;
      }
      const item = { blob, name, url: URL.createObjectURL(blob) };
      const chip = el("span", "attachment");
      chip.dataset.name = name;
      const thumb = chip.appendChild(el("img", "thumb"));
      thumb.alt = "";
      const label = chip.appendChild(el("span", "label", `${name} · ${bytes(blob.size)}`));
      thumb.onload = () => {
        label.textContent = `${name} ${thumb.naturalWidth}×${thumb.naturalHeight}, ${bytes(blob.size)}`;
      };
      thumb.src = item.url;
      const remove = chip.appendChild(el("button", "remove", "×"));
      remove.type = "button";
      remove.title = `remove ${name}`;
      remove.setAttribute("aria-label", `remove ${name}`);
      remove.addEventListener("click", () => {
        items = items.filter((other) => other !== item);
        URL.revokeObjectURL(item.url);
        chip.remove();
        refresh();
      });
      item.chip = chip;
      items.push(item);
      chips.appendChild(chip);
      refresh();
    }

    function addFiles(files) {
      for (const file of files) add(file, file.name || `image-${items.length + 1}`);
    }

    // A pasted image (a screenshot from the clipboard); pasted text goes in as usual.
    parts.prompt.addEventListener("paste", (event) => {
      const data = event.clipboardData;
      if (!data) return;
      const files = [...data.items]
        .filter((item) => item.kind === "file" && item.type.startsWith("image/"))
        .map((item) => item.getAsFile())
        .filter(Boolean);
      if (!files.length) return;
      if (!data.types.includes("text/plain")) event.preventDefault();
      for (const file of files) {
        pasted += 1;
        const ext = file.type.split("/")[1] || "png";
        const generic = !file.name || /^image\.\w+$/.test(file.name);
        add(file, generic ? `pasted-${pasted}.${ext}` : file.name);
      }
    });

    // Files dropped anywhere on the page.
    const hasFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
    let depth = 0;
    document.addEventListener("dragenter", (event) => {
      if (!hasFiles(event)) return;
      depth += 1;
      parts.dropZone.classList.add("dragging");
    });
    document.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (!depth) parts.dropZone.classList.remove("dragging");
    });
    document.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    document.addEventListener("drop", (event) => {
      depth = 0;
      parts.dropZone.classList.remove("dragging");
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      event.preventDefault();
      addFiles(event.dataTransfer.files);
      parts.prompt.focus();
    });

    parts.button.addEventListener("click", () => parts.input.click());
    parts.input.addEventListener("change", () => {
      addFiles(parts.input.files);
      parts.input.value = "";
      parts.prompt.focus();
    });
    refresh();

    return {
      get count() { return items.length; },
      add,
      // The images for a request body: [{media_type, data, name}].
      async payload() {
        return Promise.all(items.map(async (item) => ({
          media_type: item.blob.type, data: await base64(item.blob), name: item.name,
        })));
      },
      clear() {
        for (const item of items) URL.revokeObjectURL(item.url);
        items = [];
        chips.replaceChildren();
        refresh();
      },
    };
  }

  // The conversation's images: fetched once per session and hash.
  function gallery(fetchImage) {
    let cache = new Map();  // sha256 -> Promise of a blob: URL
    function url(sessionId, sha256) {
      const key = `${sessionId}/${sha256}`;
      if (!cache.has(key)) {
        cache.set(key, fetchImage(sessionId, sha256).then((blob) => URL.createObjectURL(blob)));
      }
      return cache.get(key);
    }
    return {
      // A row of the message's images (ImageBlock references from an event).
      row(el, sessionId, images) {
        const box = el("div", "images");
        for (const image of images) {
          const figure = box.appendChild(el("figure", "image"));
          figure.dataset.sha256 = image.sha256;
          const img = figure.appendChild(el("img"));
          img.alt = image.name;
          img.title = `${image.name} ${image.width}×${image.height}, ${bytes(image.size)}`;
          // Its size before it loads, so the conversation does not jump when it does.
          const scale = Math.min(1, SHOWN_HEIGHT / image.height, SHOWN_WIDTH / image.width);
          img.style.width = `${Math.max(1, Math.round(image.width * scale))}px`;
          img.style.height = `${Math.max(1, Math.round(image.height * scale))}px`;
          img.addEventListener("click", () => figure.classList.toggle("large"));
          figure.appendChild(el("figcaption", "", image.name));
          url(sessionId, image.sha256).then(
            (src) => { img.src = src; },
            (error) => { figure.classList.add("missing"); img.title = `${image.name}: ${error.message}`; },
          );
        }
        return box;
      },
      reset() {
        for (const promise of cache.values()) promise.then((u) => URL.revokeObjectURL(u), () => {});
        cache = new Map();
      },
    };
  }

  return { create, gallery, bytes };
})();
