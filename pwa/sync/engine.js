/**
 * The sync engine: one round = push the outbox (FIFO), upload blobs (HEAD, then PUT), finalize what
 * the inspector submitted, pull by cursor, then clean up what the server holds for sure.
 *
 * When: on open, on `online`, when the page becomes visible, after each save, on "同步", and on a
 * timer that backs off after failures (5 s doubling to 5 min) and ticks every few minutes otherwise.
 * One tab at a time: the round runs under the Web Lock "spotcheck-sync" (ifAvailable, so a second
 * tab skips instead of queueing); without Web Locks a short lease in localStorage does the same.
 *
 * Deletion rule (PROTOCOL.md §7): an outbox entry goes only when the server's result for its change
 * was received; blob bytes go only when HEAD of their hash returned 200 and no unconfirmed change
 * refers to them — and even then only once their inspection is closed or withdrawn, since the
 * inspector still looks at them while working.
 */

import { getMeta, read, setMeta, write } from "../data/db.js";
import { flush } from "../data/outbox.js";
import { applyPulled, EDITABLE_STATES } from "../data/records.js";
import { PULL_LIMIT, SyncProblem } from "./client.js";

export const LOCK_NAME = "spotcheck-sync";
const BACKOFF_MIN_MS = 5000;
const BACKOFF_MAX_MS = 5 * 60 * 1000;
const PERIODIC_MS = 3 * 60 * 1000;
// Blob failures that retrying cannot fix: the file itself was refused.
const BLOB_REFUSED = /^(image_|payload_too_large|sync_blob_hash_mismatch|blob_hash_mismatch)/;

export function backoffDelay(failures, random = Math.random) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Run `fn` holding the sync lock, or return "busy" when another tab holds it. */
export async function withSyncLock(fn, { locks = globalThis.navigator && globalThis.navigator.locks, storage } = {}) {
  if (locks && locks.request) {
    return locks.request(LOCK_NAME, { ifAvailable: true }, (lock) => (lock ? fn() : "busy"));
  }
  // Fallback lease: good enough to keep two tabs from pushing the same outbox at once; a replay
  // would be harmless anyway (the server answers it from its stored result).
  const store = storage || globalThis.localStorage;
  if (!store) return fn();
  const now = Date.now();
  const lease = JSON.parse(store.getItem(LOCK_NAME) || "null");
  if (lease && lease.until > now) return "busy";
  const mine = { id: Math.random().toString(36).slice(2), until: now + 60000 };
  store.setItem(LOCK_NAME, JSON.stringify(mine));
  try {
    return await fn();
  } finally {
    const current = JSON.parse(store.getItem(LOCK_NAME) || "null");
    if (current && current.id === mine.id) store.removeItem(LOCK_NAME);
  }
}

export class SyncEngine {
  /**
   * @param {object} opts
   * @param {IDBPDatabase} opts.db
   * @param {SyncClient} opts.client
   * @param {() => Promise<{device_id, token, user}|null>} opts.session
   * @param {object} [opts.locks] Web Locks implementation (tests pass their own)
   */
  constructor({ db, client, session, locks, timers = globalThis, random = Math.random }) {
    this.db = db;
    this.client = client;
    this.session = session;
    this.locks = locks;
    this.timers = timers;
    this.random = random;
    this.failures = 0;
    this.timer = null;
    this.running = null;
    this.again = false;
    this.listeners = new Set();
    this.status = { phase: "idle", lastOk: null, lastError: null, progress: {}, needsLogin: false };
  }

  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(patch) {
    Object.assign(this.status, patch);
    for (const fn of this.listeners) fn(this.status);
  }

  /** Start a round now (or right after the running one); resolves when it is done. */
  sync(reason = "manual") {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let result;
      try {
        do {
          this.again = false;
          result = await withSyncLock(() => this.round(reason), { locks: this.locks });
        } while (this.again && result !== "busy" && this.status.phase !== "error");
      } finally {
        this.running = null;
      }
      return result;
    })();
    return this.running;
  }

  schedule(ms) {
    if (this.timer) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.sync("timer");
    }, ms);
  }

  stop() {
    if (this.timer) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  async round(reason) {
    const session = await this.session();
    if (!session || !session.token) return "no-session";
    this.emit({ phase: "syncing", reason, lastError: null });
    try {
      await this.pushAll(session);
      await this.uploadBlobs();
      await this.finalizeRequested();
      await this.pullAll();
      await this.cleanup();
      this.failures = 0;
      this.emit({ phase: "idle", lastOk: new Date().toISOString(), needsLogin: false });
      this.schedule(PERIODIC_MS);
      return "ok";
    } catch (err) {
      const problem = err instanceof SyncProblem ? err : new SyncProblem("client_error", 0, { detail: String(err) });
      if (!(err instanceof SyncProblem)) console.error(err); // a bug here must be visible in the console
      this.failures += 1;
      const needsLogin = problem.needsLogin || problem.code === "forbidden";
      this.emit({ phase: "error", lastError: { code: problem.code, status: problem.status }, needsLogin });
      if (!needsLogin) this.schedule(backoffDelay(this.failures, this.random));
      return "error";
    }
  }

  async pushAll(session) {
    await flush(this.db, session.device_id, async (changes) => {
      try {
        return await this.client.push(session.device_id, changes);
      } catch (err) {
        // One malformed change must not block the whole outbox forever: isolate it by pushing the
        // batch one change at a time; a single refused change becomes a visible rejection.
        if (err.code === "sync_bad_request" && changes.length === 1) {
          return {
            results: [
              {
                change_id: changes[0].change_id,
                status: "rejected",
                record_version: 0,
                error: { code: err.code, detail: (err.body && err.body.detail) || "" },
              },
            ],
          };
        }
        if (err.code === "sync_bad_request") {
          const results = [];
          for (const change of changes) {
            const one = await this.client
              .push(session.device_id, [change])
              .catch((e) =>
                e.code === "sync_bad_request"
                  ? {
                      results: [
                        {
                          change_id: change.change_id,
                          status: "rejected",
                          record_version: 0,
                          error: { code: e.code, detail: (e.body && e.body.detail) || "" },
                        },
                      ],
                    }
                  : Promise.reject(e),
              );
            results.push(...one.results);
          }
          return { results };
        }
        throw err;
      }
    });
  }

  async uploadBlobs() {
    const pending = (await this.db.getAll("blobs"))
      .filter((b) => b.state === "pending")
      .sort((a, b) => a.order - b.order);
    for (const meta of pending) {
      this.emit({ progress: { ...this.status.progress, [meta.sha256]: { sent: 0, total: meta.size } } });
      let held = await this.client.hasBlob(meta.sha256);
      if (!held) {
        const row = await this.db.get("blob_bytes", meta.sha256);
        if (!row) {
          await this.markBlob(meta.sha256, { state: "failed", error: { code: "local_bytes_missing" } });
          continue;
        }
        try {
          await this.client.putBlob(meta.sha256, row.bytes, {
            contentType: meta.content_type,
            kind: meta.kind,
            onProgress: (sent, total) =>
              this.emit({ progress: { ...this.status.progress, [meta.sha256]: { sent, total } } }),
          });
        } catch (err) {
          if (err instanceof SyncProblem && BLOB_REFUSED.test(err.code)) {
            await this.markBlob(meta.sha256, { state: "failed", error: { code: err.code, status: err.status } });
            continue;
          }
          throw err;
        }
        // The deletion rule counts a HEAD 200, not the PUT's answer.
        held = await this.client.hasBlob(meta.sha256);
      }
      if (held) await this.markBlob(meta.sha256, { state: "uploaded", verified_at: new Date().toISOString() });
    }
  }

  markBlob(sha256, patch) {
    return write(this.db, ["blobs"], async (tx) => {
      const store = tx.objectStore("blobs");
      const meta = await store.get(sha256);
      if (meta) await store.put({ ...meta, ...patch });
    });
  }

  async finalizeRequested() {
    const requests = (await this.db.getAll("meta")).filter(
      (m) => m.key.startsWith("finalize:") && m.value.status === "requested",
    );
    for (const { key, value } of requests) {
      const inspectionId = key.slice("finalize:".length);
      const waiting = await read(this.db, ["outbox", "blobs"], async (tx) => {
        const queued = await tx.objectStore("outbox").index("inspection").count(inspectionId);
        const blobs = await tx.objectStore("blobs").index("inspection").getAll(inspectionId);
        return queued + blobs.filter((b) => b.state === "pending").length;
      });
      if (waiting > 0) continue; // records and blobs first; the next round finalizes
      try {
        const body = await this.client.finalize(inspectionId);
        await setMeta(this.db, key, { ...value, status: "done", at: new Date().toISOString(), result: body });
      } catch (err) {
        if (err instanceof SyncProblem && err.code === "inspection_incomplete") {
          await setMeta(this.db, key, {
            ...value,
            status: "incomplete",
            at: new Date().toISOString(),
            missing: (err.body && err.body.missing) || [],
          });
        } else if (err instanceof SyncProblem && err.code === "inspection_locked") {
          // A reviewer already moved it on: nothing to submit; the pull shows its state.
          await setMeta(this.db, key, { ...value, status: "locked", at: new Date().toISOString() });
        } else if (err instanceof SyncProblem && !err.transient && !err.needsLogin) {
          await setMeta(this.db, key, { ...value, status: "failed", at: new Date().toISOString(), code: err.code });
        } else {
          throw err;
        }
      }
    }
  }

  async pullAll() {
    let cursor = await getMeta(this.db, "cursor", null);
    for (let pages = 0; pages < 1000; pages++) {
      let page;
      try {
        page = await this.client.pull(cursor, PULL_LIMIT);
      } catch (err) {
        if (err instanceof SyncProblem && err.code === "sync_cursor_invalid" && cursor !== null) {
          cursor = null; // PROTOCOL §8: drop it and pull from the start
          await setMeta(this.db, "cursor", null);
          continue;
        }
        throw err;
      }
      await applyPulled(this.db, page.changes || []);
      await write(this.db, ["meta"], async (tx) => {
        const meta = tx.objectStore("meta");
        await meta.put({ key: "cursor", value: page.cursor });
        if (Array.isArray(page.assigned)) await meta.put({ key: "assigned", value: page.assigned });
      });
      cursor = page.cursor;
      if (!page.has_more) return;
    }
  }

  /** Remove what the server holds for sure and the phone no longer needs (see the file comment). */
  async cleanup() {
    const assigned = await getMeta(this.db, "assigned", null);
    await write(this.db, ["records", "outbox", "blobs", "blob_bytes", "rejected", "meta"], async (tx) => {
      const records = tx.objectStore("records");
      const outbox = await tx.objectStore("outbox").getAll();
      const rejected = await tx.objectStore("rejected").getAll();
      const blobs = await tx.objectStore("blobs").getAll();
      const inspections = (await records.getAll()).filter((r) => r.record_type === "inspection");
      const referenced = new Set();
      for (const e of outbox) {
        const f = e.change.fields || {};
        if (f.sha256) referenced.add(f.sha256);
        if (f.png_sha256) referenced.add(f.png_sha256);
      }
      const open = new Set(
        inspections
          .filter((r) => EDITABLE_STATES.has(r.fields.state) && (!assigned || assigned.includes(r.record_id)))
          .map((r) => r.record_id),
      );
      for (const b of blobs) {
        if (b.state === "uploaded" && !referenced.has(b.sha256) && !open.has(b.inspection_id)) {
          await tx.objectStore("blob_bytes").delete(b.sha256);
          await tx.objectStore("blobs").delete(b.sha256);
        }
      }
      if (!assigned) return;
      // Withdrawn inspections: kept while anything of theirs is unsynced or rejected.
      for (const r of inspections) {
        if (assigned.includes(r.record_id)) continue;
        const id = r.record_id;
        const busy =
          outbox.some((e) => e.inspection_id === id) ||
          rejected.some((e) => e.inspection_id === id) ||
          blobs.some((b) => b.inspection_id === id && b.state !== "uploaded");
        if (busy) continue;
        for (const key of await records.index("inspection").getAllKeys(id)) await records.delete(key);
        await records.delete(r.key);
        for (const b of blobs.filter((x) => x.inspection_id === id)) {
          await tx.objectStore("blob_bytes").delete(b.sha256);
          await tx.objectStore("blobs").delete(b.sha256);
        }
        await tx.objectStore("meta").delete(`finalize:${id}`);
      }
    });
  }
}

/** Ask for a finalize of this inspection; the engine sends it once its records and blobs are up. */
export function requestFinalize(db, inspectionId, contentHash) {
  return setMeta(db, `finalize:${inspectionId}`, {
    status: "requested",
    requested_at: new Date().toISOString(),
    content_hash: contentHash,
  });
}
