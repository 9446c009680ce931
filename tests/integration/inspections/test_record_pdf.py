"""The inspection record PDF (检查记录表): read back, its Chinese text, answers, images and hash."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from server.accounts.models import User
from server.extensions import db
from server.inspections.models import Inspection
from tests.support import factories
from tests.support.factories import login_page
from tests.support.field import complete_inspection, field_world
from tests.support.results import approve


@pytest.fixture
def page_as(app: Flask) -> Callable[[User], FlaskClient]:
    def login(user: User) -> FlaskClient:
        client = app.test_client()
        login_page(client, user)
        return client

    return login


def _text(data: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), reader


def test_the_record_pdf_holds_the_checklist_answers_images_signatures_and_hash(
    client: FlaskClient, page_as: Callable[[User], FlaskClient]
) -> None:
    world = field_world()
    complete_inspection(world, client, values=("yes", "no"))
    approve(world.inspection, categories=("not_disclosed",))
    inspection = db.session.get(Inspection, world.inspection.id)
    assert inspection is not None and inspection.latest_version is not None
    version = inspection.latest_version
    supervisor = factories.user(roles=["supervisor"], department=world.department)

    resp = page_as(supervisor).get(f"/inspections/{inspection.id}/record.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF")
    text, reader = _text(resp.data)
    compact = text.replace(" ", "").replace("\n", "")
    for shown in (
        "检查记录表",
        "高平市示例商贸有限公司",
        world.target.code,
        "企业公示信息情况的检查",
        "年度报告是否按时公示",
        "公示的住所与实际是否一致",
        "张建国",
        "李晓梅",
        "赵某（法定代表人）",
        "审核通过",
        world.department.name,
    ):
        assert shown in compact, shown
    assert version.content_hash in compact
    # The answers: checkpoint 1 yes (是), checkpoint 2 no (否); each signature is valid (有效).
    assert "书面检查是" in compact and "现场检查否" in compact
    assert compact.count("有效") >= 3
    images = [image for page in reader.pages for image in page.images]
    assert len(images) >= 4  # one photo (its review rendition) and three signature images
    assert len(reader.pages) >= 1

    english = page_as(supervisor)
    english.set_cookie("lang", "en")
    in_english, _reader = _text(english.get(f"/inspections/{inspection.id}/record.pdf").data)
    assert "Inspection record" in in_english and "Legal representative" in in_english
    assert version.content_hash in in_english.replace(" ", "").replace("\n", "")

    versioned = page_as(world.users["a"]).get(f"/inspections/{inspection.id}/record.pdf?version=1")
    assert versioned.status_code == 200  # the team may download its own record
    assert page_as(supervisor).get(f"/inspections/{inspection.id}/record.pdf?version=2").status_code == 404
    assert page_as(supervisor).get(f"/inspections/{inspection.id}/record.pdf?version=x").status_code == 404


def test_the_record_pdf_is_for_those_who_may_see_the_inspection(
    client: FlaskClient, page_as: Callable[[User], FlaskClient]
) -> None:
    world = field_world()
    complete_inspection(world, client)
    url = f"/inspections/{world.inspection.id}/record.pdf"
    assert client.get(url).status_code == 302  # log in first
    assert page_as(world.users["c"]).get(url).status_code == 404  # an inspector not on the team
    outsider = factories.user(roles=["supervisor"], department=factories.department())
    assert page_as(outsider).get(url).status_code == 404
    never = field_world()
    admin = factories.user(roles=["admin"])
    assert (
        page_as(admin).get(f"/inspections/{never.inspection.id}/record.pdf").status_code == 404
    )  # no version


def test_a_record_whose_files_are_missing_still_prints(page_as: Callable[[User], FlaskClient]) -> None:
    world = field_world()
    approve(world.inspection)  # a version made without phones: no checklist, photos or signatures
    admin = factories.user(roles=["admin"])
    resp = page_as(admin).get(f"/inspections/{world.inspection.id}/record.pdf")
    assert resp.status_code == 200
    text, _reader = _text(resp.data)
    assert "检查记录表" in text.replace(" ", "")
