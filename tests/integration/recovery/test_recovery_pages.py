"""The recovery pages: upload with CSRF, the report per inspection, apply, who sees what, English."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.extensions import db
from server.fieldsync.models import SyncChange
from server.inspections.models import Inspection
from server.recovery.models import RecoveryImport
from tests.integration.evidence.imagefiles import field_photo
from tests.integration.recovery.helpers import build_export
from tests.support import factories
from tests.support.factories import csrf_from, login_page
from tests.support.field import FieldWorld, Phone, answer, field_world, photo


@pytest.fixture
def world(client: FlaskClient) -> tuple[FieldWorld, Phone, str]:
    world = field_world()
    phone = Phone(client, world.users["a"].username)
    phone.login()
    phone.pull()
    sync_id = db.session.get(Inspection, world.inspection.id).sync_id  # type: ignore[union-attr]
    assert sync_id is not None
    return world, phone, sync_id


def _export(world: FieldWorld, phone: Phone, sync_id: str) -> dict[str, Any]:
    shot = field_photo((640, 480))
    cp1, cp2 = (c.id for c in world.checkpoints)
    queued = [
        answer(sync_id, cp1, "yes"),
        answer(sync_id, cp2, "no", note="经营场所与登记住所不一致"),
        photo(sync_id, shot, phone.device_id),
    ]
    return build_export(phone, world.users["a"].id, queued, [(shot, "photo", sync_id)])


def _post_file(client: FlaskClient, export: dict[str, Any] | bytes, csrf: str | None) -> Any:
    data: dict[str, Any] = {
        "file": (
            io.BytesIO(export if isinstance(export, bytes) else json.dumps(export).encode()),
            "unsynced.json",
        )
    }
    if csrf is not None:
        data["csrf_token"] = csrf
    return client.post("/recovery", data=data, content_type="multipart/form-data")


def test_inspector_uploads_checks_and_applies_their_export_on_the_pages(
    client: FlaskClient, world: tuple[FieldWorld, Phone, str]
) -> None:
    w, phone, sync_id = world
    login_page(client, w.users["a"])
    page = client.get("/recovery")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "导入手机导出的未同步数据" in html and 'href="/recovery"' in html  # in the navigation

    export = _export(w, phone, sync_id)
    refused = _post_file(client, export, None)
    assert refused.status_code == 400  # CSRF
    assert db.session.scalar(select(func.count()).select_from(RecoveryImport)) == 0

    resp = _post_file(client, export, csrf_from(client, "/recovery"))
    assert resp.status_code == 302
    detail_url = resp.headers["Location"]
    html = client.get(detail_url).get_data(as_text=True)
    assert w.target.name in html and "预计结果" in html and "执行导入" in html
    assert html.count('data-testid="change" data-status="applied" data-replay="0"') == 3
    assert 'data-testid="file" data-status="new"' in html
    assert "经营场所与登记住所不一致" in html and "说明" in html  # what the answer sets
    assert db.session.scalar(select(func.count()).select_from(SyncChange)) == 0

    import_id = int(re.findall(r"/recovery/(\d+)", detail_url)[0])
    no_csrf = client.post(f"/recovery/{import_id}/apply")
    assert no_csrf.status_code == 400
    applied = client.post(f"/recovery/{import_id}/apply", data={"csrf_token": csrf_from(client, detail_url)})
    assert applied.status_code == 302
    html = client.get(detail_url).get_data(as_text=True)
    assert 'data-status="applied"' in html and "已导入" in html and "执行导入</button>" not in html
    assert 'data-testid="file" data-status="stored"' in html
    assert db.session.scalar(select(func.count()).select_from(SyncChange)) == 3

    # Applying twice says so and changes nothing.
    again = client.post(f"/recovery/{import_id}/apply", data={"csrf_token": csrf_from(client, detail_url)})
    assert again.status_code == 302
    assert "该导入已执行" in client.get(detail_url).get_data(as_text=True)


def test_refusals_are_shown_on_the_page_and_others_see_404(
    client: FlaskClient, world: tuple[FieldWorld, Phone, str]
) -> None:
    w, phone, sync_id = world
    export = _export(w, phone, sync_id)
    login_page(client, w.users["c"])  # on no team, not the exporting user
    resp = _post_file(client, export, csrf_from(client, "/recovery"))
    assert resp.status_code == 403
    assert 'data-code="recovery_not_yours"' in resp.get_data(as_text=True)
    broken = _post_file(client, b"{oops", csrf_from(client, "/recovery"))
    assert broken.status_code == 422 and 'data-code="recovery_file_invalid"' in broken.get_data(as_text=True)

    client.post("/logout", data={"csrf_token": csrf_from(client, "/recovery")})
    login_page(client, w.users["a"])
    location = _post_file(client, export, csrf_from(client, "/recovery")).headers["Location"]
    client.post("/logout", data={"csrf_token": csrf_from(client, "/recovery")})
    login_page(client, w.users["c"])
    assert client.get(location).status_code == 404
    supervisor = factories.user(roles=["supervisor"], department=w.department)
    client.post("/logout", data={"csrf_token": csrf_from(client, "/recovery")})
    login_page(client, supervisor)
    assert client.get("/recovery").status_code == 403  # admins and inspectors only


def test_admin_sees_every_import_and_the_page_in_english(
    app: Flask, client: FlaskClient, world: tuple[FieldWorld, Phone, str]
) -> None:
    w, phone, sync_id = world
    export = _export(w, phone, sync_id)
    export["blobs"][0]["base64"] = export["blobs"][0]["base64"][:-8] + "AAAAAAA="  # damaged
    admin = factories.user(roles=["admin"])
    login_page(client, admin)
    location = _post_file(client, export, csrf_from(client, "/recovery")).headers["Location"]
    html = client.get(location).get_data(as_text=True)
    assert 'data-status="blocked"' in html and 'data-testid="blocking"' in html
    assert "执行导入</button>" not in html
    client.set_cookie("lang", "en")
    html = client.get(location).get_data(as_text=True)
    assert "Data recovery" in html and "The export was altered or damaged" in html
    listing = client.get("/recovery").get_data(as_text=True)
    assert "Import a phone's exported unsynced data" in listing or "Import a phone&#39;s" in listing
    assert listing.count('data-testid="import-row"') == 1


def test_the_upload_limit_applies_to_the_page(
    app: Flask, client: FlaskClient, world: tuple[FieldWorld, Phone, str]
) -> None:
    w, phone, sync_id = world
    login_page(client, w.users["a"])
    csrf = csrf_from(client, "/recovery")
    app.config["RECOVERY_MAX_BYTES"] = 1000
    resp = _post_file(client, {**_export(w, phone, sync_id)}, csrf)
    assert resp.status_code == 413
    assert db.session.scalar(select(func.count()).select_from(RecoveryImport)) == 0
