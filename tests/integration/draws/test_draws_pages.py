"""The draws pages: public ones without login (no inspector names), staff ones with forms."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from server.accounts.models import User
from server.draws.models import Draw, DrawnTarget, Replacement
from server.draws.services import perform_draw, void_draw
from server.extensions import db
from server.inspections.models import TeamMember
from server.storage import blob_store
from tests.integration.draws.conftest import DRAW_DAY
from tests.support.factories import csrf_from


def _drawn(draw: Draw) -> list[DrawnTarget]:
    return list(
        db.session.scalars(
            select(DrawnTarget).where(DrawnTarget.draw_id == draw.id).order_by(DrawnTarget.rank)
        )
    )


def test_public_pages_need_no_login_and_show_no_inspector(
    client: FlaskClient, county: dict[str, Any]
) -> None:
    draw = perform_draw(county["task"], witness="现场群众 李四", today=DRAW_DAY)
    db.session.commit()
    listing = client.get("/public/draws")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert county["task"].name in html and f"/public/draws/{draw.id}" in html

    page = client.get(f"/public/draws/{draw.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for shown in (draw.seed, draw.server_entropy, draw.snapshot_hash, "现场群众 李四", county["bureau"].name):
        assert shown in html
    for row in _drawn(draw):
        assert row.target.code in html and row.target.name in html
    for ins in county["inspectors"]:
        assert ins.name not in html and ins.code not in html
    assert "A=1,B=1,C=1,D=3,U=1" in html  # the counts to pass to the script

    snapshot = client.get(f"/public/draws/{draw.id}/snapshot.csv")
    assert snapshot.status_code == 200 and snapshot.mimetype == "text/csv"
    assert snapshot.data == blob_store().read(draw.snapshot_hash)
    assert hashlib.sha256(snapshot.data).hexdigest() == draw.snapshot_hash
    assert snapshot.headers["Cache-Control"] == "public, max-age=86400"  # never changes

    algorithm = client.get("/public/draws/algorithm")
    assert algorithm.status_code == 200
    assert "spotcheck-draw/2" in algorithm.get_data(as_text=True)
    assert "def key(seed" in algorithm.get_data(as_text=True)
    script = client.get("/public/draws/verify_draw.py")
    assert script.status_code == 200 and b"import hashlib" in script.data
    assert client.get("/public/draws/999999").status_code == 404


def test_public_list_searches_by_task_and_shows_voided_draws_with_reason(
    client: FlaskClient, county: dict[str, Any], build: Any
) -> None:
    first = perform_draw(county["task"], today=DRAW_DAY)
    void_draw(first, None, "抽取前未通知见证人")
    perform_draw(county["task"], today=DRAW_DAY)
    other = build.task(county["bureau"], name="特种设备安全抽查")
    build.commit()
    perform_draw(other, today=DRAW_DAY)
    db.session.commit()
    html = client.get("/public/draws?q=特种设备").get_data(as_text=True)
    assert "特种设备安全抽查" in html and county["task"].name not in html
    html = client.get(f"/public/draws?q={county['task'].name}").get_data(as_text=True)
    assert html.count(f"{county['task'].name}</a>") == 2
    voided = client.get(f"/public/draws/{first.id}").get_data(as_text=True)
    assert "抽取前未通知见证人" in voided and "已作废" in voided


def test_staff_pages_need_login_and_the_right_department(
    client: FlaskClient, county: dict[str, Any], make: Any, build: Any, page_as: Callable[[User], FlaskClient]
) -> None:
    assert client.get("/draws").status_code == 302
    assert client.get(f"/draws/tasks/{county['task'].id}").status_code == 302
    outsider = make.user(roles=["supervisor"], department=build.department())
    build.commit()
    assert page_as(outsider).get(f"/draws/tasks/{county['task'].id}").status_code == 404
    inspector = make.user(roles=["inspector"], department=county["bureau"])
    assert page_as(inspector).get("/draws").status_code == 403


def test_draw_then_void_through_the_pages(
    county: dict[str, Any], make: Any, page_as: Callable[[User], FlaskClient]
) -> None:
    supervisor = make.user(roles=["supervisor"], department=county["bureau"])
    web = page_as(supervisor)
    listing = web.get("/draws").get_data(as_text=True)
    assert county["task"].name in listing  # waiting for a draw
    task_url = f"/draws/tasks/{county['task'].id}"
    form = web.get(task_url).get_data(as_text=True)
    assert 'name="witness"' in form
    csrf = csrf_from(web, task_url)
    assert web.post(task_url, data={"witness": "x"}).status_code == 400  # no CSRF token
    long = web.post(task_url, data={"witness": "x" * 201, "csrf_token": csrf})
    assert long.status_code == 422 and db.session.scalars(select(Draw)).first() is None
    resp = web.post(task_url, data={"witness": "见证人甲", "csrf_token": csrf})
    assert resp.status_code == 302
    draw = db.session.scalars(select(Draw)).one()
    assert resp.headers["Location"].endswith(f"/draws/{draw.id}")
    detail = web.get(f"/draws/{draw.id}").get_data(as_text=True)
    assert "抽取完成" in detail and "见证人甲" in detail
    team_member = db.session.scalars(select(TeamMember).where(TeamMember.draw_id == draw.id)).first()
    assert team_member is not None and team_member.inspector.name in detail  # staff see names

    refused = web.post(task_url, data={"csrf_token": csrf})
    assert refused.status_code == 409 and "该任务已有有效的抽取结果" in refused.get_data(as_text=True)

    verified = web.get(f"/draws/{draw.id}?verify=1").get_data(as_text=True)
    assert "复核通过" in verified

    no_reason = web.post(f"/draws/{draw.id}/void", data={"reason": " ", "csrf_token": csrf})
    assert no_reason.status_code == 302 and draw.status == "active"
    resp = web.post(f"/draws/{draw.id}/void", data={"reason": "名录库数据有误", "csrf_token": csrf})
    assert resp.status_code == 302
    db.session.refresh(draw)
    assert draw.status == "voided" and draw.void_reason == "名录库数据有误"
    page = web.get(task_url).get_data(as_text=True)
    assert "名录库数据有误" in page and 'name="witness"' in page  # can draw again


def test_replacement_through_the_pages(
    county: dict[str, Any], make: Any, page_as: Callable[[User], FlaskClient]
) -> None:
    supervisor = make.user(roles=["supervisor"], department=county["bureau"])
    leader = make.user(roles=["leader"], department=county["bureau"])
    draw = perform_draw(county["task"], supervisor, today=DRAW_DAY)
    db.session.commit()
    member = db.session.scalars(select(TeamMember).where(TeamMember.draw_id == draw.id)).first()
    assert member is not None
    web = page_as(supervisor)
    csrf = csrf_from(web, f"/draws/{draw.id}")
    # Every field of the inline request form has a label (visually hidden: the row says whom).
    page = web.get(f"/draws/{draw.id}").get_data(as_text=True)
    assert f'<label class="sr-only" for="reason-{member.id}">更换原因</label>' in page
    assert f'<label class="sr-only" for="reason-text-{member.id}">说明</label>' in page
    resp = web.post(
        f"/draws/members/{member.id}/replacements",
        data={
            "reason": "illness",
            "reason_text": "住院治疗",
            "csrf_token": csrf,
            "next": f"/draws/{draw.id}",
        },
    )
    assert resp.status_code == 302
    replacement = db.session.scalars(select(Replacement)).one()
    assert replacement.reason == "illness"
    page = web.get(f"/draws/{draw.id}").get_data(as_text=True)
    assert "住院治疗" in page and "更换待审批" in page
    assert 'name="decision"' not in page  # only a leader decides
    denied = web.post(
        f"/draws/replacements/{replacement.id}/decision", data={"decision": "approve", "csrf_token": csrf}
    )
    assert denied.status_code == 403

    # The leader learns of the request from the bell, which leads to the draw's requests; a leader
    # of another department is not told.
    stranger = make.user(roles=["leader"], department=make.department())
    assert "住院治疗" not in page_as(stranger).get("/notifications").get_data(as_text=True)
    assert "申请更换" not in page_as(stranger).get("/notifications").get_data(as_text=True)
    boss = page_as(leader)
    bell = boss.get("/notifications").get_data(as_text=True)
    assert f"{supervisor.display_name}申请更换执法人员{member.inspector.name}" in bell
    assert f'value="/draws/{draw.id}#replacements"' in bell
    boss.set_cookie("lang", "en")
    assert f"{supervisor.display_name} asks to replace the inspector" in boss.get("/notifications").get_data(
        as_text=True
    )
    boss.set_cookie("lang", "zh_CN")
    csrf = csrf_from(boss, f"/draws/{draw.id}")
    assert f'<label class="sr-only" for="note-{replacement.id}">审批意见</label>' in boss.get(
        f"/draws/{draw.id}"
    ).get_data(as_text=True)
    assert 'name="decision"' in boss.get(f"/draws/{draw.id}").get_data(as_text=True)
    resp = boss.post(
        f"/draws/replacements/{replacement.id}/decision",
        data={"decision": "approve", "note": "同意", "csrf_token": csrf},
    )
    assert resp.status_code == 302
    db.session.refresh(replacement)
    assert replacement.status == "approved"
    page = boss.get(f"/draws/{draw.id}").get_data(as_text=True)
    assert "已批准" in page and "已更换" in page
    # Whoever asked learns the decision, and who came in, from the bell.
    db.session.refresh(replacement)
    incoming = db.session.get(TeamMember, replacement.in_member_id)
    assert incoming is not None
    told = page_as(supervisor).get("/notifications").get_data(as_text=True)
    assert f"{member.inspector.name}由随机抽取的{incoming.inspector.name}接替" in told


def test_english_pages(client: FlaskClient, county: dict[str, Any]) -> None:
    draw = perform_draw(county["task"], today=DRAW_DAY)
    db.session.commit()
    client.get("/lang/en")
    html = client.get(f"/public/draws/{draw.id}").get_data(as_text=True)
    assert "Snapshot hash" in html and "抽中的检查对象" not in html
    assert "Reproducing" in client.get("/public/draws/algorithm").get_data(as_text=True)


def test_drawn_targets_past_the_last_page_show_the_last_page(
    client: FlaskClient, county: dict[str, Any]
) -> None:
    draw = perform_draw(county["task"], today=DRAW_DAY)
    db.session.commit()
    html = client.get(f"/public/draws/{draw.id}?page=9").get_data(as_text=True)
    assert "第1/1页" in html and "没有符合条件的对象" not in html
    assert all(row.target.code in html for row in _drawn(draw))
