// What the inspector reads and keeps: problems in words, the reviewer's comments once each, drafts
// that survive a reload, and the count of unsynced data that makes logging out ask first.
import { test } from "node:test";
import { assert, freshDb } from "./helpers.mjs";
import { problemText, setLang, syncErrorText } from "../../pwa/app/i18n.js";
import { Drafts } from "../../pwa/app/drafts.js";
import { appendRecord, reviewNotes, saveAnswer } from "../../pwa/data/records.js";
import { unsyncedCount } from "../../pwa/data/outbox.js";
import { write } from "../../pwa/data/db.js";
import { windowPhase } from "../../pwa/app/views/list.js";
import { exportFileName } from "../../pwa/app/export.js";

const INSPECTION = "10000000-0000-4000-8000-000000000001";

test("problem codes are shown in words, unknown ones as they are", () => {
  setLang("zh");
  assert.equal(problemText("network"), "无法连接服务器");
  assert.equal(problemText("http_502"), "服务器暂时出错");
  assert.equal(problemText("http_429"), "服务器繁忙");
  assert.equal(problemText("image_unreadable"), "文件不是可读取的图片");
  assert.equal(problemText("sync_inspection_locked"), "该检查已提交或已审核，不再接受手机修改");
  assert.equal(problemText("something_new"), "something_new");
  setLang("en");
  assert.equal(problemText("payload_too_large"), "the file is too large");
  setLang("zh");
});

test("offline is a wait, not a failure; a failure says why in words", () => {
  setLang("zh");
  assert.equal(syncErrorText({ code: "network" }, false), "离线：修改已保存在本机，联网后自动同步");
  assert.equal(syncErrorText({ code: "network" }, true), "同步失败：无法连接服务器，稍后自动重试");
  setLang("en");
  assert.equal(syncErrorText({ code: "http_500" }, true), "Sync failed: the server had an error; retrying automatically");
  setLang("zh");
});

test("the reviewer's overall comment is listed once, checkpoint comments by checkpoint", () => {
  const review = {
    comment: "证据不足，请补拍",
    items: [
      { checkpoint_id: null, comment: "证据不足，请补拍" },
      { checkpoint_id: null, comment: "另：补充走访时间" },
      { checkpoint_id: 4, comment: "请说明营业执照是否在现场" },
      { checkpoint_id: 4, comment: "并拍照" },
    ],
  };
  const notes = reviewNotes(review);
  assert.deepEqual(notes.general, ["证据不足，请补拍", "另：补充走访时间"]);
  assert.deepEqual(notes.byCheckpoint.get(4), ["请说明营业执照是否在现场", "并拍照"]);
  assert.deepEqual(reviewNotes(null).general, []);
  assert.deepEqual(reviewNotes({ comment: "", items: [] }).general, []);
});

function memoryStorage() {
  const map = new Map();
  return {
    map,
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => map.set(k, String(v)),
    removeItem: (k) => map.delete(k),
  };
}

function field(name, { value = "", saved = "", disabled = false } = {}) {
  return { dataset: { draft: name, saved }, value, disabled };
}

test("a draft typed before a reload comes back into its field, on its screen only", () => {
  const storage = memoryStorage();
  const drafts = new Drafts(storage);
  drafts.scope = "7:/i/abc";
  drafts.remember("notes", "走访时间 9:30", "");
  drafts.remember("finding:3", "门头招牌已更换", "");

  // The same screen rebuilt after a reload: both fields show their saved (empty) value.
  const notes = field("notes");
  const finding = field("finding:3");
  const restored = drafts.restore({ querySelectorAll: () => [notes, finding] });
  assert.deepEqual(restored, [notes, finding]);
  assert.equal(notes.value, "走访时间 9:30");
  assert.equal(finding.value, "门头招牌已更换");

  // Another inspection's screen (or another user) does not get them.
  drafts.scope = "7:/i/other";
  const elsewhere = field("notes");
  assert.deepEqual(drafts.restore({ querySelectorAll: () => [elsewhere] }), []);
  assert.equal(elsewhere.value, "");
});

test("a draft is forgotten once saved, and never overwrites newer text or a locked field", () => {
  const storage = memoryStorage();
  const drafts = new Drafts(storage);
  drafts.scope = "7:/i/abc";
  drafts.remember("notes", "甲", "");
  // Saved meanwhile: the field shows it as its saved value, so the draft goes.
  const saved = field("notes", { value: "甲", saved: "甲" });
  assert.deepEqual(drafts.restore({ querySelectorAll: () => [saved] }), []);
  assert.equal(storage.map.size, 0);

  drafts.remember("note:1", "乙", "");
  const typing = field("note:1", { value: "丙" }); // the in-memory draft of this very page wins
  const locked = field("note:1", { disabled: true });
  assert.deepEqual(drafts.restore({ querySelectorAll: () => [typing, locked] }), []);
  assert.equal(typing.value, "丙");
  assert.equal(locked.value, "");

  drafts.remember("note:1", "", ""); // typed back to what is saved
  assert.equal(drafts.get("note:1"), null);
  drafts.remember("rep-name", "张三", "");
  drafts.forget("rep-name");
  assert.equal(drafts.get("rep-name"), null);
  assert.doesNotThrow(() => new Drafts(null).remember("x", "y", ""));
});

test("unsynced data counts queued changes, rejected changes and files not yet uploaded", async () => {
  const db = await freshDb();
  const ctx = { deviceId: "d", userId: 1, inspectorId: 5 };
  assert.equal(await unsyncedCount(db), 0);
  await saveAnswer(db, ctx, INSPECTION, 101, { value: "no" });
  await appendRecord(db, ctx, "photo", INSPECTION, { sha256: "a".repeat(64) }, { sha256: "a".repeat(64), bytes: new ArrayBuffer(3), kind: "photo", content_type: "image/jpeg" });
  const afterEdits = await unsyncedCount(db);
  assert.equal(afterEdits, 3); // two queued changes and one file
  await write(db, ["outbox", "blobs"], async (tx) => {
    await tx.objectStore("outbox").clear();
    const blob = await tx.objectStore("blobs").get("a".repeat(64));
    await tx.objectStore("blobs").put({ ...blob, state: "uploaded" });
  });
  assert.equal(await unsyncedCount(db), 0);
  await write(db, ["rejected"], (tx) => tx.objectStore("rejected").put({ change_id: "c1", change: {}, error: { code: "x" } }));
  assert.equal(await unsyncedCount(db), 1);
});

test("an inspection's window is past, current or still to come (dates in Shanghai)", () => {
  const f = { window_start: "2025-07-01", window_end: "2025-11-30" };
  assert.equal(windowPhase(f, "2025-06-30"), "future");
  assert.equal(windowPhase(f, "2025-07-01"), "current");
  assert.equal(windowPhase(f, "2025-11-30"), "current");
  assert.equal(windowPhase(f, "2025-12-01"), "past");
  assert.equal(windowPhase({}, "2025-12-01"), "current");
});

test("the export's file name carries the user and the Shanghai time, not UTC", () => {
  const data = { exported_at: "2026-11-29T18:07:59.559Z", user: { username: "GP010" } };
  assert.equal(exportFileName(data), "spotcheck-unsynced-GP010-20261130-020759.json");
  assert.equal(exportFileName({ exported_at: "2026-01-01T00:00:00Z", user: null }), "spotcheck-unsynced-20260101-080000.json");
  assert.equal(exportFileName({ exported_at: "2026-01-01T00:00:00Z", user: { username: "a/b c" } }), "spotcheck-unsynced-a_b_c-20260101-080000.json");
});
