"""The draws API: perform, list, read, void, replacements; roles and department scoping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.accounts.models import User
from server.draws.models import Draw
from server.extensions import db


def test_perform_list_read_and_void(
    client: FlaskClient, county: dict[str, Any], make: Any, headers: Callable[[User], dict[str, str]]
) -> None:
    supervisor = make.user(roles=["supervisor"], department=county["bureau"])
    h = headers(supervisor)
    task_id = county["task"].id
    resp = client.post(f"/api/v1/tasks/{task_id}/draws", json={"witness": "见证 007"}, headers=h)
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["attempt"] == 1 and body["status"] == "active" and body["witness_input"] == "见证 007"
    assert body["strata"]["D"] == {"pool": 7, "ratio_bp": 3000, "count": 3}
    draw_id = body["id"]

    again = client.post(f"/api/v1/tasks/{task_id}/draws", json={}, headers=h)
    assert again.status_code == 409 and again.json["code"] == "draw_already_active"

    listed = client.get("/api/v1/draws", headers=h)
    assert listed.status_code == 200 and [d["id"] for d in listed.json] == [draw_id]
    assert client.get(f"/api/v1/draws?task_id={task_id}&status=voided", headers=h).json == []

    detail = client.get(f"/api/v1/draws/{draw_id}", headers=h)
    assert detail.status_code == 200
    drawn = detail.json["drawn"]
    assert [d["rank"] for d in drawn] == list(range(1, 8))
    assert all(len(d["team"]) == 2 and d["team"][0]["role"] == "leader" for d in drawn)
    assert detail.json["parameters"]["algorithm"] == "spotcheck-draw/2"

    no_reason = client.post(f"/api/v1/draws/{draw_id}/void", json={}, headers=h)
    assert no_reason.status_code == 422 and no_reason.json["code"] == "validation_failed"
    voided = client.post(f"/api/v1/draws/{draw_id}/void", json={"reason": "见证人未到场"}, headers=h)
    assert voided.status_code == 200 and voided.json["status"] == "voided"
    assert voided.json["void_reason"] == "见证人未到场"
    twice = client.post(f"/api/v1/draws/{draw_id}/void", json={"reason": "x"}, headers=h)
    assert twice.status_code == 409 and twice.json["code"] == "draw_voided"

    redo = client.post(f"/api/v1/tasks/{task_id}/draws", json={}, headers=h)
    assert redo.status_code == 201 and redo.json["attempt"] == 2


def test_bad_input_changes_nothing(
    client: FlaskClient, county: dict[str, Any], make: Any, headers: Callable[[User], dict[str, str]]
) -> None:
    h = headers(make.user(roles=["admin"]))
    resp = client.post(f"/api/v1/tasks/{county['task'].id}/draws", json={"witness": "x" * 201}, headers=h)
    assert resp.status_code == 422 and "witness" in resp.json["errors"]["json"]
    assert client.post("/api/v1/tasks/999999/draws", json={}, headers=h).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Draw)) == 0


def test_department_scoping_and_roles(
    client: FlaskClient,
    county: dict[str, Any],
    make: Any,
    build: Any,
    headers: Callable[[User], dict[str, str]],
) -> None:
    other = build.department("另一个县局")
    build.commit()
    outsider = make.user(roles=["supervisor"], department=other)
    inspector = make.user(roles=["inspector"], department=county["bureau"])
    task_id = county["task"].id
    assert (
        client.post(f"/api/v1/tasks/{task_id}/draws", json={}, headers=headers(outsider)).status_code == 404
    )
    assert (
        client.post(f"/api/v1/tasks/{task_id}/draws", json={}, headers=headers(inspector)).status_code == 403
    )
    assert client.post(f"/api/v1/tasks/{task_id}/draws", json={}).status_code == 401

    admin = make.user(roles=["admin"])
    draw_id = client.post(f"/api/v1/tasks/{task_id}/draws", json={}, headers=headers(admin)).json["id"]
    assert client.get(f"/api/v1/draws/{draw_id}", headers=headers(outsider)).status_code == 404
    assert client.get("/api/v1/draws", headers=headers(outsider)).json == []

    # A cooperating department sees the draw but may not void it.
    county["task"].cooperating = []
    from server.planning.models import TaskCooperation

    county["task"].cooperating.append(TaskCooperation(department_id=other.id))
    db.session.commit()
    assert client.get(f"/api/v1/draws/{draw_id}", headers=headers(outsider)).status_code == 200
    resp = client.post(f"/api/v1/draws/{draw_id}/void", json={"reason": "x"}, headers=headers(outsider))
    assert resp.status_code == 403


def test_replacement_request_and_decision(
    client: FlaskClient, county: dict[str, Any], make: Any, headers: Callable[[User], dict[str, str]]
) -> None:
    bureau = county["bureau"]
    supervisor = make.user(roles=["supervisor"], department=bureau)
    leader = make.user(roles=["leader"], department=bureau)
    draw_id = client.post(
        f"/api/v1/tasks/{county['task'].id}/draws", json={}, headers=headers(supervisor)
    ).json["id"]
    member = client.get(f"/api/v1/draws/{draw_id}", headers=headers(supervisor)).json["drawn"][0]["team"][1]

    bad = client.post(
        f"/api/v1/team-members/{member['id']}/replacements", json={"reason": "x"}, headers=headers(supervisor)
    )
    assert bad.status_code == 422
    resp = client.post(
        f"/api/v1/team-members/{member['id']}/replacements",
        json={"reason": "illness", "reason_text": "手术"},
        headers=headers(supervisor),
    )
    assert resp.status_code == 201 and resp.json["status"] == "requested"
    rid = resp.json["id"]

    denied = client.post(
        f"/api/v1/replacements/{rid}/decision", json={"approve": True}, headers=headers(supervisor)
    )
    assert denied.status_code == 403
    ok = client.post(
        f"/api/v1/replacements/{rid}/decision",
        json={"approve": True, "note": "同意"},
        headers=headers(leader),
    )
    assert ok.status_code == 200, ok.json
    assert ok.json["status"] == "approved" and ok.json["in_member_id"] and ok.json["seed"]
    team = client.get(f"/api/v1/draws/{draw_id}", headers=headers(supervisor)).json["drawn"][0]["team"]
    removed = [m for m in team if m["removed_at"]]
    assert [m["id"] for m in removed] == [member["id"]]
    assert sum(1 for m in team if not m["removed_at"]) == 2


def test_an_inspector_may_ask_to_be_replaced_but_not_for_others(
    client: FlaskClient, county: dict[str, Any], make: Any, headers: Callable[[User], dict[str, str]]
) -> None:
    admin = make.user(roles=["admin"])
    draw_id = client.post(f"/api/v1/tasks/{county['task'].id}/draws", json={}, headers=headers(admin)).json[
        "id"
    ]
    team = client.get(f"/api/v1/draws/{draw_id}", headers=headers(admin)).json["drawn"][0]["team"]
    me = make.user(roles=["inspector"], department=county["bureau"])
    mine = next(i for i in county["inspectors"] if i.id == team[0]["inspector_id"])
    mine.user_id = me.id
    db.session.commit()
    own = client.post(
        f"/api/v1/team-members/{team[0]['id']}/replacements", json={"reason": "conflict"}, headers=headers(me)
    )
    assert own.status_code == 201
    other = client.post(
        f"/api/v1/team-members/{team[1]['id']}/replacements", json={"reason": "conflict"}, headers=headers(me)
    )
    assert other.status_code == 404


def test_the_openapi_document_lists_the_draw_endpoints(client: FlaskClient) -> None:
    paths = client.get("/api/openapi.json").json["paths"]
    for path in (
        "/api/v1/tasks/{task_id}/draws",
        "/api/v1/draws",
        "/api/v1/draws/{draw_id}",
        "/api/v1/draws/{draw_id}/void",
        "/api/v1/team-members/{member_id}/replacements",
        "/api/v1/replacements/{replacement_id}/decision",
    ):
        assert path in paths
