"""Every page, as every kind of user, in Chinese and English: the smoke test of the whole website.

On a small demo county (``flask demo`` with 300 targets, then the demo's submissions and decisions
through the real services) this walks every GET rule of ``app.url_map`` that is not the JSON API,
filling each argument from objects that exist, as anonymous, an inspector, a supervisor, a leader,
an admin and a supervisor of another department, in zh_CN and in en. It asserts:

- no server error, ever;
- a page nobody logged in may see answers a redirect to the login page (or 401/403/404), and an
  inspector is kept out of the staff pages the same way;
- the supervisor of another department gets 403/404 for the bureau's objects, and none of the
  bureau's task or target names on a staff page of its own;
- every HTML page answered 200 has a <title>, and in English no Chinese is left in its visible text
  except data (a run of Chinese found in a database value, e.g. a name or an address) or Chinese the
  English catalogue deliberately keeps (a legal term glossed in brackets).

SQLite only: the point is every page and every role, which is a question of the views and templates,
not of the database; on PostgreSQL it would double the suite's longest test for no page the other
suites do not already render there.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from server.accounts.models import User
from server.demo import PASSWORD as DEMO_PASSWORD
from server.directory.import_formats import COLUMNS
from server.directory.models import Department
from server.extensions import db
from tests.integration.recovery.helpers import build_export
from tests.support import factories
from tests.support.factories import csrf_from, login_page
from tests.support.field import Phone
from tests.support.results import seed_categories

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

CJK = re.compile(r"[\u3400-\u9fff]+")
WIDE_COLON = re.compile(r"[A-Za-z)]\s*：")

# Not pages: static files, the field app's bundle (its own tests), the language switch (a redirect
# that sets a cookie; used below), and the JSON API (its own tests, with bearer tokens).
SKIP_PREFIXES = ("/static/", "/app/", "/lang/", "/api/")

# What someone who is not logged in may open.
PUBLIC_ENDPOINTS = {
    "web.home",
    "web.public_index",
    "web.healthz",
    "web.pwa_index",
    "accounts.login",
    "draws.public_draws",
    "draws.public_draw",
    "draws.public_snapshot",
    "draws.public_drawn_list",
    "draws.algorithm",
    "draws.verify_script",
    "publication.public_results",
    "publication.public_result",
    "publication.export_csv",
    "publication.export_xlsx",
    "publication.feed",
}

# What an inspector may open on the website besides the public pages: the bell, the recovery of
# their phone's export, and inspections they are on (their record and its evidence).
INSPECTOR_ENDPOINTS = PUBLIC_ENDPOINTS | {
    "notifications.notification_list",
    "recovery.imports",
    "recovery.detail",
    "inspection_records.record_pdf",
    "review.blob",
}

# Pages that show a bureau object by id: another department's supervisor must get 403/404.
OBJECT_ENDPOINTS = {
    "planning.plan_detail",
    "planning.new_task",
    "planning.task_detail",
    "planning.edit_task",
    "draws.draw_detail",
    "draws.task_draws",
    "review.inspection_page",
    "review.blob",
    "inspection_records.record_pdf",
    "followup.detail",
    "followup.inspection_follow_ups",
    "followup.evidence",
    "archive.archive_detail",
    "directory.inspector_detail",
    "directory.inspector_edit",
}

ROLES = ("anonymous", "inspector", "supervisor", "leader", "admin", "outsider")


class _Page(HTMLParser):
    """The <title> and the visible text of a page (not scripts, styles or attribute values)."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.text: list[str] = []
        self._hidden = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._hidden += 1
        self._in_title = self._in_title or tag == "title"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template"):
            self._hidden -= 1
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._hidden and data.strip():
            self.text.append(data.strip())


def _run(app: Flask, *args: str) -> None:
    result = app.test_cli_runner().invoke(args=list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output


def _data_text() -> str:
    """Every string held in the database (JSON decoded too): what a page may show in Chinese as data."""
    parts: list[str] = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            for (value,) in db.session.execute(text(f'SELECT "{column.name}" FROM "{table.name}"')):
                if isinstance(value, bytes):
                    continue
                if isinstance(value, (dict, list)):
                    value = json.dumps(value, ensure_ascii=False)
                if isinstance(value, str):
                    parts.append(value)
                    if value[:1] in "[{":
                        with contextlib.suppress(ValueError):
                            parts.append(json.dumps(json.loads(value), ensure_ascii=False))
    return "\n".join(parts)


def _kept_chinese() -> str:
    """The Chinese the English pages keep on purpose: what the English catalogue keeps (a legal
    term glossed in brackets, e.g. 视为未完成) and the column headers an import file may use."""
    directory = Path(__file__).parents[3] / "server" / "translations" / "en"
    kept = [v for p in sorted(directory.glob("*.json")) for v in json.loads(p.read_text("utf-8")).values()]
    kept += [name for columns in COLUMNS.values() for c in columns for name in (c.label, *c.aliases)]
    return "\n".join(kept)


def _values(name: str) -> list[Any]:
    """Up to two ids (or keys) of existing objects for a URL argument."""
    queries = {
        "plan_id": "SELECT id FROM plan ORDER BY id",
        "task_id": "SELECT id FROM task ORDER BY id",
        "draw_id": "SELECT id FROM draw ORDER BY id",
        "target_id": "SELECT id FROM target ORDER BY id",
        "item_id": "SELECT id FROM item ORDER BY id",
        "department_id": "SELECT id FROM department ORDER BY id",
        "inspector_id": "SELECT id FROM inspector ORDER BY id",
        "user_id": "SELECT id FROM account ORDER BY id",
        "category_id": "SELECT id FROM result_category ORDER BY id",
        "follow_up_id": "SELECT id FROM follow_up ORDER BY id",
        "job_id": "SELECT id FROM import_job ORDER BY id",
        "import_id": "SELECT id FROM recovery_import ORDER BY id",
        # Submitted, returned, approved and published ones: the pages with the most on them.
        "inspection_id": "SELECT id FROM inspection WHERE state <> 'assigned' ORDER BY state, id",
    }
    if name == "kind":
        return ["targets", "inspectors"]
    if name == "sha256":  # a file of each inspection walked
        of = "SELECT sha256 FROM blob_ref WHERE inspection_id = :id ORDER BY id LIMIT 1"
        return [db.session.scalar(text(of), {"id": i}) for i in _values("inspection_id")]
    rows = [row[0] for row in db.session.execute(text(queries[name]))]
    if name == "inspection_id":
        return rows[:1] + rows[-1:]  # one from each end of the states
    return rows[:2]


def _urls(app: Flask) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(endpoint, url, arguments) for every GET page rule, arguments filled from existing objects."""
    unfilled = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or ()) or rule.rule.startswith(SKIP_PREFIXES):
            continue
        args = sorted(rule.arguments)
        if not args:
            yield rule.endpoint, rule.rule, {}
            continue
        choices = [_values(a) for a in args]
        if not all(choices):
            unfilled.append(rule.rule)
            continue
        for i in range(max(len(c) for c in choices)):
            values = {a: c[min(i, len(c) - 1)] for a, c in zip(args, choices, strict=True)}
            yield rule.endpoint, rule.build(values, append_unknown=False)[1], values
    # A page whose objects the demo lacks goes untested: name it here so it is a decision.
    assert unfilled == [], f"no object to fill {unfilled}; give the demo one or handle the argument"


@pytest.fixture
def demo(app: Flask) -> dict[str, Any]:
    seed_categories()  # emptied with every table after the previous test; a real database has them
    _run(app, "demo", "--targets", "300")
    _run(app, "review", "demo-submissions", "--count", "6")
    _run(app, "review", "demo-decisions", "--keep", "2")
    _import_bad_targets(app)
    _upload_phone_export(app)
    bureau = db.session.scalar(select(Department).where(Department.name == "高平市市场监督管理局"))
    other = db.session.scalar(select(Department).where(Department.name == "高平市卫生健康局"))
    assert bureau is not None and other is not None
    factories.user(roles=("supervisor",), department=other, username="outsider", password=DEMO_PASSWORD)
    # The inspector: one on the team of the first inspection walked, and not of the last.
    first, last = _values("inspection_id")
    on_team = (
        "SELECT a.username FROM team_member m JOIN inspector i ON i.id = m.inspector_id"
        " JOIN account a ON a.id = i.user_id WHERE m.inspection_id = :id AND m.removed_at IS NULL"
    )
    team = {u for (u,) in db.session.execute(text(on_team), {"id": first})}
    team -= {u for (u,) in db.session.execute(text(on_team), {"id": last})}
    inspector = sorted(team)[0]
    own_blobs = {
        sha
        for (sha,) in db.session.execute(
            text("SELECT sha256 FROM blob_ref WHERE inspection_id = :id"), {"id": first}
        )
    }
    names = [n for (n,) in db.session.execute(text("SELECT name FROM task"))]
    inspected = (
        "SELECT t.name FROM target t JOIN inspection i ON i.target_id = t.id WHERE i.state <> 'assigned'"
    )
    names += [n for (n,) in db.session.execute(text(inspected))]
    return {
        "data": _data_text() + "\n" + _kept_chinese(),
        "bureau_names": names,
        "users": {"inspector": inspector, "outsider": "outsider"},
        "inspector_owns": {"inspection_id": {first}, "sha256": own_blobs},
    }


def _import_bad_targets(app: Flask) -> None:
    """A dry run of a targets import with a bad line, through the page, so the import job's pages
    (the job, its status, its errors CSV) have something to show."""
    client = _client(app, "admin")
    resp = client.post(
        "/directory/imports",
        data={
            "csrf_token": csrf_from(client, "/directory/imports"),
            "kind": "targets",
            "mode": "create",
            "dry_run": "1",
            "file": (io.BytesIO("统一社会信用代码,名称\n123,坏数据\n".encode()), "bad.csv"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code in (200, 302), resp.get_data(as_text=True)[:2000]


def _upload_phone_export(app: Flask) -> None:
    """GP001's phone exports its unsynced data (nothing); GP001 uploads it on 数据恢复 (a dry run)."""
    client = _client(app, "GP001")
    phone = Phone(app.test_client(), "GP001", password=DEMO_PASSWORD)
    phone.login()
    phone.pull()
    user = db.session.scalar(select(User).where(User.username == "GP001"))
    assert user is not None
    export = build_export(phone, user.id, [])
    resp = client.post(
        "/recovery",
        data={
            "csrf_token": csrf_from(client, "/recovery"),
            "file": (io.BytesIO(json.dumps(export).encode()), "unsynced.json"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code in (200, 302), resp.get_data(as_text=True)[:2000]


def _login(client: FlaskClient, username: str) -> None:
    user = db.session.scalar(select(User).where(User.username == username))
    assert user is not None, username
    login_page(client, user, DEMO_PASSWORD)


def _client(app: Flask, username: str | None) -> FlaskClient:
    client = app.test_client()
    if username is not None:
        _login(client, username)
    return client


def test_every_page_as_every_role_in_both_languages(app: Flask, demo: dict[str, Any]) -> None:
    urls = list(_urls(app))
    problems: list[str] = []
    for role in ROLES:
        client = _client(app, None if role == "anonymous" else demo["users"].get(role, role))
        for locale in ("zh_CN", "en"):
            client.set_cookie("lang", locale)
            for endpoint, url, args in urls:
                resp = client.get(url, buffered=True)  # read whole: file responses hold their file open
                resp.close()
                where = f"{role} {locale} {url}"
                status = resp.status_code
                if status >= 500:
                    problems.append(f"{where}: {status}")
                    continue
                allowed = {
                    "anonymous": PUBLIC_ENDPOINTS,
                    "inspector": INSPECTOR_ENDPOINTS,
                }.get(role)
                if allowed is not None and endpoint not in allowed and status == 200:
                    problems.append(f"{where}: 200 for {role}")
                if status == 302 and role == "anonymous" and "/login" not in resp.headers["Location"]:
                    problems.append(f"{where}: redirects to {resp.headers['Location']}")
                if role == "inspector" and status == 200:
                    # An inspector opens only the inspections (and their files) they are on.
                    for name, own in demo["inspector_owns"].items():
                        if name in args and args[name] not in own:
                            problems.append(f"{where}: 200 for an inspector not on the team")
                if role == "outsider" and endpoint in OBJECT_ENDPOINTS and status == 200:
                    problems.append(f"{where}: 200 for another department's supervisor")
                if status != 200 or resp.mimetype != "text/html":
                    continue
                page = _Page()
                page.feed(resp.get_data(as_text=True))
                if not page.title.strip():
                    problems.append(f"{where}: no <title>")
                # The targets and their past inspections are the shared master directory (一单两库).
                if (
                    role == "outsider"
                    and endpoint not in PUBLIC_ENDPOINTS
                    and not endpoint.startswith("directory.")
                ):
                    shown = "\n".join(page.text)
                    leaked = [n for n in demo["bureau_names"] if n in shown]
                    if leaked:
                        problems.append(f"{where}: shows the bureau's {leaked[:3]}")
                if locale == "en":
                    left = sorted(
                        {
                            r
                            for t in page.text
                            for r in CJK.findall(t)
                            if r != "中文" and r not in demo["data"]
                        }
                    )
                    if left:
                        problems.append(f"{where}: Chinese left in English: {left[:8]}")
                    # An English label followed by a Chinese full-width colon ("Legal basis：").
                    odd = [t for t in page.text if WIDE_COLON.search(t) and t not in demo["data"]]
                    if odd:
                        problems.append(f"{where}: full-width colon in English: {odd[:3]}")
    assert problems == [], "\n".join(problems)
