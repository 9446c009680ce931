"""Object-level authorization: an inspector sees only inspections they are on."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask.testing import FlaskClient

from server.directory.models import Inspector, Target
from server.extensions import db
from server.inspections.models import Inspection, InspectionTask, TeamMember
from server.planning.models import Plan, Task


def _world(make: Any) -> dict[str, Any]:
    dept = make.department()
    other = make.department()
    users = {name: make.user(roles=["inspector"], department=dept) for name in ("a", "b", "c")}
    inspectors = {}
    for name, u in users.items():
        inspectors[name] = Inspector(
            code=f"I-{name}", name=f"检查员{name}", department_id=dept.id, user_id=u.id
        )
    db.session.add_all(inspectors.values())
    plan = Plan(year=2025, department_id=dept.id, title="计划")
    task = Task(
        plan=plan,
        seq=1,
        name="任务",
        task_type="undirected",
        window_start=dt.date(2025, 7, 1),
        window_end=dt.date(2025, 11, 30),
        initiating_department_id=dept.id,
    )
    target = Target(code="91140581MA0000000X", name="某某公司", kind="enterprise")
    db.session.add_all([plan, task, target])
    db.session.flush()
    inspection = Inspection(target_id=target.id, window_start=task.window_start, window_end=task.window_end)
    db.session.add(inspection)
    db.session.flush()
    from server.draws.models import Draw

    draw = Draw(
        task_id=task.id,
        algorithm="test",
        server_entropy="0" * 64,
        seed="0" * 64,
        snapshot_hash="0" * 64,
        snapshot_rows=1,
        parameters={},
        strata={},
    )
    db.session.add(draw)
    db.session.flush()
    db.session.add(InspectionTask(inspection_id=inspection.id, task_id=task.id, draw_id=draw.id))
    for name, role in (("a", "leader"), ("b", "member")):
        db.session.add(
            TeamMember(
                inspection_id=inspection.id,
                inspector_id=inspectors[name].id,
                role=role,
                department_id=dept.id,
            )
        )
    db.session.commit()
    return {"users": users, "inspection": inspection, "dept": dept, "other": other}


def test_inspector_sees_only_own_assignments(client: FlaskClient, make: Any) -> None:
    w = _world(make)
    iid = w["inspection"].id
    mine = client.get("/api/v1/assignments", headers=make.auth_header(w["users"]["a"]))
    assert mine.status_code == 200
    assert [i["id"] for i in mine.json] == [iid]
    assert {m["role"] for m in mine.json[0]["team"]} == {"leader", "member"}
    outsider = make.auth_header(w["users"]["c"], device_id="device-c")
    assert client.get("/api/v1/assignments", headers=outsider).json == []
    resp = client.get(f"/api/v1/inspections/{iid}", headers=outsider)
    assert resp.status_code == 404
    assert resp.json["code"] == "not_found"
    assert (
        client.get(f"/api/v1/inspections/{iid}", headers=make.auth_header(w["users"]["b"])).status_code == 200
    )


def test_staff_see_their_departments_inspections_only(client: FlaskClient, make: Any) -> None:
    w = _world(make)
    iid = w["inspection"].id
    own = make.user(roles=["supervisor"], department=w["dept"])
    foreign = make.user(roles=["supervisor"], department=w["other"])
    assert client.get(f"/api/v1/inspections/{iid}", headers=make.auth_header(own)).status_code == 200
    assert client.get(f"/api/v1/inspections/{iid}", headers=make.auth_header(foreign)).status_code == 404
    # A grant opens the other department's data.
    from server.accounts.models import DepartmentGrant

    db.session.add(DepartmentGrant(grantee_id=w["other"].id, department_id=w["dept"].id))
    db.session.commit()
    assert (
        client.get(f"/api/v1/inspections/{iid}", headers=make.auth_header(foreign, "dev-2")).status_code
        == 200
    )


def test_assignments_need_the_inspector_role(client: FlaskClient, make: Any) -> None:
    staff = make.user(roles=["supervisor"])
    resp = client.get("/api/v1/assignments", headers=make.auth_header(staff))
    assert resp.status_code == 403
    assert resp.json["code"] == "forbidden"
