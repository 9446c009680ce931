"""The import API, pages (with CSRF) and CLI: background jobs, polling, admin only."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.directory.importer import wait_for_imports
from server.directory.models import ImportJob, Target
from server.extensions import db
from tests.integration.directory_import.conftest import Setup, bad_check_digit, code, csv_bytes, xlsx_bytes
from tests.support.factories import auth_header, csrf_from, login_page


def targets_file(n: int = 3, bad_line: int | None = None) -> tuple[bytes, list[str]]:
    codes = [code() for _ in range(n)]
    rows: list[list[Any]] = [["统一社会信用代码", "名称", "类型", "标签"]]
    for i, c in enumerate(codes):
        rows.append([bad_check_digit(c) if bad_line == i + 2 else c, f"测试企业{i}", "企业", "食品"])
    return csv_bytes(rows), codes


def n_targets() -> int:
    return db.session.scalar(select(func.count()).select_from(Target)) or 0


def finished(client: FlaskClient, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Poll like the page does until the job is finished."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = client.get(url, headers=headers or {}).json
        assert body is not None
        if body["finished"]:
            return dict(body)
        time.sleep(0.05)
    raise AssertionError("import did not finish")


# --- API ---------------------------------------------------------------------------------------


def upload(
    client: FlaskClient, headers: dict[str, str], data: bytes, name: str = "t.csv", **form: Any
) -> Any:
    fields = {"kind": "targets", **{k: str(v).lower() for k, v in form.items()}}
    return client.post(
        "/api/v1/imports",
        data={**fields, "file": (io.BytesIO(data), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_api_upload_answers_202_then_the_job_reports_its_result(client: FlaskClient, setup: Setup) -> None:
    headers = auth_header(setup.admin)
    data, codes = targets_file(5)
    resp = upload(client, headers, data)
    assert resp.status_code == 202, resp.json
    job = resp.json
    assert job["kind"] == "targets" and job["mode"] == "create" and job["dry_run"] is False
    assert job["status"] in ("validating", "applying", "done")
    body = finished(client, f"/api/v1/imports/{job['id']}", headers)
    assert body["status"] == "done"
    assert (body["total_rows"], body["processed_rows"], body["error_count"]) == (5, 5, 0)
    assert body["summary"]["created"] == 5 and body["errors"] == []
    assert body["summary"]["created_sample"] == codes
    assert body["created_by_id"] == setup.admin.id
    assert n_targets() == 5
    listed = client.get("/api/v1/imports", headers=headers).json
    assert [j["id"] for j in listed] == [job["id"]] and "errors" not in listed[0]


def test_api_errors_by_line_then_a_clean_dry_run_is_applied(client: FlaskClient, setup: Setup) -> None:
    headers = auth_header(setup.admin)
    bad, _ = targets_file(4, bad_line=3)
    job = upload(client, headers, bad, dry_run=True).json
    body = finished(client, f"/api/v1/imports/{job['id']}", headers)
    assert body["status"] == "invalid" and body["error_count"] == 1
    (error,) = body["errors"]
    assert error["line"] == 3 and error["code"] == "credit_code_check_digit" and error["field"] == "code"
    assert error["column"] == "统一社会信用代码" and "校验位" in error["message"]
    # An invalid dry run cannot be applied; neither can a job that was not a dry run.
    refused = client.post(f"/api/v1/imports/{job['id']}/apply", headers=headers)
    assert refused.status_code == 422 and refused.json["code"] == "import_invalid"

    good, codes = targets_file(3)
    dry = upload(client, headers, good, name="good.csv", dry_run=True).json
    body = finished(client, f"/api/v1/imports/{dry['id']}", headers)
    assert body["status"] == "ready" and body["summary"]["created_sample"] == codes
    assert n_targets() == 0
    applied = client.post(f"/api/v1/imports/{dry['id']}/apply", headers=headers)
    assert applied.status_code == 202
    assert applied.json["dry_run"] is False and applied.json["file_sha256"] == dry["file_sha256"]
    body = finished(client, f"/api/v1/imports/{applied.json['id']}", headers)
    assert body["status"] == "done"
    assert n_targets() == 3
    again = client.post(f"/api/v1/imports/{applied.json['id']}/apply", headers=headers)
    assert again.status_code == 409 and again.json["code"] == "import_not_ready"


def test_api_input_problems(client: FlaskClient, setup: Setup) -> None:
    headers = auth_header(setup.admin)
    missing = client.post("/api/v1/imports", data={"kind": "targets"}, headers=headers)
    assert missing.status_code == 422 and missing.json["code"] == "validation_failed"
    wrong_kind = upload(client, headers, b"x", kind="people")
    assert wrong_kind.status_code == 422 and "kind" in wrong_kind.json["errors"]["form"]
    xls = upload(client, headers, b"\xd0\xcf\x11\xe0", name="old.xls")
    assert xls.status_code == 422 and xls.json["code"] == "import_unreadable"
    empty = upload(client, headers, b"", name="empty.csv")
    assert empty.status_code == 422 and empty.json["code"] == "import_unreadable"
    assert client.get("/api/v1/imports/999", headers=headers).json["code"] == "import_not_found"
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_api_is_admin_only(client: FlaskClient, setup: Setup) -> None:
    data, _ = targets_file(1)
    assert upload(client, {}, data).status_code == 401
    resp = upload(client, auth_header(setup.supervisor), data)
    assert resp.status_code == 403 and resp.json["code"] == "forbidden"
    job = upload(client, auth_header(setup.admin, "device-admin"), data).json
    wait_for_imports()
    sup = auth_header(setup.supervisor, "device-sup")
    assert client.get(f"/api/v1/imports/{job['id']}", headers=sup).status_code == 403
    assert client.get("/api/v1/imports", headers=sup).status_code == 403
    assert client.post(f"/api/v1/imports/{job['id']}/apply", headers=sup).status_code == 403


def test_openapi_documents_the_multipart_upload(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").json
    post = spec["paths"]["/api/v1/imports"]["post"]
    schema = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    ref = schema["$ref"].rsplit("/", 1)[-1]
    props = spec["components"]["schemas"][ref]["properties"]
    assert {"kind", "mode", "dry_run", "file"} <= set(props)
    assert props["file"]["format"] == "binary"
    assert "202" in post["responses"]
    assert "/api/v1/imports/{job_id}" in spec["paths"]


# --- pages -------------------------------------------------------------------------------------


def test_page_flow_upload_dry_run_then_apply(client: FlaskClient, setup: Setup) -> None:
    login_page(client, setup.admin)
    page = client.get("/directory/imports")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="dry_run" value="1" checked' in html and 'enctype="multipart/form-data"' in html
    csrf = csrf_from(client, "/directory/imports")
    data, codes = targets_file(4)
    form = {"kind": "targets", "mode": "create", "dry_run": "1", "file": (io.BytesIO(data), "对象.csv")}
    # Without the CSRF token nothing happens.
    assert (
        client.post("/directory/imports", data=dict(form), content_type="multipart/form-data").status_code
        == 400
    )
    form["file"] = (io.BytesIO(data), "对象.csv")
    resp = client.post(
        "/directory/imports", data={**form, "csrf_token": csrf}, content_type="multipart/form-data"
    )
    assert resp.status_code == 302
    job_url = resp.headers["Location"]
    job_id = int(job_url.rstrip("/").rsplit("/", 1)[-1])
    status = finished(client, f"/directory/imports/{job_id}/status")
    assert status["status"] == "ready" and status["processed_rows"] == 4
    html = client.get(job_url).get_data(as_text=True)
    assert "试导入通过" in html and "按此文件正式导入" in html and codes[0] in html
    assert "<progress" not in html
    assert n_targets() == 0
    # Apply: also needs the token.
    assert client.post(f"/directory/imports/{job_id}/apply").status_code == 400
    resp = client.post(f"/directory/imports/{job_id}/apply", data={"csrf_token": csrf})
    assert resp.status_code == 302
    new_url = resp.headers["Location"]
    new_id = int(new_url.rstrip("/").rsplit("/", 1)[-1])
    assert new_id != job_id
    assert finished(client, f"/directory/imports/{new_id}/status")["status"] == "done"
    assert n_targets() == 4
    html = client.get(new_url).get_data(as_text=True)
    assert "导入完成" in html and "按此文件正式导入" not in html
    listing = client.get("/directory/imports").get_data(as_text=True)
    assert f"/directory/imports/{new_id}" in listing and "对象.csv" in listing


def test_page_shows_every_bad_line_and_offers_the_errors_as_csv(client: FlaskClient, setup: Setup) -> None:
    login_page(client, setup.admin)
    csrf = csrf_from(client, "/directory/imports")
    rows = [
        ["统一社会信用代码", "名称", "类型"],
        [code(), "", "企业"],
        ["91", "短", "企业"],
        [code(), "x", "公司法人"],
    ]
    data = xlsx_bytes(rows)
    resp = client.post(
        "/directory/imports",
        data={
            "kind": "targets",
            "mode": "create",
            "csrf_token": csrf,
            "file": (io.BytesIO(data), "bad.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    job_id = int(resp.headers["Location"].rsplit("/", 1)[-1])
    assert finished(client, f"/directory/imports/{job_id}/status")["status"] == "invalid"
    html = client.get(f"/directory/imports/{job_id}").get_data(as_text=True)
    assert "未导入任何数据" in html
    for line, reason in ((2, "required"), (3, "credit_code_length"), (4, "bad_enum")):
        assert f"<td>{line}</td>" in html and f"<code>{reason}</code>" in html
    errors_csv = client.get(f"/directory/imports/{job_id}/errors.csv")
    assert errors_csv.mimetype == "text/csv"
    text_ = errors_csv.data.decode("utf-8-sig")
    assert text_.splitlines()[0] == "行号,列,原因代码,说明"
    assert "3,统一社会信用代码,credit_code_length," in text_
    client.get("/lang/en")
    html = client.get(f"/directory/imports/{job_id}").get_data(as_text=True)
    assert "A unified social credit code has 18 characters, this one has 2" in html


def test_page_form_validation(client: FlaskClient, setup: Setup) -> None:
    login_page(client, setup.admin)
    csrf = csrf_from(client, "/directory/imports")
    resp = client.post(
        "/directory/imports",
        data={"kind": "nope", "mode": "create", "csrf_token": csrf, "file": (io.BytesIO(b"a,b"), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "请选择导入类型" in html and "只支持 CSV 或 XLSX 文件" in html
    resp = client.post("/directory/imports", data={"kind": "targets", "mode": "create", "csrf_token": csrf})
    assert resp.status_code == 422 and "请选择要上传的文件" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_a_running_job_page_polls_its_status(client: FlaskClient, setup: Setup) -> None:
    from server.directory.importer import create_import_job

    job = create_import_job("targets", targets_file(2)[0], "t.csv", actor_id=setup.admin.id)
    db.session.commit()  # created but not started: the page shows it running
    login_page(client, setup.admin)
    html = client.get(f"/directory/imports/{job.id}").get_data(as_text=True)
    assert "<progress" in html and f'data-status-url="/directory/imports/{job.id}/status"' in html
    assert 'id="import-progress"' in html  # site.js polls the URL of the element with this id
    status = client.get(f"/directory/imports/{job.id}/status").json
    assert status == {
        "id": job.id,
        "status": "validating",
        "status_label": "校验中",
        "processed_rows": 0,
        "total_rows": 0,
        "error_count": 0,
        "finished": False,
    }


def test_templates_download_per_kind(client: FlaskClient, setup: Setup) -> None:
    login_page(client, setup.admin)
    resp = client.get("/directory/imports/templates/inspectors.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.data.decode("utf-8-sig").startswith("人员编号,姓名,部门代码")
    assert client.get("/directory/imports/templates/nope.csv").status_code == 404
    html = client.get("/directory/imports").get_data(as_text=True)
    for kind in ("departments", "items", "targets", "inspectors", "conflicts", "history"):
        assert f"/directory/imports/templates/{kind}.csv" in html


def test_pages_are_admin_only(client: FlaskClient, setup: Setup, make: Any) -> None:
    resp = client.get("/directory/imports")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    login_page(client, setup.supervisor)
    assert client.get("/directory/imports").status_code == 403
    assert client.get("/directory/imports/templates/targets.csv").status_code == 403
    csrf = csrf_from(client, "/")
    resp = client.post(
        "/directory/imports",
        data={"kind": "targets", "mode": "create", "csrf_token": csrf, "file": (io.BytesIO(b"a"), "a.csv")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


# --- CLI ---------------------------------------------------------------------------------------


def test_cli_import_prints_errors_by_line_and_exits_1(app: Flask, setup: Setup, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    bad, _ = targets_file(3, bad_line=4)
    path = tmp_path / "bad.csv"
    path.write_bytes(bad)
    result = runner.invoke(args=["directory", "import", "targets", str(path)])
    assert result.exit_code == 1
    assert "line 4 [统一社会信用代码] credit_code_check_digit" in result.output
    assert n_targets() == 0

    good, _ = targets_file(3)
    path.write_bytes(good)
    result = runner.invoke(args=["directory", "import", "targets", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would create 3" in result.output and n_targets() == 0
    result = runner.invoke(args=["directory", "import", "targets", str(path)])
    assert result.exit_code == 0 and "created 3" in result.output
    result = runner.invoke(args=["directory", "import", "targets", str(path), "--mode", "upsert"])
    assert result.exit_code == 0 and "updated 0, unchanged 3" in result.output
    assert n_targets() == 3


def test_an_import_interrupted_by_a_restart_is_marked_and_can_run_again(
    client: FlaskClient, setup: Setup
) -> None:
    import datetime as dt

    from server.directory.importer import STALE_AFTER, create_import_job, fail_interrupted_imports
    from server.scheduler.services import run_job

    data, _codes = targets_file(3)
    # As a restart leaves it: created (and stuck applying) by a process that is gone.
    job = create_import_job("targets", data, "对象.csv", actor_id=setup.admin.id)
    job.status = "applying"
    fresh = create_import_job("targets", data, "again.csv", dry_run=True, actor_id=setup.admin.id)
    db.session.commit()
    assert job.heartbeat_at is not None
    beat = job.heartbeat_at
    assert fail_interrupted_imports(beat + STALE_AFTER - dt.timedelta(seconds=1)) == []  # still alive
    db.session.rollback()
    later = beat + STALE_AFTER + dt.timedelta(minutes=1)
    fresh.heartbeat_at = later - dt.timedelta(minutes=2)  # it beat recently: left alone
    db.session.commit()
    run = run_job("import_watchdog", later)
    assert run.status == "ok" and run.summary == {"interrupted": 1}
    assert run_job("import_watchdog", later).summary == {"interrupted": 0}  # idempotent
    db.session.expire_all()
    assert (job.status, fresh.status) == ("failed", "validating")
    assert [e["code"] for e in job.errors] == ["interrupted"] and n_targets() == 0

    login_page(client, setup.admin)
    page = client.get(f"/directory/imports/{job.id}").get_data(as_text=True)
    assert "导入因服务重启而中断，未导入任何数据" in page and "重新运行" in page
    csrf = csrf_from(client, f"/directory/imports/{job.id}")
    assert client.post(f"/directory/imports/{job.id}/rerun").status_code == 400  # CSRF
    resp = client.post(f"/directory/imports/{job.id}/rerun", data={"csrf_token": csrf})
    assert resp.status_code == 302
    new_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    assert finished(client, f"/directory/imports/{new_id}/status")["status"] == "done"
    assert n_targets() == 3
    # Only a failed job runs again.
    again = client.post(
        f"/directory/imports/{new_id}/rerun", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert "只有失败的导入才能重新运行" in again.get_data(as_text=True)
    assert n_targets() == 3


def test_api_runs_a_failed_import_again(client: FlaskClient, setup: Setup) -> None:
    from server.directory.importer import create_import_job

    headers = auth_header(setup.admin)
    data, _codes = targets_file(2)
    job = create_import_job("targets", data, "t.csv", dry_run=True, actor_id=setup.admin.id)
    db.session.commit()
    refused = client.post(f"/api/v1/imports/{job.id}/rerun", headers=headers)
    assert refused.status_code == 409 and refused.json["code"] == "import_not_failed"
    job.status = "failed"
    db.session.commit()
    resp = client.post(f"/api/v1/imports/{job.id}/rerun", headers=headers)
    assert resp.status_code == 202 and resp.json["id"] != job.id and resp.json["dry_run"] is True
    assert finished(client, f"/api/v1/imports/{resp.json['id']}", headers)["status"] == "ready"
    assert n_targets() == 0  # a dry run again, as the failed one was
    assert client.post("/api/v1/imports/999999/rerun", headers=headers).status_code == 404
