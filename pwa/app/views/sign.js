/**
 * Signing and submitting. The content hash of what is on this phone is shown (short form) to every
 * signer and bound into each signature or refusal; a signature over another hash is shown stale and
 * must be given again. "提交" asks the engine to finalize once records and files are uploaded; the
 * server's answer (done, or exactly what is missing) is shown here.
 */

import SignaturePad from "signature_pad";
import { getMeta } from "../../data/db.js";
import { appendRecord, EDITABLE_STATES, isoLocal, loadInspection } from "../../data/records.js";
import { localMissing, signatureStatus } from "../../sync/content.js";
import { requestFinalize } from "../../sync/engine.js";
import { sha256Hex, shortHash } from "../../sync/canonical.js";
import { formatTime, h } from "../dom.js";
import { problemText, t } from "../i18n.js";
import { rejectedList } from "./inspection.js";

function dataUrlBytes(dataUrl) {
  const b64 = dataUrl.slice(dataUrl.indexOf(",") + 1);
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes.buffer;
}

/** A signature pad sized to its box at the screen's pixel density. */
function pad(app, testid) {
  const canvas = h("canvas", { class: "pad", "data-testid": testid });
  const signaturePad = new SignaturePad(canvas, { minWidth: 0.8, maxWidth: 2.6, penColor: "#111" });
  // A sync finishing mid-signature must not rebuild the screen and wipe the strokes.
  signaturePad.addEventListener("beginStroke", () => (app.drawing = true));
  const fit = () => {
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    const width = canvas.offsetWidth || 320;
    const height = canvas.offsetHeight || 160;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    signaturePad.clear();
  };
  requestAnimationFrame(fit);
  const clear = h(
    "button",
    {
      type: "button",
      onclick: () => {
        signaturePad.clear();
        app.drawing = false;
      },
    },
    t("清除"),
  );
  return { canvas, signaturePad, clear };
}

function missingText(item) {
  switch (item.item) {
    case "answer":
      return null; // grouped below
    case "evidence_photo":
      return t("特殊情形需要证据照片");
    case "clash":
      return null;
    case "inspector_signatures":
      return t("需要两名检查人员签名（已签：{signed}）", { signed: item.signed_by.length });
    case "representative_signature_or_refusal":
      return t("需要当事人签名或记录拒签");
    default:
      return null;
  }
}

function missingList(missing) {
  const answers = missing.filter((m) => m.item === "answer").length;
  const clashes = missing.filter((m) => m.item === "clash").length;
  const blobs = missing.filter((m) => m.item === "blob").length;
  const lines = [
    answers ? t("未作答的检查项 {n} 项", { n: answers }) : null,
    ...missing.map(missingText),
    clashes ? t("数据冲突待组长处理 {n} 处", { n: clashes }) : null,
    blobs ? t("服务器尚未收到文件 {n} 个", { n: blobs }) : null,
  ].filter(Boolean);
  return lines.length ? h("ul", { class: "missing", "data-testid": "missing" }, lines.map((l) => h("li", {}, l))) : null;
}

export async function renderSign(app, id) {
  const data = await loadInspection(app.db, id);
  if (!data) return h("p", {}, t("检查不存在或已撤回"));
  const f = data.fields;
  const hash = data.contentHash;
  const editable = EDITABLE_STATES.has(f.state) || !f.state;
  const me = app.session.user;
  const signatures = data.byType("signature");
  const refusals = data.byType("refusal");
  let finalize = await getMeta(app.db, `finalize:${id}`);
  // A submission the reviewer has since returned is history, not news.
  if (finalize && finalize.status === "done" && f.state === "returned") finalize = null;
  const missing = localMissing(f, data.records, hash);

  async function saveSignature(role, signerId, signerName, signaturePad, message) {
    if (signaturePad.isEmpty()) {
      message.textContent = t("请先签名");
      return;
    }
    if (!signerName) {
      message.textContent = t("请填写姓名");
      return;
    }
    const bytes = dataUrlBytes(signaturePad.toDataURL("image/png"));
    const png = await sha256Hex(bytes);
    app.drawing = false;
    await appendRecord(
      app.db,
      app.ctx(),
      "signature",
      id,
      {
        signer_role: role,
        signer_id: signerId,
        signer_name: signerName,
        content_hash: hash,
        png_sha256: png,
        signed_at: isoLocal(),
        device_id: app.session.device_id,
      },
      { sha256: png, bytes, kind: "signature", content_type: "image/png" },
    );
    if (role === "representative") {
      repName.value = ""; // saved: no longer a draft to carry over
      app.drafts.forget(repName.dataset.draft);
    }
    app.saved();
  }

  const mineValid = signatures.some(
    (s) => s.fields.signer_role === "inspector" && s.fields.signer_id === me.inspector_id && signatureStatus(s.fields.content_hash, hash) === "valid",
  );

  // The inspector signs on their own phone, as themselves.
  const own = pad(app, "pad-inspector");
  const ownMsg = h("p", { class: "error", role: "alert" });
  const inspectorBlock =
    me.inspector_id == null
      ? h("p", { class: "warn" }, t("本账号未关联检查人员，不能以检查人员身份签名"))
      : mineValid
        ? h("p", { class: "ok", "data-testid": "signed-mine" }, t("您已对当前内容签名"))
        : h(
            "div",
            { class: "sign-block" },
            h("h3", {}, t("检查人员签名（本人）"), ` · ${me.display_name || me.username}`),
            own.canvas,
            h(
              "div",
              { class: "row" },
              own.clear,
              h(
                "button",
                {
                  type: "button",
                  class: "primary",
                  "data-testid": "sign-inspector",
                  onclick: () => saveSignature("inspector", me.inspector_id, me.display_name || me.username, own.signaturePad, ownMsg),
                },
                t("确认签名"),
              ),
            ),
            ownMsg,
          );

  // The business representative signs on an inspector's phone…
  const rep = pad(app, "pad-representative");
  const repName = h("input", { placeholder: t("当事人姓名"), maxlength: 100, draft: "rep-name", "data-testid": "rep-name" });
  const repMsg = h("p", { class: "error", role: "alert" });
  const repBlock = h(
    "div",
    { class: "sign-block" },
    h("h3", {}, t("当事人签名")),
    repName,
    rep.canvas,
    h(
      "div",
      { class: "row" },
      rep.clear,
      h(
        "button",
        {
          type: "button",
          class: "primary",
          "data-testid": "sign-representative",
          onclick: () => saveSignature("representative", null, repName.value.trim(), rep.signaturePad, repMsg),
        },
        t("确认签名"),
      ),
    ),
    repMsg,
  );

  // …or refuses, recorded with the reason and a witness (003 第二十条(三)).
  const reason = h("textarea", { rows: 2, placeholder: t("拒签原因"), maxlength: 2000, draft: "refusal-reason", "data-testid": "refusal-reason" });
  const witness = h("input", { placeholder: t("见证人姓名"), maxlength: 100, draft: "refusal-witness", "data-testid": "refusal-witness" });
  const contact = h("input", { placeholder: t("见证人联系方式"), maxlength: 100, draft: "refusal-contact", "data-testid": "refusal-contact" });
  const refusalMsg = h("p", { class: "error", role: "alert" });
  const refusalBlock = h(
    "details",
    { class: "sign-block" },
    h("summary", {}, t("当事人拒绝签名")),
    reason,
    witness,
    contact,
    h(
      "button",
      {
        type: "button",
        "data-testid": "refusal-save",
        onclick: async () => {
          if (!reason.value.trim() || !witness.value.trim()) {
            refusalMsg.textContent = t("请填写原因和见证人");
            return;
          }
          await appendRecord(app.db, app.ctx(), "refusal", id, {
            content_hash: hash,
            reason: reason.value.trim(),
            witness_name: witness.value.trim(),
            witness_contact: contact.value.trim() || null,
            recorded_by: me.inspector_id,
            recorded_at: isoLocal(),
          });
          reason.value = witness.value = contact.value = "";
          for (const el of [reason, witness, contact]) app.drafts.forget(el.dataset.draft);
          app.saved();
        },
      },
      t("记录拒签"),
    ),
    refusalMsg,
  );

  const statusLine = (signedHash) => {
    const valid = signatureStatus(signedHash, hash) === "valid";
    return h("span", { class: valid ? "ok" : "stale", "data-status": valid ? "valid" : "stale" }, valid ? t("有效") : t("已失效，请重新签名"));
  };

  let finalizeView = null;
  if (finalize) {
    if (finalize.status === "requested") finalizeView = h("p", { class: "warn" }, t("已请求提交，联网后自动完成"));
    else if (finalize.status === "done") finalizeView = h("p", { class: "ok", "data-testid": "finalized" }, t("提交成功"));
    else if (finalize.status === "locked") finalizeView = h("p", { class: "warn" }, t("该检查已锁定，不能修改"));
    else if (finalize.status === "incomplete")
      finalizeView = h("div", { class: "warn" }, h("p", {}, t("尚不能提交")), missingList(finalize.missing || []));
    else finalizeView = h("p", { class: "error" }, t("提交失败：{reason}", { reason: problemText(finalize.code) }));
  }

  return h(
    "div",
    { class: "sign", "data-testid": "sign", "data-title": `${t("签名与提交")} · ${(f.target && f.target.name) || f.target_name || ""}` },
    h("a", { href: `#/i/${id}`, class: "back" }, `← ${t("返回")}`),
    h("h1", {}, (f.target && f.target.name) || f.target_name || ""),
    h(
      "section",
      { class: "hash" },
      h("h2", {}, t("内容摘要")),
      h("p", { class: "hash-short", "data-testid": "content-hash", "data-hash": hash, title: hash }, shortHash(hash)),
      h("small", {}, t("签名绑定以上内容摘要；之后任何修改都会使签名失效。")),
    ),
    rejectedList(data),
    missing.length ? h("section", {}, h("h2", {}, t("尚缺")), missingList(missing)) : null,
    h(
      "section",
      {},
      h("h2", {}, t("签名")),
      h(
        "ul",
        { class: "signatures" },
        signatures.map((s) =>
          h(
            "li",
            { "data-testid": "signature", "data-role": s.fields.signer_role },
            `${s.fields.signer_role === "inspector" ? t("检查人员") : t("当事人")} ${s.fields.signer_name} · ${formatTime(s.fields.signed_at, app.lang)} · ${shortHash(s.fields.content_hash)} · `,
            statusLine(s.fields.content_hash),
          ),
        ),
        refusals.map((r) =>
          h(
            "li",
            { "data-testid": "refusal" },
            `${t("拒签")}: ${r.fields.reason} · ${t("见证人")} ${r.fields.witness_name} · ${shortHash(r.fields.content_hash)} · `,
            statusLine(r.fields.content_hash),
          ),
        ),
      ),
    ),
    editable ? [inspectorBlock, repBlock, refusalBlock] : null,
    editable
      ? h(
          "button",
          {
            type: "button",
            class: "primary submit",
            "data-testid": "submit",
            onclick: async () => {
              await requestFinalize(app.db, id, hash);
              app.saved();
            },
          },
          finalize && finalize.status !== "requested" ? t("重新提交") : t("提交检查结果"),
        )
      : null,
    finalizeView,
    // Locked (submitted from another phone, or reviewed): say so rather than show a bare list.
    !editable && !finalizeView
      ? h("p", { class: "warn", "data-testid": "sign-locked" }, f.state === "submitted" ? t("已提交，等待审核") : t("该检查已锁定，不能修改"))
      : null,
  );
}
