"""Inspectors through the API: department scoping, filters, CRUD and declared conflicts."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.directory.models import Conflict, Inspector
from server.extensions import db
from tests.integration.directory.conftest import World, add_inspector, add_target


def test_non_admins_see_only_their_departments(client: FlaskClient, world: World, make) -> None:  # type: ignore[no-untyped-def]
    mine = add_inspector(world.dept, name="张三")
    theirs = add_inspector(world.other_dept, name="李四")
    sup = world.auth(world.supervisor)
    listed = client.get("/api/v1/inspectors", headers=sup).json
    assert [i["name"] for i in listed["items"]] == ["张三"] and listed["total"] == 1
    assert client.get(f"/api/v1/inspectors/{mine.id}", headers=sup).status_code == 200
    resp = client.get(f"/api/v1/inspectors/{theirs.id}", headers=sup)
    assert resp.status_code == 404 and resp.json["code"] == "not_found"
    # Asking for the other department by filter shows nothing rather than leaking it.
    assert (
        client.get(
            "/api/v1/inspectors", query_string={"department_id": world.other_dept.id}, headers=sup
        ).json["items"]
        == []
    )
    admin_list = client.get("/api/v1/inspectors", headers=world.auth(world.admin)).json
    assert admin_list["total"] == 2
    leader = make.user(roles=["leader"], department=world.other_dept)
    assert [
        i["name"] for i in client.get("/api/v1/inspectors", headers=world.auth(leader)).json["items"]
    ] == ["李四"]
    resp = client.get("/api/v1/inspectors", headers=world.auth(world.inspector_user))
    assert resp.status_code == 403 and resp.json["code"] == "forbidden"


def test_filters(client: FlaskClient, world: World) -> None:
    add_inspector(world.dept, name="张三", specialties=["食品", "特种设备"], kind="professional")
    add_inspector(world.dept, name="王五", specialties=["广告"], status="retired")
    add_inspector(world.dept, name="赵六", kind="expert")
    h = world.auth(world.admin)

    def names(**q: object) -> list[str]:
        return [i["name"] for i in client.get("/api/v1/inspectors", query_string=q, headers=h).json["items"]]

    assert names(specialty="特种设备") == ["张三"]
    assert names(specialty="特种") == []
    assert names(status="retired") == ["王五"]
    assert names(kind="expert") == ["赵六"]
    assert names(department_id=world.dept.id, q="王") == ["王五"]


def test_create_patch_and_credential_expiry(client: FlaskClient, world: World) -> None:
    h = world.auth(world.admin)
    body = {
        "code": "WS-001",
        "name": "张三",
        "department_id": world.dept.id,
        "credential_no": "14110020001",
        "credential_valid_until": "2020-12-31",
        "kind": "professional",
        "specialties": ["食品", " 食品 ", "药品"],
    }
    resp = client.post("/api/v1/inspectors", json=body, headers=h)
    assert resp.status_code == 201, resp.json
    created = resp.json
    assert created["specialties"] == ["食品", "药品"] and created["credential_expired"] is True
    later = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    resp = client.patch(
        f"/api/v1/inspectors/{created['id']}",
        json={"credential_valid_until": later, "status": "leave"},
        headers=h,
    )
    assert (
        resp.status_code == 200
        and resp.json["credential_expired"] is False
        and resp.json["status"] == "leave"
    )
    dup = client.post("/api/v1/inspectors", json=dict(body, name="另一人"), headers=h)
    assert dup.status_code == 409 and dup.json["code"] == "duplicate_code"
    no_dept = client.post(
        "/api/v1/inspectors", json=dict(body, code="WS-002", department_id=99999), headers=h
    )
    assert no_dept.status_code == 422 and "department_id" in no_dept.json["errors"]
    bad_kind = client.post("/api/v1/inspectors", json=dict(body, code="WS-003", kind="chief"), headers=h)
    assert bad_kind.status_code == 422 and "kind" in bad_kind.json["errors"]["json"]
    assert db.session.scalar(select(func.count()).select_from(Inspector)) == 1
    sup = client.patch(
        f"/api/v1/inspectors/{created['id']}", json={"name": "x"}, headers=world.auth(world.supervisor)
    )
    assert sup.status_code == 403


def test_conflicts_add_and_remove(client: FlaskClient, world: World) -> None:
    h = world.auth(world.admin)
    inspector = add_inspector(world.dept)
    target = add_target("文水县好味食品店")
    url = f"/api/v1/inspectors/{inspector.id}/conflicts"
    resp = client.post(url, json={"target_id": target.id, "reason": "近亲属经营"}, headers=h)
    assert resp.status_code == 201 and resp.json["target"]["name"] == "文水县好味食品店"
    conflict_id = resp.json["id"]
    again = client.post(url, json={"target_id": target.id, "reason": "重复"}, headers=h)
    assert again.status_code == 409 and again.json["code"] == "duplicate_conflict"
    missing = client.post(url, json={"target_id": 99999, "reason": "x"}, headers=h)
    assert missing.status_code == 422 and "target_id" in missing.json["errors"]
    no_reason = client.post(url, json={"target_id": target.id, "reason": ""}, headers=h)
    assert no_reason.status_code == 422
    detail = client.get(f"/api/v1/inspectors/{inspector.id}", headers=h).json
    assert [c["reason"] for c in detail["conflicts"]] == ["近亲属经营"]
    assert client.delete(f"{url}/{conflict_id}", headers=world.auth(world.supervisor)).status_code == 403
    assert client.delete(f"{url}/{conflict_id}", headers=h).status_code == 204
    assert client.delete(f"{url}/{conflict_id}", headers=h).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Conflict)) == 0
