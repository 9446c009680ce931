// What the inspector reads and keeps: problems in words, the reviewer's comments once each, drafts
// that survive a reload, and the count of unsynced data that makes logging out ask first.
import { test } from "node:test";
import { assert } from "./helpers.mjs";
import { problemText, setLang, syncErrorText } from "../../pwa/app/i18n.js";
import { reviewNotes } from "../../pwa/data/records.js";


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

