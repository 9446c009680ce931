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

function card(item, assigned) {
  const f = item.fields;
  const withdrawn = assigned && !assigned.includes(item.id);
  return h(
    "li",
    { class: "card", "data-testid": "assignment", "data-id": item.id },
    h(
      "a",
      { href: `#/i/${item.id}` },
      h("strong", {}, targetName(f)),
      h("span", { class: `state state-${f.state}` }, t(STATE_LABELS[f.state] || f.state || "")),
      withdrawn ? h("span", { class: "badge warn" }, t("已撤回")) : null,
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
  const inWindow = (i) => !i.fields.window_start || (i.fields.window_start <= today && today <= i.fields.window_end);
  const byWindow = (a, b) =>
    String(a.fields.window_end || "").localeCompare(String(b.fields.window_end || "")) ||
    targetName(a.fields).localeCompare(targetName(b.fields), "zh");
  const todays = open.filter(inWindow).sort(byWindow);
  const later = open.filter((i) => !inWindow(i)).sort(byWindow);
  const section = (title, list, testid) =>
    list.length
      ? h("section", { "data-testid": testid }, h("h2", {}, title), h("ul", { class: "cards" }, list.map((i) => card(i, assigned))))
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
