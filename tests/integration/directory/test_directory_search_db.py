"""Target search over the full-text index: fragments, single characters, code prefixes, filters."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import insert, update

from server.directory.grams import name_grams
from server.directory.models import Target
from server.directory.search import COUNT_CAP, search_targets
from server.extensions import db
from tests.integration.directory.conftest import World, add_target, credit_code


def names(rows: list[Target]) -> list[str]:
    return [t.name for t in rows]


def test_fragment_of_two_or_more_characters(app: Flask) -> None:
    a = add_target("文水县好味食品店")
    b = add_target("太原市食品有限公司")
    add_target("文水县五金商店")
    rows, total = search_targets("食品", {}, 20, 0)
    assert names(rows) == [a.name, b.name] and total == 2
    rows, total = search_targets("食品店", {}, 20, 0)
    assert names(rows) == [a.name] and total == 1
    # The bigrams must be adjacent and in order: "品食" is not in any name.
    assert search_targets("品食", {}, 20, 0) == ([], 0)


def test_single_character_matches_bigrams_and_single_runs(app: Flask) -> None:
    a = add_target("文水县好味食品店")
    b = add_target("食 (分店)")  # "食" alone is a one-character run
    add_target("太原五金")
    rows, _ = search_targets("食", {}, 20, 0)
    assert names(rows) == [a.name, b.name]
    assert search_targets("鑫", {}, 20, 0) == ([], 0)


def test_no_match_and_unsearchable_text(app: Flask) -> None:
    add_target("文水县好味食品店")
    assert search_targets("不存在的名字", {}, 20, 0) == ([], 0)
    assert search_targets("（）", {}, 20, 0) == ([], 0)
    assert search_targets('"食', {}, 20, 0)[1] == 1  # quotes cannot break the query


def test_several_runs_are_anded(app: Flask) -> None:
    a = add_target("文水县好味食品店")
    add_target("交城县食品厂")
    rows, _ = search_targets("文水 食品", {}, 20, 0)
    assert names(rows) == [a.name]


def test_code_prefix_is_case_insensitive_and_ordered_by_code(app: Flask) -> None:
    c1 = add_target("甲", code="91140000AAAAAAAA1X", kind="project")
    c2 = add_target("乙", code="91140000AAAAAAAA0X", kind="project")
    add_target("丙", code="92140000BBBBBBBB0X", kind="project")
    rows, total = search_targets("91140000aaaa", {}, 20, 0)
    assert [t.code for t in rows] == [c2.code, c1.code] and total == 2
    rows, _ = search_targets("9", {}, 20, 0)
    assert len(rows) == 3
    assert search_targets("93", {}, 20, 0) == ([], 0)
    assigned = add_target("某建设项目", code="XM-2025-001", kind="project")
    assert search_targets("xm-2025", {}, 20, 0) == ([assigned], 1)


def test_ascii_name_found_when_no_code_matches(app: Flask) -> None:
    kfc = add_target("KFC 文水店")
    rows, _ = search_targets("kfc", {}, 20, 0)
    assert names(rows) == [kfc.name]


def test_filters(app: Flask) -> None:
    a = add_target("文水县好味食品店", district="文水县", risk_class="C", tags=["食品经营"])
    b = add_target("文水县食品加工厂", district="文水县", risk_class="A", industry="食品制造")
    c = add_target("交城县食品店", district="交城县", kind="individual", status="deregistered")
    assert names(search_targets("食品", {"district": "文水县"}, 20, 0)[0]) == [a.name, b.name]
    assert names(search_targets("食品", {"risk_class": "A"}, 20, 0)[0]) == [b.name]
    assert names(search_targets("", {"tag": "食品经营"}, 20, 0)[0]) == [a.name]
    assert names(search_targets("", {"kind": "individual"}, 20, 0)[0]) == [c.name]
    assert names(search_targets("", {"status": "deregistered"}, 20, 0)[0]) == [c.name]
    assert names(search_targets("", {"industry": "食品制造"}, 20, 0)[0]) == [b.name]
    assert search_targets("食品", {"district": "文水县", "kind": "individual"}, 20, 0) == ([], 0)


def test_pagination_is_stable_and_counts(app: Flask) -> None:
    made = [add_target(f"好味食品店{i}") for i in range(7)]
    page1, total = search_targets("食品", {}, 3, 0)
    page3, total3 = search_targets("食品", {}, 3, 6)
    assert names(page1) == [t.name for t in made[:3]] and total == 7
    assert names(page3) == [made[6].name] and total3 == 7
    everything, total = search_targets("", {}, 5, 0)
    assert len(everything) == 5 and total == 7


def test_count_is_capped(app: Flask, monkeypatch: Any) -> None:
    import server.directory.search as search

    monkeypatch.setattr(search, "COUNT_CAP", 3)
    for i in range(6):
        add_target(f"好味食品店{i}")
    assert search_targets("食品", {}, 2, 0)[1] == 4  # cap + 1 means "more than the cap"
    assert COUNT_CAP == 1_000


def test_renaming_refreshes_the_index(app: Flask) -> None:
    t = add_target("文水县好味食品店")
    t.name = "文水县鑫源五金店"
    db.session.commit()
    assert t.search_grams == name_grams("文水县鑫源五金店")
    assert search_targets("食品", {}, 20, 0) == ([], 0)
    assert names(search_targets("五金", {}, 20, 0)[0]) == [t.name]


def test_bulk_core_inserts_and_updates_are_indexed(app: Flask) -> None:
    # Imports write with core statements; the triggers (SQLite) or the expression index (PG)
    # must see those rows as well as ORM ones.
    rows = [
        {"code": credit_code(), "name": n, "kind": "enterprise", "search_grams": name_grams(n)}
        for n in ("晋中市鑫源食品店", "晋中市五金店")
    ]
    db.session.execute(insert(Target), rows)
    db.session.commit()
    assert names(search_targets("鑫源", {}, 20, 0)[0]) == ["晋中市鑫源食品店"]
    db.session.execute(
        update(Target)
        .where(Target.name == "晋中市五金店")
        .values(name="晋中市鑫源五金店", search_grams=name_grams("晋中市鑫源五金店"))
    )
    db.session.execute(Target.__table__.delete().where(Target.name == "晋中市鑫源食品店"))
    db.session.commit()
    assert names(search_targets("鑫源", {}, 20, 0)[0]) == ["晋中市鑫源五金店"]


def test_api_search(client: Any, world: World) -> None:
    a = add_target("文水县好味食品店", district="文水县")
    add_target("太原市食品有限公司", district="小店区")
    resp = client.get(
        "/api/v1/targets",
        query_string={"q": "食品", "district": "文水县"},
        headers=world.auth(world.supervisor),
    )
    assert resp.status_code == 200
    assert [t["code"] for t in resp.json["items"]] == [a.code]
    assert resp.json["total"] == 1 and resp.json["total_capped"] is False
    bad = client.get(
        "/api/v1/targets", query_string={"risk_class": "E"}, headers=world.auth(world.supervisor)
    )
    assert bad.status_code == 422 and "risk_class" in bad.json["errors"]["query"]
