"""The staff navigation: one table of links, each shown to the roles that may use it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for

from server.accounts.models import User
from server.i18n import translate

STAFF = ("admin", "supervisor", "leader")

# (endpoint, Chinese label, roles allowed). A link whose endpoint is not registered is skipped.
NAV: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("directory.targets", "检查对象", STAFF),
    ("directory.inspectors", "执法人员", STAFF),
    ("directory.items", "抽查事项", STAFF),
    ("directory.departments", "部门", ("admin",)),
    ("directory.imports", "批量导入", ("admin",)),
    ("planning.plans", "年度计划", STAFF),
    ("draws.draw_list", "抽取", STAFF),
    ("review.queue", "结果审核", STAFF),
    ("review.withholdings", "不予公示审批", ("leader",)),
    ("publication.staff_pending", "结果公示", STAFF),
    ("followup.ledger", "后续处置", STAFF),
    ("results.categories", "结果类别", ("admin",)),
    ("deadlines.deadlines", "期限跟踪", STAFF),
    ("archive.archive_list", "检查档案", STAFF),
    ("reports.kpi", "工作指标", STAFF),
    ("accounts.users", "用户管理", ("admin",)),
    ("deadlines.calendar", "工作日历", ("admin",)),
    ("jobs.jobs", "定时任务", ("admin",)),
    ("audit.audit_log", "审计日志", ("admin",)),
    ("recovery.imports", "数据恢复", ("admin", "inspector")),
    ("web.pwa_index", "现场检查", ("inspector",)),
)


@dataclass(frozen=True)
class NavLink:
    url: str
    label: str


def site_nav(user: User | None) -> list[NavLink]:
    if user is None:
        return []
    endpoints = {rule.endpoint for rule in current_app.url_map.iter_rules()}
    return [
        NavLink(url_for(endpoint), translate(label))
        for endpoint, label, roles in NAV
        if endpoint in endpoints and user.has_role(*roles)
    ]
