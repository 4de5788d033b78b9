// The page of `digits serve`: draw (Pointer Events: mouse, touch, pen), upload, drop, paste or
// photograph digits; each is sent to /api/read (whole numbers, when the server has it) or
// /api/predict, with ?explain=1 for the 28x28 images the model saw. No libraries, no CDN.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const pad = $("pad");
  const ctx = pad.getContext("2d");
  const undoButton = $("undo");
  const clearButton = $("clear");
  const statusEl = $("status");
  const errorEl = $("error");
  const resultsEl = $("results");

  const INK = "#111";
  const PAPER = "#fff";
  const LINE_WIDTH = 16;  // canvas pixels: about a marker on a 280-pixel-high pad
  const DEBOUNCE_MS = 250;

  const server = { read: false, maxBytes: 10e6 };
  let strokes = [];       // finished strokes, each a list of {x, y} in canvas pixels
  let current = null;     // the stroke being drawn
  let pointer = null;     // the pointer drawing it
  let timer = 0;
  let seq = 0;            // bumped by every request; only the latest one's answer is shown
  let timerSet = false;
  let asking = 0;         // requests being prepared or answered
  let inFlight = false;
  let again = false;
  let thumbs = [];

  // ---- drawing ---------------------------------------------------------------------------
  function redraw() {
    ctx.fillStyle = PAPER;
    ctx.fillRect(0, 0, pad.width, pad.height);
    ctx.strokeStyle = INK;
    ctx.fillStyle = INK;
    ctx.lineWidth = LINE_WIDTH;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const s of current ? [...strokes, current] : strokes) {
      ctx.beginPath();
      if (s.length === 1) {
        ctx.arc(s[0].x, s[0].y, LINE_WIDTH / 2, 0, 2 * Math.PI);
        ctx.fill();
        continue;
      }
      ctx.moveTo(s[0].x, s[0].y);
      for (let i = 1; i < s.length; i++) ctx.lineTo(s[i].x, s[i].y);
      ctx.stroke();
    }
  }

  function at(e) {
    const r = pad.getBoundingClientRect();
    return { x: (e.clientX - r.left) * pad.width / r.width, y: (e.clientY - r.top) * pad.height / r.height };
  }

  function hasInk() { return strokes.length > 0 || (current !== null && current.length > 0); }

  function updateButtons() {
    undoButton.disabled = strokes.length === 0;
    clearButton.disabled = strokes.length === 0;
  }

  pad.addEventListener("pointerdown", (e) => {
    if (pointer !== null || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    pointer = e.pointerId;
    pad.setPointerCapture(e.pointerId);
    current = [at(e)];
    redraw();
  });

  pad.addEventListener("pointermove", (e) => {
    if (e.pointerId !== pointer) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    for (const ev of events.length ? events : [e]) current.push(at(ev));
    redraw();
    schedule(DEBOUNCE_MS);
  });

  function endStroke(e) {
    if (e.pointerId !== pointer) return;
    pointer = null;
    if (current && current.length) strokes.push(current);
    current = null;
    redraw();
    updateButtons();
    schedule(40);
  }
  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);

  function undo() {
    if (!strokes.length) return;
    strokes.pop();
    redraw();
    updateButtons();
    if (hasInk()) schedule(0); else idle();
  }

  function clearPad() {
    strokes = [];
    current = null;
    redraw();
    updateButtons();
    idle();
  }

  function idle() {
    cancelTimer();
    seq++;
    showError("");
    resultsEl.replaceChildren();
    setStatus("Draw a digit to start.");
    pad.focus({ preventScroll: true });
  }

  undoButton.addEventListener("click", undo);
  clearButton.addEventListener("click", clearPad);

  document.addEventListener("keydown", (e) => {
    const inField = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
    if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === "z" && !inField) {
      e.preventDefault();
      undo();
    } else if (e.target === pad && (e.key === "Delete" || e.key === "Backspace" || e.key === "Escape")) {
      e.preventDefault();
      clearPad();
    }
  });

  // ---- asking the server -----------------------------------------------------------------
  // aria-busy on the answers: true while a drawing waits to be sent or any answer is awaited
  function markBusy() { resultsEl.setAttribute("aria-busy", String(timerSet || asking > 0)); }

  function cancelTimer() {
    clearTimeout(timer);
    timerSet = false;
    markBusy();
  }

  function schedule(ms) {
    clearTimeout(timer);
    timerSet = true;
    markBusy();
    timer = setTimeout(() => { timerSet = false; sendDrawing(); }, ms);
  }

  async function sendDrawing() {
    if (!hasInk()) { markBusy(); return; }
    if (inFlight) { again = true; return; }   // one drawing request at a time; the latest wins
    inFlight = true;
    asking++;
    const my = ++seq;
    try {
      const blob = await new Promise((resolve) => pad.toBlob(resolve, "image/png"));
      if (blob) await ask(blob, "image/png", "drawing.png", [], my);
    } finally {
      inFlight = false;
      if (again) { again = false; schedule(0); }
      asking--;
      markBusy();
    }
  }

  function sendFiles(list) {
    const files = [...list].filter((f) => f.type === "" || f.type.startsWith("image/"));
    if (!files.length) {
      showError(list.length ? "That is not an image file." : "");
      return;
    }
    const total = files.reduce((n, f) => n + f.size, 0);
    if (total > server.maxBytes) {
      seq++;
      showError(`${files.length > 1 ? "These files are" : "This file is"} ${mb(total)} MB; ` +
                `the server takes at most ${mb(server.maxBytes)} MB at a time.`);
      return;
    }
    cancelTimer();
    const form = new FormData();
    for (const f of files) form.append("file", f, f.name);
    thumbs.forEach((u) => URL.revokeObjectURL(u));
    thumbs = files.map((f) => URL.createObjectURL(f));
    asking++;
    markBusy();
    ask(form, null, "", thumbs, ++seq).finally(() => { asking--; markBusy(); });
  }

  async function ask(body, type, name, inputs, my) {
    const endpoint = server.read ? "/api/read" : "/api/predict";
    const query = "?explain=1" + (name ? "&name=" + encodeURIComponent(name) : "");
    setStatus("Reading…");
    const started = performance.now();
    let response;
    let data = null;
    try {
      response = await fetch(endpoint + query, { method: "POST", body, headers: type ? { "Content-Type": type } : {} });
      data = await response.json().catch(() => null);
    } catch (err) {
      if (my === seq) {
        setStatus("");
        showError("The server could not be reached. Is `digits serve` still running?");
      }
      return;
    }
    if (response.status === 501 && server.read) {   // the server has no number reader after all
      server.read = false;
      return ask(body, type, name, inputs, my);
    }
    if (my !== seq) return;                          // a newer drawing or upload was sent since
    const ms = Math.round(performance.now() - started);
    if (Array.isArray(data)) {
      const failed = data.filter((r) => r.error).length;
      showError(failed ? `${failed} of ${data.length} images could not be read.` : "");
      render(data, inputs);
      setStatus(`Answered in ${ms} ms.`);
      if (inputs.length) reveal();
    } else {
      setStatus("");
      const reason = data && data.error ? data.error : `the server answered ${response.status} ${response.statusText}`;
      showError(sentence(reason));
      if (data && Array.isArray(data.results) && data.results.length > 1) render(data.results, inputs);
      else resultsEl.replaceChildren();
    }
  }

  // ---- showing answers -------------------------------------------------------------------
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function pct(p) { return (100 * p).toFixed(1) + " %"; }
  function mb(n) { return (n / 1e6).toFixed(1).replace(/\.0$/, ""); }
  function sentence(s) { s = String(s); return s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? "" : "."); }

  function setStatus(text) { statusEl.textContent = text; }

  function showError(text) {
    errorEl.textContent = text;
    errorEl.hidden = !text;
  }

  function topBars(top) {
    const list = el("ol", "top3");
    list.setAttribute("aria-label", "top 3");
    for (const [digit, p] of top) {
      const item = el("li");
      item.setAttribute("aria-label", `${digit}: ${pct(p)}`);
      const bar = el("span", "bar");
      const fill = el("span");
      fill.style.width = Math.max(0, Math.min(100, 100 * p)).toFixed(1) + "%";
      bar.append(fill);
      item.append(el("span", "d", String(digit)), bar, el("span", "p", pct(p)));
      list.append(item);
    }
    return list;
  }

  function figure(src, caption, cls) {
    const f = el("figure");
    const img = el("img", cls);
    img.src = src;
    img.alt = caption;
    f.append(img, el("figcaption", "", caption));
    return f;
  }

  function card(r, input) {
    const art = el("article", "result");
    art.append(el("p", "file", r.file));
    if (r.error) {
      art.classList.add("failed");
      art.append(el("p", "message", sentence(r.error)));
      return art;
    }
    const reading = Array.isArray(r.digits);
    const text = reading ? String(r.number ?? r.digits.map((d) => d.digit).join("")) : String(r.digit);
    const answer = el("div", "answer");
    const big = el("span", "digit" + (text.length > 1 ? " number" : ""), text);
    big.setAttribute("aria-label", (reading ? "number " : "digit ") + text);
    answer.append(big, el("p", "confidence", "confidence " + pct(r.confidence)));
    if (r.uncertain) {
      const badge = el("span", "badge uncertain", "uncertain");
      badge.title = "the confidence is below the server's threshold: the answer may be wrong";
      answer.append(badge);
    }
    const details = el("div", "details");
    if (reading) {
      const list = el("div", "digits");
      r.digits.forEach((d, i) => {
        const one = el("div", "one");
        const seen = (r.normalized || [])[i];
        if (seen) {
          const img = el("img");
          img.src = seen;
          img.alt = `the 28×28 image the model saw for digit ${i + 1}`;
          one.append(img);
        } else {
          one.append(el("span", "d-big", String(d.digit)));
        }
        one.append(topBars(d.top));
        list.append(one);
      });
      details.append(list);
    } else {
      details.append(topBars(r.top));
    }
    const seen = el("div", "seen");
    if (!reading && r.normalized) seen.append(figure(r.normalized, "what the model saw (28×28)"));
    if (input) seen.append(figure(input, "your image", "input"));
    art.append(answer, details);
    if (seen.childElementCount) art.append(seen);
    return art;
  }

  function reveal() {       // on a phone the answer to an upload may be out of sight
    const box = resultsEl.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) resultsEl.scrollIntoView({ block: "nearest" });
  }

  function render(results, inputs) {
    resultsEl.replaceChildren(...results.map((r, i) => card(r, inputs[i])));
  }

  // ---- files: chooser, camera, drop, paste -------------------------------------------------
  for (const id of ["files", "camera"]) {
    $(id).addEventListener("change", (e) => {
      sendFiles(e.target.files);
      e.target.value = "";       // choosing the same file again is a new request
    });
  }

  let depth = 0;
  document.addEventListener("dragenter", (e) => {
    e.preventDefault();
    if (depth++ === 0) document.body.classList.add("dragging");
  });
  document.addEventListener("dragleave", () => {
    if (--depth <= 0) { depth = 0; document.body.classList.remove("dragging"); }
  });
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    document.body.classList.remove("dragging");
    if (e.dataTransfer) sendFiles(e.dataTransfer.files);
  });
  document.addEventListener("paste", (e) => {
    if (e.clipboardData && e.clipboardData.files.length) {
      e.preventDefault();
      sendFiles(e.clipboardData.files);
    }
  });

  // ---- start -----------------------------------------------------------------------------
  redraw();
  updateButtons();
  markBusy();
  fetch("/healthz")
    .then((r) => r.json())
    .then((h) => {
      server.read = Boolean(h.read);
      if (h.max_bytes) server.maxBytes = h.max_bytes;
      document.documentElement.dataset.ready = "1";
    })
    .catch(() => showError("The server could not be reached. Is `digits serve` running?"));
})();
