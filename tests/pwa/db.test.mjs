// The IndexedDB layer: the schema db.js owns, strict durability on writes, and the outbox FIFO.
import { test } from "node:test";
/* global IDBDatabase -- installed by fake-indexeddb/auto */
import { assert, freshDb } from "./helpers.mjs";
import { DB_VERSION, STORES, getMeta, requestPersistence, setMeta, write } from "../../pwa/data/db.js";
import { flush, oldest } from "../../pwa/data/outbox.js";
import { appendRecord, applyPulled, listInspections, saveAnswer, saveOutcome } from "../../pwa/data/records.js";
import { outcomeId } from "../../pwa/data/ids.js";

const INSPECTION = "10000000-0000-4000-8000-000000000001";

test("the database has every store at the current version", async () => {
  const db = await freshDb();
  assert.equal(db.version, DB_VERSION);
  assert.deepEqual([...db.objectStoreNames].sort(), [...STORES].sort());
  assert.deepEqual([...db.transaction("outbox").store.indexNames].sort(), ["change", "inspection", "record"]);
});

test("every write asks for strict durability", async () => {
  const db = await freshDb();
  const seen = [];
  const original = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (stores, mode, options) {
    if (mode === "readwrite") seen.push(options && options.durability);
    return original.call(this, stores, mode, options);
  };
  try {
    await setMeta(db, "k", 1);
    await saveAnswer(db, { deviceId: "d", userId: 1 }, INSPECTION, 101, { value: "yes" });
  } finally {
    IDBDatabase.prototype.transaction = original;
  }
  assert.ok(seen.length >= 2);
  assert.ok(seen.every((d) => d === "strict"), JSON.stringify(seen));
  assert.equal(await getMeta(db, "k"), 1);
});

test("a failed write changes nothing (the transaction is aborted)", async () => {
  const db = await freshDb();
  await assert.rejects(
    write(db, ["meta"], async (tx) => {
      await tx.objectStore("meta").put({ key: "a", value: 1 });
      throw new Error("boom");
    }),
  );
  assert.equal(await getMeta(db, "a"), null);
});

test("a save writes the record and its outbox entry together; append records get fresh ids", async () => {
  const db = await freshDb();
  const ctx = { deviceId: "dev-a", userId: 1 };
  await saveOutcome(db, ctx, INSPECTION, { code: "no_contact", note: null });
  const photoBytes = new Uint8Array([255, 216, 1, 2]).buffer;
  await appendRecord(db, ctx, "photo", INSPECTION, { sha256: "a".repeat(64), taken_at: "2025-06-03T09:00:00+08:00", device_id: "dev-a" }, { sha256: "a".repeat(64), bytes: photoBytes, kind: "photo", content_type: "image/jpeg" });
  const entries = await db.getAll("outbox");
  assert.deepEqual(entries.map((e) => [e.change.record_type, e.change.op, e.change.base_version]), [["outcome", "upsert", 0], ["photo", "append", 0]]);
  assert.equal(entries[0].change.record_id, await outcomeId(INSPECTION));
  assert.match(entries[1].change.record_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const blob = await db.get("blobs", "a".repeat(64));
  assert.equal(blob.state, "pending");
  assert.equal(blob.size, 4);
  assert.ok((await db.get("blob_bytes", "a".repeat(64))).bytes instanceof ArrayBuffer);
  // Saving the same value again queues nothing.
  assert.equal(await saveOutcome(db, ctx, INSPECTION, { code: "no_contact" }), null);
  assert.equal(await db.count("outbox"), 2);
});

test("an edit is based on the version last pulled and sends only what changed", async () => {
  const db = await freshDb();
  const ctx = { deviceId: "dev-a", userId: 1 };
  await applyPulled(db, [
    { seq: 1, record_type: "inspection", record_id: INSPECTION, version: 1, fields: { state: "assigned", checkpoint_ids: [101] }, conflicts: [] },
  ]);
  await saveAnswer(db, ctx, INSPECTION, 101, { value: "yes", note: "ok" });
  const [first] = await db.getAll("outbox");
  const id = first.change.record_id;
  await applyPulled(db, [
    {
      seq: 5,
      record_type: "answer",
      record_id: id,
      version: 3,
      fields: { inspection_id: INSPECTION, checkpoint_id: 101, value: "no", note: "ok" },
      conflicts: [{ field: "value", values: [{ device_id: "dev-a", value: "yes" }, { device_id: "dev-b", value: "no" }] }],
    },
  ]);
  // The leader resolves the clash by choosing a value, even the one shown: the field is always sent.
  await db.clear("outbox");
  await applyPulled(db, [
    {
      seq: 6,
      record_type: "answer",
      record_id: id,
      version: 3,
      fields: { inspection_id: INSPECTION, checkpoint_id: 101, value: "yes", note: "ok" },
      conflicts: [{ field: "value", values: [{ device_id: "dev-a", value: "yes" }, { device_id: "dev-b", value: "no" }] }],
    },
  ]);
  await saveAnswer(db, ctx, INSPECTION, 101, { value: "yes" });
  const [resolve] = await db.getAll("outbox");
  assert.equal(resolve.change.base_version, 3);
  assert.deepEqual(resolve.change.fields, { inspection_id: INSPECTION, checkpoint_id: 101, value: "yes" });
  const list = await listInspections(db);
  assert.deepEqual(list.map((i) => [i.id, i.pending]), [[INSPECTION, 1]]);
});

test("the outbox replays oldest first, per device, and stops at the first failure keeping the entry", async () => {
  const db = await freshDb();
  for (let cp = 1; cp <= 5; cp++) await saveAnswer(db, { deviceId: cp === 3 ? "other" : "dev-a", userId: 1 }, INSPECTION, cp, { value: "yes" });
  const mine = await oldest(db, "dev-a", 10);
  assert.deepEqual(mine.map((e) => e.change.fields.checkpoint_id), [1, 2, 4, 5]);

  const sent = [];
  let calls = 0;
  const send = async (changes) => {
    calls += 1;
    if (calls === 2) throw Object.assign(new Error("offline"), { code: "network" });
    sent.push(...changes.map((c) => c.fields.checkpoint_id));
    return { results: changes.map((c) => ({ change_id: c.change_id, status: "applied", record_version: 1 })) };
  };
  await assert.rejects(flush(db, "dev-a", send, { batchSize: 2 }), (e) => e.code === "network");
  assert.deepEqual(sent, [1, 2]);
  const left = await oldest(db, "dev-a", 10);
  assert.deepEqual(left.map((e) => e.change.fields.checkpoint_id), [4, 5]);
  assert.equal(left[0].attempts, 1);
  assert.equal(left[0].last_error.code, "network");
  const total = await flush(db, "dev-a", send, { batchSize: 2 });
  assert.deepEqual(sent, [1, 2, 4, 5]);
  assert.equal(total.settled, 2);
  assert.equal(await db.count("outbox"), 1); // the other device's entry is not ours to send
});

test("an answer that names no change keeps the entry and stops", async () => {
  const db = await freshDb();
  await saveAnswer(db, { deviceId: "d", userId: 1 }, INSPECTION, 101, { value: "yes" });
  await assert.rejects(flush(db, "d", async () => ({ results: [] })), (e) => e.code === "sync_no_results");
  assert.equal(await db.count("outbox"), 1);
});

test("persistent storage is requested once and a refusal is not an error", async () => {
  let asked = 0;
  const nav = { storage: { persisted: async () => false, persist: async () => (asked++, true) } };
  assert.equal(await requestPersistence(nav), true);
  assert.equal(asked, 1);
  const refusing = { storage: { persisted: async () => false, persist: async () => Promise.reject(new Error("no")) } };
  assert.equal(await requestPersistence(refusing), false);
  assert.equal(await requestPersistence({}), false);
});
