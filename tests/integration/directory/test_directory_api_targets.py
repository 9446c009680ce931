"""Targets through the API: create, read with history and conflicts, patch, and refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.audit.models import AuditEvent
from server.directory.models import Conflict, Target
from server.extensions import db
from tests.integration.directory.conftest import World, add_inspector, add_target, credit_code


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_create_get_and_patch_a_target(client: FlaskClient, world: World) -> None:
    code = credit_code()
    body = {
        "code": code.lower(),
        "name": "文水县好味食品店",
        "kind": "enterprise",
        "district": "文水县",
        "risk_class": "C",
        "tags": ["食品经营", "食品经营", "校园周边"],
    }
    resp = client.post("/api/v1/targets", json=body, headers=world.auth(world.admin))
    assert resp.status_code == 201, resp.json
    created = resp.json
    assert created["code"] == code  # stored upper-case
    assert created["tags"] == ["校园周边", "食品经营"]
    assert created["risk_assessed_on"] is not None  # a class without a date is assessed today
    assert created["history"] == [] and created["conflicts"] == []

    resp = client.patch(
        f"/api/v1/targets/{created['id']}",
        json={"name": "文水县鑫源五金店", "tags": ["五金"]},
        headers=world.auth(world.admin),
    )
    assert resp.status_code == 200 and resp.json["name"] == "文水县鑫源五金店"
    assert resp.json["tags"] == ["五金"] and resp.json["district"] == "文水县"
    found = client.get("/api/v1/targets", query_string={"q": "五金"}, headers=world.auth(world.supervisor))
    assert [t["id"] for t in found.json["items"]] == [created["id"]]

    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "target").order_by(AuditEvent.seq)
    ).all()
    assert actions == ["target.created", "target.updated"]


def test_detail_has_history_newest_first_and_conflicts(client: FlaskClient, world: World) -> None:
    t = add_target(
        "文水县好味食品店",
        history=[
            {"inspected_on": dt.date(2023, 5, 1), "task_name": "2023年食品抽查", "result": "未发现问题"},
            {
                "inspected_on": dt.date(2025, 3, 9),
                "task_name": "2025年食品抽查",
                "result": "发现问题已责令改正",
            },
        ],
    )
    mine = add_inspector(world.dept, name="张三")
    theirs = add_inspector(world.other_dept, name="李四")
    db.session.add_all(
        [
            Conflict(inspector_id=mine.id, target_id=t.id, reason="亲属"),
            Conflict(inspector_id=theirs.id, target_id=t.id, reason="曾任职"),
        ]
    )
    db.session.commit()
    resp = client.get(f"/api/v1/targets/{t.id}", headers=world.auth(world.supervisor))
    assert resp.status_code == 200
    assert [h["inspected_on"] for h in resp.json["history"]] == ["2025-03-09", "2023-05-01"]
    # The supervisor sees only the conflict of an inspector in a department they can see.
    assert [c["inspector"]["name"] for c in resp.json["conflicts"]] == ["张三"]
    admin_view = client.get(f"/api/v1/targets/{t.id}", headers=world.auth(world.admin))
    assert sorted(c["inspector"]["name"] for c in admin_view.json["conflicts"]) == ["张三", "李四"]


def test_invalid_credit_code_changes_nothing(client: FlaskClient, world: World) -> None:
    good = credit_code()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    before = _count(Target)
    resp = client.post(
        "/api/v1/targets",
        json={"code": bad, "name": "某店", "kind": "individual"},
        headers=world.auth(world.admin),
    )
    assert resp.status_code == 422 and resp.json["code"] == "invalid_credit_code"
    assert resp.json["detail"] == "check_digit" and "code" in resp.json["errors"]
    assert _count(Target) == before
    # Non-market targets carry assigned codes, which are not credit codes.
    ok = client.post(
        "/api/v1/targets",
        json={"code": "XM-2025-001", "name": "某项目", "kind": "project"},
        headers=world.auth(world.admin),
    )
    assert ok.status_code == 201
    # Turning it into a market entity requires a valid code.
    resp = client.patch(
        f"/api/v1/targets/{ok.json['id']}", json={"kind": "enterprise"}, headers=world.auth(world.admin)
    )
    assert resp.json["code"] == "invalid_credit_code"
    assert db.session.get(Target, ok.json["id"]).kind == "project"  # type: ignore[union-attr]


def test_duplicate_code_changes_nothing(client: FlaskClient, world: World) -> None:
    t = add_target("甲店")
    other = add_target("乙店")
    world.auth(world.admin)  # issuing the token is itself audited
    events = _count(AuditEvent)
    resp = client.post(
        "/api/v1/targets",
        json={"code": t.code, "name": "丙店", "kind": "enterprise"},
        headers=world.auth(world.admin),
    )
    assert resp.status_code == 409 and resp.json["code"] == "duplicate_code"
    resp = client.patch(
        f"/api/v1/targets/{other.id}",
        json={"code": t.code.lower(), "name": "改名"},
        headers=world.auth(world.admin),
    )
    assert resp.status_code == 409 and resp.json["code"] == "duplicate_code"
    db.session.expire_all()
    assert db.session.get(Target, other.id).name == "乙店"  # type: ignore[union-attr]
    assert _count(AuditEvent) == events


def test_schema_validation(client: FlaskClient, world: World) -> None:
    resp = client.post(
        "/api/v1/targets",
        json={"code": credit_code(), "name": "", "kind": "spaceship", "risk_class": "E", "extra": 1},
        headers=world.auth(world.admin),
    )
    assert resp.status_code == 422 and resp.json["code"] == "validation_failed"
    assert {"name", "kind", "risk_class", "extra"} <= set(resp.json["errors"]["json"])
    assert _count(Target) == 0
    resp = client.get("/api/v1/targets", query_string={"limit": 1000}, headers=world.auth(world.admin))
    assert resp.status_code == 422


def test_authorization(client: FlaskClient, world: World) -> None:
    t = add_target("甲店")
    assert client.get("/api/v1/targets").json["code"] == "auth_required"
    resp = client.get("/api/v1/targets", headers=world.auth(world.inspector_user))
    assert resp.status_code == 403 and resp.json["code"] == "forbidden"
    assert client.get(f"/api/v1/targets/{t.id}", headers=world.auth(world.inspector_user)).status_code == 403
    # Staff read, only admins write.
    assert client.get(f"/api/v1/targets/{t.id}", headers=world.auth(world.supervisor)).status_code == 200
    resp = client.patch(
        f"/api/v1/targets/{t.id}", json={"name": "改名"}, headers=world.auth(world.supervisor)
    )
    assert resp.status_code == 403 and resp.json["code"] == "forbidden"
    resp = client.post(
        "/api/v1/targets",
        json={"code": credit_code(), "name": "乙", "kind": "enterprise"},
        headers=world.auth(world.supervisor),
    )
    assert resp.status_code == 403
    assert client.get("/api/v1/targets/999999", headers=world.auth(world.admin)).json["code"] == "not_found"


def test_openapi_lists_directory_endpoints(client: FlaskClient) -> None:
    paths = client.get("/api/openapi.json").json["paths"]
    for path in (
        "/api/v1/targets",
        "/api/v1/targets/{target_id}",
        "/api/v1/inspectors",
        "/api/v1/inspectors/{inspector_id}/conflicts",
        "/api/v1/inspectors/{inspector_id}/conflicts/{conflict_id}",
        "/api/v1/departments",
        "/api/v1/departments/{department_id}",
        "/api/v1/items",
        "/api/v1/items/{item_id}",
    ):
        assert path in paths
