/**
 * The outbox: the FIFO of changes this device made and the server has not confirmed yet.
 *
 * PROTOCOL.md §6 asks a device to deliver each change for the first time only after all its earlier
 * changes were delivered. So `flush` sends the oldest entries first and stops at the first failed
 * request with every unconfirmed entry kept (the workbox-background-sync Queue pattern). A retry
 * resends the same change ids; the server answers a replay with the stored result.
 *
 * An entry leaves the outbox only when the server's result for its change_id was received:
 * applied / merged / conflict / duplicate remove it; rejected moves it to the `rejected` store,
 * which the inspector sees (nothing is dropped silently).
 */

import { write, read } from "./db.js";

export const BATCH_SIZE = 50;
const SETTLED = new Set(["applied", "merged", "conflict", "duplicate"]);

/** Add a change inside the caller's transaction (it must include the "outbox" store). */
export function enqueue(tx, change, { inspectionId, deviceId, userId }) {
  return tx.objectStore("outbox").add({
    change,
    record_key: `${change.record_type}:${change.record_id}`,
    inspection_id: inspectionId,
    device_id: deviceId,
    user_id: userId ?? null,
    queued_at: new Date().toISOString(),
    attempts: 0,
    last_error: null,
  });
}

/** Every entry, oldest first (for the outbox screen and the export). */
export function allEntries(db) {
  return db.getAll("outbox");
}

/** The oldest `limit` entries of one device, in the order they were made. */
export async function oldest(db, deviceId, limit = BATCH_SIZE) {
  return read(db, ["outbox"], async (tx) => {
    const out = [];
    let cursor = await tx.objectStore("outbox").openCursor();
    while (cursor && out.length < limit) {
      if (cursor.value.device_id === deviceId) out.push(cursor.value);
      cursor = await cursor.continue();
    }
    return out;
  });
}

export function count(db) {
  return db.count("outbox");
}

/**
 * Everything on this phone the server has not confirmed: queued changes, rejected changes not yet
 * seen to, and photo or signature files not yet uploaded (logging out with any of it asks first).
 */
export async function unsyncedCount(db) {
  return read(db, ["outbox", "rejected", "blobs"], async (tx) => {
    const queued = await tx.objectStore("outbox").count();
    const rejected = await tx.objectStore("rejected").count();
    const files = (await tx.objectStore("blobs").getAll()).filter((b) => b.state !== "uploaded").length;
    return queued + rejected + files;
  });
}

/** Entries waiting for one record (the screen overlays their fields on the pulled state). */
export function entriesForRecord(tx, recordKey) {
  return tx.objectStore("outbox").index("record").getAll(recordKey);
}

/**
 * Apply the server's per-change results to the outbox in one transaction: settled entries go,
 * rejected ones move to `rejected` with their error. `onSettled(tx, entry, result)` lets the caller
 * update the records store in the same transaction.
 */
export async function settle(db, entries, results, onSettled = () => {}) {
  const byId = new Map(results.map((r) => [r.change_id, r]));
  return write(db, ["outbox", "rejected", "records"], async (tx) => {
    const outbox = tx.objectStore("outbox");
    const rejectedStore = tx.objectStore("rejected");
    const summary = { settled: 0, rejected: 0 };
    for (const entry of entries) {
      const result = byId.get(entry.change.change_id);
      if (!result) continue; // not answered (cannot happen with a conforming server): keep it
      if (SETTLED.has(result.status)) {
        summary.settled++;
      } else if (result.status === "rejected") {
        summary.rejected++;
        await rejectedStore.put({
          change_id: entry.change.change_id,
          change: entry.change,
          inspection_id: entry.inspection_id,
          error: result.error || { code: "unknown", detail: "" },
          rejected_at: new Date().toISOString(),
        });
      } else {
        continue;
      }
      await outbox.delete(entry.seq);
      await onSettled(tx, entry, result);
    }
    return summary;
  });
}

/** Note a failed attempt on the oldest entries (shown in the outbox; never removes anything). */
export function noteFailure(db, entries, error) {
  return write(db, ["outbox"], async (tx) => {
    const store = tx.objectStore("outbox");
    for (const entry of entries) {
      const current = await store.get(entry.seq);
      if (!current) continue;
      current.attempts += 1;
      current.last_error = error;
      await store.put(current);
    }
  });
}

/**
 * Send every entry of `deviceId`, oldest first, `batchSize` at a time, through `send(changes)`
 * (which resolves to the PushResponse). Network I/O happens between transactions, never inside
 * one. Stops and rethrows at the first failed request; what was not confirmed stays queued.
 */
export async function flush(db, deviceId, send, { batchSize = BATCH_SIZE, onSettled, onProgress } = {}) {
  const total = { settled: 0, rejected: 0, batches: 0 };
  for (;;) {
    const batch = await oldest(db, deviceId, batchSize);
    if (batch.length === 0) return total;
    let response;
    try {
      response = await send(batch.map((e) => e.change));
    } catch (err) {
      await noteFailure(db, batch.slice(0, 1), { code: err.code || "network", at: new Date().toISOString() });
      throw err;
    }
    const summary = await settle(db, batch, response.results || [], onSettled);
    total.settled += summary.settled;
    total.rejected += summary.rejected;
    total.batches += 1;
    if (onProgress) onProgress(total);
    if (summary.settled + summary.rejected === 0) {
      // The server answered none of them: stop rather than loop on the same batch.
      throw Object.assign(new Error("push answered no change"), { code: "sync_no_results" });
    }
  }
}
