/**
 * One inspection on site: target details, check-in with time and GPS, the special outcome, the
 * checklist item by item (answer, note, photos, findings), other findings and notes. Every control
 * saves at once (IndexedDB, strict durability) and queues a change; nothing waits for the network.
 */

import { appendRecord, EDITABLE_STATES, isoLocal, loadInspection, reviewNotes, saveAnswer, saveNotes, saveOutcome } from "../../data/records.js";
import { preparePhoto } from "../../media/photo.js";
import { currentPosition, GEO_MESSAGES } from "../geo.js";
import { formatTime, h } from "../dom.js";
import { ANSWER_LABELS, OUTCOME_LABELS, problemText, ROLE_LABELS, STATE_LABELS, t, rejectionText, RECORD_LABELS } from "../i18n.js";

export const ANSWERS = ["yes", "no", "not_checked", "not_applicable"];

function field(label, value) {
  return value ? h("div", { class: "kv" }, h("span", {}, label), h("span", {}, value)) : null;
}

export function photoThumb(app, data, photo) {
  const sha = photo.fields.sha256;
  const img = h("img", { alt: t("照片"), class: "thumb", "data-sha256": sha, loading: "lazy" });
  app.photoUrl(sha).then((url) => {
    if (url) img.src = url;
  });
  const blob = data.blobs.get(sha);
  let state = null;
  if (blob && blob.state === "pending") {
    const p = app.engine.status.progress[sha];
    state = p && p.total ? t("上传中 {pct}%", { pct: Math.floor((100 * p.sent) / p.total) }) : t("等待上传");
  } else if (blob && blob.state === "failed") {
    state = t("上传失败：{reason}", { reason: problemText(blob.error && blob.error.code) });
  } else if (blob && blob.state === "uploaded") {
    state = t("已上传");
  }
  return h("figure", { class: "photo", "data-testid": "photo" }, img, state ? h("figcaption", {}, state) : null);
}

/** A camera input (rear camera on phones) that turns each picked file into a photo record. */
export function photoInput(app, data, { checkpointId = null, findingId = null, label = "拍照", testid = "photo-input" }) {
  const status = h("span", { class: "status", role: "status" });
  const input = h("input", {
    type: "file",
    accept: "image/*",
    capture: "environment",
    multiple: true,
    "data-testid": testid,
    onchange: async () => {
      const files = [...input.files];
      input.value = "";
      for (const file of files) {
        status.textContent = t("正在处理照片…");
        try {
          const photo = await preparePhoto(file);
          const fix = photo.lat === null ? app.lastFix : null;
          await appendRecord(
            app.db,
            app.ctx(),
            "photo",
            data.id,
            {
              sha256: photo.sha256,
              checkpoint_id: checkpointId,
              finding_id: findingId,
              taken_at: photo.takenAt || isoLocal(new Date(file.lastModified || Date.now())),
              lat: photo.lat ?? (fix ? fix.lat : null),
              lon: photo.lon ?? (fix ? fix.lon : null),
              accuracy_m: photo.lat !== null ? photo.accuracy : fix ? fix.accuracy : null,
              device_id: app.session.device_id,
            },
            { sha256: photo.sha256, bytes: photo.bytes, kind: "photo", content_type: "image/jpeg" },
          );
          status.textContent = "";
        } catch (err) {
          console.error(err);
          status.textContent = t("照片处理失败，请重试");
          return;
        }
      }
      app.saved();
    },
  });
  return h("label", { class: "camera" }, h("span", { class: "button" }, t(label)), input, status);
}

function clashNote(record, fieldName, show = (v) => v) {
  const clash = (record && record.conflicts ? record.conflicts : []).find((c) => c.field === fieldName);
  if (!clash) return null;
  const values = clash.values.map((v) => show(v.value)).join(" / ");
  return h("p", { class: "clash", "data-testid": "clash" }, t("数据冲突：{values}", { values }), " — ", t("请组长确认"));
}

/**
 * A checkpoint's findings and the form to record one. The form is open for the inspection's other
 * findings, on a 否 (with a reminder while none is recorded), with findings or unsaved text there;
 * elsewhere one taps 记录问题 for it, so a 15-point checklist is not 15 empty forms long.
 */
function findingList(app, data, checkpointId, editable, answerValue = null) {
  const findings = data.byType("finding").filter((f) => (f.fields.checkpoint_id ?? null) === checkpointId);
  const draftKey = `finding:${checkpointId}`;
  const canAdd = editable && app.session.user.inspector_id != null;
  const open =
    checkpointId === null || answerValue === "no" || findings.length > 0 || app.openFindings.has(draftKey) || app.drafts.get(draftKey) !== null;
  if (canAdd && !open) {
    return h(
      "div",
      { class: "findings" },
      h(
        "button",
        {
          type: "button",
          "data-testid": "finding-open",
          onclick: async () => {
            app.openFindings.add(draftKey);
            await app.render();
            const box = app.root.querySelector(`[data-draft="${draftKey}"]`);
            if (box) box.focus();
          },
        },
        t("记录问题"),
      ),
    );
  }
  const message = h("p", { class: "error", role: "alert" });
  const text = h("textarea", {
    rows: 2,
    placeholder: t("问题描述"),
    maxlength: 4000,
    disabled: !editable,
    draft: draftKey,
    "data-testid": "finding-text",
  });
  const add = h(
    "button",
    {
      type: "button",
      disabled: !editable,
      "data-testid": "finding-add",
      onclick: async () => {
        const description = text.value.trim();
        if (!description) {
          message.textContent = t("请先填写问题描述");
          text.focus();
          return;
        }
        await appendRecord(app.db, app.ctx(), "finding", data.id, {
          checkpoint_id: checkpointId,
          description,
          recorded_by: app.session.user.inspector_id,
          recorded_at: isoLocal(),
        });
        text.value = "";
        text.dataset.saved = "";
        app.drafts.forget(text.dataset.draft);
        app.saved();
      },
    },
    t("添加"),
  );
  return h(
    "div",
    { class: "findings" },
    findings.length
      ? h("ul", {}, findings.map((f) => h("li", { "data-testid": "finding" }, f.fields.description, data.pendingKeys.has(f.key) ? h("small", {}, ` (${t("本机尚未同步")})`) : null)))
      : null,
    answerValue === "no" && !findings.length ? h("p", { class: "warn", "data-testid": "finding-hint" }, t("答“否”时请记录发现的问题")) : null,
    canAdd ? h("div", { class: "add-finding" }, text, add, message) : null,
  );
}

function checkpointBlock(app, data, checkpoint, answer, reviewComments, editable) {
  const value = answer ? answer.fields.value : null;
  const note = h("textarea", {
    rows: 1,
    placeholder: t("备注"),
    maxlength: 2000,
    value: (answer && answer.fields.note) || "",
    disabled: !editable,
    draft: `note:${checkpoint.id}`,
    "data-testid": "answer-note",
    onchange: async (e) => {
      const saved = await saveAnswer(app.db, app.ctx(), data.id, checkpoint.id, { note: e.target.value || null });
      if (saved) app.saved();
    },
  });
  const buttons = ANSWERS.map((code) =>
    h(
      "button",
      {
        type: "button",
        class: `answer ${code}`,
        "aria-pressed": value === code ? "true" : "false",
        disabled: !editable,
        "data-value": code,
        onclick: async () => {
          const saved = await saveAnswer(app.db, app.ctx(), data.id, checkpoint.id, { value: code });
          if (saved) app.saved();
        },
      },
      t(ANSWER_LABELS[code]),
    ),
  );
  const photos = data.byType("photo").filter((p) => p.fields.checkpoint_id === checkpoint.id);
  return h(
    "li",
    { class: `checkpoint ${value ? "answered" : ""}`, "data-testid": "checkpoint", "data-checkpoint": checkpoint.id },
    h("p", { class: "cp-text" }, checkpoint.text),
    checkpoint.method ? h("small", {}, `${t("方法")}: ${checkpoint.method}`) : null,
    reviewComments.map((c) => h("p", { class: "review-comment", "data-testid": "review-comment" }, `${t("审核意见")}: ${c}`)),
    h("div", { class: "answers", role: "group" }, buttons),
    clashNote(answer, "value", (v) => (v ? t(ANSWER_LABELS[v]) : "—")),
    note,
    clashNote(answer, "note", (v) => v || "—"),
    h("div", { class: "photos" }, photos.map((p) => photoThumb(app, data, p))),
    editable ? photoInput(app, data, { checkpointId: checkpoint.id }) : null,
    findingList(app, data, checkpoint.id, editable, value),
  );
}

/** The checklist as pulled; a fixture-shaped inspection (checkpoint ids only) still gets one row each. */
function checklistOf(fields) {
  if (Array.isArray(fields.checklist) && fields.checklist.length) return fields.checklist;
  return [
    {
      item_id: null,
      name: t("检查内容"),
      kind: "general",
      checkpoints: (fields.checkpoint_ids || []).map((id, i) => ({ id, position: i + 1, text: `#${id}` })),
    },
  ];
}

/** "吴燕伟 签到" when the team lists the inspector (each member checks in on their own phone). */
function whoCheckedIn(fields, inspectorId) {
  const member = Array.isArray(fields.team) ? fields.team.find((m) => m.inspector_id === inspectorId) : null;
  return member ? t("{name} 签到", { name: member.name }) : t("已签到");
}

function checkinSection(app, data, editable) {
  const checkins = data.byType("checkin").sort((a, b) => String(a.fields.at).localeCompare(String(b.fields.at)));
  const status = h("p", { class: "status", role: "status", "data-testid": "checkin-status" });
  const skip = h("button", { type: "button", hidden: true, "data-testid": "checkin-skip" }, t("不等定位，直接签到"));
  const button = h(
    "button",
    {
      type: "button",
      class: "primary",
      "data-testid": "checkin",
      disabled: !editable || app.session.user.inspector_id == null,
      onclick: async () => {
        const at = isoLocal();
        button.disabled = true;
        status.textContent = t("正在定位…");
        skip.hidden = false;
        const fix = await Promise.race([
          currentPosition(),
          new Promise((resolve) => (skip.onclick = () => resolve({ error: "skipped" }))),
        ]);
        skip.hidden = true;
        if (!fix.error) app.lastFix = fix;
        await appendRecord(app.db, app.ctx(), "checkin", data.id, {
          inspector_id: app.session.user.inspector_id,
          at,
          lat: fix.error ? null : fix.lat,
          lon: fix.error ? null : fix.lon,
          accuracy_m: fix.error ? null : fix.accuracy,
        });
        app.flash = GEO_MESSAGES[fix.error] ? t(GEO_MESSAGES[fix.error]) : null;
        app.saved();
      },
    },
    t("现场签到"),
  );
  if (app.flash) {
    status.textContent = app.flash;
    app.flash = null;
  }
  return h(
    "section",
    { class: "checkin" },
    h("h2", {}, t("现场签到")),
    checkins.length
      ? h(
          "ul",
          {},
          checkins.map((c) =>
            h(
              "li",
              { "data-testid": "checkin-row" },
              `${whoCheckedIn(data.fields, c.fields.inspector_id)} ${formatTime(c.fields.at, app.lang)} · `,
              c.fields.lat != null ? `${c.fields.lat.toFixed(5)}, ${c.fields.lon.toFixed(5)} (±${c.fields.accuracy_m ?? "?"} m)` : t("无定位"),
            ),
          ),
        )
      : h("p", { "data-testid": "no-checkin" }, t("尚无签到记录")),
    editable ? h("div", { class: "row" }, button, skip) : null,
    status,
  );
}

function outcomeSection(app, data, editable) {
  const outcome = data.byType("outcome")[0];
  const code = outcome ? outcome.fields.code : null;
  const select = h(
    "select",
    {
      disabled: !editable,
      "aria-label": t("特殊情形"),
      "data-testid": "outcome",
      onchange: async (e) => {
        const saved = await saveOutcome(app.db, app.ctx(), data.id, { code: e.target.value || null });
        if (saved) app.saved();
      },
    },
    h("option", { value: "", selected: !code }, t("无（正常检查）")),
    Object.entries(OUTCOME_LABELS).map(([k, label]) => h("option", { value: k, selected: code === k }, t(label))),
  );
  const note = h("textarea", {
    rows: 2,
    placeholder: t("说明"),
    maxlength: 2000,
    value: (outcome && outcome.fields.note) || "",
    disabled: !editable,
    draft: "outcome-note",
    "data-testid": "outcome-note",
    onchange: async (e) => {
      const saved = await saveOutcome(app.db, app.ctx(), data.id, { note: e.target.value || null });
      if (saved) app.saved();
    },
  });
  const evidence = data.byType("photo").filter((p) => p.fields.checkpoint_id == null && p.fields.finding_id == null);
  return h(
    "section",
    { class: "outcome" },
    h("h2", {}, t("特殊情形")),
    select,
    clashNote(outcome, "code", (v) => (v ? t(OUTCOME_LABELS[v]) : "—")),
    code ? note : null,
    code
      ? h(
          "div",
          {},
          h("h3", {}, t("情形证据照片")),
          h("div", { class: "photos" }, evidence.map((p) => photoThumb(app, data, p))),
          editable ? photoInput(app, data, { label: "情形证据照片", testid: "outcome-photo-input" }) : null,
        )
      : null,
  );
}

function targetDetails(f) {
  const target = f.target || {};
  return h(
    "details",
    { class: "target" },
    h("summary", {}, t("检查对象")),
    field(t("统一社会信用代码"), target.code),
    field(t("地址"), target.address || f.target_address),
    field(t("法定代表人"), target.legal_rep),
    field(t("风险分类"), target.risk_class),
    field(t("行业"), target.industry),
    Array.isArray(f.tasks) && f.tasks.length
      ? h("div", {}, h("h3", {}, t("检查任务")), h("ul", {}, f.tasks.map((task) => h("li", {}, `${task.name} · ${task.department || ""}`))))
      : null,
    Array.isArray(f.team) && f.team.length
      ? h(
          "div",
          {},
          h("h3", {}, t("检查组")),
          h("ul", {}, f.team.map((m) => h("li", {}, `${m.name} (${m.code}) · ${t(ROLE_LABELS[m.role] || m.role)} · ${m.department || ""}${m.acting_for ? ` · ${t("代{department}", { department: m.acting_for })}` : ""}`))),
        )
      : null,
    Array.isArray(target.history) && target.history.length
      ? h(
          "div",
          {},
          h("h3", {}, t("以往检查")),
          h("ul", {}, target.history.map((x) => h("li", {}, `${x.inspected_on} · ${x.department || ""} · ${x.task_name || ""} · ${x.result || ""}`))),
        )
      : null,
  );
}

export function rejectedList(data) {
  if (!data.rejected.length) return null;
  return h(
    "section",
    { class: "rejected", "data-testid": "rejected" },
    h("h2", {}, t("被服务器拒绝的修改")),
    h(
      "ul",
      {},
      data.rejected.map((r) =>
        h("li", {}, `${t(RECORD_LABELS[r.change.record_type] || r.change.record_type)}: ${rejectionText(r.error.code)}`),
      ),
    ),
    // What to do about them: they stay here, and the export carries them to whoever can help.
    h(
      "p",
      { "data-testid": "rejected-help" },
      t("这些修改未被服务器接受，仍保存在本机。请在“待同步”页面导出未同步数据，交管理员处理。"),
      " ",
      h("a", { href: "#/outbox" }, t("待同步")),
    ),
  );
}

export async function renderInspection(app, id) {
  const data = await loadInspection(app.db, id);
  if (!data) {
    return h("div", {}, h("a", { href: "#/", class: "back" }, `← ${t("返回")}`), h("p", {}, t("检查不存在或已撤回")));
  }
  const f = data.fields;
  const editable = EDITABLE_STATES.has(f.state) || !f.state;
  const review = f.state === "returned" && f.review ? f.review : null;
  const comments = reviewNotes(review);
  const reviewFor = (cp) => comments.byCheckpoint.get(cp) || [];
  const answers = new Map(data.byType("answer").map((a) => [a.fields.checkpoint_id, a]));
  const noteBox = h("textarea", {
    rows: 3,
    maxlength: 10000,
    value: f.notes || "",
    disabled: !editable,
    draft: "notes",
    "aria-label": t("检查情况说明"),
    "data-testid": "notes",
    onchange: async (e) => {
      const saved = await saveNotes(app.db, app.ctx(), id, e.target.value || null);
      if (saved) app.saved();
    },
  });
  const otherPhotos = data.byType("photo").filter((p) => p.fields.checkpoint_id == null && p.fields.finding_id == null);
  return h(
    "div",
    { class: "inspection", "data-testid": "inspection", "data-state": f.state || "", "data-title": (f.target && f.target.name) || f.target_name || "" },
    h("a", { href: "#/", class: "back" }, `← ${t("返回")}`),
    h("h1", {}, (f.target && f.target.name) || f.target_name || ""),
    h("p", { class: `state state-${f.state}` }, t(STATE_LABELS[f.state] || f.state || "")),
    !editable ? h("p", { class: "warn", "data-testid": "locked" }, f.state === "submitted" ? t("已提交，等待审核") : t("该检查已锁定，不能修改")) : null,
    review
      ? h(
          "section",
          { class: "review", "data-testid": "review" },
          h("h2", {}, t("审核退回")),
          comments.general.map((c) => h("p", { "data-testid": "review-general" }, c)),
        )
      : null,
    rejectedList(data),
    targetDetails(f),
    checkinSection(app, data, editable),
    outcomeSection(app, data, editable),
    h(
      "section",
      { class: "checklist" },
      h("h2", {}, t("检查内容"), " ", h("small", { class: "progress", "data-testid": "answered" }, answeredText(checklistOf(f), answers))),
      checklistOf(f).map((item) =>
        h(
          "div",
          { class: "item" },
          h("h3", {}, item.name, " ", h("span", { class: `kind ${item.kind}` }, item.kind === "key" ? t("重点") : t("一般"))),
          item.legal_basis ? h("small", {}, `${t("依据")}: ${item.legal_basis}`) : null,
          h(
            "ol",
            {},
            [...item.checkpoints]
              .sort((a, b) => (a.position ?? 0) - (b.position ?? 0))
              .map((cp) => checkpointBlock(app, data, cp, answers.get(cp.id), reviewFor(cp.id), editable)),
          ),
        ),
      ),
    ),
    h(
      "section",
      { class: "other" },
      h("h2", {}, t("其他问题与照片")),
      findingList(app, data, null, editable),
      withoutOutcome(data) ? h("div", { class: "photos" }, otherPhotos.map((p) => photoThumb(app, data, p))) : null,
      withoutOutcome(data) && editable ? photoInput(app, data, { testid: "other-photo-input" }) : null,
    ),
    h("section", { class: "notes" }, h("h2", {}, t("检查情况说明")), noteBox, clashNote(data.inspection, "notes", (v) => v || "—")),
    h("a", { href: `#/i/${id}/sign`, class: "button primary", "data-testid": "to-sign" }, t("签名与提交")),
  );
}

/** "已答 3/15": how far the checklist is, so nobody has to scroll to find out. */
function answeredText(checklist, answers) {
  const ids = checklist.flatMap((item) => item.checkpoints.map((cp) => cp.id));
  const done = ids.filter((id) => answers.get(id) && answers.get(id).fields.value).length;
  return t("已答 {n}/{total}", { n: done, total: ids.length });
}

// With a special outcome, general photos are shown as its evidence instead (outcomeSection).
function withoutOutcome(data) {
  const outcome = data.byType("outcome")[0];
  return !(outcome && outcome.fields.code);
}
