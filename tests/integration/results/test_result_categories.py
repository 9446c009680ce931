"""Result categories: the seeded list, the admin pages and the API; a category in use is never deleted."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from server.accounts.models import User
from server.audit.models import AuditEvent
from server.extensions import db
from server.results.models import InspectionResult, InspectionResultCategory, ResultCategory
from tests.support import factories
from tests.support.factories import csrf_from, login_page
from tests.support.results import seed_categories


def _admin() -> User:
    return factories.user(roles=["admin"])


def test_the_seeded_list_matches_the_phone_outcome_codes(app: object) -> None:
    from sync.records import OUTCOME_CODES

    categories = seed_categories()
    assert set(OUTCOME_CODES) <= set(categories)
    assert categories["no_problem"].name == "未发现问题" and not categories["no_problem"].is_problem
    assert categories["no_contact"].ends_without_inspection and categories["no_contact"].is_problem


def test_api_crud(client: FlaskClient) -> None:
    seed_categories()
    admin = _admin()
    headers = factories.auth_header(admin)
    listed = client.get("/api/v1/result-categories", headers=headers)
    assert listed.status_code == 200 and listed.json[0]["code"] == "no_problem"

    created = client.post(
        "/api/v1/result-categories",
        json={
            "code": "sampling_failed",
            "name": "抽样检验不合格",
            "name_en": "Sample failed",
            "is_problem": True,
        },
        headers=headers,
    )
    assert created.status_code == 201, created.json
    new_id = created.json["id"]
    assert created.json["active"] and created.json["position"] > 130  # after the seeded ones
    dup = client.post(
        "/api/v1/result-categories", json={"code": "sampling_failed", "name": "重复"}, headers=headers
    )
    assert dup.status_code == 409 and dup.json["code"] == "duplicate_code"
    bad = client.post("/api/v1/result-categories", json={"code": "Bad Code", "name": "x"}, headers=headers)
    assert bad.status_code == 422 and "code" in bad.json["errors"]["json"]

    patched = client.patch(
        f"/api/v1/result-categories/{new_id}", json={"name": "抽检不合格", "active": False}, headers=headers
    )
    assert patched.status_code == 200 and patched.json["name"] == "抽检不合格" and not patched.json["active"]
    code_change = client.patch(f"/api/v1/result-categories/{new_id}", json={"code": "x1"}, headers=headers)
    assert code_change.status_code == 422  # the code is permanent
    inactive = client.get("/api/v1/result-categories?active=false", headers=headers)
    assert [c["code"] for c in inactive.json] == ["sampling_failed"]

    # Supervisors read but do not edit; inspectors do neither.
    supervisor = factories.user(roles=["supervisor"])
    sup_headers = factories.auth_header(supervisor, device_id="desk-super")
    assert client.get(f"/api/v1/result-categories/{new_id}", headers=sup_headers).status_code == 200
    assert client.delete(f"/api/v1/result-categories/{new_id}", headers=sup_headers).status_code == 403
    inspector = factories.user(roles=["inspector"])
    ins_headers = factories.auth_header(inspector, device_id="phone-ins1")
    assert client.get("/api/v1/result-categories", headers=ins_headers).status_code == 403

    deleted = client.delete(f"/api/v1/result-categories/{new_id}", headers=headers)
    assert deleted.status_code == 204
    assert db.session.get(ResultCategory, new_id) is None
    assert client.get(f"/api/v1/result-categories/{new_id}", headers=headers).status_code == 404
    actions = set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "result_category"))
    )
    assert actions == {"result_category.created", "result_category.updated", "result_category.deleted"}


def test_a_category_in_use_is_never_deleted(client: FlaskClient) -> None:
    from tests.support.field import field_world

    categories = seed_categories()
    world = field_world()
    result = InspectionResult(inspection_id=world.inspection.id)
    result.category_links = [InspectionResultCategory(category_id=categories["pending"].id)]
    db.session.add(result)
    db.session.commit()
    headers = factories.auth_header(_admin())
    resp = client.delete(f"/api/v1/result-categories/{categories['pending'].id}", headers=headers)
    assert resp.status_code == 409 and resp.json["code"] == "category_in_use"
    assert db.session.get(ResultCategory, categories["pending"].id) is not None
    # Deactivating it is the way: results keep it.
    off = client.patch(
        f"/api/v1/result-categories/{categories['pending'].id}", json={"active": False}, headers=headers
    )
    assert off.status_code == 200 and not off.json["active"]


def test_admin_pages(client: FlaskClient) -> None:
    seed_categories()
    admin = _admin()
    login_page(client, admin)
    page = client.get("/admin/result-categories")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "未发现问题" in html and "not_disclosed" in html

    csrf = csrf_from(client, "/admin/result-categories")
    form = {
        "code": "recheck",
        "name": "需复查",
        "name_en": "Recheck",
        "position": "5",
        "is_problem": "1",
        "csrf_token": csrf,
    }
    assert client.post("/admin/result-categories", data=form).status_code == 302
    made = db.session.scalar(select(ResultCategory).where(ResultCategory.code == "recheck"))
    assert made is not None and made.position == 5 and made.is_problem and not made.needs_follow_up
    made_id = made.id

    # A refused form comes back with what was typed.
    again = client.post("/admin/result-categories", data={**form, "name": "重复的代码"})
    assert again.status_code == 409
    assert "重复的代码" in again.get_data(as_text=True) and "代码已存在" in again.get_data(as_text=True)
    blank = client.post(
        "/admin/result-categories", data={**form, "code": "other_one", "name": " ", "name_en": "Kept"}
    )
    assert blank.status_code == 422 and 'value="Kept"' in blank.get_data(as_text=True)
    # The service's message is English for the API; the Chinese page says it in Chinese.
    odd = client.post("/admin/result-categories", data={**form, "code": "9x"})
    assert odd.status_code == 422 and "小写字母、数字或下划线" in odd.get_data(as_text=True)
    client.set_cookie("lang", "en")
    odd = client.post("/admin/result-categories", data={**form, "code": "9x"})
    assert "starting with a letter" in odd.get_data(as_text=True)
    client.set_cookie("lang", "zh_CN")

    edit = client.post(
        f"/admin/result-categories/{made.id}",
        data={"name": "需要复查", "name_en": "Needs recheck", "position": "7", "csrf_token": csrf},
    )
    assert edit.status_code == 302
    db.session.refresh(made)
    assert made.name == "需要复查" and made.position == 7 and not made.is_problem and made.code == "recheck"
    assert client.get(f"/admin/result-categories/{made.id}").status_code == 200

    assert (
        client.post(
            f"/admin/result-categories/{made.id}/active", data={"active": "0", "csrf_token": csrf}
        ).status_code
        == 302
    )
    db.session.refresh(made)
    assert not made.active
    no_csrf = client.post(f"/admin/result-categories/{made.id}/active", data={"active": "1"})
    assert no_csrf.status_code == 400
    db.session.refresh(made)
    assert not made.active
    assert (
        client.post(f"/admin/result-categories/{made.id}/delete", data={"csrf_token": csrf}).status_code
        == 302
    )
    assert db.session.get(ResultCategory, made_id) is None


def test_admin_pages_are_for_admins(client: FlaskClient) -> None:
    supervisor = factories.user(roles=["supervisor"])
    assert client.get("/admin/result-categories").status_code == 302  # to the login page
    login_page(client, supervisor)
    assert client.get("/admin/result-categories").status_code == 403


def test_field_outcome_categories_are_never_deleted(client: FlaskClient) -> None:
    categories = seed_categories()
    headers = factories.auth_header(_admin())
    resp = client.delete(f"/api/v1/result-categories/{categories['no_contact'].id}", headers=headers)
    assert resp.status_code == 409 and resp.json["code"] == "category_in_use"
    assert (
        client.delete(f"/api/v1/result-categories/{categories['corrected'].id}", headers=headers).status_code
        == 204
    )
