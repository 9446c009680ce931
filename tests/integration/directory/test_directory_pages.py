"""The directory pages: they render in Chinese and English, forms validate and need CSRF."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from server.directory.models import Conflict, Department, Inspector, Item, Target
from server.extensions import db
from tests.integration.directory.conftest import World, add_inspector, add_item, add_target, credit_code
from tests.support.factories import csrf_from, login_page


def _html(resp: Any) -> str:
    return str(resp.get_data(as_text=True))


@pytest.fixture
def admin_client(client: FlaskClient, world: World) -> FlaskClient:
    login_page(client, world.admin)
    return client


def _post(client: FlaskClient, path: str, data: dict[str, str]) -> Any:
    return client.post(path, data=dict(data, csrf_token=csrf_from(client, "/directory/targets")))


def test_every_page_renders_in_chinese_and_english(admin_client: FlaskClient, world: World) -> None:
    t = add_target(
        "文水县好味食品店",
        risk_class="D",
        risk_assessed_on=dt.date(2025, 6, 30),
        tags=["食品经营"],
        history=[
            {"inspected_on": dt.date(2024, 4, 2), "task_name": "2024年食品抽查", "result": "未发现问题"}
        ],
    )
    i = add_inspector(world.dept, name="张三", credential_valid_until=dt.date(2020, 1, 1), kind="expert")
    db.session.add(Conflict(inspector_id=i.id, target_id=t.id, reason="近亲属"))
    db.session.commit()
    item = add_item(world.dept, checkpoints=("查看营业执照",), name="食品经营检查")
    pages = [
        "/directory/targets",
        "/directory/targets?q=食品&risk_class=D",
        f"/directory/targets/{t.id}",
        "/directory/targets/new",
        f"/directory/targets/{t.id}/edit",
        "/directory/inspectors",
        f"/directory/inspectors/{i.id}",
        "/directory/inspectors/new",
        f"/directory/inspectors/{i.id}/edit",
        "/directory/items",
        f"/directory/items/{item.id}",
        "/directory/items/new",
        f"/directory/items/{item.id}/edit",
        "/directory/departments",
        "/directory/departments/new",
        f"/directory/departments/{world.dept.id}/edit",
    ]
    for path in pages:
        resp = admin_client.get(path)
        assert resp.status_code == 200, path
    detail = _html(admin_client.get(f"/directory/targets/{t.id}"))
    assert "高风险" in detail and "2025-06-30" in detail and "近亲属" in detail and "2024年食品抽查" in detail
    assert "已过期" in _html(admin_client.get(f"/directory/inspectors/{i.id}"))

    admin_client.get("/lang/en")
    english = _html(admin_client.get(f"/directory/targets/{t.id}"))
    assert "High risk" in english and "Inspection history" in english
    assert "Expired" in _html(admin_client.get("/directory/inspectors"))
    for path in pages:
        assert admin_client.get(path).status_code == 200, path


def test_target_list_searches_filters_and_pages(admin_client: FlaskClient) -> None:
    for n in range(25):
        add_target(f"好味食品店{n:02d}", district="文水县")
    add_target("鑫源五金店", district="交城县")
    page1 = _html(admin_client.get("/directory/targets", query_string={"q": "食品"}))
    assert "好味食品店00" in page1 and "鑫源五金店" not in page1 and "共 25 条" in page1
    assert "page=2" in page1
    page2 = _html(admin_client.get("/directory/targets", query_string={"q": "食品", "page": 2}))
    assert "好味食品店24" in page2 and "好味食品店00" not in page2
    only = _html(admin_client.get("/directory/targets", query_string={"district": "交城县"}))
    assert "鑫源五金店" in only and "好味食品店" not in only
    none = _html(admin_client.get("/directory/targets", query_string={"q": "不存在"}))
    assert "没有符合条件的检查对象" in none


def test_target_form_creates_edits_and_shows_errors(admin_client: FlaskClient) -> None:
    code = credit_code("individual")
    bad = code[:-1] + ("0" if code[-1] != "0" else "1")
    form = {
        "kind": "individual",
        "code": bad,
        "name": "文水县好味食品店",
        "status": "active",
        "tags": "食品经营、校园周边",
    }
    resp = _post(admin_client, "/directory/targets/new", form)
    assert resp.status_code == 422 and "统一社会信用代码校验失败" in _html(resp)
    assert 'value="食品经营、校园周边"' in _html(resp)  # the form keeps what was typed
    assert db.session.scalar(select(Target)) is None
    resp = _post(admin_client, "/directory/targets/new", dict(form, code=code, risk_class="B"))
    assert resp.status_code == 302
    target = db.session.scalar(select(Target).where(Target.code == code))
    assert target is not None and target.tag_names == ["校园周边", "食品经营"] and target.risk_class == "B"
    assert "已保存检查对象" in _html(admin_client.get(resp.headers["Location"]))
    resp = _post(
        admin_client,
        f"/directory/targets/{target.id}/edit",
        dict(form, code=code, name="文水县鑫源五金店", tags="", risk_class="", risk_assessed_on=""),
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert target.name == "文水县鑫源五金店" and target.tag_names == [] and target.risk_class is None
    empty = _post(admin_client, "/directory/targets/new", {"kind": "enterprise", "code": "", "name": ""})
    assert empty.status_code == 422 and "error" in _html(empty)


def test_forms_need_csrf(admin_client: FlaskClient, world: World) -> None:
    resp = admin_client.post(
        "/directory/targets/new", data={"kind": "project", "code": "XM-1", "name": "某项目"}
    )
    assert resp.status_code == 400
    assert db.session.scalar(select(Target)) is None


def test_inspector_pages_and_conflicts(admin_client: FlaskClient, world: World) -> None:
    t = add_target("文水县好味食品店")
    form = {
        "code": "WS-001",
        "name": "张三",
        "department_id": str(world.dept.id),
        "kind": "professional",
        "status": "active",
        "credential_no": "14110020001",
        "credential_valid_until": "2030-12-31",
        "specialties": "食品，药品",
        "post": "",
    }
    resp = _post(admin_client, "/directory/inspectors/new", form)
    assert resp.status_code == 302, _html(resp)
    inspector = db.session.scalar(select(Inspector).where(Inspector.code == "WS-001"))
    assert inspector is not None and inspector.specialties == ["食品", "药品"]
    base = f"/directory/inspectors/{inspector.id}"
    missing = _post(admin_client, f"{base}/conflicts", {"target_code": "NOPE", "reason": "亲属"})
    assert missing.status_code == 422 and "没有这个代码的检查对象" in _html(missing)
    ok = _post(admin_client, f"{base}/conflicts", {"target_code": t.code.lower(), "reason": "近亲属经营"})
    assert ok.status_code == 302
    again = _post(admin_client, f"{base}/conflicts", {"target_code": t.code, "reason": "重复"})
    assert again.status_code == 422 and "该回避关系已登记" in _html(again)
    conflict = db.session.scalar(select(Conflict))
    assert conflict is not None
    assert _post(admin_client, f"{base}/conflicts/{conflict.id}/delete", {}).status_code == 302
    assert db.session.scalar(select(Conflict)) is None
    dup = _post(admin_client, "/directory/inspectors/new", dict(form, name="李四"))
    assert dup.status_code == 422 and "代码已存在" in _html(dup)


def test_item_form_edits_checkpoints_as_lines(admin_client: FlaskClient, world: World) -> None:
    form = {
        "code": "SC-001",
        "name": "食品经营检查",
        "kind": "key",
        "department_id": str(world.dept.id),
        "legal_basis": "食品安全法",
        "specialty": "",
        "active": "1",
        "checkpoints": "查看营业执照 | 现场检查\n\n检查进货查验记录｜书面检查\n",
    }
    assert _post(admin_client, "/directory/items/new", form).status_code == 302
    item = db.session.scalar(select(Item).where(Item.code == "SC-001"))
    assert item is not None
    assert [(c.position, c.text, c.method) for c in item.checkpoints] == [
        (1, "查看营业执照", "现场检查"),
        (2, "检查进货查验记录", "书面检查"),
    ]
    edit = _html(admin_client.get(f"/directory/items/{item.id}/edit"))
    assert "查看营业执照 | 现场检查\n检查进货查验记录 | 书面检查" in edit
    resp = _post(
        admin_client,
        f"/directory/items/{item.id}/edit",
        dict(form, checkpoints="检查进货查验记录\n新要点", active=""),
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert [c.text for c in item.checkpoints] == ["检查进货查验记录", "新要点"] and item.active is False


def test_department_form(admin_client: FlaskClient, world: World) -> None:
    resp = _post(
        admin_client,
        "/directory/departments/new",
        {
            "code": "WS-01",
            "name": "凤城市场监管所",
            "level": "station",
            "parent_id": str(world.dept.id),
            "trade": "market",
        },
    )
    assert resp.status_code == 302
    tree = _html(admin_client.get("/directory/departments"))
    assert re.search(r"凤城市场监管所.*基层所.*市场监管.*上级：文水县市场监督管理局", tree, re.S)
    station = db.session.scalar(select(Department).where(Department.code == "WS-01"))
    assert station is not None and station.trade == "market"
    form = _html(admin_client.get(f"/directory/departments/{station.id}/edit"))
    assert '<option value="market" selected>' in form
    odd = _post(
        admin_client,
        f"/directory/departments/{station.id}/edit",
        {"code": "WS-01", "name": "凤城市场监管所", "level": "station", "trade": "fishing"},
    )
    assert odd.status_code == 422
    db.session.expire_all()
    assert db.session.get(Department, station.id).trade == "market"  # type: ignore[union-attr]
    bad = _post(
        admin_client,
        f"/directory/departments/{world.dept.id}/edit",
        {
            "code": world.dept.code,
            "name": world.dept.name,
            "level": "county",
            "parent_id": str(world.dept.id),
        },
    )
    assert bad.status_code == 422
    # marshmallow's messages are English (the API's); a Chinese page shows them in Chinese.
    blank = _post(
        admin_client, "/directory/departments/new", {"code": "", "name": "留下的名字", "level": "station"}
    )
    assert blank.status_code == 422 and "留下的名字" in _html(blank)
    assert "长度应为1至32个字符" in _html(blank) and "Length must be" not in _html(blank)
    admin_client.set_cookie("lang", "en")
    blank = _post(
        admin_client, "/directory/departments/new", {"code": "", "name": "留下的名字", "level": "station"}
    )
    assert "Length must be between 1 and 32." in _html(blank)
    admin_client.set_cookie("lang", "zh_CN")
    station = db.session.scalar(select(Department).where(Department.code == "WS-01"))
    assert station is not None and station.parent_id == world.dept.id


def test_page_authorization(client: FlaskClient, world: World) -> None:
    assert client.get("/directory/targets").status_code == 302  # to the login page
    login_page(client, world.inspector_user)
    assert client.get("/directory/targets").status_code == 403
    assert client.get("/directory/inspectors").status_code == 403


def test_supervisor_reads_but_cannot_edit(client: FlaskClient, world: World) -> None:
    t = add_target("文水县好味食品店")
    theirs = add_inspector(world.other_dept, name="李四")
    mine = add_inspector(world.dept, name="张三")
    login_page(client, world.supervisor)
    assert client.get(f"/directory/targets/{t.id}").status_code == 200
    assert "编辑" not in _html(client.get(f"/directory/targets/{t.id}"))
    assert client.get(f"/directory/targets/{t.id}/edit").status_code == 403
    assert client.get("/directory/targets/new").status_code == 403
    assert client.get(f"/directory/inspectors/{theirs.id}").status_code == 404
    listing = _html(client.get("/directory/inspectors"))
    assert "张三" in listing and "李四" not in listing
    assert client.get(f"/directory/inspectors/{mine.id}").status_code == 200
    resp = _post(client, f"/directory/inspectors/{mine.id}/conflicts", {"target_code": t.code, "reason": "x"})
    assert resp.status_code == 403
