"""The planning API: who may read and write, the plan life cycle, tasks and imports."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.accounts.models import DepartmentGrant, User
from server.directory.models import Department
from server.extensions import db
from server.planning import services
from server.planning.importing import SEED_PLAN
from server.planning.models import Plan, Task

Headers = Callable[[User], dict[str, str]]


def _plan_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Plan)) or 0


def test_reading_needs_a_staff_role(
    client: FlaskClient, make: Any, bureau: Department, headers: Headers, draft: Plan
) -> None:
    assert client.get("/api/v1/plans").status_code == 401
    inspector = make.user(roles=["inspector"], department=bureau)
    resp = client.get("/api/v1/plans", headers=headers(inspector))
    assert resp.status_code == 403 and resp.json["code"] == "forbidden"
    assert client.get(f"/api/v1/plans/{draft.id}", headers=headers(inspector)).status_code == 403


def test_staff_see_only_their_departments(
    client: FlaskClient,
    make: Any,
    bureau: Department,
    other_bureau: Department,
    headers: Headers,
    draft: Plan,
) -> None:
    outsider = make.user(roles=["supervisor"], department=other_bureau)
    h = headers(outsider)
    assert client.get("/api/v1/plans", headers=h).json == []
    resp = client.get(f"/api/v1/plans/{draft.id}", headers=h)
    assert resp.status_code == 404 and resp.json["code"] == "not_found"
    assert client.get(f"/api/v1/tasks/{draft.tasks[0].id}", headers=h).status_code == 404
    assert (
        client.patch(f"/api/v1/tasks/{draft.tasks[0].id}", json={"name": "x"}, headers=h).status_code == 404
    )
    # A grant opens the bureau's plans to the other department (read; writing needs ownership too).
    db.session.add(DepartmentGrant(grantee_id=other_bureau.id, department_id=bureau.id))
    db.session.commit()
    assert [p["id"] for p in client.get("/api/v1/plans", headers=h).json] == [draft.id]
    resp = client.patch(f"/api/v1/tasks/{draft.tasks[0].id}", json={"name": "x"}, headers=h)
    assert resp.status_code == 403
    resp = client.post(
        "/api/v1/plans", json={"year": 2026, "department_id": bureau.id, "title": "代编"}, headers=h
    )
    assert resp.status_code == 403
    admin = make.user(roles=["admin"])
    assert [p["id"] for p in client.get("/api/v1/plans", headers=headers(admin)).json] == [draft.id]


def test_a_cooperating_department_sees_the_joint_plan_but_cannot_edit(
    client: FlaskClient, make: Any, other_bureau: Department, headers: Headers, draft: Plan
) -> None:
    services.update_task(draft.tasks[0], {"cooperating_department_ids": [other_bureau.id]})
    db.session.commit()
    partner = make.user(roles=["supervisor"], department=other_bureau)
    h = headers(partner)
    body = client.get(f"/api/v1/plans/{draft.id}", headers=h).json
    assert body["tasks"][0]["cooperating_departments"][0]["id"] == other_bureau.id
    resp = client.patch(f"/api/v1/tasks/{draft.tasks[0].id}", json={"name": "改"}, headers=h)
    assert resp.status_code == 403


def test_plan_life_cycle(
    client: FlaskClient, bureau: Department, supervisor: User, leader: User, headers: Headers
) -> None:
    sh, lh = headers(supervisor), headers(leader)
    resp = client.post(
        "/api/v1/plans", json={"year": 2025, "department_id": bureau.id, "title": "计划"}, headers=lh
    )
    assert resp.status_code == 403  # leaders publish, they do not write
    resp = client.post(
        "/api/v1/plans",
        json={
            "year": 2025,
            "department_id": bureau.id,
            "title": "2025年度计划",
            "completion_date": "2025-12-15",
        },
        headers=sh,
    )
    assert resp.status_code == 201, resp.json
    plan = resp.json
    assert (plan["version"], plan["status"], plan["tasks"]) == (1, "draft", [])

    resp = client.post(
        f"/api/v1/plans/{plan['id']}/tasks",
        json={
            "name": "对企业的不定向双随机抽查",
            "task_type": "undirected",
            "items_text": "1.登记事项检查；2.公示信息检查；3.商标使用行为的检查",
            "scope_text": "全市范围内存续的企业",
            "ratio_text": "3%; 1次/年",
            "window_text": "7月—11月",
            "mode_text": "【县抽县查】 高平市市场监管局发起并实施检查",
            "risk_text": "递加",
            "team_size": 3,
        },
        headers=sh,
    )
    assert resp.status_code == 201, resp.json
    task = resp.json
    assert task["base_ratio_bp"] == 300 and task["base_ratio"] == "3%"
    assert task["class_ratios_bp"] == {"A": 150, "B": 300, "C": 1500, "D": 4500, "U": 300}
    assert (task["window_start"], task["window_end"]) == ("2025-07-01", "2025-11-30")
    assert task["mode"] == "county_county" and task["mode_label"] == "县抽县查"
    assert [i["name"] for i in task["items"]] == ["登记事项检查", "公示信息检查", "商标使用行为的检查"]
    assert task["items"][0]["position"] == 0
    assert task["scope"] == {"kinds": ["enterprise"], "statuses": ["active"]}
    assert task["scope_description"] == "企业；状态：存续"
    assert task["initiating_department"]["id"] == bureau.id and task["team_size"] == 3

    resp = client.patch(
        f"/api/v1/tasks/{task['id']}",
        json={
            "class_ratios_bp": {"A": 100, "B": 300, "C": 1000, "D": 3000, "U": 300},
            "scope": {"tags": ["广告"]},
        },
        headers=sh,
    )
    assert resp.status_code == 200 and resp.json["class_ratios_bp"]["C"] == 1000
    assert resp.json["scope"] == {"tags": ["广告"]}

    resp = client.post(f"/api/v1/plans/{plan['id']}/publish", headers=lh)
    assert resp.status_code == 200 and resp.json["status"] == "published"
    resp = client.patch(f"/api/v1/tasks/{task['id']}", json={"name": "改名"}, headers=sh)
    assert resp.status_code == 409 and resp.json["code"] == "plan_locked"
    assert client.delete(f"/api/v1/tasks/{task['id']}", headers=sh).status_code == 409

    assert client.post(f"/api/v1/plans/{plan['id']}/revise", headers=lh).status_code == 403
    resp = client.post(f"/api/v1/plans/{plan['id']}/revise", headers=sh)
    assert resp.status_code == 201
    revision = resp.json
    assert (revision["version"], revision["status"], len(revision["tasks"])) == (2, "draft", 1)
    new_task_id = revision["tasks"][0]["id"]
    assert new_task_id != task["id"]
    assert client.delete(f"/api/v1/tasks/{new_task_id}", headers=sh).status_code == 204
    resp = client.post(f"/api/v1/plans/{revision['id']}/publish", headers=lh)
    assert resp.status_code == 409 and resp.json["code"] == "plan_empty"
    resp = client.post(
        f"/api/v1/plans/{revision['id']}/tasks",
        json={
            "name": "对特殊食品销售的双随机抽查",
            "task_type": "directed",
            "item_names": ["特殊食品销售监督检查"],
            "ratio_text": "6家",
            "window_text": "3月—12月",
            "mode": "city_city",
        },
        headers=sh,
    )
    assert resp.status_code == 201 and resp.json["fixed_count"] == 6
    assert client.post(f"/api/v1/plans/{revision['id']}/publish", headers=lh).json["status"] == "published"
    old = client.get(f"/api/v1/plans/{plan['id']}", headers=sh).json
    assert old["status"] == "superseded"
    listed = client.get("/api/v1/plans?year=2025&status=published", headers=sh).json
    assert [p["version"] for p in listed] == [2]


def test_bad_task_input_changes_nothing(
    client: FlaskClient, supervisor: User, headers: Headers, draft: Plan
) -> None:
    h = headers(supervisor)
    task_id = draft.tasks[0].id
    for body, field in (
        ({"team_size": 1}, "team_size"),
        ({"class_ratios_bp": {"E": 10}}, "class_ratios_bp"),
        ({"scope": {"colour": ["red"]}}, "scope"),
        ({"mode": "anything"}, "mode"),
        ({"item_ids": [1], "item_names": ["x"]}, "item_ids"),
    ):
        resp = client.patch(f"/api/v1/tasks/{task_id}", json=body, headers=h)
        assert resp.status_code == 422, body
        assert resp.json["code"] == "validation_failed"
        assert field in str(resp.json["errors"])
    resp = client.patch(f"/api/v1/tasks/{task_id}", json={"window_text": "13月"}, headers=h)
    assert resp.status_code == 422 and "window_text" in resp.json["errors"]
    assert db.session.get(Task, task_id).window_text == "7月—11月"  # type: ignore[union-attr]


def test_supervisor_cannot_plan_for_another_department(
    client: FlaskClient, supervisor: User, other_bureau: Department, headers: Headers
) -> None:
    resp = client.post(
        "/api/v1/plans",
        json={"year": 2025, "department_id": other_bureau.id, "title": "越权"},
        headers=headers(supervisor),
    )
    assert resp.status_code == 403 and _plan_count() == 0


def test_import_dry_run_then_import(
    client: FlaskClient, bureau: Department, supervisor: User, headers: Headers
) -> None:
    h = headers(supervisor)
    # The seed file names 高平市市场监管局, which loosely matches the bureau's full name.
    form = {"department_id": str(bureau.id), "year": "2025", "title": "导入的计划", "dry_run": "true"}
    resp = client.post(
        "/api/v1/plans/import",
        data={**form, "file": (io.BytesIO(SEED_PLAN.read_bytes()), "plan.csv")},
        headers=h,
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200, resp.json
    assert resp.json["dry_run"] is True and resp.json["plan"] is None and resp.json["tasks"] == 16
    assert any(i["code"] == "new_item" for i in resp.json["issues"])
    assert _plan_count() == 0
    form["dry_run"] = "false"
    resp = client.post(
        "/api/v1/plans/import",
        data={**form, "file": (io.BytesIO(SEED_PLAN.read_bytes()), "plan.csv")},
        headers=h,
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200 and resp.json["plan"]["task_count"] == 16
    assert _plan_count() == 1
    again = client.post(
        "/api/v1/plans/import",
        data={**form, "file": (io.BytesIO(SEED_PLAN.read_bytes()), "plan.csv")},
        headers=h,
        content_type="multipart/form-data",
    )
    assert again.status_code == 409 and again.json["code"] == "plan_exists"


def test_import_without_a_file_is_a_422_naming_it(
    client: FlaskClient, bureau: Department, supervisor: User, headers: Headers
) -> None:
    form = {"department_id": str(bureau.id), "year": "2025", "title": "没有文件"}
    resp = client.post(
        "/api/v1/plans/import", data=form, headers=headers(supervisor), content_type="multipart/form-data"
    )
    assert resp.status_code == 422 and resp.json["code"] == "validation_failed"
    assert resp.json["errors"] == {"files": {"file": ["Missing data for required field."]}}
    assert _plan_count() == 0


def test_import_with_errors_is_a_422_listing_lines(
    client: FlaskClient, bureau: Department, admin: User, headers: Headers
) -> None:
    content = (
        "序号,抽查任务名称,抽查类型,抽查事项,抽查对象范围,抽查比例/数量,信用风险分类管理,抽取检查起至时间,抽查检查模式\n"
        "1,甲,定向,1.登记事项检查,全市企业,5%,,5月—11月,县抽县查\n"
        "2,乙,定向,1.登记事项检查,全市企业,百分之五,,5月—11月,县抽县查\n"
    ).encode()
    resp = client.post(
        "/api/v1/plans/import",
        data={
            "department_id": str(bureau.id),
            "year": "2025",
            "title": "计划",
            "file": (io.BytesIO(content), "p.csv"),
        },
        headers=headers(admin),
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422 and resp.json["code"] == "import_invalid"
    assert [(e["line"], e["code"]) for e in resp.json["errors"] if e["level"] == "error"] == [
        (3, "bad_ratio")
    ]
    assert _plan_count() == 0
    resp = client.post(
        "/api/v1/plans/import",
        data={
            "department_id": str(bureau.id),
            "year": "2025",
            "title": "计划",
            "file": (io.BytesIO(b"\x00\x01"), "p.csv"),
        },
        headers=headers(admin),
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422 and resp.json["code"] == "import_unreadable"


def test_list_is_paginated_and_documented(
    client: FlaskClient, make: Any, admin: User, headers: Headers
) -> None:
    for n in range(3):
        dept = make.department()
        services.create_plan(dept, 2025, f"计划{n}")
    db.session.commit()
    resp = client.get("/api/v1/plans?page=1&page_size=2", headers=headers(admin))
    assert resp.status_code == 200 and len(resp.json) == 2
    assert '"total": 3' in resp.headers["X-Pagination"]
    spec = client.get("/api/openapi.json").json
    for path in (
        "/api/v1/plans",
        "/api/v1/plans/{plan_id}/publish",
        "/api/v1/plans/{plan_id}/revise",
        "/api/v1/tasks/{task_id}",
        "/api/v1/plans/import",
    ):
        assert path in spec["paths"], path


def test_plan_patch_and_delete(client: FlaskClient, supervisor: User, headers: Headers, draft: Plan) -> None:
    h = headers(supervisor)
    resp = client.patch(
        f"/api/v1/plans/{draft.id}", json={"document_no": "高市市监办发〔2025〕9号"}, headers=h
    )
    assert resp.status_code == 200 and resp.json["document_no"] == "高市市监办发〔2025〕9号"
    resp = client.patch(f"/api/v1/plans/{draft.id}", json={"completion_date": "2026-01-01"}, headers=h)
    assert resp.status_code == 422
    assert client.delete(f"/api/v1/plans/{draft.id}", headers=h).status_code == 204
    assert _plan_count() == 0
