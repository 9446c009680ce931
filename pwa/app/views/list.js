/** Today's assignments: the inspections the inspector is on, today's window first. */

import { getMeta } from "../../data/db.js";
import { listInspections, EDITABLE_STATES } from "../../data/records.js";
import { h, todayInChina } from "../dom.js";
import { STATE_LABELS, t } from "../i18n.js";

function targetName(f) {
  return (f.target && f.target.name) || f.target_name || "";
}

function targetAddress(f) {
  return (f.target && f.target.address) || f.target_address || "";
}

/** Where today (Asia/Shanghai, "YYYY-MM-DD") falls against an inspection's window. */
export function windowPhase(fields, today) {
  if (!fields.window_start || !fields.window_end) return "current";
  if (today < fields.window_start) return "future";
  if (today > fields.window_end) return "past";
  return "current";
}

function card(item, assigned, today) {
  const f = item.fields;
  const withdrawn = assigned && !assigned.includes(item.id);
  const open = EDITABLE_STATES.has(f.state) || !f.state;
  const phase = windowPhase(f, today);
  return h(
    "li",
    { class: "card", "data-testid": "assignment", "data-id": item.id },
    h(
      "a",
      { href: `#/i/${item.id}` },
      h("strong", {}, targetName(f)),
      h("span", { class: `state state-${f.state}` }, t(STATE_LABELS[f.state] || f.state || "")),
      withdrawn ? h("span", { class: "badge warn" }, t("已撤回")) : null,
      open && phase === "past" ? h("span", { class: "badge bad", "data-testid": "window-past" }, t("已过检查期限")) : null,
      open && phase === "future" ? h("span", { class: "badge" }, t("尚未开始")) : null,
      item.pending ? h("span", { class: "badge" }, t("{n} 项待同步", { n: item.pending })) : null,
      item.rejected ? h("span", { class: "badge bad" }, t("{n} 项被拒绝", { n: item.rejected })) : null,
      h("small", {}, targetAddress(f)),
      f.window_start ? h("small", {}, t("检查期限 {start} 至 {end}", { start: f.window_start, end: f.window_end })) : null,
    ),
  );
}

export async function renderList(app) {
  const items = await listInspections(app.db);
  const assigned = await getMeta(app.db, "assigned", null);
  const today = todayInChina();
  const open = items.filter((i) => EDITABLE_STATES.has(i.fields.state) || !i.fields.state);
  const done = items.filter((i) => !open.includes(i));
  const inWindow = (i) => windowPhase(i.fields, today) === "current";
  const byWindow = (a, b) =>
    String(a.fields.window_end || "").localeCompare(String(b.fields.window_end || "")) ||
    targetName(a.fields).localeCompare(targetName(b.fields), "zh");
  const todays = open.filter(inWindow).sort(byWindow);
  const later = open.filter((i) => !inWindow(i)).sort(byWindow);
  const section = (title, list, testid) =>
    list.length
      ? h("section", { "data-testid": testid }, h("h2", {}, title), h("ul", { class: "cards" }, list.map((i) => card(i, assigned, today))))
      : null;
  const user = app.session.user;
  return h(
    "div",
    { class: "list", "data-testid": "assignments" },
    h(
      "p",
      { class: "who" },
      user.display_name || user.username,
      " · ",
      h("a", { href: "#/outbox" }, t("待同步")),
      " · ",
      h("button", { type: "button", class: "link", onclick: () => app.logout() }, t("退出登录")),
    ),
    items.length === 0 ? h("p", { class: "empty", "data-testid": "no-assignments" }, t("暂无检查任务。连接网络后点击“同步”获取任务。")) : null,
    section(t("今日检查"), todays, "today"),
    section(t("其他任务"), later, "later"),
    section(t("已提交"), done, "done"),
  );
}
