"""A small field world for tests of sync, review and publication: one inspection, its team, its phones.

``field_world()`` builds a department, an item with two checkpoints, a published plan with one task,
a target with some history, a draw and one inspection whose team is inspector ``a`` (leader) and
``b`` (member); ``c`` is an inspector on no team. ``Phone`` drives the sync API the way the PWA
does (device login, pull, push, blobs, finalize), and ``complete_inspection`` takes an inspection
from assigned to submitted with two inspectors' and the representative's signatures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient

from server.directory.creditcode import check_char
from server.directory.models import Checkpoint, Department, InspectionRecord, Inspector, Item, Target
from server.draws.models import Draw
from server.extensions import db
from server.inspections.models import Inspection, InspectionTask, TeamMember
from server.planning.models import Plan, Task, TaskItem
from sync.canonical import JSON
from sync.records import answer_id, outcome_id
from tests.integration.evidence.imagefiles import field_photo, signature_png
from tests.support import factories

CLIENT_TIME = "2025-06-03T09:00:00+08:00"
_ids = itertools.count(1)


def _credit_code(n: int) -> str:
    first17 = f"91140581MA0{n:06d}"
    return first17 + check_char(first17)


@dataclass
class FieldWorld:
    department: Department
    users: dict[str, Any]
    inspectors: dict[str, Inspector]
    item: Item
    checkpoints: list[Checkpoint]
    task: Task
    target: Target
    draw: Draw
    inspection: Inspection


def field_world(*, target_kind: str = "enterprise", name: str = "高平市示例商贸有限公司") -> FieldWorld:
    n = next(_ids)
    dept = factories.department(name=f"高平市市场监督管理局{n}")
    users = {
        key: factories.user(roles=["inspector"], department=dept, username=f"insp-{key}-{n}")
        for key in ("a", "b", "c")
    }
    inspectors = {
        key: Inspector(
            code=f"GP{n:03d}{key}",
            name={"a": "张建国", "b": "李晓梅", "c": "王志强"}[key],
            department_id=dept.id,
            user_id=users[key].id,
            credential_no=f"1405810{n:03d}{key}",
            credential_valid_until=dt.date(2027, 12, 31),
        )
        for key in users
    }
    db.session.add_all(inspectors.values())
    item = Item(
        code=f"ITEM-{n}",
        name="企业公示信息情况的检查",
        kind="general",
        department_id=dept.id,
        legal_basis="《企业信息公示暂行条例》",
    )
    item.checkpoints = [
        Checkpoint(position=1, text="年度报告是否按时公示", method="书面检查"),
        Checkpoint(position=2, text="公示的住所与实际是否一致", method="现场检查"),
    ]
    plan = Plan(year=2025, department_id=dept.id, title="2025年度双随机抽查计划", status="published")
    task = Task(
        plan=plan,
        seq=1,
        name="企业公示信息抽查",
        task_type="undirected",
        window_start=dt.date(2025, 6, 1),
        window_end=dt.date(2025, 11, 30),
        initiating_department_id=dept.id,
        class_ratios_bp={"A": 100, "B": 200, "C": 1000, "D": 3000},
    )
    target = Target(
        code=_credit_code(n),
        name=name,
        kind=target_kind,
        industry="批发和零售业",
        district="泫氏街道",
        address="高平市泫氏街道建设路1号",
        legal_rep="赵某",
        risk_class="B",
    )
    db.session.add_all([item, plan, task, target])
    db.session.flush()
    task.item_links = [TaskItem(item_id=item.id, position=0)]
    db.session.add(
        InspectionRecord(
            target_id=target.id,
            inspected_on=dt.date(2023, 9, 12),
            department_id=dept.id,
            task_name="2023年企业公示信息抽查",
            result="未发现问题",
        )
    )
    draw = Draw(
        task_id=task.id,
        algorithm="test",
        server_entropy="0" * 64,
        seed="0" * 64,
        snapshot_hash="0" * 64,
        snapshot_rows=1,
        parameters={},
        strata={},
    )
    inspection = Inspection(target_id=target.id, window_start=task.window_start, window_end=task.window_end)
    db.session.add_all([draw, inspection])
    db.session.flush()
    db.session.add(InspectionTask(inspection_id=inspection.id, task_id=task.id, draw_id=draw.id))
    for key, role in (("a", "leader"), ("b", "member")):
        db.session.add(
            TeamMember(
                inspection_id=inspection.id,
                inspector_id=inspectors[key].id,
                role=role,
                department_id=dept.id,
                draw_id=draw.id,
            )
        )
    db.session.commit()
    return FieldWorld(dept, users, inspectors, item, list(item.checkpoints), task, target, draw, inspection)


@dataclass
class Phone:
    """One inspector's phone talking to the sync API."""

    client: FlaskClient
    username: str
    password: str = factories.PASSWORD
    device_id: str = field(default_factory=lambda: f"phone-{uuid.uuid4()}")
    token: str = ""
    inspector_id: int | None = None
    cursor: str | None = None
    records: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def login(self) -> Any:
        resp = self.client.post(
            "/api/v1/sync/devices",
            json={
                "username": self.username,
                "password": self.password,
                "device_name": "test phone",
                "device_id": self.device_id,
            },
        )
        assert resp.status_code == 201, resp.json
        self.token = resp.json["token"]
        self.device_id = resp.json["device_id"]
        self.inspector_id = resp.json["user"]["inspector_id"]
        return resp

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def pull(self) -> Any:
        """Pull until has_more is false; keeps the latest state of every record."""
        while True:
            resp = self.client.post(
                "/api/v1/sync/pull", json={"cursor": self.cursor, "limit": 100}, headers=self.headers
            )
            assert resp.status_code == 200, resp.json
            for rec in resp.json["changes"]:
                self.records[(rec["record_type"], rec["record_id"])] = rec
            self.cursor = resp.json["cursor"]
            if not resp.json["has_more"]:
                return resp

    def inspection(self, sync_id: str) -> dict[str, Any]:
        return self.records[("inspection", sync_id)]

    def push(self, *changes: dict[str, Any]) -> Any:
        return self.client.post(
            "/api/v1/sync/push",
            json={"device_id": self.device_id, "changes": list(changes)},
            headers=self.headers,
        )

    def put_blob(self, data: bytes, kind: str = "photo") -> Any:
        digest = hashlib.sha256(data).hexdigest()
        content_type = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
        return self.client.put(
            f"/api/v1/sync/blobs/{digest}?kind={kind}",
            data=data,
            headers={**self.headers, "Content-Type": content_type},
        )

    def finalize(self, sync_id: str) -> Any:
        return self.client.post(f"/api/v1/sync/inspections/{sync_id}/finalize", json={}, headers=self.headers)


def change(
    record_type: str, record_id: str, fields: dict[str, JSON], base_version: int = 0
) -> dict[str, Any]:
    op = "upsert" if record_type in ("inspection", "answer", "outcome") else "append"
    return {
        "change_id": str(uuid.uuid4()),
        "record_type": record_type,
        "record_id": record_id,
        "op": op,
        "base_version": base_version,
        "fields": fields,
        "client_time": CLIENT_TIME,
    }


def answer(sync_id: str, checkpoint_id: int, value: str | None, note: str | None = None) -> dict[str, Any]:
    values: dict[str, JSON] = {"inspection_id": sync_id, "checkpoint_id": checkpoint_id, "value": value}
    if note is not None:
        values["note"] = note
    return change("answer", answer_id(sync_id, checkpoint_id), values)


def outcome(sync_id: str, code: str | None, note: str = "") -> dict[str, Any]:
    return change("outcome", outcome_id(sync_id), {"inspection_id": sync_id, "code": code, "note": note})


def photo(sync_id: str, data: bytes, device_id: str, checkpoint_id: int | None = None) -> dict[str, Any]:
    return change(
        "photo",
        str(uuid.uuid4()),
        {
            "inspection_id": sync_id,
            "sha256": hashlib.sha256(data).hexdigest(),
            "checkpoint_id": checkpoint_id,
            "taken_at": "2025-06-03T09:12:00+08:00",
            "lat": 35.7913,
            "lon": 112.9236,
            "device_id": device_id,
        },
    )


def signature(
    sync_id: str,
    content_hash: str,
    png: bytes,
    device_id: str,
    *,
    inspector_id: int | None = None,
    name: str = "签名人",
) -> dict[str, Any]:
    return change(
        "signature",
        str(uuid.uuid4()),
        {
            "inspection_id": sync_id,
            "signer_role": "inspector" if inspector_id is not None else "representative",
            "signer_id": inspector_id,
            "signer_name": name,
            "content_hash": content_hash,
            "png_sha256": hashlib.sha256(png).hexdigest(),
            "signed_at": "2025-06-03T10:00:00+08:00",
            "device_id": device_id,
        },
    )


def current_content_hash(phone: Phone, sync_id: str) -> str:
    """What the phone would show the signer: ask finalize (its ``missing`` names the current hash)."""
    resp = phone.finalize(sync_id)
    assert resp.status_code == 409, resp.json
    for gap in resp.json["missing"]:
        if "content_hash" in gap:
            return str(gap["content_hash"])
    raise AssertionError(f"no content hash in {resp.json}")


def complete_inspection(
    world: FieldWorld, client: FlaskClient, *, values: tuple[str, str] = ("yes", "yes")
) -> tuple[Phone, Phone, str]:
    """Both inspectors' phones answer, photograph, sign; the representative signs; finalize."""
    phone_a, phone_b = Phone(client, world.users["a"].username), Phone(client, world.users["b"].username)
    for phone in (phone_a, phone_b):
        phone.login()
        phone.pull()
    sync_id = str(db.session.get(Inspection, world.inspection.id).sync_id)  # type: ignore[union-attr]
    cp1, cp2 = (c.id for c in world.checkpoints)
    shot = field_photo((800, 600))
    results = phone_a.push(
        answer(sync_id, cp1, values[0]),
        answer(sync_id, cp2, values[1]),
        photo(sync_id, shot, phone_a.device_id),
    )
    assert results.status_code == 200 and all(r["status"] == "applied" for r in results.json["results"]), (
        results.json
    )
    assert phone_a.put_blob(shot).status_code == 201
    content = current_content_hash(phone_a, sync_id)
    pngs = [signature_png((400 + i, 160)) for i in range(3)]
    signed = [
        phone_a.push(
            signature(sync_id, content, pngs[0], phone_a.device_id, inspector_id=phone_a.inspector_id)
        ),
        phone_b.push(
            signature(sync_id, content, pngs[1], phone_b.device_id, inspector_id=phone_b.inspector_id)
        ),
        phone_a.push(signature(sync_id, content, pngs[2], phone_a.device_id, name="赵某（法定代表人）")),
    ]
    assert all(r.json["results"][0]["status"] == "applied" for r in signed)
    for png, phone in zip(pngs, (phone_a, phone_b, phone_a), strict=True):
        assert phone.put_blob(png, kind="signature").status_code == 201
    done = phone_a.finalize(sync_id)
    assert done.status_code == 200, done.json
    assert done.json["content_hash"] == content
    return phone_a, phone_b, sync_id
