/** The visible outbox: every queued change with its state, every file with its upload progress, rejections, export. */

import { read } from "../../data/db.js";
import { downloadExport } from "../export.js";
import { formatBytes, formatTime, h } from "../dom.js";
import { problemText, RECORD_LABELS, rejectionText, t } from "../i18n.js";

export async function renderOutbox(app) {
  const { outbox, blobs, rejected, inspections } = await read(app.db, ["outbox", "blobs", "rejected", "records"], async (tx) => ({
    outbox: await tx.objectStore("outbox").getAll(),
    blobs: await tx.objectStore("blobs").getAll(),
    rejected: await tx.objectStore("rejected").getAll(),
    inspections: (await tx.objectStore("records").getAll()).filter((r) => r.record_type === "inspection"),
  }));
  const names = new Map(inspections.map((r) => [r.record_id, (r.fields.target && r.fields.target.name) || r.fields.target_name || r.record_id]));
  const waitingBlobs = blobs.filter((b) => b.state !== "uploaded");
  const empty = outbox.length + waitingBlobs.length + rejected.length === 0;
  const progress = app.engine.status.progress;
  const blobState = (b) => {
    if (b.state === "failed") return t("上传失败：{reason}", { reason: problemText(b.error && b.error.code) });
    const p = progress[b.sha256];
    return p && p.total ? t("上传中 {pct}%", { pct: Math.floor((100 * p.sent) / p.total) }) : t("等待上传");
  };
  return h(
    "div",
    { class: "outbox", "data-testid": "outbox", "data-title": t("待同步") },
    h("a", { href: "#/", class: "back" }, `← ${t("返回")}`),
    h("h1", {}, t("待同步")),
    app.persisted === false ? h("p", { class: "warn" }, t("请求存储空间持久化被拒绝：请尽快同步")) : null,
    empty ? h("p", { "data-testid": "outbox-empty" }, t("没有待同步的数据")) : null,
    outbox.length
      ? h(
          "section",
          {},
          h("h2", {}, t("记录"), ` (${outbox.length})`),
          h(
            "ol",
            {},
            outbox.map((e) =>
              h(
                "li",
                { "data-testid": "outbox-entry" },
                `${t(RECORD_LABELS[e.change.record_type] || e.change.record_type)} · ${names.get(e.inspection_id) || ""} · ${formatTime(e.queued_at, app.lang)}`,
                e.attempts ? h("small", {}, ` · ${t("尝试 {n} 次", { n: e.attempts })}: ${problemText(e.last_error && e.last_error.code)}`) : null,
              ),
            ),
          ),
        )
      : null,
    waitingBlobs.length
      ? h(
          "section",
          {},
          h("h2", {}, t("照片与签名文件"), ` (${waitingBlobs.length})`),
          h(
            "ul",
            {},
            waitingBlobs.map((b) => {
              const p = progress[b.sha256];
              return h(
                "li",
                { "data-testid": "outbox-blob" },
                `${b.kind === "signature" ? t("签名图片") : t("照片")} · ${names.get(b.inspection_id) || b.sha256.slice(0, 8)} · ${formatBytes(b.size)} · ${blobState(b)}`,
                h("progress", { max: p && p.total ? p.total : 1, value: p ? p.sent : 0 }),
              );
            }),
          ),
        )
      : null,
    rejected.length
      ? h(
          "section",
          { class: "rejected" },
          h("h2", {}, t("被服务器拒绝的修改"), ` (${rejected.length})`),
          h("p", {}, t("这些修改未被服务器接受，仍保存在本机。请在“待同步”页面导出未同步数据，交管理员处理。")),
          h(
            "ul",
            {},
            rejected.map((r) =>
              h(
                "li",
                { "data-testid": "rejected-entry", "data-code": r.error.code },
                `${t(RECORD_LABELS[r.change.record_type] || r.change.record_type)} · ${names.get(r.inspection_id) || ""} · ${rejectionText(r.error.code)}`,
              ),
            ),
          ),
        )
      : null,
    // The server reads the file back in at /recovery (server/recovery), outside the app's scope.
    // With nothing unsynced there is nothing to export.
    empty
      ? null
      : [
          h(
            "p",
            {},
            t("导出文件（JSON，含照片）包含本机全部未同步的数据。请本人登录网站在“数据恢复”页面导入，或交给管理员。"),
            " ",
            h("a", { href: "/recovery", "data-testid": "recovery-link" }, t("数据恢复")),
          ),
          h("button", { type: "button", "data-testid": "export", onclick: () => downloadExport(app.db, app.session) }, t("导出未同步数据")),
        ],
  );
}
