"""The planning pages as a supervisor, a leader and others would use them."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.accounts.models import User
from server.directory.models import Department
from server.extensions import db
from server.planning.importing import SEED_PLAN, load_seed_plan
from server.planning.models import Plan, Task
from tests.support.factories import csrf_from

PageAs = Callable[[User], FlaskClient]


def _csrf(client: FlaskClient) -> str:
    return csrf_from(client, "/planning/plans")


def _text(resp: Any) -> str:
    return str(resp.get_data(as_text=True))


def test_pages_need_a_staff_login(
    client: FlaskClient, make: Any, bureau: Department, page_as: PageAs
) -> None:
    resp = client.get("/planning/plans")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    inspector = make.user(roles=["inspector"], department=bureau)
    assert page_as(inspector).get("/planning/plans").status_code == 403


def test_plan_list_filters_and_create(page_as: PageAs, supervisor: User, bureau: Department) -> None:
    load_seed_plan(bureau)
    db.session.commit()
    client = page_as(supervisor)
    html = _text(client.get("/planning/plans"))
    assert "高平市市场监督管理局2025年度双随机抽查工作计划" in html and "草稿" in html
    assert "高平市市场监督管理局2025年度" not in _text(client.get("/planning/plans?year=2024"))
    assert "没有符合条件的计划" in _text(client.get("/planning/plans?status=published"))

    csrf = _csrf(client)
    resp = client.post(
        "/planning/plans",
        data={"csrf_token": csrf, "department_id": bureau.id, "year": "2025", "title": "第二个计划"},
    )
    assert resp.status_code == 422
    assert "已有计划" in _text(resp) or "already" in _text(resp)
    resp = client.post(
        "/planning/plans",
        data={"csrf_token": csrf, "department_id": bureau.id, "year": "2026", "title": ""},
    )
    assert resp.status_code == 422 and "必填" in _text(resp)
    resp = client.post(
        "/planning/plans",
        data={"csrf_token": csrf, "department_id": bureau.id, "year": "2026", "title": "2026年度计划"},
    )
    assert resp.status_code == 302
    assert "已创建计划草稿" in _text(client.get(resp.headers["Location"]))


def test_post_without_csrf_is_refused(page_as: PageAs, supervisor: User, bureau: Department) -> None:
    client = page_as(supervisor)
    resp = client.post("/planning/plans", data={"department_id": bureau.id, "year": "2026", "title": "x"})
    assert resp.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0


def test_import_check_then_confirm(page_as: PageAs, supervisor: User, bureau: Department) -> None:
    client = page_as(supervisor)
    csrf = _csrf(client)
    form = {
        "csrf_token": csrf,
        "department_id": bureau.id,
        "year": "2025",
        "title": "导入计划",
        "action": "check",
    }
    resp = client.post(
        "/planning/plans/import",
        data={**form, "file": (io.BytesIO(SEED_PLAN.read_bytes()), "gaoping.csv")},
        content_type="multipart/form-data",
    )
    html = _text(resp)
    assert resp.status_code == 200
    assert "检查通过：16项任务可以导入" in html
    assert "将作为高平市市场监督管理局的一般检查事项新建" in html
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0
    # The confirm form carries no file: the checked one is kept for this session.
    resp = client.post("/planning/plans/import", data={**form, "action": "import"})
    assert resp.status_code == 302, _text(resp)
    html = _text(client.get(resp.headers["Location"]))
    assert "已导入16项任务" in html
    assert db.session.scalar(select(func.count()).select_from(Task)) == 16


def test_import_check_lists_bad_lines(page_as: PageAs, supervisor: User, bureau: Department) -> None:
    client = page_as(supervisor)
    content = (
        "序号,抽查任务名称,抽查类型,抽查事项,抽查对象范围,抽查比例/数量,信用风险分类管理,抽取检查起至时间,抽查检查模式\n"
        "1,甲,定向,1.登记事项检查,全市企业,5%,,5月—11月,县抽县查\n"
        "2,乙,横向,1.登记事项检查,全市企业,5%,,5月—11月,县抽县查\n"
    ).encode()
    resp = client.post(
        "/planning/plans/import",
        data={
            "csrf_token": _csrf(client),
            "department_id": bureau.id,
            "year": "2025",
            "title": "坏文件",
            "action": "check",
            "file": (io.BytesIO(content), "bad.csv"),
        },
        content_type="multipart/form-data",
    )
    html = _text(resp)
    assert "发现1处错误，未导入任何数据" in html
    assert re.search(r"<td>3</td><td>抽查类型</td>", html)
    assert "确认导入" not in html
    resp = client.post(
        "/planning/plans/import",
        data={
            "csrf_token": _csrf(client),
            "department_id": bureau.id,
            "year": "2025",
            "title": "坏文件",
            "action": "import",
            "file": (io.BytesIO(content), "bad.csv"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0


def test_plan_page_shows_every_column(
    app: Flask, page_as: PageAs, supervisor: User, bureau: Department
) -> None:
    plan = load_seed_plan(bureau)
    db.session.commit()
    html = _text(page_as(supervisor).get(f"/planning/plans/{plan.id}"))
    for text in (
        "高市市监办发〔2025〕9号",
        "对企业的不定向双随机抽查",
        "不定向",
        "商标使用行为的检查",
        "主项",
        "全市范围内存续的企业",
        "企业；状态：存续",
        "3%; 1次/年",
        "A 1.5%",
        "D 45%",
        "1次/年",
        "结合行业监管风管分类",
        "7月—11月",
        "2025-07-01",
        "高平市市场监督管理局",
        "【县抽县查】 高平市市场监管局发起并实施检查",
        "县抽县查",
        "发布计划",
        "新增任务",
        "序号1、2、3的任务抽查时间全部在下半年",
    ):
        assert text in html, text
    has_draws = "draws.task_draws" in app.view_functions
    assert (f"/draws/tasks/{plan.tasks[0].id}" in html) == has_draws


def test_task_form_edit_and_validation(
    page_as: PageAs, supervisor: User, draft: Plan, first_task: Task
) -> None:
    client = page_as(supervisor)
    html = _text(client.get(f"/planning/tasks/{first_task.id}/edit"))
    assert 'name="ratio_A" inputmode="decimal" size="6" value="1.5"' in html
    assert 'value="1.登记事项检查；2.公示信息检查"' not in html  # a textarea, not an input
    assert "1.登记事项检查；2.公示信息检查</textarea>" in html
    form = {
        "csrf_token": _csrf(client),
        "seq": "1",
        "name": "对企业的不定向双随机抽查（修改）",
        "task_type": "undirected",
        "team_size": "1",
        "items_text": "1.登记事项检查；2.公示信息检查；3.商标使用行为的检查",
        "scope_text": "全市范围内存续的企业",
        "kinds": ["enterprise", "individual"],
        "statuses": ["active"],
        "districts": "米山镇、北诗镇",
        "tags": "",
        "ratio_text": "3%; 1次/年",
        "base_ratio": "3",
        "fixed_count": "",
        "frequency_per_year": "1",
        "use_risk_classes": "on",
        "min_one": "on",
        "ratio_A": "1",
        "ratio_B": "3",
        "ratio_C": "12.5",
        "ratio_D": "40",
        "ratio_U": "3",
        "window_text": "7月—11月",
        "window_start": "2025-07-01",
        "window_end": "2025-11-30",
        "initiating_department_id": str(draft.department_id),
        "mode": "county_county",
        "mode_text": "县抽县查",
        "inspection_body": "高平市市场监管局",
    }
    resp = client.post(f"/planning/tasks/{first_task.id}/edit", data=form)
    assert resp.status_code == 422
    assert "应为不小于2的整数" in _text(resp)
    assert 'value="对企业的不定向双随机抽查（修改）"' in _text(resp)  # what was typed is kept
    form["team_size"] = "3"
    resp = client.post(f"/planning/tasks/{first_task.id}/edit", data=form)
    assert resp.status_code == 302, _text(resp)
    db.session.refresh(first_task)
    assert first_task.name.endswith("（修改）") and first_task.team_size == 3
    assert first_task.class_ratios_bp == {"A": 100, "B": 300, "C": 1250, "D": 4000, "U": 300}
    assert first_task.scope == {
        "kinds": ["enterprise", "individual"],
        "statuses": ["active"],
        "districts": ["米山镇", "北诗镇"],
    }
    assert [i.name for i in first_task.items][-1] == "商标使用行为的检查"
    form.update({"window_start": "2024-07-01", "team_size": "2"})
    resp = client.post(f"/planning/tasks/{first_task.id}/edit", data=form)
    assert resp.status_code == 422 and "抽查时间应在计划年度2025年内" in _text(resp)


def test_new_task_from_texts_alone(page_as: PageAs, supervisor: User, draft: Plan) -> None:
    client = page_as(supervisor)
    assert 'name="seq" min="1" value="2"' in _text(client.get(f"/planning/plans/{draft.id}/tasks/new"))
    resp = client.post(
        f"/planning/plans/{draft.id}/tasks/new",
        data={
            "csrf_token": _csrf(client),
            "seq": "2",
            "name": "对餐饮服务单位的监督检查",
            "task_type": "directed",
            "team_size": "2",
            "frequency_per_year": "1",
            "items_text": "餐饮服务监督管理",
            "scope_text": "餐饮服务单位",
            "reparse_scope": "on",
            "ratio_text": "5%; 1次/年",
            "use_risk_classes": "on",
            "min_one": "on",
            "window_text": "5月—11月",
            "mode": "county_county",
        },
    )
    assert resp.status_code == 302, _text(resp)
    task = db.session.scalar(select(Task).where(Task.plan_id == draft.id, Task.seq == 2))
    assert task is not None
    assert (task.base_ratio_bp, task.class_ratios_bp["C"]) == (500, 2500)
    assert task.scope == {"tags": ["餐饮服务"]}
    assert (task.window_start.isoformat(), task.window_end.isoformat()) == ("2025-05-01", "2025-11-30")


def test_publish_revise_and_delete_buttons(
    page_as: PageAs, supervisor: User, leader: User, draft: Plan
) -> None:
    lead = page_as(leader)
    html = _text(lead.get(f"/planning/plans/{draft.id}"))
    assert "发布计划" in html and "新增任务" not in html  # a leader publishes but does not edit
    assert (
        lead.post(f"/planning/plans/{draft.id}/revise", data={"csrf_token": _csrf(lead)}).status_code == 403
    )
    resp = lead.post(f"/planning/plans/{draft.id}/publish", data={"csrf_token": _csrf(lead)})
    assert resp.status_code == 302
    assert "计划已发布" in _text(lead.get(resp.headers["Location"]))
    assert draft.status == "published"

    sup = page_as(supervisor)
    html = _text(sup.get(f"/planning/plans/{draft.id}"))
    assert "修订（新建版本）" in html and "编辑</a>" not in html
    assert sup.get(f"/planning/tasks/{draft.tasks[0].id}/edit").status_code == 409
    resp = sup.post(f"/planning/plans/{draft.id}/revise", data={"csrf_token": _csrf(sup)})
    assert resp.status_code == 302
    revision_page = _text(sup.get(resp.headers["Location"]))
    assert "v2" in revision_page and "已创建修订草稿" in revision_page
    revision = db.session.scalar(select(Plan).where(Plan.version == 2))
    assert revision is not None
    resp = sup.post(f"/planning/plans/{revision.id}/delete", data={"csrf_token": _csrf(sup)})
    assert resp.status_code == 302 and "计划草稿已删除" in _text(sup.get(resp.headers["Location"]))
    resp = sup.post(f"/planning/plans/{draft.id}/delete", data={"csrf_token": _csrf(sup)})
    assert "计划已发布，请新建修订版本" in _text(sup.get(resp.headers["Location"]))  # published: refused
    assert db.session.get(Plan, draft.id) is not None


def test_task_page_and_delete(page_as: PageAs, supervisor: User, draft: Plan, first_task: Task) -> None:
    client = page_as(supervisor)
    task_id = first_task.id
    html = _text(client.get(f"/planning/tasks/{task_id}"))
    assert "B 一般风险" in html and "计划发布后才能抽取" in html
    resp = client.post(f"/planning/tasks/{task_id}/delete", data={"csrf_token": _csrf(client)})
    assert resp.status_code == 302
    assert "已删除" in _text(client.get(resp.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(Task, task_id) is None


def test_other_departments_get_not_found(
    page_as: PageAs, make: Any, other_bureau: Department, draft: Plan
) -> None:
    outsider = page_as(make.user(roles=["supervisor"], department=other_bureau))
    assert outsider.get(f"/planning/plans/{draft.id}").status_code == 404
    assert outsider.get(f"/planning/tasks/{draft.tasks[0].id}").status_code == 404


def test_english_pages(page_as: PageAs, supervisor: User, draft: Plan) -> None:
    client = page_as(supervisor)
    client.get("/lang/en")
    html = _text(client.get(f"/planning/plans/{draft.id}"))
    assert (
        "Initiating department" in html and "Publish plan" in html and "enterprises; status: active" in html
    )
