"""Follow-up pages: the ledger with overdue rows, the disposition form, steps with uploads, closing."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server.accounts.models import User
from server.extensions import db
from server.followup.models import FollowUp
from server.i18n import today_local
from tests.integration.evidence.imagefiles import field_photo
from tests.support import factories
from tests.support.factories import csrf_from, login_page
from tests.support.field import FieldWorld, field_world
from tests.support.results import approve, category


@pytest.fixture
def page_as(app: Flask) -> Callable[[User], FlaskClient]:
    def login(user: User) -> FlaskClient:
        client = app.test_client()
        login_page(client, user)
        return client

    return login


def _world() -> tuple[FieldWorld, User]:
    world = field_world(name="高平市整改测试有限公司")
    approve(world.inspection, categories=("not_disclosed", "corrected"))
    return world, factories.user(roles=["supervisor"], department=world.department)


def test_the_ledger_lists_problems_awaiting_a_decision_and_highlights_overdue_ones(
    client: FlaskClient, page_as: Callable[[User], FlaskClient]
) -> None:
    world, supervisor = _world()
    assert client.get("/follow-ups").status_code == 302
    web = page_as(supervisor)
    html = web.get("/follow-ups").get_data(as_text=True)
    assert "待作出处置决定的问题" in html and "未按规定公示应当公示的信息" in html
    assert f'href="/inspections/{world.inspection.id}/follow-ups"' in html

    db.session.add(
        FollowUp(
            inspection_id=world.inspection.id,
            category_id=category("corrected").id,
            kind="correction",
            deadline=today_local() - dt.timedelta(days=3),
            status="open",
            opened_by_id=supervisor.id,
        )
    )
    db.session.commit()
    html = web.get("/follow-ups").get_data(as_text=True)
    assert 'class="overdue"' in html and "已逾期" in html and "责令限期改正" in html
    only_overdue = web.get("/follow-ups?overdue=1").get_data(as_text=True)
    assert "高平市整改测试有限公司" in only_overdue
    early = (today_local() - dt.timedelta(days=10)).isoformat()
    later = (today_local() - dt.timedelta(days=5)).isoformat()
    in_range = web.get(f"/follow-ups?deadline_from={early}").get_data(as_text=True)
    assert "高平市整改测试有限公司" in in_range.split("后续处置台账")[1]
    out_of_range = web.get(f"/follow-ups?deadline_from={early}&deadline_to={later}").get_data(as_text=True)
    assert "没有符合条件的后续处置" in out_of_range
    closed = web.get("/follow-ups?status=closed").get_data(as_text=True)
    assert "没有符合条件的后续处置" in closed
    web.set_cookie("lang", "en")
    english = web.get("/follow-ups").get_data(as_text=True)
    assert "Follow-up ledger" in english and "Overdue" in english

    outsider = page_as(factories.user(roles=["supervisor"], department=factories.department()))
    assert "高平市整改测试有限公司" not in outsider.get("/follow-ups").get_data(as_text=True)
    assert outsider.get(f"/inspections/{world.inspection.id}/follow-ups").status_code == 404


def test_the_disposition_form_keeps_what_was_typed_and_explains_each_problem(
    page_as: Callable[[User], FlaskClient],
) -> None:
    world, supervisor = _world()
    web = page_as(supervisor)
    url = f"/inspections/{world.inspection.id}/follow-ups"
    form = web.get(url).get_data(as_text=True)
    assert 'name="kind"' in form and "待作出处置决定" in form
    csrf = csrf_from(web, url)
    data = {
        "csrf_token": csrf,
        "kind": "correction",
        "category_id": str(category("corrected").id),
        "description": "限15日内补报2024年度报告",
        "deadline": "",
    }
    assert web.post(url, data={k: v for k, v in data.items() if k != "csrf_token"}).status_code == 400
    refused = web.post(url, data=data)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "限15日内补报2024年度报告" in html and "责令改正须填写整改期限" in html
    assert db.session.scalars(select(FollowUp)).all() == []
    unchosen = web.post(url, data={**data, "kind": ""})
    assert unchosen.status_code == 422 and "请选择处置方式" in unchosen.get_data(as_text=True)
    garbled = web.post(url, data={**data, "deadline": "next week"})
    assert garbled.status_code == 422 and "限15日内补报2024年度报告" in garbled.get_data(as_text=True)

    deadline = (today_local() + dt.timedelta(days=15)).isoformat()
    resp = web.post(url, data={**data, "deadline": deadline})
    assert resp.status_code == 302
    follow_up = db.session.scalars(select(FollowUp)).one()
    assert resp.headers["Location"].endswith(f"/follow-ups/{follow_up.id}")
    assert (
        follow_up.deadline == dt.date.fromisoformat(deadline) and follow_up.description == data["description"]
    )
    page = web.get(f"/follow-ups/{follow_up.id}").get_data(as_text=True)
    assert "已记录后续处置：责令限期改正" in page and "作出处置决定" in page


def test_steps_with_uploaded_evidence_then_closing_through_the_pages(
    page_as: Callable[[User], FlaskClient],
) -> None:
    world, supervisor = _world()
    web = page_as(supervisor)
    url = f"/inspections/{world.inspection.id}/follow-ups"
    csrf = csrf_from(web, url)
    deadline = (today_local() + dt.timedelta(days=15)).isoformat()
    web.post(
        url,
        data={
            "csrf_token": csrf,
            "kind": "correction",
            "category_id": str(category("corrected").id),
            "deadline": deadline,
        },
    )
    follow_up = db.session.scalars(select(FollowUp)).one()
    detail = f"/follow-ups/{follow_up.id}"

    early = web.post(
        f"{detail}/close",
        data={"csrf_token": csrf, "closed_on": today_local().isoformat(), "outcome": "已改正"},
    )
    assert early.status_code == 409 and "尚缺必要的处置步骤" in early.get_data(as_text=True)
    assert "已改正" in early.get_data(as_text=True)  # the typed outcome is still there

    bad_file = web.post(
        f"{detail}/steps",
        data={
            "csrf_token": csrf,
            "kind": "recheck_passed",
            "note": "复查",
            "evidence": (io.BytesIO(b"not an image"), "a.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert bad_file.status_code == 422 and "复查" in bad_file.get_data(as_text=True)
    photo = field_photo((320, 240))
    sha = hashlib.sha256(photo).hexdigest()
    step = web.post(
        f"{detail}/steps",
        data={
            "csrf_token": csrf,
            "kind": "recheck_passed",
            "note": "现场复查，已补报",
            "evidence": (io.BytesIO(photo), "recheck.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert step.status_code == 302
    html = web.get(detail).get_data(as_text=True)
    assert "复查：已改正" in html and f"/follow-ups/evidence/{sha}?rendition=thumb" in html
    thumb = web.get(f"/follow-ups/evidence/{sha}?rendition=thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    thumb.close()  # a file response holds the file open until closed
    assert web.get(f"/follow-ups/evidence/{sha}?rendition=poster").status_code == 404
    assert web.get(f"/follow-ups/evidence/{'0' * 64}").status_code == 404

    done = web.post(
        f"{detail}/close",
        data={"csrf_token": csrf, "closed_on": today_local().isoformat(), "outcome": "企业已补报年度报告"},
    )
    assert done.status_code == 302
    html = web.get(detail).get_data(as_text=True)
    assert "后续处置已完结" in html and "企业已补报年度报告" in html and 'name="outcome"' not in html
