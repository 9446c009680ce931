"""The public JSON feed (paged, updated_since) and the CSV/XLSX exports for the publicity system."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable

from flask.testing import FlaskClient
from openpyxl import load_workbook

from server.extensions import db
from server.results.models import InspectionResult
from tests.support.field import FieldWorld

EXPORT_HEADER = [
    "统一社会信用代码",
    "市场主体名称",
    "检查实施机关",
    "类型",
    "日期",
    "结果",
    "抽查任务",
    "抽取结果公示",
]


def test_feed_items_carry_the_public_fields_only(
    client: FlaskClient, published: Callable[..., FieldWorld]
) -> None:
    world = published(categories=("no_problem",), summary="未发现问题")
    resp = client.get("/results/feed.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.json
    assert body["remaining"] == 1 and body["next"] is None and body["per_page"] == 100
    (item,) = body["items"]
    assert item["id"] == world.inspection.id
    assert item["url"].endswith(f"/results/{world.inspection.id}")
    assert item["target"] == {
        "name": world.target.name,
        "code": world.target.code,
        "kind": "enterprise",
        "address": world.target.address,
        "legal_representative": "赵某",
    }
    assert item["inspection_date"] == "2025-06-03"
    assert item["published_at"] == "2025-06-06T01:00:00Z"
    assert item["result"] == {
        "categories": [{"code": "no_problem", "name": "未发现问题", "name_en": "No problem found"}],
        "summary": "未发现问题",
    }
    assert item["departments"] == [world.department.name]
    (task,) = item["tasks"]
    assert (
        task["name"] == world.task.name and task["type"] == "undirected" and task["type_name"] == "不定向抽查"
    )
    assert task["draw_id"] == world.draw.id and task["draw_url"].endswith(f"/public/draws/{world.draw.id}")
    assert item["follow_ups"] == [] and item["follow_up_open"] is False
    assert set(item) == {
        "id",
        "url",
        "target",
        "inspection_date",
        "published_at",
        "updated_at",
        "result",
        "departments",
        "tasks",
        "follow_ups",
        "follow_up_open",
    }


def test_feed_pages_and_updated_since(client: FlaskClient, published: Callable[..., FieldWorld]) -> None:
    worlds = [published(name=f"高平市订阅测试{n}有限公司") for n in range(5)]
    # Spread the change times: world n changed on June 10+n (UTC); worlds 3 and 4 at the same moment.
    for n, world in enumerate(worlds):
        result = db.session.query(InspectionResult).filter_by(inspection_id=world.inspection.id).one()
        result.updated_at = dt.datetime(2025, 6, 10 + min(n, 3), 8, 0)
    db.session.commit()
    ids = [w.inspection.id for w in worlds]

    first = client.get("/results/feed.json?per_page=2").json
    assert first["remaining"] == 5
    assert [i["id"] for i in first["items"]] == ids[:2]  # oldest change first
    assert "per_page=2" in first["next"] and f"after={ids[1]}" in first["next"]
    # A result that changes while the client pages moves to the end: nothing is skipped.
    changed = db.session.query(InspectionResult).filter_by(inspection_id=ids[0]).one()
    changed.updated_at = dt.datetime(2025, 7, 1)
    db.session.commit()
    second = client.get(first["next"]).json
    assert [i["id"] for i in second["items"]] == ids[2:4] and second["remaining"] == 4
    third = client.get(second["next"]).json  # worlds 3 and 4 share a moment: the id breaks the tie
    assert [i["id"] for i in third["items"]] == [ids[4], ids[0]] and third["next"] is None

    since = client.get("/results/feed.json?updated_since=2025-06-12T08:00:00Z").json
    assert [i["id"] for i in since["items"]] == [*ids[2:], ids[0]]
    # The same moment with a +08:00 offset (sent unencoded, its "+" arrives as a space).
    local = client.get("/results/feed.json?updated_since=2025-06-12T16:00:00+08:00").json
    assert [i["id"] for i in local["items"]] == [*ids[2:], ids[0]]
    # A bare date is 00:00 in Shanghai: 2025-06-13 00:00 +08:00 = 2025-06-12 16:00 UTC.
    day = client.get("/results/feed.json?updated_since=2025-06-13").json
    assert [i["id"] for i in day["items"]] == [*ids[3:], ids[0]]


def test_feed_refuses_bad_parameters_with_a_problem_document(client: FlaskClient) -> None:
    for query in ("per_page=0", "per_page=501", "updated_since=yesterday", "after=x", "after=3", "task=-1"):
        resp = client.get(f"/results/feed.json?{query}")
        assert resp.status_code == 422, query
        assert resp.mimetype == "application/problem+json"
        assert resp.json["code"] == "validation_failed" and resp.json["errors"]


def test_csv_export_is_shaped_for_the_publicity_system(
    client: FlaskClient, published: Callable[..., FieldWorld]
) -> None:
    world = published(categories=("not_disclosed", "corrected"))
    tricky = published(name="=HYPERLINK(1)有限公司")
    product = published(name="高平市某批次食品", target_kind="product")

    resp = client.get("/results/export.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == EXPORT_HEADER
    by_code = {r[0]: r for r in rows[1:]}
    assert world.target.code in by_code and product.target.code not in by_code  # market entities only
    row = by_code[world.target.code]
    assert row[1:7] == [
        world.target.name,
        world.department.name,
        "不定向抽查",
        "2025-06-03",
        "未按规定公示应当公示的信息；发现问题已责令改正",
        world.task.name,
    ]
    assert row[7].startswith("http") and row[7].endswith(f"/public/draws/{world.draw.id}")
    assert by_code[tricky.target.code][1] == "'=HYPERLINK(1)有限公司"  # never a formula

    filtered = client.get(f"/results/export.csv?task={world.task.id}").get_data(as_text=True)
    assert world.target.code in filtered and tricky.target.code not in filtered


def test_xlsx_export_reads_back_and_holds_text_only(
    client: FlaskClient, published: Callable[..., FieldWorld]
) -> None:
    world = published()
    published(name="=1+2有限公司")
    resp = client.get("/results/export.xlsx")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(resp.data))
    sheet = book.worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == EXPORT_HEADER
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code[world.target.code][1] == world.target.name
    cell = next(c for row in sheet.iter_rows() for c in row if c.value == "=1+2有限公司")
    assert cell.data_type == "s"
    # Readable when opened: the header stays in view, names and codes are not cut off.
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width >= 20 and sheet.column_dimensions["B"].width >= 30
    assert resp.headers["Cache-Control"] == "public, max-age=60"


def test_feed_and_csv_may_be_cached_for_a_minute(
    client: FlaskClient, published: Callable[..., FieldWorld]
) -> None:
    published()
    for url in ("/results/feed.json", "/results/export.csv"):
        assert client.get(url).headers["Cache-Control"] == "public, max-age=60", url


def test_xlsx_export_is_capped(client: FlaskClient, published: Callable[..., FieldWorld]) -> None:
    published()
    published()
    client.application.config["PUBLICATION_EXPORT_MAX_ROWS"] = 1
    resp = client.get("/results/export.xlsx", headers={"Accept": "application/json"})
    assert resp.status_code == 422 and resp.json["code"] == "export_too_large"
    assert client.get("/results/export.csv").status_code == 200  # the CSV streams without a cap
    page = client.get("/results/export.xlsx", headers={"Accept": "text/html"})
    assert page.status_code == 422
    assert "最多1行：请按抽查任务或部门筛选，或下载CSV" in page.get_data(as_text=True)
