/** Tiny DOM helpers: `h(tag, props, ...children)` builds elements (no innerHTML, so no injection). */

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "draft") {
      // A text field whose unsaved text must survive a rebuild of the screen (see keepDrafts).
      el.dataset.draft = value;
      el.dataset.saved = props.value ?? "";
    } else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "value" || key === "checked" || key === "disabled" || key === "selected") {
      el[key] = value;
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  // A field's placeholder disappears as soon as one types: keep it as the field's accessible name.
  if (props && props.placeholder && !props["aria-label"]) el.setAttribute("aria-label", String(props.placeholder));
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Rebuild `root` with `build()` without losing what the inspector is typing: unsaved text of every
 * field marked `draft` is carried over to the field with the same key, and so are focus and caret.
 */
export async function keepDrafts(root, build) {
  const drafts = new Map();
  for (const el of root.querySelectorAll("[data-draft]")) {
    if (el.value !== el.dataset.saved) drafts.set(el.dataset.draft, el.value);
  }
  const active = document.activeElement;
  const focused = active && root.contains(active) && active.dataset ? active.dataset.draft : null;
  const caret = focused ? [active.selectionStart, active.selectionEnd] : null;
  await build();
  for (const el of root.querySelectorAll("[data-draft]")) {
    if (drafts.has(el.dataset.draft)) el.value = drafts.get(el.dataset.draft);
    if (focused && el.dataset.draft === focused) {
      el.focus();
      if (caret && el.setSelectionRange) el.setSelectionRange(caret[0], caret[1]);
    }
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

const TZ = "Asia/Shanghai";

/** A stored ISO time shown in Asia/Shanghai ("06-03 09:21"), or the date only. */
export function formatTime(iso, lang, { date = true, time = true } = {}) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const opts = { timeZone: TZ, hour12: false };
  if (date) Object.assign(opts, { year: "numeric", month: "2-digit", day: "2-digit" });
  if (time) Object.assign(opts, { hour: "2-digit", minute: "2-digit" });
  return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN", opts).format(d);
}

/** Today's date in Asia/Shanghai as "YYYY-MM-DD" (assignment windows are dates there). */
export function todayInChina(now = new Date()) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(now)
    .reduce((acc, p) => ({ ...acc, [p.type]: p.value }), {});
  return `${parts.year}-${parts.month}-${parts.day}`;
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
