/**
 * The phone's IndexedDB: this module owns the database name, its version, the object stores and
 * every upgrade step. Everything else goes through `read` / `write` here.
 *
 * Stores
 *   meta      {key, value}: the session (token, device), device ids per user, the pull cursor,
 *             the `assigned` list, finalize requests and results.
 *   records   one per synced record as the phone shows it: the last pulled server state with this
 *             device's unconfirmed edits laid over it. key = `${record_type}:${record_id}`.
 *   outbox    the FIFO of changes not yet confirmed by the server (data/outbox.js); seq = order.
 *   blobs     photo and signature images by SHA-256: kind, type, size, upload state and progress.
 *   blob_bytes  their bytes (ArrayBuffer), apart so that listing blobs never loads megabytes.
 *   rejected  changes the server rejected: kept and shown to the inspector, never dropped.
 *
 * Rule (idb README; STYLE.md 13): never await the network inside a transaction. A transaction
 * closes as soon as it has no pending request, so `write(fn)` callers only await IDB requests.
 */

import { openDB, deleteDB } from "idb";

export const DB_NAME = "spotcheck";
export const DB_VERSION = 1;
export const STORES = ["meta", "records", "outbox", "blobs", "blob_bytes", "rejected"];

// Upgrade steps by the version they lead to; a phone on version n runs every step above n in order.
const UPGRADES = {
  1(db) {
    db.createObjectStore("meta", { keyPath: "key" });
    const records = db.createObjectStore("records", { keyPath: "key" });
    records.createIndex("inspection", "inspection_id");
    const outbox = db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
    outbox.createIndex("change", "change.change_id", { unique: true });
    outbox.createIndex("record", "record_key");
    outbox.createIndex("inspection", "inspection_id");
    const blobs = db.createObjectStore("blobs", { keyPath: "sha256" });
    blobs.createIndex("inspection", "inspection_id");
    db.createObjectStore("blob_bytes", { keyPath: "sha256" });
    db.createObjectStore("rejected", { keyPath: "change_id" });
  },
};

export function openDatabase(name = DB_NAME) {
  return openDB(name, DB_VERSION, {
    upgrade(db, oldVersion, newVersion) {
      for (let v = oldVersion + 1; v <= newVersion; v++) UPGRADES[v](db);
    },
    blocking() {
      // A newer version of the app wants to upgrade in another tab: let it, reload later.
      closeHook();
    },
  });
}

let closeHook = () => {};
/** Called when another tab needs to upgrade the schema; the app closes its handle and reloads. */
export function onBlocking(fn) {
  closeHook = fn;
}

export function dropDatabase(name = DB_NAME) {
  return deleteDB(name);
}

/** A read-only transaction over `stores`; `fn(tx)` may only await IDB requests. */
export async function read(db, stores, fn) {
  const tx = db.transaction(stores, "readonly");
  const result = await fn(tx);
  await tx.done;
  return result;
}

/**
 * A read-write transaction with strict durability: it resolves only once the data is flushed to
 * disk, so "saved" on the screen means saved even if the phone dies the next second.
 */
export async function write(db, stores, fn) {
  const tx = db.transaction(stores, "readwrite", { durability: "strict" });
  try {
    const result = await fn(tx);
    await tx.done;
    return result;
  } catch (err) {
    tx.done.catch(() => {}); // the abort below rejects it; the caller gets `err` instead
    try {
      tx.abort();
    } catch (_) {
      // already finished or aborted
    }
    throw err;
  }
}

export async function getMeta(db, key, fallback = null) {
  const row = await db.get("meta", key);
  return row ? row.value : fallback;
}

export function setMeta(db, key, value) {
  return write(db, ["meta"], (tx) => tx.objectStore("meta").put({ key, value }));
}

export function deleteMeta(db, key) {
  return write(db, ["meta"], (tx) => tx.objectStore("meta").delete(key));
}

/** Ask the browser not to evict our data under storage pressure (best effort, may be refused). */
export async function requestPersistence(nav = globalThis.navigator) {
  if (!nav || !nav.storage || !nav.storage.persist) return false;
  try {
    if (await nav.storage.persisted()) return true;
    return await nav.storage.persist();
  } catch (_) {
    return false;
  }
}
