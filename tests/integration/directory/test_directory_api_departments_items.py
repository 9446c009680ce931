"""Departments (a tree) and inspection items (with ordered checkpoints) through the API."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from server.directory.models import Checkpoint, Department, Item
from server.extensions import db
from tests.integration.directory.conftest import World, add_item


def test_department_tree_and_scoping(client: FlaskClient, world: World) -> None:
    tree = client.get("/api/v1/departments", headers=world.auth(world.admin)).json
    assert [d["name"] for d in tree] == ["吕梁市市场监督管理局"]
    assert sorted(c["name"] for c in tree[0]["children"]) == ["交城县市场监督管理局", "文水县市场监督管理局"]
    # A supervisor sees their own department; its hidden parent does not show.
    sup_tree = client.get("/api/v1/departments", headers=world.auth(world.supervisor)).json
    assert [d["name"] for d in sup_tree] == ["文水县市场监督管理局"]
    assert client.get("/api/v1/departments", headers=world.auth(world.inspector_user)).status_code == 403


def test_department_create_patch_and_refusals(client: FlaskClient, world: World) -> None:
    h = world.auth(world.admin)
    resp = client.post(
        "/api/v1/departments",
        json={
            "code": "WS-01",
            "name": "文水县市场监管局凤城所",
            "level": "station",
            "parent_id": world.dept.id,
        },
        headers=h,
    )
    assert resp.status_code == 201 and resp.json["parent_id"] == world.dept.id
    station_id = resp.json["id"]
    dup = client.post(
        "/api/v1/departments", json={"code": "WS-01", "name": "x", "level": "station"}, headers=h
    )
    assert dup.status_code == 409 and dup.json["code"] == "duplicate_code"
    # A parent must sit higher; a department cannot move under itself.
    upside = client.post(
        "/api/v1/departments",
        json={"code": "X1", "name": "x", "level": "city", "parent_id": world.dept.id},
        headers=h,
    )
    assert upside.status_code == 422 and "parent_id" in upside.json["errors"]
    loop = client.patch(f"/api/v1/departments/{world.dept.id}", json={"parent_id": world.dept.id}, headers=h)
    assert loop.status_code == 422
    # The county cannot drop to station level while it has a station below it.
    demote = client.patch(f"/api/v1/departments/{world.dept.id}", json={"level": "station"}, headers=h)
    assert demote.status_code == 422 and "level" in demote.json["errors"]
    renamed = client.patch(f"/api/v1/departments/{station_id}", json={"name": "凤城市场监管所"}, headers=h)
    assert renamed.status_code == 200 and renamed.json["name"] == "凤城市场监管所"
    # 行业 (003 第十七条): one of the known trades, or none.
    traded = client.patch(f"/api/v1/departments/{station_id}", json={"trade": "market"}, headers=h)
    assert traded.status_code == 200 and traded.json["trade"] == "market"
    odd = client.patch(f"/api/v1/departments/{station_id}", json={"trade": "fishing"}, headers=h)
    assert odd.status_code == 422 and "trade" in odd.json["errors"]["json"]
    cleared = client.patch(f"/api/v1/departments/{station_id}", json={"trade": None}, headers=h)
    assert cleared.status_code == 200 and cleared.json["trade"] is None
    sup = client.post(
        "/api/v1/departments",
        json={"code": "Y", "name": "y", "level": "county"},
        headers=world.auth(world.supervisor),
    )
    assert sup.status_code == 403
    assert db.session.scalar(select(Department).where(Department.code == "X1")) is None


def test_item_crud_with_checkpoints(client: FlaskClient, world: World) -> None:
    h = world.auth(world.admin)
    body = {
        "code": "SC-001",
        "name": "食品经营者经营条件检查",
        "kind": "key",
        "department_id": world.dept.id,
        "legal_basis": "《中华人民共和国食品安全法》第八十七条",
        "checkpoints": [{"text": "查看营业执照、许可证", "method": "现场检查"}, {"text": "检查进货查验记录"}],
    }
    resp = client.post("/api/v1/items", json=body, headers=h)
    assert resp.status_code == 201, resp.json
    item_id = resp.json["id"]
    assert [(c["position"], c["text"]) for c in resp.json["checkpoints"]] == [
        (1, "查看营业执照、许可证"),
        (2, "检查进货查验记录"),
    ]
    # Replace the list: reorder, add one, and the checkpoint at position 2 is reused.
    resp = client.patch(
        f"/api/v1/items/{item_id}",
        json={
            "checkpoints": [
                {"text": "检查进货查验记录"},
                {"text": "查看营业执照、许可证"},
                {"text": "检查从业人员健康证明"},
            ]
        },
        headers=h,
    )
    assert resp.status_code == 200
    assert [c["text"] for c in resp.json["checkpoints"]] == [
        "检查进货查验记录",
        "查看营业执照、许可证",
        "检查从业人员健康证明",
    ]
    # Shrink it.
    resp = client.patch(f"/api/v1/items/{item_id}", json={"checkpoints": [{"text": "只剩一条"}]}, headers=h)
    assert [c["position"] for c in resp.json["checkpoints"]] == [1]
    assert db.session.scalar(select(Checkpoint.text).where(Checkpoint.item_id == item_id)) == "只剩一条"
    got = client.get(f"/api/v1/items/{item_id}", headers=world.auth(world.supervisor))
    assert (
        got.status_code == 200
        and got.json["kind"] == "key"
        and got.json["department_name"] == "文水县市场监督管理局"
    )


def test_item_list_filters_and_refusals(client: FlaskClient, world: World) -> None:
    add_item(world.dept, name="食品经营检查", kind="key")
    add_item(world.other_dept, name="广告发布检查")
    add_item(world.dept, name="停用的事项", active=False)
    h = world.auth(world.supervisor)  # items are the shared list: all departments are visible

    def names(**q: object) -> list[str]:
        return [i["name"] for i in client.get("/api/v1/items", query_string=q, headers=h).json["items"]]

    assert len(names()) == 3
    assert names(kind="key") == ["食品经营检查"]
    assert names(department_id=world.other_dept.id) == ["广告发布检查"]
    assert names(active="false") == ["停用的事项"]
    assert names(q="广告") == ["广告发布检查"]
    admin = world.auth(world.admin)
    dup = client.post(
        "/api/v1/items", json={"code": "ITEM-X", "name": "x", "department_id": 99999}, headers=admin
    )
    assert dup.status_code == 422 and "department_id" in dup.json["errors"]
    bad = client.post(
        "/api/v1/items",
        json={
            "code": "ITEM-Y",
            "name": "y",
            "department_id": world.dept.id,
            "checkpoints": [{"method": "现场"}],
        },
        headers=admin,
    )
    assert bad.status_code == 422 and "checkpoints" in bad.json["errors"]["json"]
    assert db.session.scalar(select(Item).where(Item.code.in_(["ITEM-X", "ITEM-Y"]))) is None
    assert (
        client.post(
            "/api/v1/items", json={"code": "Z", "name": "z", "department_id": world.dept.id}, headers=h
        ).status_code
        == 403
    )
    assert client.get("/api/v1/items", headers=world.auth(world.inspector_user)).status_code == 403
