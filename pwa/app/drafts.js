/**
 * Unsaved text survives a reload, a crash of the tab or a trip to another screen: every keystroke
 * in a field marked `draft` (see dom.js) is kept in localStorage (synchronous, so nothing is lost
 * when the page goes away mid-word) under the user and the screen, and put back into the same field
 * when that screen is built again. A draft is forgotten once the field shows it as saved.
 */

const PREFIX = "spotcheck-draft:";

export class Drafts {
  /** @param {Storage|null} storage  localStorage in the browser; any getItem/setItem/removeItem store in tests */
  constructor(storage) {
    this.storage = storage;
    this.scope = "";
  }

  key(name) {
    return `${PREFIX}${this.scope}|${name}`;
  }

  get(name) {
    try {
      return this.storage ? this.storage.getItem(this.key(name)) : null;
    } catch (_) {
      return null;
    }
  }

  /** Called on every input: keep the text, or forget it when it is what is saved anyway. */
  remember(name, value, saved = "") {
    if (value === saved) {
      this.forget(name);
      return;
    }
    try {
      if (this.storage) this.storage.setItem(this.key(name), value);
    } catch (_) {
      // Storage full or denied: the in-memory draft (dom.js keepDrafts) still covers rebuilds.
    }
  }

  forget(name) {
    try {
      if (this.storage) this.storage.removeItem(this.key(name));
    } catch (_) {
      // nothing to forget
    }
  }

  /**
   * Put kept drafts back into the fields under `root` that show their saved value; returns the
   * fields that got their text back (the caller saves those that save on change).
   */
  restore(root) {
    const restored = [];
    for (const el of root.querySelectorAll("[data-draft]")) {
      const name = el.dataset.draft;
      const kept = this.get(name);
      if (kept === null) continue;
      const saved = el.dataset.saved ?? "";
      if (kept === saved) {
        this.forget(name);
      } else if (!el.disabled && el.value === saved) {
        el.value = kept;
        restored.push(el);
      }
    }
    return restored;
  }
}
