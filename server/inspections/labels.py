"""The Chinese names of an inspection's codes, shared by every page and document that shows them.

Source strings for ``server.i18n.translate`` (English in ``translations/en/``): one place, so the
review page, the deadlines page, the draw pages and the record PDF never name a thing differently.
"""

from __future__ import annotations

from typing import Final

STATE_NAMES: Final = {
    "assigned": "已分派",
    "in_progress": "检查中",
    "submitted": "待审核",
    "returned": "已退回",
    "approved": "已通过",
    "published": "已公示",
    "archived": "已归档",
    "cancelled": "已取消",
}
# 是 / 否 / 未检查 / 合理缺项 (DOMAIN.md §5)
ANSWER_NAMES: Final = {"yes": "是", "no": "否", "not_checked": "未检查", "not_applicable": "合理缺项"}
# The phone's special outcomes (003 第二十一条), worded as the result categories.
OUTCOME_NAMES: Final = {
    "no_contact": "通过登记的住所（经营场所）无法联系",
    "refused_cooperation": "不配合检查，情节严重",
    "no_activity": "未发现开展本次抽查涉及的经营活动",
    "closed_or_liquidating": "已关闭停业或正在组织清算",
    "deregistered": "已注销",
    "licence_revoked": "被吊销营业执照",
    "registration_revoked": "被撤销登记",
    "moved_out": "已迁出",
}
ROLE_NAMES: Final = {"leader": "组长", "member": "组员", "expert": "专家"}
