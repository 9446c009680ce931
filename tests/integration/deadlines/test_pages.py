"""The calendar admin page, the deadlines page and the notification bell, as people use them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server.deadlines import services
from server.deadlines.models import CalendarOverride, CalendarYear
from server.extensions import db
from server.i18n import today_local
from server.notifications.models import Notification
from server.notifications.services import notify
from server.planning.models import Task
from tests.support.factories import csrf_from, login_page
from tests.support.field import field_world
from tests.support.ops import add_inspection, staff, submit

D = dt.date


def _post(client: FlaskClient, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_from(client, path)}, follow_redirects=True)


def test_admin_manages_overrides_and_years(app: Flask, client: FlaskClient) -> None:
    world = field_world()
    admin = staff(world, "admin")
    submit(world.inspection, D(2025, 9, 26), D(2025, 10, 30))
    login_page(client, admin)
    page = _post(
        client,
        "/admin/calendar",
        {"action": "add", "day": "2025-10-13", "kind": "holiday", "note": "县政府通知：临时休息"},
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "县政府通知：临时休息" in html
    assert "重新计算了1个检查结果录入期限" in html
    db.session.expire_all()
    assert world.inspection.result_due_on == D(2025, 10, 31)

    again = _post(
        client,
        "/admin/calendar",
        {"action": "add", "day": "2025-10-13", "kind": "workday", "note": "县政府第二份通知"},
    )
    assert again.status_code == 422
    html = again.get_data(as_text=True)
    assert "该日期已有工作日历调整" in html
    # What was typed comes back in the form, not lost to a redirect.
    assert 'value="2025-10-13"' in html and 'value="县政府第二份通知"' in html
    assert '<option value="workday" selected>' in html
    bad = _post(
        client, "/admin/calendar", {"action": "add", "day": "13/10/2025", "kind": "holiday", "note": "x"}
    )
    assert "提交的数据不合法" in bad.get_data(as_text=True)
    assert len(db.session.scalars(select(CalendarOverride)).all()) == 1

    override = db.session.scalar(select(CalendarOverride))
    assert override is not None
    _post(client, "/admin/calendar", {"action": "remove", "id": str(override.id)})
    assert db.session.scalar(select(CalendarOverride)) is None

    beyond = services.package_years()[1] + 1
    _post(client, "/admin/calendar", {"action": "declare", "year": str(beyond), "note": "国务院通知"})
    assert db.session.get(CalendarYear, beyond) is not None
    _post(client, "/admin/calendar", {"action": "withdraw", "year": str(beyond)})
    db.session.expire_all()
    assert db.session.get(CalendarYear, beyond) is None

    tool = client.get("/admin/calendar?start=2025-09-26&days=20").get_data(as_text=True)
    assert "2025-10-30" in tool and "法定节假日数据包" in tool
    unknown = client.get(f"/admin/calendar?start={beyond + 1}-01-05&days=3").get_data(as_text=True)
    assert "工作日历未覆盖该年份" in unknown


def test_calendar_page_is_for_admins_and_needs_csrf(app: Flask, client: FlaskClient) -> None:
    world = field_world()
    supervisor = staff(world)
    assert client.get("/admin/calendar").status_code == 302  # to the login page
    login_page(client, supervisor)
    assert client.get("/admin/calendar").status_code == 403
    admin = staff(world, "admin")
    client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    login_page(client, admin)
    resp = client.post(
        "/admin/calendar", data={"action": "add", "day": "2025-10-13", "kind": "holiday", "note": "x"}
    )
    assert resp.status_code == 400
    assert db.session.scalar(select(CalendarOverride)) is None


def test_deadlines_page_shows_what_the_user_may_see(app: Flask, client: FlaskClient) -> None:
    world = field_world()
    today = today_local()
    supervisor = staff(world)
    submit(world.inspection, today - dt.timedelta(days=40), today - dt.timedelta(days=3))
    world.inspection.late = True
    undated = add_inspection(world)
    submit(undated, today, None)
    # The task's window ends within the warning period and its plan's completion date has passed.
    task = db.session.get(Task, world.task.id)
    assert task is not None
    task.window_end = today + dt.timedelta(days=5)
    task.plan.completion_date = today - dt.timedelta(days=1)
    db.session.commit()

    login_page(client, supervisor)
    html = client.get("/deadlines").get_data(as_text=True)
    assert world.target.name in html and "视为未完成" in html
    assert f'id="inspection-{world.inspection.id}"' in html
    assert "期限无法计算" in html and undated.target.name in html
    assert task.name in html and "5天后结束" in html
    assert task.plan.title in html and "已过1天" in html

    stranger = factories_user_elsewhere()
    client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    login_page(client, stranger)
    other = client.get("/deadlines").get_data(as_text=True)
    assert world.target.name not in other and task.name not in other


def factories_user_elsewhere() -> Any:
    from tests.support import factories

    return factories.user(roles=["supervisor"], department=factories.department())


def test_bell_and_notification_list(app: Flask, client: FlaskClient) -> None:
    world = field_world()
    supervisor = staff(world)
    other = staff(world)
    notify(
        [supervisor],
        "result_due_5",
        "k1",
        "检查结果录入期限还剩{days}个工作日：{target}（截止{due}）",
        {"days": 5, "target": "某公司", "due": "2025-10-30"},
        "/deadlines#inspection-1",
    )
    notify(
        [supervisor, other],
        "result_late",
        "k2",
        "检查结果未在期限内录入，视为未完成：{target}（截止{due}）",
        {"target": "另一公司", "due": "2025-10-30"},
        "/deadlines",
    )
    db.session.commit()
    login_page(client, supervisor)
    home = client.get("/deadlines").get_data(as_text=True)
    assert 'class="bell has-unread"' in home and '<span class="count">2</span>' in home
    page = client.get("/notifications").get_data(as_text=True)
    assert "检查结果录入期限还剩5个工作日：某公司（截止2025-10-30）" in page
    client.set_cookie("lang", "en")
    english = client.get("/notifications").get_data(as_text=True)
    assert "5 working days left to enter the result of 某公司 (due 2025-10-30)" in english
    client.delete_cookie("lang")

    mine = db.session.scalar(
        select(Notification).where(Notification.user_id == supervisor.id, Notification.key == "k1")
    )
    theirs = db.session.scalar(select(Notification).where(Notification.user_id == other.id))
    assert mine is not None and theirs is not None
    csrf = csrf_from(client, "/notifications")
    resp = client.post("/notifications/read", data={"id": mine.id, "next": mine.link, "csrf_token": csrf})
    assert resp.status_code == 302 and resp.headers["Location"] == "/deadlines#inspection-1"
    # Another user's notification is untouched; an outside "next" is not followed.
    resp = client.post(
        "/notifications/read", data={"id": theirs.id, "next": "https://evil.example/", "csrf_token": csrf}
    )
    assert resp.headers["Location"] == "/notifications"
    db.session.expire_all()
    assert mine.read_at is not None and theirs.read_at is None
    client.post("/notifications/read", data={"csrf_token": csrf})
    db.session.expire_all()
    assert all(
        n.read_at
        for n in db.session.scalars(select(Notification).where(Notification.user_id == supervisor.id))
    )
    assert '<span class="count">' not in client.get("/notifications").get_data(as_text=True)


def test_calendar_page_warns_of_a_year_it_lacks(app: Flask, client: FlaskClient) -> None:
    world = field_world()
    admin = staff(world, "admin")
    today = today_local()
    for year in (today.year, today.year + 1):
        if year > services.package_years()[1]:
            services.declare_calendar_year(year, "test: weekday rule", admin)
    db.session.commit()
    login_page(client, admin)
    assert 'id="calendar-missing"' not in client.get("/admin/calendar").get_data(as_text=True)

    beyond = max(services.package_years()[1], today.year + 1) + 2
    submit(world.inspection, D(beyond, 3, 2), None)
    db.session.commit()
    html = client.get("/admin/calendar").get_data(as_text=True)
    assert f"工作日历尚未覆盖{beyond}年" in html
    client.get("/lang/en")
    english = client.get("/admin/calendar").get_data(as_text=True)
    assert f"does not cover {beyond} yet" in english
