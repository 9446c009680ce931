"""The calendar, notification and KPI endpoints of the API."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server.deadlines.calendar import package_years
from server.extensions import db
from server.notifications.models import Notification
from server.notifications.services import notify


def test_working_days_endpoint(client: FlaskClient, make: Any) -> None:
    headers = make.auth_header(make.user(roles=["inspector"]))
    resp = client.get("/api/v1/calendar/working-days?start=2025-09-26&days=20", headers=headers)
    assert resp.status_code == 200
    assert resp.json == {"start": "2025-09-26", "days": 20, "due": "2025-10-30", "calendar_days": 34}
    beyond = package_years()[1] + 1
    gap = client.get(f"/api/v1/calendar/working-days?start={beyond}-03-02&days=3", headers=headers)
    assert gap.status_code == 422 and gap.json["code"] == "calendar_year_unknown"
    assert gap.json["year"] == beyond
    bad = client.get("/api/v1/calendar/working-days?start=2025-09-26&days=0", headers=headers)
    assert bad.status_code == 422 and bad.json["code"] == "validation_failed"
    assert client.get("/api/v1/calendar/working-days?start=2025-09-26&days=3").status_code == 401
    assert "/api/v1/calendar/working-days" in client.get("/api/openapi.json").json["paths"]


def test_notifications_endpoints_are_per_user(app: Flask, client: FlaskClient, make: Any) -> None:
    me, other = make.user(roles=["supervisor"]), make.user(roles=["supervisor"])
    notify(
        [me, other],
        "result_late",
        "k",
        "检查结果未在期限内录入，视为未完成：{target}（截止{due}）",
        {"target": "某公司", "due": "2025-10-30"},
        "/deadlines",
    )
    db.session.commit()
    headers = make.auth_header(me)
    listed = client.get("/api/v1/notifications?unread=true", headers=headers)
    assert listed.status_code == 200 and len(listed.json) == 1
    assert listed.json[0]["text"] == "检查结果未在期限内录入，视为未完成：某公司（截止2025-10-30）"
    theirs = db.session.scalar(select(Notification.id).where(Notification.user_id == other.id))
    marked = client.post("/api/v1/notifications/read", json={"ids": [theirs]}, headers=headers)
    assert marked.json == {"marked": 0}
    assert client.post("/api/v1/notifications/read", json={}, headers=headers).json == {"marked": 1}
    assert client.get("/api/v1/notifications?unread=true", headers=headers).json == []
    assert db.session.scalar(select(Notification.read_at).where(Notification.id == theirs)) is None


def test_kpi_endpoint(app: Flask, client: FlaskClient, make: Any) -> None:
    dept, other = make.department(), make.department()
    headers = make.auth_header(make.user(roles=["leader"], department=dept))
    resp = client.get("/api/v1/reports/kpi?year=2025", headers=headers)
    assert resp.status_code == 200
    assert resp.json["year"] == 2025 and resp.json["total"]["coverage"] == {"num": 0, "den": 0, "rate": None}
    assert client.get(f"/api/v1/reports/kpi?department_id={other.id}", headers=headers).status_code == 404
    inspector = make.auth_header(make.user(roles=["inspector"]), device_id="device-0002")
    assert client.get("/api/v1/reports/kpi", headers=inspector).status_code == 403
