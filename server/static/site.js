// The desk pages' few behaviours, in one file so every page runs under a strict
// Content-Security-Policy (script-src 'self': no inline scripts or handlers anywhere).
"use strict";

// <form data-confirm="…">: ask before submitting (publishing a plan, deleting a draft…).
document.addEventListener("submit", (e) => {
  const form = e.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : null;
  if (question && !window.confirm(question)) e.preventDefault();
});

// The photo viewer on the review page (CSS :target does the showing): Esc closes, ← → step.
document.addEventListener("keydown", (e) => {
  const m = /^#photo-(\d+)$/.exec(location.hash);
  if (!m || (e.target instanceof Element && e.target.closest("textarea, input, select"))) return;
  const n = parseInt(m[1], 10);
  if (e.key === "Escape") {
    location.hash = "photos";
  } else if (e.key === "ArrowLeft" && document.getElementById(`photo-${n - 1}`)) {
    location.hash = `photo-${n - 1}`;
  } else if (e.key === "ArrowRight" && document.getElementById(`photo-${n + 1}`)) {
    location.hash = `photo-${n + 1}`;
  }
});

// A running import: poll its status and move the progress bar; reload when it has finished.
const importBox = document.getElementById("import-progress");
if (importBox) {
  const bar = document.getElementById("import-bar");
  const show = (id, text) => {
    const el = document.getElementById(id);
    if (el) el.textContent = text;
  };
  const poll = () => {
    fetch(importBox.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then((s) => {
        if (s.finished) {
          window.location.reload();
          return;
        }
        bar.max = Math.max(s.total_rows, 1);
        bar.value = s.processed_rows;
        show("import-count", s.processed_rows);
        show("import-total", s.total_rows);
        show("import-status", s.status_label);
        setTimeout(poll, 1000);
      })
      .catch(() => setTimeout(poll, 1000));
  };
  setTimeout(poll, 1000);
}
