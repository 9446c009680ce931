"""Publishing by hand (page and API), who may, and the `flask publication publish-due` command."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server.accounts.models import User
from server.extensions import db
from server.inspections.models import Inspection
from tests.support import factories
from tests.support.factories import csrf_from
from tests.support.field import FieldWorld, field_world
from tests.support.results import approve

_devices = itertools.count(1)


def _headers(user: User) -> dict[str, str]:
    return factories.auth_header(user, device_id=f"device-pub-{next(_devices):04d}")


def _state(world: FieldWorld) -> str:
    db.session.expire_all()
    inspection = db.session.get(Inspection, world.inspection.id)
    assert inspection is not None
    return inspection.state


def _supervisor(world: FieldWorld) -> User:
    return factories.user(roles=["supervisor"], department=world.department)


def test_the_staff_page_lists_waiting_results_and_publishes_a_selection(
    client: FlaskClient, page_as: Callable[[User], FlaskClient]
) -> None:
    ready = field_world(name="高平市待公示有限公司")
    approve(ready.inspection, categories=("no_problem",))
    supervisor = _supervisor(ready)

    assert client.get("/publication").status_code == 302  # login first
    inspector_page = page_as(ready.users["a"])
    assert inspector_page.get("/publication").status_code == 403

    web = page_as(supervisor)
    home = web.get("/").get_data(as_text=True)
    assert 'href="/publication"' in home and 'href="/follow-ups"' in home
    html = web.get("/publication").get_data(as_text=True)
    assert "高平市待公示有限公司" in html and f'name="inspection_id" value="{ready.inspection.id}"' in html
    assert "2025-06-06" in html  # the job would publish it the working day after approval
    other = page_as(factories.user(roles=["supervisor"], department=factories.department()))
    assert "高平市待公示有限公司" not in other.get("/publication").get_data(as_text=True)

    csrf = csrf_from(web, "/publication")
    assert web.post("/publication/publish", data={"inspection_id": ready.inspection.id}).status_code == 400
    resp = web.post("/publication/publish", data={"inspection_id": ready.inspection.id, "csrf_token": csrf})
    assert resp.status_code == 302
    assert _state(ready) == "published"
    after = web.get("/publication").get_data(as_text=True)
    assert "已公示1项检查结果" in after and f"/results/{ready.inspection.id}" in after


def test_publishing_by_hand_refuses_other_departments_and_withheld_results(
    page_as: Callable[[User], FlaskClient],
) -> None:
    mine = field_world()
    approve(mine.inspection)
    theirs = field_world()
    approve(theirs.inspection)
    supervisor = _supervisor(mine)
    web = page_as(supervisor)
    csrf = csrf_from(web, "/publication")
    resp = web.post(
        "/publication/publish",
        data={"inspection_id": [mine.inspection.id, theirs.inspection.id], "csrf_token": csrf},
    )
    assert resp.status_code == 404
    assert _state(mine) == "approved" and _state(theirs) == "approved"

    held = field_world()
    approve(held.inspection, publish=False, withhold_status="requested")
    leader = factories.user(roles=["leader"], department=held.department)
    web = page_as(leader)
    csrf = csrf_from(web, "/publication")
    resp = web.post("/publication/publish", data={"inspection_id": held.inspection.id, "csrf_token": csrf})
    assert resp.status_code == 302
    page = web.get("/publication").get_data(as_text=True)
    assert "不能公示" in page and _state(held) == "approved"
    assert web.post("/publication/publish", data={"csrf_token": csrf}).status_code == 302
    assert "请选择要公示的检查结果" in web.get("/publication").get_data(as_text=True)


def test_publication_api(client: FlaskClient) -> None:
    world = field_world()
    approve(world.inspection, categories=("pending",))
    held = field_world()
    approve(held.inspection, publish=False, withhold_status="approved")
    admin = factories.user(roles=["admin"])
    supervisor = _supervisor(world)

    pending = client.get("/api/v1/publication/pending", headers=_headers(supervisor))
    assert pending.status_code == 200
    (row,) = pending.json
    assert row["inspection_id"] == world.inspection.id and row["publishable"] is True
    assert row["publication_due_on"] == "2025-06-06" and row["categories"] == ["pending"]
    both = client.get("/api/v1/publication/pending", headers=_headers(admin)).json
    assert {r["inspection_id"]: r["publishable"] for r in both} == {
        world.inspection.id: True,
        held.inspection.id: False,
    }
    only = client.get("/api/v1/publication/pending?publishable=false", headers=_headers(admin)).json
    assert [r["inspection_id"] for r in only] == [held.inspection.id]

    refused = client.post(
        "/api/v1/publication/publish",
        json={"inspection_ids": [world.inspection.id, held.inspection.id]},
        headers=_headers(admin),
    )
    assert refused.status_code == 409 and refused.json["code"] == "result_not_publishable"
    assert str(held.inspection.id) in refused.json["detail"]
    assert _state(world) == "approved"

    hidden = client.post(
        "/api/v1/publication/publish",
        json={"inspection_ids": [held.inspection.id]},
        headers=_headers(supervisor),
    )
    assert hidden.status_code == 404 and hidden.json["code"] == "not_found"
    inspector = client.post(
        "/api/v1/publication/publish",
        json={"inspection_ids": [world.inspection.id]},
        headers=_headers(world.users["a"]),
    )
    assert inspector.status_code == 403
    empty = client.post(
        "/api/v1/publication/publish", json={"inspection_ids": []}, headers=_headers(supervisor)
    )
    assert empty.status_code == 422 and empty.json["code"] == "validation_failed"

    done = client.post(
        "/api/v1/publication/publish",
        json={"inspection_ids": [world.inspection.id]},
        headers=_headers(supervisor),
    )
    assert done.status_code == 200, done.json
    assert [p["inspection_id"] for p in done.json["published"]] == [world.inspection.id]
    assert done.json["published"][0]["state"] == "published" and done.json["already_published"] == []
    again = client.post(
        "/api/v1/publication/publish",
        json={"inspection_ids": [world.inspection.id]},
        headers=_headers(supervisor),
    )
    assert again.status_code == 200
    assert again.json == {"published": [], "already_published": [world.inspection.id]}
    assert "/api/v1/publication/publish" in client.get("/api/openapi.json").json["paths"]


def test_publish_due_command_with_a_frozen_clock(app: Flask) -> None:
    world = field_world(name="高平市定时公示有限公司")
    approve(world.inspection)  # Thursday 2025-06-05 10:00 in Shanghai
    runner = app.test_cli_runner()
    early = runner.invoke(args=["publication", "publish-due", "--now", "2025-06-05T23:00:00+08:00"])
    assert early.exit_code == 0, early.output
    assert "0 result(s) published" in early.output and _state(world) == "approved"
    due = runner.invoke(args=["publication", "publish-due", "--now", "2025-06-06T08:00:00+08:00"])
    assert due.exit_code == 0, due.output
    assert (
        f"published inspection {world.inspection.id}" in due.output and "1 result(s) published" in due.output
    )
    assert _state(world) == "published"
    again = runner.invoke(args=["publication", "publish-due", "--now", "2025-06-06T08:00:00+08:00"])
    assert "0 result(s) published" in again.output
    bad = runner.invoke(args=["publication", "publish-due", "--now", "tomorrow"])
    assert bad.exit_code != 0 and "ISO 8601" in bad.output
    published_at = db.session.scalars(select(Inspection.published_at)).one()
    assert published_at is not None and published_at.isoformat() == "2025-06-06T00:00:00"


def test_a_shortened_waiting_list_says_how_many_there_are(
    page_as: Callable[[User], FlaskClient], monkeypatch: object
) -> None:
    import pytest

    from server.publication import views

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    first = field_world(name="高平市甲公司")
    approve(first.inspection, categories=("no_problem",))
    second = field_world(name="高平市乙公司")
    approve(second.inspection, categories=("no_problem",))
    web = page_as(factories.user(roles=["admin"]))  # sees both departments
    html = web.get("/publication").get_data(as_text=True)
    assert "高平市甲公司" in html and "高平市乙公司" in html and "只显示前" not in html
    monkeypatch.setattr(views, "WAITING_SHOWN", 1)
    html = web.get("/publication").get_data(as_text=True)
    assert "只显示前1条，共2条。" in html
