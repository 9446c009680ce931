"""Plan and task services: versioning by revision, draft-only edits, validation, audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from server.audit.models import AuditEvent
from server.audit.services import verify_chain
from server.directory.models import Department, Item
from server.draws.models import Draw
from server.errors import ApiError
from server.extensions import db
from server.planning import services
from server.planning.importing import load_seed_plan
from server.planning.models import Plan, Task
from tests.integration.planning.conftest import task_data


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_texts_given_alone_set_the_structured_values(draft: Plan, first_task: Task) -> None:
    assert first_task.base_ratio_bp == 300
    assert first_task.class_ratios_bp == {"A": 150, "B": 300, "C": 1500, "D": 4500, "U": 300}
    assert first_task.scope == {"kinds": ["enterprise"], "statuses": ["active"]}
    assert [i.name for i in first_task.items] == ["登记事项检查", "公示信息检查"]
    task = services.add_task(
        draft,
        {
            "name": "道路危险货物运输企业检查",
            "task_type": "directed",
            "items_text": "道路危险货物运输企业监督检查",
            "scope_text": "道路危险货物运输企业",
            "ratio_text": "35%; 1次/季度",
            "window_text": "1月-11月",
            "mode_text": "县抽县查",
        },
    )
    assert (task.seq, task.base_ratio_bp, task.frequency_per_year) == (2, 3500, 4)
    assert (task.window_start, task.window_end) == (dt.date(2025, 1, 1), dt.date(2025, 11, 30))
    assert task.class_ratios_bp["D"] == 10000
    assert [i.name for i in task.items] == ["道路危险货物运输企业监督检查"]


def test_update_task_changes_only_what_is_given_and_audits_it(draft: Plan, first_task: Task) -> None:
    services.update_task(first_task, {"class_ratios_bp": {"A": 0, "B": 300, "C": 900, "D": 3000, "U": 300}})
    assert first_task.class_ratios_bp["A"] == 0  # an A-class ratio of 0: no proactive checks
    assert first_task.base_ratio_bp == 300
    services.update_task(first_task, {"base_ratio_bp": 200})  # a new base alone resets the classes
    assert first_task.class_ratios_bp == {"A": 100, "B": 200, "C": 1000, "D": 3000, "U": 200}
    services.update_task(first_task, {"item_names": ["公示信息检查", "登记事项检查", "商标使用行为的检查"]})
    assert [i.name for i in first_task.items] == ["公示信息检查", "登记事项检查", "商标使用行为的检查"]
    services.update_task(first_task, {"ratio_text": "6家"})
    assert (first_task.fixed_count, first_task.base_ratio_bp, first_task.class_ratios_bp) == (6, None, {})
    db.session.commit()
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "task.updated")).all()
    assert len(events) == 4
    assert events[0].details["changed"]["class_ratios_bp"][1]["A"] == 0
    assert "item_ids" in events[2].details["changed"]
    assert verify_chain() == []


def test_update_without_changes_records_nothing(first_task: Task) -> None:
    before = len(_actions())
    services.update_task(first_task, {"name": first_task.name})
    assert len(_actions()) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"team_size": 1}, "team_size"),
        ({"seq": 0}, "seq"),
        ({"window_start": dt.date(2024, 12, 1)}, "window_start"),
        ({"window_end": dt.date(2025, 6, 1)}, "window_end"),
        ({"class_ratios_bp": {"E": 100}}, "class_ratios_bp"),
        ({"class_ratios_bp": {"A": 10001}}, "class_ratios_bp"),
        ({"scope": {"kinds": ["company"]}}, "scope"),
        ({"ratio_text": "很多"}, "ratio_text"),
        ({"window_text": "明年"}, "window_text"),
        ({"item_ids": []}, "item_ids"),
        ({"item_ids": [999_999]}, "item_ids"),
        ({"cooperating_department_ids": [999_999]}, "cooperating_department_ids"),
        ({"task_type": "random"}, "task_type"),
    ],
)
def test_invalid_task_changes_are_refused(first_task: Task, change: dict[str, Any], field: str) -> None:
    with pytest.raises(ApiError) as info:
        services.update_task(first_task, change)
    assert info.value.code == "validation_failed"
    assert field in info.value.errors


def test_duplicate_seq_and_self_cooperation(draft: Plan, bureau: Department) -> None:
    with pytest.raises(ApiError) as info:
        services.add_task(draft, task_data(seq=1))
    assert "seq" in info.value.errors
    with pytest.raises(ApiError) as info:
        services.add_task(draft, task_data(cooperating_department_ids=[bureau.id]))
    assert "cooperating_department_ids" in info.value.errors


def test_publish_revise_publish_supersedes(draft: Plan, bureau: Department, other_bureau: Department) -> None:
    first_task = draft.tasks[0]
    services.update_task(first_task, {"cooperating_department_ids": [other_bureau.id]})
    services.publish_plan(draft, actor_id=None)
    db.session.commit()
    assert draft.status == "published" and draft.published_at is not None

    with pytest.raises(ApiError) as info:
        services.update_task(first_task, {"name": "改名"})
    assert info.value.code == "plan_locked"
    with pytest.raises(ApiError) as info:
        services.add_task(draft, task_data(seq=9))
    assert info.value.code == "plan_locked"

    revision = services.revise_plan(draft)
    db.session.commit()
    assert (revision.version, revision.status, revision.title) == (2, "draft", draft.title)
    copy = revision.tasks[0]
    assert copy.id != first_task.id
    assert [i.id for i in copy.items] == [i.id for i in first_task.items]
    assert [c.department_id for c in copy.cooperating] == [other_bureau.id]
    assert copy.class_ratios_bp == first_task.class_ratios_bp and copy.scope == first_task.scope

    with pytest.raises(ApiError) as info:
        services.revise_plan(draft)  # one open revision at a time
    assert info.value.code == "plan_exists"

    services.update_task(copy, {"ratio_text": "5%; 1次/年", "class_ratios_bp": {"B": 500}})
    assert first_task.base_ratio_bp == 300  # the published version is untouched
    services.publish_plan(revision)
    db.session.commit()
    assert (draft.status, revision.status) == ("superseded", "published")
    with pytest.raises(ApiError) as info:
        services.revise_plan(draft)
    assert info.value.code == "plan_not_published"
    assert [p.version for p in services.plan_versions(draft)] == [2, 1]
    actions = _actions()
    assert actions.count("plan.published") == 2
    assert "plan.revised" in actions and "plan.superseded" in actions


def test_publishing_needs_tasks_and_a_draft(bureau: Department) -> None:
    plan = services.create_plan(bureau, 2026, "空计划")
    with pytest.raises(ApiError) as info:
        services.publish_plan(plan)
    assert info.value.code == "plan_empty"
    services.add_task(plan, task_data(window_start=dt.date(2026, 1, 1), window_end=dt.date(2026, 2, 1)))
    services.publish_plan(plan)
    with pytest.raises(ApiError) as info:
        services.publish_plan(plan)
    assert info.value.code == "plan_locked"


def test_one_plan_per_department_and_year(draft: Plan, bureau: Department) -> None:
    with pytest.raises(ApiError) as info:
        services.create_plan(bureau, 2025, "又一个")
    assert info.value.code == "plan_exists"
    with pytest.raises(ApiError):
        services.create_plan(bureau, 2025, "  ")


def test_delete_task_and_plan(draft: Plan, first_task: Task) -> None:
    services.delete_task(first_task)
    assert draft.tasks == []
    services.delete_plan(draft)
    db.session.commit()
    assert db.session.scalars(select(Plan)).all() == []
    assert db.session.scalars(select(Task)).all() == []
    assert {"task.deleted", "plan.deleted"} <= set(_actions())


def test_a_drawn_task_cannot_be_deleted(first_task: Task) -> None:
    db.session.add(
        Draw(
            task_id=first_task.id,
            algorithm="test",
            server_entropy="00" * 32,
            seed="11" * 32,
            snapshot_hash="22" * 32,
            snapshot_rows=0,
            parameters={},
            strata={},
        )
    )
    db.session.flush()
    with pytest.raises(ApiError) as info:
        services.delete_task(first_task)
    assert info.value.code == "task_has_draws"


def test_ratios_for_the_draws_engine(draft: Plan, first_task: Task) -> None:
    assert services.class_ratio_bp(first_task, "D") == 4500
    assert services.class_ratio_bp(first_task, None) == 300  # unclassified → "U"
    assert services.draw_problems(first_task) == ["plan_not_published"]
    services.update_task(first_task, {"use_risk_classes": False})
    assert services.class_ratio_bp(first_task, "D") == 300
    services.update_task(first_task, {"ratio_text": "根据预警监测情况动态比例"})
    assert services.class_ratio_bp(first_task, "B") is None
    services.publish_plan(draft)
    assert services.draw_problems(first_task) == ["no_numbers"]


def test_unknown_item_names_become_general_items(draft: Plan, bureau: Department) -> None:
    task = services.add_task(draft, task_data(seq=5, item_names=["全新检查事项"]))
    item = task.items[0]
    assert (item.name, item.kind, item.department_id) == ("全新检查事项", "general", bureau.id)
    assert item.code.startswith("AUTO-")
    same = services.add_task(draft, task_data(seq=6, item_names=["全新检查事项"]))
    assert same.items[0].id == item.id
    assert db.session.scalars(select(Item).where(Item.name == "全新检查事项")).all() == [item]


def test_advisories_name_what_the_seeds_ask(bureau: Department) -> None:
    plan = load_seed_plan(bureau)
    # 高平's rows 1-3 run 7月—11月; row 1 covers all enterprises at 3 %.
    assert services.plan_advisories(plan) == ["序号1、2、3的任务抽查时间全部在下半年；应避免检查集中在下半年"]
    services.update_task(plan.tasks[0], {"ratio_text": "2%; 1次/年", "window_text": "3月—11月"})
    services.update_plan(plan, {"completion_date": None})
    notes = services.plan_advisories(plan)
    assert "序号2、3的任务抽查时间全部在下半年；应避免检查集中在下半年" in notes
    assert "没有面向全部企业、比例不低于3%的任务；企业年度抽查覆盖率应不低于3%" in notes
    assert "未填写完成期限" in notes
