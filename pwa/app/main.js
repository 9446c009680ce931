/**
 * The field app's entry point: open the database, wire the sync engine to its triggers, register
 * the service worker, and route between screens (#/login, #/, #/i/<id>, #/i/<id>/sign, #/outbox).
 *
 * Screens are functions of the database state, rebuilt on every change; a rebuild waits while a
 * text field has focus so typing is never interrupted (text is saved on change/blur).
 */

import { deleteMeta, getMeta, onBlocking, openDatabase, requestPersistence, setMeta } from "../data/db.js";
import { SyncClient } from "../sync/client.js";
import { SyncEngine } from "../sync/engine.js";
import { h, keepDrafts, replace } from "./dom.js";
import { Drafts } from "./drafts.js";
import { getLang, setLang, syncErrorText, t } from "./i18n.js";
import { watchUpdates } from "./updates.js";
import { renderLogin } from "./views/login.js";
import { renderList } from "./views/list.js";
import { renderInspection } from "./views/inspection.js";
import { renderSign } from "./views/sign.js";
import { renderOutbox } from "./views/outbox.js";
import { count as outboxCount, unsyncedCount } from "../data/outbox.js";

const LANG_KEY = "spotcheck-lang";

class App {
  constructor(db) {
    this.db = db;
    this.session = null;
    this.client = new SyncClient({ token: () => (this.session ? this.session.token : null) });
    this.engine = new SyncEngine({ db, client: this.client, session: () => getMeta(db, "session") });
    this.root = document.getElementById("app");
    this.header = document.getElementById("bar");
    this.banner = document.getElementById("banner");
    this.pendingRender = false;
    this.saveTimer = null;
    this.photoUrls = new Map();
    this.channel = typeof BroadcastChannel !== "undefined" ? new BroadcastChannel("spotcheck") : null;
    this.firstListShown = false;
    this.inspectionLock = null;
    this.drafts = new Drafts(typeof localStorage !== "undefined" ? localStorage : null);
    this.openFindings = new Set(); // checkpoints whose finding form the inspector opened (views/inspection.js)
  }

  get t() {
    return t;
  }

  get lang() {
    return getLang();
  }

  /** Who is writing: the ids every local change carries. */
  ctx() {
    return {
      deviceId: this.session.device_id,
      userId: this.session.user.id,
      inspectorId: this.session.user.inspector_id,
    };
  }

  async start() {
    this.session = await getMeta(this.db, "session");
    window.addEventListener("hashchange", () => this.render());
    window.addEventListener("online", () => this.kick("online"));
    window.addEventListener("offline", () => this.renderBar());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.kick("visible");
    });
    document.addEventListener("input", (event) => {
      const el = event.target;
      if (this.session && el && el.dataset && el.dataset.draft) this.drafts.remember(el.dataset.draft, el.value, el.dataset.saved);
    });
    document.addEventListener("focusout", () => {
      if (this.pendingRender) setTimeout(() => this.render(), 0);
    });
    this.engine.on(() => {
      this.renderBar();
      this.softRender();
    });
    if (this.channel) this.channel.onmessage = () => this.softRender();
    // The first screen before anything else touches IndexedDB: the sync round would compete for it.
    await this.render();
    if (this.session) this.kick("open");
    requestPersistence().then((granted) => {
      this.persisted = granted;
    });
    this.updates = watchUpdates(this);
  }

  kick(reason) {
    if (!this.session) return;
    this.engine.sync(reason).then(() => {
      if (this.channel) this.channel.postMessage({ type: "synced" });
    });
  }

  /** Called after every local save: refresh the screen and sync soon (debounced). */
  saved() {
    if (this.channel) this.channel.postMessage({ type: "saved" });
    this.render();
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.kick("save"), 800);
  }

  async login(session) {
    // Logging in again after the token expired: back to the screen the inspector left, if theirs.
    const sameUser = this.session && this.session.user.id === session.user.id;
    const back = sameUser && this.returnTo && this.returnTo !== "#/login" ? this.returnTo : "#/";
    this.returnTo = null;
    this.session = session;
    await setMeta(this.db, "session", session);
    if (session.user.locale === "en" && !localStorage.getItem(LANG_KEY)) setLang("en");
    location.hash = back;
    this.render();
    this.kick("login");
  }

  /**
   * Log out; with unsynced data on the phone, only after the inspector confirmed it: that data then
   * waits for their next login (nobody else may log in here meanwhile, see views/login.js).
   */
  async logout() {
    const unsynced = await unsyncedCount(this.db);
    const question = t("本机还有 {n} 项未同步的数据。退出后须由本人重新登录才能同步，其他人也不能在本机登录。仍要退出吗？", { n: unsynced });
    if (unsynced && !window.confirm(question)) return;
    await deleteMeta(this.db, "session");
    this.session = null;
    this.engine.stop();
    location.hash = "#/login";
    this.render();
  }

  toggleLang() {
    const next = getLang() === "en" ? "zh" : "en";
    setLang(next);
    localStorage.setItem(LANG_KEY, next);
    this.render();
  }

  /** Rebuild unless the user is typing in a field; then after they leave it. */
  softRender() {
    if (this.drawing) {
      this.pendingRender = true;
      return;
    }
    const active = document.activeElement;
    if (active && (active.tagName === "TEXTAREA" || (active.tagName === "INPUT" && active.type !== "file"))) {
      this.pendingRender = true;
      return;
    }
    this.render();
  }

  async renderBar() {
    const pending = this.session ? await outboxCount(this.db) : 0;
    const status = this.engine.status;
    const online = navigator.onLine;
    let line;
    if (status.phase === "syncing") line = t("正在同步…");
    else if (status.needsLogin) line = t("登录已过期，请重新登录（未同步的数据仍保存在本机）");
    else if (status.phase === "error") line = syncErrorText(status.lastError, online);
    else if (pending) line = t("{n} 项待同步", { n: pending });
    else line = t("已全部同步");
    replace(
      this.header,
      h("a", { href: "#/", class: "title" }, t("现场检查")),
      h("span", { class: `net ${online ? "on" : "off"}`, "data-testid": "net" }, online ? t("在线") : t("离线")),
      h("span", { class: "sync-line", "data-testid": "sync-line", "data-phase": status.phase }, line),
      this.session && status.needsLogin
        ? h("a", { href: "#/login", class: "button", "data-testid": "relogin", onclick: () => (this.returnTo = location.hash) }, t("登录"))
        : null,
      this.session
        ? h("button", { type: "button", class: "sync", "data-testid": "sync-now", onclick: () => this.kick("manual") }, t("同步"))
        : null,
      h("button", { type: "button", class: "lang", "aria-label": t("语言"), onclick: () => this.toggleLang() }, getLang() === "en" ? "中文" : "EN"),
    );
  }

  async render() {
    this.pendingRender = false;
    this.drawing = false;
    const y = window.scrollY;
    const route = (location.hash || "#/").slice(1);
    if (route !== this.lastRoute) this.openFindings.clear();
    this.drafts.scope = this.session ? `${this.session.user.id}:${route}` : "";
    this.renderBar();
    let view;
    let inspectionOpen = null;
    if (!this.session || route === "/login") {
      view = await renderLogin(this);
    } else if (route === "/outbox") {
      view = await renderOutbox(this);
    } else {
      const m = /^\/i\/([0-9a-f-]{36})(\/sign)?$/.exec(route);
      if (m) {
        inspectionOpen = m[1];
        view = m[2] ? await renderSign(this, m[1]) : await renderInspection(this, m[1]);
      } else {
        view = await renderList(this);
      }
    }
    this.holdInspection(inspectionOpen);
    if (this.lastRoute === route) {
      await keepDrafts(this.root, () => replace(this.root, view));
      window.scrollTo(0, y);
    } else {
      replace(this.root, view);
    }
    // Text typed here before a reload or a trip to another screen: back in its field, and saved
    // as leaving the field would have saved it.
    if (this.session) for (const el of this.drafts.restore(this.root)) el.dispatchEvent(new Event("change"));
    // The tab's (and the task switcher's) title names the screen, in the chosen language.
    document.title = view.dataset && view.dataset.title ? `${view.dataset.title} · ${t("现场检查")}` : t("现场检查");
    if (view.dataset && view.dataset.testid === "assignments") this.markListShown();
    this.lastRoute = route;
    if (this.updates) this.updates.refresh();
  }

  /**
   * While an inspection screen is open this tab holds the shared Web Lock "spotcheck-inspection";
   * the update logic (updates.js) asks whether any tab holds it before activating a new version.
   */
  holdInspection(inspectionId) {
    this.openInspection = inspectionId;
    if (inspectionId && !this.inspectionLock && navigator.locks) {
      let release;
      const held = new Promise((resolve) => (release = resolve));
      // Resolves once the lock is actually released (updates.js waits for it before asking).
      this.inspectionReleased = navigator.locks.request("spotcheck-inspection", { mode: "shared" }, () => held);
      this.inspectionLock = release;
    } else if (!inspectionId && this.inspectionLock) {
      this.inspectionLock();
      this.inspectionLock = null;
    }
  }

  markListShown() {
    if (!this.firstListShown) {
      this.firstListShown = true;
      performance.mark("spotcheck:assignments");
    }
  }

  /** An object URL for a photo: local bytes if still here, else the server's thumbnail when online. */
  async photoUrl(sha256, rendition = "thumb") {
    const key = `${sha256}:${rendition}`;
    if (this.photoUrls.has(key)) return this.photoUrls.get(key);
    const local = await this.db.get("blob_bytes", sha256);
    let url = null;
    if (local) {
      const meta = await this.db.get("blobs", sha256);
      url = URL.createObjectURL(new Blob([local.bytes], { type: (meta && meta.content_type) || "image/jpeg" }));
    } else if (navigator.onLine) {
      try {
        url = URL.createObjectURL(await this.client.getBlob(sha256, rendition));
      } catch (_) {
        url = null;
      }
    }
    if (url) this.photoUrls.set(key, url);
    return url;
  }
}

async function boot() {
  setLang(localStorage.getItem(LANG_KEY) || "zh");
  const db = await openDatabase();
  onBlocking(() => {
    db.close();
    location.reload();
  });
  const app = new App(db);
  window.spotcheck = app; // for support in the field (console) and the end-to-end tests
  await app.start();
}

boot().catch((err) => {
  console.error(err);
  const root = document.getElementById("app");
  if (root) replace(root, h("p", { class: "error" }, String(err && err.message)));
});
