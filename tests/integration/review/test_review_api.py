"""The review API: queue, counts, versions, return, approve, result, withholding — and who may use it."""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from server.extensions import db
from server.inspections.models import Inspection
from tests.integration.review.conftest import Review, api
from tests.support import factories


def test_queue_and_counts(client: FlaskClient, submitted: Review) -> None:
    inspection_id = submitted.world.inspection.id
    resp = api(client, submitted.supervisor, "GET", "/api/v1/review/queue")
    assert resp.status_code == 200, resp.json
    [row] = resp.json
    assert row["id"] == inspection_id and row["state"] == "submitted" and row["version"] == 1
    assert row["target"]["name"] == submitted.world.target.name
    assert row["tasks"][0]["department"] == submitted.world.department.name
    assert row["leader"] == "张建国" and row["overdue"] is False and row["late"] is False
    assert json.loads(resp.headers["X-Pagination"])["total"] == 1

    counts = api(client, submitted.supervisor, "GET", "/api/v1/review/counts")
    assert counts.json == {"submitted": 1, "returned": 0, "approved": 0}
    assert api(client, submitted.supervisor, "GET", "/api/v1/review/queue?state=returned").json == []
    assert api(client, submitted.supervisor, "GET", "/api/v1/review/queue?q=nomatch").json == []
    bad = api(client, submitted.supervisor, "GET", "/api/v1/review/queue?state=bogus")
    assert bad.status_code == 422 and bad.json["code"] == "validation_failed"

    # Another department's supervisor: an empty queue and 404 for the inspection itself.
    assert api(client, submitted.outsider, "GET", "/api/v1/review/queue").json == []
    for path in (
        f"/api/v1/inspections/{inspection_id}/versions",
        f"/api/v1/inspections/{inspection_id}/versions/1",
        f"/api/v1/inspections/{inspection_id}/result",
    ):
        assert api(client, submitted.outsider, "GET", path).status_code == 404
    assert api(client, submitted.admin, "GET", "/api/v1/review/counts").json["submitted"] == 1


def test_inspectors_and_anonymous_callers_are_refused(client: FlaskClient, submitted: Review) -> None:
    inspection_id = submitted.world.inspection.id
    inspector = submitted.world.users["a"]
    for method, path, body in (
        ("GET", "/api/v1/review/queue", None),
        ("GET", f"/api/v1/inspections/{inspection_id}/versions/1", None),
        (
            "POST",
            f"/api/v1/inspections/{inspection_id}/approve",
            {"version": 1, "categories": ["no_problem"]},
        ),
        ("POST", f"/api/v1/inspections/{inspection_id}/return", {"version": 1, "comment": "x"}),
    ):
        resp = api(client, inspector, method, path, json=body)
        assert resp.status_code == 403 and resp.json["code"] == "forbidden", (path, resp.json)
        anonymous = client.open(path, method=method, json=body)
        assert anonymous.status_code == 401 and anonymous.json["code"] == "auth_required"
    assert db.session.get(Inspection, inspection_id).state == "submitted"  # type: ignore[union-attr]


def test_outsider_cannot_decide(client: FlaskClient, submitted: Review) -> None:
    inspection_id = submitted.world.inspection.id
    resp = api(
        client,
        submitted.outsider,
        "POST",
        f"/api/v1/inspections/{inspection_id}/approve",
        json={"version": 1, "categories": ["no_problem"]},
    )
    assert resp.status_code == 404 and resp.json["code"] == "not_found"
    assert api(client, submitted.supervisor, "GET", "/api/v1/inspections/999999/versions").status_code == 404
    assert (
        api(
            client, submitted.supervisor, "GET", f"/api/v1/inspections/{inspection_id}/versions/9"
        ).status_code
        == 404
    )


def test_return_validation(client: FlaskClient, submitted: Review) -> None:
    path = f"/api/v1/inspections/{submitted.world.inspection.id}/return"
    cases = [
        ({"comment": "x"}, 422, "validation_failed"),  # no version
        ({"version": 1}, 422, "review_comment_required"),
        ({"version": 1, "items": [{"checkpoint_id": 424242, "comment": "?"}]}, 422, "validation_failed"),
        ({"version": 1, "items": [{"checkpoint_id": 1, "comment": ""}]}, 422, "validation_failed"),
        ({"version": 1, "comment": "x", "extra": 1}, 422, "validation_failed"),
    ]
    for body, status, code in cases:
        resp = api(client, submitted.supervisor, "POST", path, json=body)
        assert (resp.status_code, resp.json["code"]) == (status, code), (body, resp.json)
    assert db.session.get(Inspection, submitted.world.inspection.id).state == "submitted"  # type: ignore[union-attr]


def test_approve_with_withholding_and_leader_decision(client: FlaskClient, submitted: Review) -> None:
    inspection_id = submitted.world.inspection.id
    base = f"/api/v1/inspections/{inspection_id}"
    assert api(client, submitted.supervisor, "GET", f"{base}/result").status_code == 404
    no_reason = api(
        client,
        submitted.supervisor,
        "POST",
        f"{base}/approve",
        json={"version": 1, "categories": ["no_problem"], "publish": False},
    )
    assert no_reason.status_code == 422 and no_reason.json["code"] == "withhold_reason_required"
    approved = api(
        client,
        submitted.supervisor,
        "POST",
        f"{base}/approve",
        json={
            "version": 1,
            "categories": ["no_problem"],
            "publish": False,
            "withhold_reason": "涉及国家秘密",
        },
    )
    assert approved.status_code == 200, approved.json
    assert approved.json["withhold_status"] == "requested" and approved.json["publish"] is False

    pending = api(client, submitted.leader, "GET", "/api/v1/withholdings")
    assert [r["inspection_id"] for r in pending.json] == [inspection_id]
    assert api(client, submitted.outsider, "GET", "/api/v1/withholdings").json == []

    decision = {"approve": True, "note": "同意不予公示"}
    by_supervisor = api(client, submitted.supervisor, "POST", f"{base}/result/withholding", json=decision)
    assert by_supervisor.status_code == 403
    outsider_leader = factories.user(roles=["leader"], department=submitted.outsider.department)
    hidden = api(client, outsider_leader, "POST", f"{base}/result/withholding", json=decision)
    assert hidden.status_code == 404
    decided = api(client, submitted.leader, "POST", f"{base}/result/withholding", json=decision)
    assert decided.status_code == 200, decided.json
    assert (
        decided.json["withhold_status"] == "approved"
        and decided.json["withhold_decided_by_id"] == submitted.leader.id
    )
    twice = api(client, submitted.leader2, "POST", f"{base}/result/withholding", json={"approve": False})
    assert twice.status_code == 409 and twice.json["code"] == "withhold_not_requested"
    assert api(client, submitted.leader, "GET", "/api/v1/withholdings").json == []
    done = api(client, submitted.leader, "GET", "/api/v1/withholdings?status=approved")
    assert [r["inspection_id"] for r in done.json] == [inspection_id]
    result = api(client, submitted.supervisor, "GET", f"{base}/result")
    assert result.json["withhold_reason"] == "涉及国家秘密"


def test_review_paths_are_in_the_openapi_document(client: FlaskClient) -> None:
    paths = client.get("/api/openapi.json").json["paths"]
    for path in (
        "/api/v1/review/queue",
        "/api/v1/review/counts",
        "/api/v1/inspections/{inspection_id}/versions",
        "/api/v1/inspections/{inspection_id}/versions/{number}",
        "/api/v1/inspections/{inspection_id}/return",
        "/api/v1/inspections/{inspection_id}/approve",
        "/api/v1/inspections/{inspection_id}/result",
        "/api/v1/inspections/{inspection_id}/result/withholding",
        "/api/v1/withholdings",
        "/api/v1/result-categories",
        "/api/v1/result-categories/{category_id}",
    ):
        assert path in paths, path


def test_two_reviewers_at_once_exactly_one_wins(client: FlaskClient, submitted: Review) -> None:
    """A return and an approval race on the same version: one succeeds, the other is refused (409)
    and changes nothing — the compare-and-set on the inspection's state, on both databases."""
    import threading

    inspection_id = submitted.world.inspection.id
    base = f"/api/v1/inspections/{inspection_id}"
    headers = {
        "approve": factories.auth_header(submitted.supervisor, device_id="desk-race-1"),
        "return": factories.auth_header(submitted.leader, device_id="desk-race-2"),
    }
    bodies = {
        "approve": {"version": 1, "categories": ["no_problem"]},
        "return": {"version": 1, "comment": "同时退回"},
    }
    barrier = threading.Barrier(2)
    statuses: dict[str, int] = {}
    codes: dict[str, str] = {}

    def act(kind: str) -> None:
        # A plain client: each request pushes its own app context, so each thread has its own
        # database session (the suite's client resets the test's session, which is not this thread's).
        own = FlaskClient(client.application, client.application.response_class)
        barrier.wait()
        resp = own.post(f"{base}/{kind}", json=bodies[kind], headers=headers[kind])
        statuses[kind] = resp.status_code
        codes[kind] = resp.json.get("code", "")

    threads = [threading.Thread(target=act, args=(kind,)) for kind in ("approve", "return")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses.values()) == [200, 409], (statuses, codes)
    winner = "approve" if statuses["approve"] == 200 else "return"
    loser = "return" if winner == "approve" else "approve"
    assert codes[loser] in ("inspection_frozen", "inspection_not_submitted")
    db.session.expire_all()
    inspection = db.session.get(Inspection, inspection_id)
    assert inspection is not None
    assert inspection.state == ("approved" if winner == "approve" else "returned")
    assert [v.status for v in inspection.versions] == [inspection.state]
