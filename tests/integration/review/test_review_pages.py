"""The review pages: the queue, the inspection page, return / approve forms (CSRF), the leader's
withholding page and the evidence images — and who may see what."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from server.extensions import db
from server.inspections.models import Inspection
from server.results.models import InspectionResult
from server.review.models import ReviewComment
from tests.integration.review.conftest import Review
from tests.support.factories import csrf_from, login_page


def _html(resp: object) -> str:
    return resp.get_data(as_text=True)  # type: ignore[attr-defined]


def _state(review: Review) -> str:
    inspection = db.session.get(Inspection, review.world.inspection.id)
    assert inspection is not None
    return inspection.state


def test_queue_page(client: FlaskClient, submitted: Review) -> None:
    assert client.get("/review").status_code == 302  # to the login page
    login_page(client, submitted.supervisor)
    page = client.get("/review")
    assert page.status_code == 200
    html = _html(page)
    assert submitted.world.target.name in html and submitted.world.task.name in html and "张建国" in html
    assert re.search(r"待审核 <span class=\"count\">1</span>", html)
    assert f"/review/inspections/{submitted.world.inspection.id}" in html
    assert submitted.world.target.name not in _html(client.get("/review?state=returned"))
    assert submitted.world.target.name not in _html(client.get("/review?q=不存在的企业"))
    assert submitted.world.target.name in _html(client.get(f"/review?task_id={submitted.world.task.id}"))
    assert submitted.world.target.name in _html(
        client.get(f"/review?department_id={submitted.world.department.id}")
    )
    assert client.get("/review?state=nonsense&page=abc").status_code == 200  # bad filters fall back


def test_queue_page_hides_other_departments_and_refuses_inspectors(
    client: FlaskClient, submitted: Review
) -> None:
    login_page(client, submitted.outsider)
    html = _html(client.get("/review"))
    assert submitted.world.target.name not in html
    assert client.get(f"/review/inspections/{submitted.world.inspection.id}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_from(client, "/review")})
    login_page(client, submitted.world.users["a"])
    assert client.get("/review").status_code == 403
    assert client.get(f"/review/inspections/{submitted.world.inspection.id}").status_code == 403


def test_inspection_page_shows_the_submission(client: FlaskClient, submitted: Review) -> None:
    login_page(client, submitted.supervisor)
    inspection = db.session.get(Inspection, submitted.world.inspection.id)
    assert inspection is not None and inspection.latest_version is not None
    version = inspection.latest_version
    page = client.get(f"/review/inspections/{inspection.id}")
    assert page.status_code == 200
    html = _html(page)
    title = html[html.index("<title>") : html.index("</title>")]
    assert "<script" not in title and inspection.target.name in title
    assert 'id="photo-1"' in html  # the viewer site.js steps through (tests/e2e/test_review_loop.py)
    for text in (
        "年度报告是否按时公示",
        "公示的住所与实际是否一致",
        "书面检查",
        "李晓梅",
        "赵某（法定代表人）",
    ):
        assert text in html, text
    assert html.count('<span class="answer answer-yes">是</span>') == 2
    # Photo: thumbnail linking to the full-size view, the device's GPS and the EXIF's, flagged apart.
    photo = version.record["photos"][0]
    assert f"/review/blobs/{photo['sha256']}?rendition=thumb" in html
    assert f"/review/blobs/{photo['sha256']}?rendition=review" in html
    assert "35.79130, 112.92360" in html and "39.90750, 116.39733" in html and "位置不一致" in html
    assert "2025-06-03 09:12" in html  # the device's capture time, shown in Asia/Shanghai
    # Signatures: short hash, full hash on hover/focus, valid for this version.
    assert version.content_hash[:12] + "…" in html and f'title="{version.content_hash}"' in html
    assert html.count('<span class="badge valid">签名有效</span>') == 3
    for sig in version.record["signatures"]:
        assert f"/review/blobs/{sig['png_sha256']}?rendition=thumb" in html
    # The review forms, with the category suggested by the answers preselected.
    assert 'id="return-form"' in html and 'id="approve-form"' in html
    assert f'name="item_{submitted.world.checkpoints[0].id}" form="return-form"' in html
    assert 'value="no_problem" checked' in html
    assert client.get(f"/review/inspections/{inspection.id}?version=7").status_code == 404
    client.get("/lang/en")
    english = _html(client.get(f"/review/inspections/{inspection.id}"))
    assert "Return for correction" in english and "Approve and enter the result" in english
    assert "Checklist" in english and "年度报告是否按时公示" in english  # data stays as entered


def test_return_by_page_needs_csrf_and_keeps_typed_text(client: FlaskClient, submitted: Review) -> None:
    inspection_id = submitted.world.inspection.id
    cp1, cp2 = (c.id for c in submitted.world.checkpoints)
    login_page(client, submitted.supervisor)
    path = f"/review/inspections/{inspection_id}/return"
    no_csrf = client.post(path, data={"version": "1", "comment": "请补充"})
    assert no_csrf.status_code == 400 and _state(submitted) == "submitted"

    csrf = csrf_from(client, f"/review/inspections/{inspection_id}")
    empty = client.post(path, data={"version": "1", "comment": " ", f"item_{cp1}": "", "csrf_token": csrf})
    assert empty.status_code == 422 and "退回须填写总体意见" in _html(empty)
    # The message sits above the forms at the foot of a long page; the forms post to its anchor so
    # the browser shows it rather than the top of the page.
    assert 'id="review-error"' in _html(empty)
    assert f'action="{path}#review-error" id="return-form"' in _html(empty)
    assert f'action="/review/inspections/{inspection_id}/approve#review-error"' in _html(empty)
    stale = client.post(path, data={"version": "3", f"item_{cp2}": "核实地址", "csrf_token": csrf})
    assert stale.status_code == 409 and "核实地址" in _html(stale)  # the reviewer's text is not lost

    done = client.post(
        path, data={"version": "1", "comment": "请核实", f"item_{cp2}": "地址不一致", "csrf_token": csrf}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/review")
    assert _state(submitted) == "returned"
    texts = set(db.session.scalars(select(ReviewComment.text)))
    assert texts == {"请核实", "地址不一致"}
    html = _html(client.get(f"/review/inspections/{inspection_id}"))
    assert "退回意见" in html and "地址不一致" in html and 'id="return-form"' not in html
    assert "已退回修改" in html  # in the history
    assert submitted.world.target.name in _html(client.get("/review?state=returned"))


def test_approve_by_page(client: FlaskClient, submitted: Review) -> None:
    inspection_id = submitted.world.inspection.id
    login_page(client, submitted.supervisor)
    csrf = csrf_from(client, f"/review/inspections/{inspection_id}")
    path = f"/review/inspections/{inspection_id}/approve"
    refused = client.post(
        path,
        data={
            "version": "1",
            "categories": ["no_problem", "not_disclosed"],
            "summary": "未按规定公示年度报告",
            "publish": "0",
            "withhold_reason": "",
            "csrf_token": csrf,
        },
    )
    assert refused.status_code == 422
    html = _html(refused)
    assert "不予公示须填写理由" in html and "未按规定公示年度报告" in html
    assert 'value="not_disclosed" checked' in html and 'value="no_problem" checked' in html
    assert 'name="publish" value="0" checked' in html
    assert _state(submitted) == "submitted"

    ok = client.post(
        path,
        data={
            "version": "1",
            "categories": ["not_disclosed"],
            "summary": "未按规定公示年度报告",
            "publish": "1",
            "csrf_token": csrf,
        },
    )
    assert ok.status_code == 302 and _state(submitted) == "approved"
    html = _html(client.get(f"/review/inspections/{inspection_id}"))
    assert "未按规定公示年度报告" in html and "予以公示" in html and 'id="approve-form"' not in html
    assert "已审核通过" in html  # the history
    approved_tab = _html(client.get("/review?state=approved"))
    assert submitted.world.target.name in approved_tab and "未按规定公示应当公示的信息" in approved_tab
    again = client.post(path, data={"version": "1", "categories": ["no_problem"], "csrf_token": csrf})
    assert again.status_code == 409 and "冻结" in _html(again)


def test_withholding_page_and_decision(client: FlaskClient, submitted: Review) -> None:
    inspection_id = submitted.world.inspection.id
    login_page(client, submitted.supervisor)
    csrf = csrf_from(client, f"/review/inspections/{inspection_id}")
    resp = client.post(
        f"/review/inspections/{inspection_id}/approve",
        data={
            "version": "1",
            "categories": ["pending"],
            "publish": "0",
            "withhold_reason": "案件调查中",
            "csrf_token": csrf,
        },
    )
    assert resp.status_code == 302
    listing = _html(client.get("/review/withholdings"))
    assert (
        "案件调查中" in listing and "须由另一位领导审批" in listing and "批准不予公示</button>" not in listing
    )
    decision = client.post(
        f"/review/inspections/{inspection_id}/withholding",
        data={"decision": "approve", "csrf_token": csrf},
    )
    assert decision.status_code == 403  # a supervisor does not decide

    client.post("/logout", data={"csrf_token": csrf})
    login_page(client, submitted.leader)
    # The bell tells the leader, and leads to the requests waiting for a decision.
    bell = _html(client.get("/notifications"))
    target = submitted.world.target.name
    assert f"{submitted.supervisor.display_name}申请对{target}的检查结果不予公示，请审批" in bell
    assert 'value="/review/withholdings"' in bell
    listing = _html(client.get("/review/withholdings"))
    assert "案件调查中" in listing and "批准不予公示</button>" in listing
    csrf = csrf_from(client, "/review/withholdings")
    assert (
        client.post(
            f"/review/inspections/{inspection_id}/withholding", data={"decision": "approve"}
        ).status_code
        == 400
    )
    unclear = client.post(
        f"/review/inspections/{inspection_id}/withholding", data={"decision": "maybe", "csrf_token": csrf}
    )
    assert unclear.status_code == 302 and "请选择批准或驳回" in _html(client.get("/review/withholdings"))
    done = client.post(
        f"/review/inspections/{inspection_id}/withholding",
        data={"decision": "reject", "note": "应当公示", "next": "withholdings", "csrf_token": csrf},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/review/withholdings")
    result = db.session.scalar(select(InspectionResult))
    assert result is not None and result.withhold_status == "rejected" and result.publish
    listing = _html(client.get("/review/withholdings"))
    assert "没有待审批的不予公示申请" in listing and "应当公示" in listing
    page = _html(client.get(f"/review/inspections/{inspection_id}"))
    assert "领导驳回不予公示申请" in page and "领导甲" in page


def test_evidence_images_follow_who_may_see_the_inspection(client: FlaskClient, submitted: Review) -> None:
    inspection = db.session.get(Inspection, submitted.world.inspection.id)
    assert inspection is not None and inspection.latest_version is not None
    sha = inspection.latest_version.record["photos"][0]["sha256"]
    path = f"/review/blobs/{sha}"
    assert client.get(path, buffered=True).status_code == 302  # login first
    login_page(client, submitted.supervisor)
    thumb = client.get(f"{path}?rendition=thumb", buffered=True)
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert "private" in thumb.headers["Cache-Control"]
    original = client.get(f"{path}?rendition=original", buffered=True)
    assert original.status_code == 200 and len(original.data) > len(thumb.data)
    assert client.get(f"{path}?rendition=huge").status_code == 404
    assert client.get("/review/blobs/" + "0" * 64).status_code == 404
    assert client.get("/review/blobs/NOT-A-HASH").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_from(client, "/review")})
    login_page(client, submitted.outsider)
    assert client.get(path, buffered=True).status_code == 404
    client.post("/logout", data={"csrf_token": csrf_from(client, "/review")})
    login_page(client, submitted.world.users["b"])  # on the team
    assert client.get(path, buffered=True).status_code == 200
    client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    login_page(client, submitted.world.users["c"])  # an inspector on no team
    assert client.get(path, buffered=True).status_code == 404


def test_special_outcome_refusal_and_checkins_are_shown(client: FlaskClient, review: Review) -> None:
    """A target that refused to cooperate: no checklist answers, an evidence photo, a check-in, both
    inspectors sign and the representative's refusal to sign is recorded with a witness."""
    import uuid

    from tests.integration.evidence.imagefiles import field_photo, signature_png
    from tests.support.field import Phone, change, current_content_hash, outcome, photo, signature

    phone_a, phone_b = (
        Phone(client, review.world.users["a"].username),
        Phone(client, review.world.users["b"].username),
    )
    for phone in (phone_a, phone_b):
        phone.login()
        phone.pull()
    inspection = db.session.get(Inspection, review.world.inspection.id)
    assert inspection is not None and inspection.sync_id is not None
    sync_id = inspection.sync_id
    shot = field_photo((700, 500))
    checkin = change(
        "checkin",
        str(uuid.uuid4()),
        {
            "inspection_id": sync_id,
            "inspector_id": phone_a.inspector_id,
            "at": "2025-06-03T08:55:00+08:00",
            "lat": 35.79,
            "lon": 112.92,
            "accuracy_m": 12.0,
        },
    )
    pushed = phone_a.push(
        outcome(sync_id, "refused_cooperation", "负责人拒绝出示账簿"),
        photo(sync_id, shot, phone_a.device_id),
        checkin,
    )
    assert all(r["status"] == "applied" for r in pushed.json["results"]), pushed.json
    assert phone_a.put_blob(shot).status_code == 201
    content = current_content_hash(phone_a, sync_id)
    pngs = [signature_png((380 + i, 150)) for i in range(2)]
    for png, phone in zip(pngs, (phone_a, phone_b), strict=True):
        resp = phone.push(signature(sync_id, content, png, phone.device_id, inspector_id=phone.inspector_id))
        assert resp.json["results"][0]["status"] == "applied"
        assert phone.put_blob(png, kind="signature").status_code == 201
    refusal = change(
        "refusal",
        str(uuid.uuid4()),
        {
            "inspection_id": sync_id,
            "content_hash": content,
            "reason": "拒绝在检查记录上签字",
            "witness_name": "王五（社区网格员）",
            "witness_contact": "泫氏街道社区",
            "recorded_by": phone_a.inspector_id,
            "recorded_at": "2025-06-03T10:05:00+08:00",
        },
    )
    assert phone_a.push(refusal).json["results"][0]["status"] == "applied"
    assert phone_a.finalize(sync_id).status_code == 200

    login_page(client, review.supervisor)
    html = _html(client.get(f"/review/inspections/{review.world.inspection.id}"))
    for text in (
        "特殊情形",
        "不配合检查，情节严重",
        "负责人拒绝出示账簿",
        "拒绝在检查记录上签字",
        "王五（社区网格员）",
    ):
        assert text in html, text
    assert "2025-06-03 08:55" in html and "35.79000, 112.92000 ±12m" in html  # the check-in
    assert html.count('<span class="answer answer-none">未作答</span>') == 2
    assert 'value="refused_cooperation" checked' in html  # the outcome preselects its category
    assert html.count('<span class="badge valid">签名有效</span>') == 3  # two signatures and the refusal
