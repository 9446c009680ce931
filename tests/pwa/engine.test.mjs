// The sync engine end to end against the in-memory server: FIFO outbox, records before blobs,
// the deletion rule, faults (no answer, lost answer, refused upload), rejections kept and shown,
// cursor recovery, withdrawn inspections, finalize, and one tab at a time.
import { test } from "node:test";
import { createHash } from "node:crypto";
import { assert, freshDb } from "./helpers.mjs";
import { FakeServer } from "./fakeserver.mjs";
import { SyncClient } from "../../pwa/sync/client.js";
import { SyncEngine, backoffDelay, requestFinalize, withSyncLock } from "../../pwa/sync/engine.js";
import { appendRecord, loadInspection, saveAnswer, saveNotes } from "../../pwa/data/records.js";
import { getMeta } from "../../pwa/data/db.js";
import { answerId } from "../../pwa/data/ids.js";

const INSPECTION = "10000000-0000-4000-8000-000000000001";
const CTX = { deviceId: "dev-a", userId: 1 };
const noTimers = { setTimeout: () => 0, clearTimeout: () => {} };

/** A Web Locks double with the one option the engine uses (ifAvailable). */
function fakeLocks() {
  const held = new Set();
  return {
    async request(name, opts, fn) {
      if (held.has(name)) return fn(null);
      held.add(name);
      try {
        return await fn({ name });
      } finally {
        held.delete(name);
      }
    },
  };
}

async function setup({ locks = fakeLocks() } = {}) {
  const db = await freshDb();
  const server = new FakeServer();
  server.addInspection(INSPECTION, { target_name: "示例商贸有限公司" });
  const fetch = server.fetch();
  const client = new SyncClient({ token: () => "tok", fetch });
  const session = { token: "tok", device_id: "dev-a", user: { id: 1, inspector_id: 11 } };
  const engine = new SyncEngine({ db, client, session: async () => session, locks, timers: noTimers, random: () => 0.5 });
  return { db, server, fetch, engine };
}

function photoBytes(seed) {
  const bytes = Buffer.from(`\xff\xd8photo-${seed}`, "latin1");
  return { bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), sha256: createHash("sha256").update(bytes).digest("hex") };
}

async function addPhoto(db, seed, checkpointId = 101) {
  const p = photoBytes(seed);
  await appendRecord(
    db,
    CTX,
    "photo",
    INSPECTION,
    { sha256: p.sha256, checkpoint_id: checkpointId, finding_id: null, taken_at: "2025-06-03T09:23:00+08:00", device_id: "dev-a" },
    { sha256: p.sha256, bytes: p.bytes, kind: "photo", content_type: "image/jpeg" },
  );
  return p;
}

test("a round pulls assignments, pushes the outbox oldest first, then uploads blobs", async () => {
  const { db, server, fetch, engine } = await setup();
  assert.equal(await engine.sync("open"), "ok");
  assert.equal((await loadInspection(db, INSPECTION)).fields.target_name, "示例商贸有限公司");

  await saveAnswer(db, CTX, INSPECTION, 101, { value: "yes" });
  await saveAnswer(db, CTX, INSPECTION, 102, { value: "not_applicable", note: "无食品经营" });
  const p = await addPhoto(db, 1);
  fetch.calls.length = 0;
  assert.equal(await engine.sync("save"), "ok");

  const order = fetch.calls.map((c) => `${c.method} ${c.path.split("?")[0].replace(/[0-9a-f]{64}/, "<sha>")}`);
  assert.deepEqual(order.slice(0, 4), ["POST /api/v1/sync/push", "HEAD /api/v1/sync/blobs/<sha>", "PUT /api/v1/sync/blobs/<sha>", "HEAD /api/v1/sync/blobs/<sha>"]);
  const pushed = fetch.calls[0].body.changes;
  assert.deepEqual(
    pushed.map((c) => c.record_type),
    ["answer", "answer", "photo"],
  );
  assert.equal(pushed[0].record_id, await answerId(INSPECTION, 101));
  assert.deepEqual(pushed[0].fields, { inspection_id: INSPECTION, checkpoint_id: 101, value: "yes" });
  assert.match(pushed[0].client_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
  assert.deepEqual(Buffer.from(server.blobs.get(p.sha256)), Buffer.from(p.bytes));
  assert.equal(await db.count("outbox"), 0);
  // Uploaded and confirmed, but the inspection is still open: the bytes stay for the inspector.
  assert.equal((await db.get("blobs", p.sha256)).state, "uploaded");
  assert.ok(await db.get("blob_bytes", p.sha256));

  // Once the inspection is submitted the phone no longer needs them.
  server.write("inspection", INSPECTION, { state: "submitted" });
  await engine.sync("timer");
  assert.equal(await db.get("blob_bytes", p.sha256), undefined);
});

test("no answer to a push: every entry is kept and the retry applies each change once", async () => {
  const { db, server, engine } = await setup();
  await engine.sync("open");
  await saveAnswer(db, CTX, INSPECTION, 101, { value: "no" });
  await saveNotes(db, CTX, INSPECTION, "门店整改中");
  server.fault("push", "network");
  assert.equal(await engine.sync("save"), "error");
  assert.equal(engine.status.lastError.code, "network");
  assert.equal(await db.count("outbox"), 2);
  const [first] = await db.getAll("outbox");
  assert.equal(first.attempts, 1);
  assert.equal(await engine.sync("retry"), "ok");
  assert.equal(await db.count("outbox"), 0);
  assert.equal(server.ofType("answer").length, 1);
  assert.equal(server.records.get(`inspection:${INSPECTION}`).fields.notes, "门店整改中");
});

test("a lost push response is replayed with the same change ids and nothing doubles", async () => {
  const { db, server, fetch, engine } = await setup();
  await engine.sync("open");
  await appendRecord(db, CTX, "finding", INSPECTION, { checkpoint_id: 101, description: "未公示许可证", recorded_by: 11, recorded_at: "2025-06-03T09:30:00+08:00" });
  server.fault("push", "lost");
  assert.equal(await engine.sync("save"), "error");
  assert.equal(server.ofType("finding").length, 1); // the server applied it…
  assert.equal(await db.count("outbox"), 1); // …but the phone never heard, so it keeps the entry
  assert.equal(await engine.sync("retry"), "ok");
  const pushes = fetch.calls.filter((c) => c.path.endsWith("/push"));
  assert.equal(pushes.length, 2);
  assert.deepEqual(pushes[0].body, pushes[1].body); // the very same change ids
  assert.equal(server.ofType("finding").length, 1);
  assert.equal(await db.count("outbox"), 0);
});

test("a failed upload keeps the bytes; HEAD must answer 200 before they count as held", async () => {
  const { db, server, engine } = await setup();
  await engine.sync("open");
  const p = await addPhoto(db, 2);
  server.fault("blob_put", "network");
  assert.equal(await engine.sync("save"), "error");
  assert.equal((await db.get("blobs", p.sha256)).state, "pending");
  assert.ok(await db.get("blob_bytes", p.sha256));
  assert.equal(server.ofType("photo").length, 1); // records went first

  // The PUT is answered but the next HEAD says the server does not hold it: still pending.
  server.fault("blob_head", "status", { status: 404, body: { code: "sync_missing_blob" }, times: 2 });
  server.fault("blob_put", "status", { status: 201, body: {} });
  await engine.sync("retry");
  assert.equal((await db.get("blobs", p.sha256)).state, "pending");
  assert.equal(await engine.sync("retry"), "ok");
  assert.equal((await db.get("blobs", p.sha256)).state, "uploaded");
  assert.ok(server.blobs.has(p.sha256));
});

test("a file the server refuses is marked failed, kept, and does not block the others", async () => {
  const { db, server, engine } = await setup();
  await engine.sync("open");
  const bad = await addPhoto(db, 3);
  const good = await addPhoto(db, 4);
  server.fault("blob_put", "status", { status: 422, body: { code: "image_unreadable" } });
  assert.equal(await engine.sync("save"), "ok");
  const meta = await db.get("blobs", bad.sha256);
  assert.equal(meta.state, "failed");
  assert.equal(meta.error.code, "image_unreadable");
  assert.ok(await db.get("blob_bytes", bad.sha256));
  assert.equal((await db.get("blobs", good.sha256)).state, "uploaded");
});

test("a rejected change leaves the outbox for the visible rejected list, never silently", async () => {
  const { db, server, engine } = await setup();
  await engine.sync("open");
  server.reject = (change) => (change.record_type === "answer" ? { code: "sync_inspection_locked", detail: "submitted" } : null);
  await saveAnswer(db, CTX, INSPECTION, 101, { value: "yes" });
  await saveNotes(db, CTX, INSPECTION, "备注");
  assert.equal(await engine.sync("save"), "ok");
  const rejected = await db.getAll("rejected");
  assert.equal(rejected.length, 1);
  assert.equal(rejected[0].error.code, "sync_inspection_locked");
  assert.deepEqual(rejected[0].change.fields.value, "yes");
  assert.equal(await db.count("outbox"), 0);
  const view = await loadInspection(db, INSPECTION);
  assert.equal(view.rejected.length, 1);
});

test("sync_bad_request on a batch isolates the malformed change and pushes the rest", async () => {
  const { db, server, engine } = await setup();
  await engine.sync("open");
  await saveAnswer(db, CTX, INSPECTION, 101, { value: "yes" });
  await saveAnswer(db, CTX, INSPECTION, 102, { value: "no" });
  const entries = await db.getAll("outbox");
  const badId = entries[1].change.change_id;
  const handler = server.handler();
  engine.client.fetch = (await import("./helpers.mjs")).fakeFetch(async (method, path, body, init, url) => {
    if (path.endsWith("/push") && body.changes.some((c) => c.change_id === badId)) {
      return { status: 400, body: { code: "sync_bad_request", detail: "bad" } };
    }
    return handler(method, path, body, init, url);
  });
  assert.equal(await engine.sync("save"), "ok");
  assert.equal(server.ofType("answer").length, 1);
  const rejected = await db.getAll("rejected");
  assert.deepEqual(rejected.map((r) => [r.change_id, r.error.code]), [[badId, "sync_bad_request"]]);
});

test("pending edits stay on screen over a pulled state until the server confirms them", async () => {
  const { db, server, engine } = await setup();
  await engine.sync("open");
  server.write("inspection", INSPECTION, { notes: "服务器上的说明" });
  await saveAnswer(db, CTX, INSPECTION, 101, { value: "no" });
  server.fault("push", "network");
  await engine.sync("save"); // push fails: the pull does not run, the edit is still shown
  const id = await answerId(INSPECTION, 101);
  // Pull directly, with the edit still queued: the server's answer is laid under the local one.
  server.write("answer", id, { inspection_id: INSPECTION, checkpoint_id: 101, value: "yes", note: "B的备注" });
  await engine.pullAll();
  const view = await loadInspection(db, INSPECTION);
  const answer = view.byType("answer")[0];
  assert.equal(answer.fields.value, "no");
  assert.equal(answer.fields.note, "B的备注");
  assert.equal(view.fields.notes, "服务器上的说明");
  assert.ok(view.pendingKeys.has(`answer:${id}`));
});

test("an invalid cursor is dropped and the pull starts again from the beginning", async () => {
  const { db, server, engine } = await setup();
  server.write("inspection", INSPECTION, { notes: "一" });
  server.write("inspection", INSPECTION, { notes: "二" });
  await engine.sync("open");
  const cursor = await getMeta(db, "cursor");
  assert.ok(cursor);
  server.records.clear(); // a restore from an older backup: our cursor is now ahead
  server.seq = 0;
  server.addInspection(INSPECTION, { target_name: "恢复后" });
  assert.equal(await engine.sync("timer"), "ok");
  assert.equal((await loadInspection(db, INSPECTION)).fields.target_name, "恢复后");
});

test("a withdrawn inspection stays while anything of it is unsynced, then goes", async () => {
  const { db, server, engine } = await setup();
  await engine.sync("open");
  await saveAnswer(db, CTX, INSPECTION, 101, { value: "yes" });
  server.assigned = [];
  server.fault("push", "network");
  await engine.sync("save");
  await engine.pullAll();
  await engine.cleanup();
  assert.ok(await loadInspection(db, INSPECTION), "kept: an answer is still queued");
  assert.deepEqual(await getMeta(db, "assigned"), []);
  assert.equal(await engine.sync("retry"), "ok");
  assert.equal(await loadInspection(db, INSPECTION), null);
  assert.equal(await db.count("records"), 0);
});

test("finalize waits for records and files, then stores the server's answer", async () => {
  const { db, server, engine } = await setup();
  await engine.sync("open");
  await addPhoto(db, 5);
  await requestFinalize(db, INSPECTION, "hash-shown");
  server.fault("blob_put", "network");
  await engine.sync("save");
  assert.equal((await getMeta(db, `finalize:${INSPECTION}`)).status, "requested");
  const missing = [{ item: "inspector_signatures", content_hash: "h", needed: 2, signed_by: [11], not_signed: [12] }];
  server.finalizeAnswer = () => ({ status: 409, body: { code: "inspection_incomplete", missing } });
  await engine.sync("retry");
  const answer = await getMeta(db, `finalize:${INSPECTION}`);
  assert.equal(answer.status, "incomplete");
  assert.deepEqual(answer.missing, missing);

  await requestFinalize(db, INSPECTION, "hash-shown");
  server.finalizeAnswer = () => ({ status: 200, body: { content_hash: "h2", version: 3 } });
  await engine.sync("retry");
  assert.equal((await getMeta(db, `finalize:${INSPECTION}`)).status, "done");
});

test("401 stops syncing and asks for a login; the outbox is untouched", async () => {
  const { db, server, engine } = await setup();
  await engine.sync("open");
  await saveAnswer(db, CTX, INSPECTION, 101, { value: "yes" });
  server.fault("push", "status", { status: 401, body: { code: "token_invalid" } });
  assert.equal(await engine.sync("save"), "error");
  assert.equal(engine.status.needsLogin, true);
  assert.equal(await db.count("outbox"), 1);
});

test("one tab at a time: a second round while the lock is held is skipped", async () => {
  const locks = fakeLocks();
  let release;
  const holding = locks.request("spotcheck-sync", {}, () => new Promise((r) => (release = r)));
  const { engine } = await setup({ locks });
  assert.equal(await engine.sync("open"), "busy");
  release();
  await holding;
  assert.equal(await engine.sync("open"), "ok");
});

test("the localStorage lease stands in when Web Locks are missing", async () => {
  const store = new Map();
  const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) };
  let inner;
  const outer = await withSyncLock(
    async () => {
      inner = await withSyncLock(async () => "ran", { locks: null, storage });
      return "outer";
    },
    { locks: null, storage },
  );
  assert.equal(outer, "outer");
  assert.equal(inner, "busy");
  assert.equal(store.size, 0);
});

test("backoff doubles from 5 s up to 5 min with jitter", () => {
  assert.equal(backoffDelay(1, () => 0.5), 5000);
  assert.equal(backoffDelay(2, () => 0.5), 10000);
  assert.equal(backoffDelay(20, () => 0.5), 300000);
  assert.equal(backoffDelay(1, () => 0), 4000);
  assert.equal(backoffDelay(1, () => 1), 6000);
});
