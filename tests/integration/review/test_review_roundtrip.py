"""The whole loop through the real sync API: submit, return with comments, the phones see them, fix,
re-sign and finalize version 2, the diff shows the change, approve, the phones are locked."""

from __future__ import annotations

from flask.testing import FlaskClient

from server.extensions import db
from server.inspections.models import Inspection
from sync.records import answer_id
from tests.integration.evidence.imagefiles import field_photo, signature_png
from tests.integration.review.conftest import Review, api
from tests.support.field import Phone, answer, change, current_content_hash, photo, signature


def _fix_and_resubmit(review: Review, phone_a: Phone, phone_b: Phone, sync_id: str) -> None:
    """What the team does on the phones after a return: change checkpoint 2 to 否 with a note, record
    a finding with a photo, sign the new content (both inspectors and the representative), finalize."""
    cp2 = review.world.checkpoints[1].id
    base = phone_a.records[("answer", answer_id(sync_id, cp2))]["version"]
    fix = answer(sync_id, cp2, "no", note="实际经营地址为建设路8号")
    fix["base_version"] = base
    finding = change(
        "finding",
        "0f0e0d0c-0b0a-4908-8706-050403020100",
        {
            "inspection_id": sync_id,
            "checkpoint_id": cp2,
            "description": "住所与登记不一致",
            "recorded_by": phone_a.inspector_id,
            "recorded_at": "2025-06-05T10:00:00+08:00",
        },
    )
    shot = field_photo((640, 480))
    pushed = phone_a.push(fix, finding, photo(sync_id, shot, phone_a.device_id, checkpoint_id=cp2))
    assert pushed.status_code == 200, pushed.json
    assert [r["status"] for r in pushed.json["results"]] == ["applied", "applied", "applied"], pushed.json
    assert phone_a.put_blob(shot).status_code == 201
    content = current_content_hash(phone_a, sync_id)
    pngs = [signature_png((420 + i, 170)) for i in range(3)]
    for png, phone, kw in (
        (pngs[0], phone_a, {"inspector_id": phone_a.inspector_id}),
        (pngs[1], phone_b, {"inspector_id": phone_b.inspector_id}),
        (pngs[2], phone_a, {"name": "赵某（法定代表人）"}),
    ):
        resp = phone.push(signature(sync_id, content, png, phone.device_id, **kw))  # type: ignore[arg-type]
        assert resp.json["results"][0]["status"] == "applied", resp.json
        assert phone.put_blob(png, kind="signature").status_code == 201
    done = phone_a.finalize(sync_id)
    assert done.status_code == 200, done.json
    assert done.json["content_hash"] == content


def test_return_fix_resubmit_diff_approve(client: FlaskClient, submitted: Review) -> None:
    assert submitted.phones is not None
    phone_a, phone_b = submitted.phones
    sync_id = submitted.sync_id
    inspection_id = submitted.world.inspection.id
    cp2 = submitted.world.checkpoints[1].id

    returned = api(
        client,
        submitted.supervisor,
        "POST",
        f"/api/v1/inspections/{inspection_id}/return",
        json={
            "version": 1,
            "comment": "请核实经营地址",
            "items": [{"checkpoint_id": cp2, "comment": "地址不一致"}],
        },
    )
    assert returned.status_code == 200, returned.json
    assert returned.json["status"] == "returned" and returned.json["number"] == 1

    # Both phones pull the return: state returned, the general comment and the checkpoint's comment.
    for phone in (phone_a, phone_b):
        phone.pull()
        fields = phone.inspection(sync_id)["fields"]
        assert fields["state"] == "returned"
        review = fields["review"]
        assert review["version"] == 1 and review["comment"] == "请核实经营地址"
        assert review["returned_at"].endswith("Z")
        assert {"checkpoint_id": cp2, "comment": "地址不一致"} in review["items"]
        assert {"checkpoint_id": None, "comment": "请核实经营地址"} in review["items"]

    _fix_and_resubmit(submitted, phone_a, phone_b, sync_id)
    inspection = db.session.get(Inspection, inspection_id)
    assert inspection is not None and inspection.state == "submitted"
    assert [(v.number, v.status) for v in inspection.versions] == [(1, "returned"), (2, "submitted")]

    listed = api(client, submitted.supervisor, "GET", f"/api/v1/inspections/{inspection_id}/versions")
    assert [v["number"] for v in listed.json] == [1, 2]
    v2 = api(client, submitted.supervisor, "GET", f"/api/v1/inspections/{inspection_id}/versions/2")
    assert v2.status_code == 200, v2.json
    diff = v2.json["diff"]
    assert diff["old_number"] == 1 and diff["new_number"] == 2 and diff["content_changed"]
    [changed] = diff["answers"]
    assert changed["checkpoint_id"] == cp2 and changed["old_value"] == "yes" and changed["new_value"] == "no"
    assert changed["new_note"] == "实际经营地址为建设路8号"
    assert [f["description"] for f in diff["findings_added"]] == ["住所与登记不一致"]
    assert len(diff["photos_added"]) == 1 and diff["photos_removed"] == []
    assert len(diff["signatures_added"]) == 3
    # The old signatures are kept in version 2's record but no longer hold for its content.
    statuses = sorted(s["status"] for s in v2.json["record"]["signatures"])
    assert statuses == ["stale"] * 3 + ["valid"] * 3
    assert v2.json["suggested_categories"] == ["pending"]  # a 否 answer suggests a problem category
    v1 = api(client, submitted.supervisor, "GET", f"/api/v1/inspections/{inspection_id}/versions/1")
    assert v1.json["diff"] is None
    assert {c["text"] for c in v1.json["comments"]} == {"请核实经营地址", "地址不一致"}

    # The page shows the same diff in words.
    from tests.support.factories import login_page

    login_page(client, submitted.supervisor)
    html = client.get(f"/review/inspections/{inspection_id}").get_data(as_text=True)
    assert "与第1版相比的变化" in html and "住所与登记不一致" in html and "实际经营地址为建设路8号" in html
    assert "<del>是</del>" in html and "<ins>否</ins>" in html

    # Approving version 1 now is stale; version 2 is approved with the suggested category.
    stale = api(
        client,
        submitted.supervisor,
        "POST",
        f"/api/v1/inspections/{inspection_id}/approve",
        json={"version": 1, "categories": ["pending"]},
    )
    assert stale.status_code == 409 and stale.json["code"] == "review_version_stale"
    approved = api(
        client,
        submitted.supervisor,
        "POST",
        f"/api/v1/inspections/{inspection_id}/approve",
        json={"version": 2, "categories": ["pending", "corrected"], "summary": "发现问题已责令改正"},
    )
    assert approved.status_code == 200, approved.json
    assert [c["code"] for c in approved.json["categories"]] == ["corrected", "pending"]

    # The phones learn it is approved; any further change is refused and kept on the phone.
    phone_b.pull()
    assert phone_b.inspection(sync_id)["fields"]["state"] == "approved"
    assert phone_b.inspection(sync_id)["fields"]["review"] is None
    late = phone_b.push(answer(sync_id, cp2, "yes"))
    assert late.json["results"][0]["status"] == "rejected"
    assert late.json["results"][0]["error"]["code"] == "sync_inspection_locked"
    again = api(
        client,
        submitted.supervisor,
        "POST",
        f"/api/v1/inspections/{inspection_id}/return",
        json={"version": 2, "comment": "再次退回"},
    )
    assert again.status_code == 409 and again.json["code"] == "inspection_frozen"
