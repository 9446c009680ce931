"""The demo's target generator and data files, without an app or a database."""

from __future__ import annotations

import csv
import random
import re
from collections import Counter
from pathlib import Path

from server.demo import TargetGenerator, load_data
from server.directory import creditcode
from server.directory.grams import name_grams
from server.directory.models import MARKET_KINDS, RISK_CLASSES, TARGET_KINDS, TARGET_STATUSES
from server.planning.parsing import SCOPE_TAGS, parse_items, parse_scope

PLAN = Path(__file__).resolve().parents[2] / "server" / "planning" / "data" / "gaoping_2025_plan.csv"


def _plan_rows() -> list[dict[str, str]]:
    with PLAN.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_same_seed_same_targets_and_another_seed_differs() -> None:
    first = [g.row for g in TargetGenerator(random.Random(5)).generate(500)]
    again = [g.row for g in TargetGenerator(random.Random(5)).generate(500)]
    other = [g.row for g in TargetGenerator(random.Random(6)).generate(500)]
    assert first == again
    assert [r["code"] for r in first] != [r["code"] for r in other]


def test_rows_are_valid_and_consistent() -> None:
    rows = list(TargetGenerator(random.Random(1)).generate(3000))
    assert len(rows) == 3000
    codes = [g.row["code"] for g in rows]
    assert len(set(codes)) == len(codes)
    for g in rows:
        r = g.row
        assert r["kind"] in TARGET_KINDS and r["status"] in TARGET_STATUSES
        if r["kind"] in MARKET_KINDS:
            assert creditcode.is_valid(r["code"])
            assert r["code"][:2] == creditcode.KIND_PREFIX[r["kind"]]
            assert r["legal_rep"]
        else:
            assert re.fullmatch(r"[PX]-140581-\d{4}", r["code"])
        assert r["search_grams"] == name_grams(r["name"])
        assert r["district"] and r["industry"]
        if r["kind"] == "enterprise":
            assert r["risk_class"] in RISK_CLASSES and r["risk_assessed_on"] is not None
        else:
            assert r["risk_class"] is None
        assert r["last_inspected_on"] == (max(g.history) if g.history else None)
        assert all(d.year in (2023, 2024, 2025) for d in g.history)


def test_mix_follows_the_shares() -> None:
    rows = [g.row for g in TargetGenerator(random.Random(3)).generate(20_000)]
    kinds = Counter(r["kind"] for r in rows)
    assert 0.32 < kinds["enterprise"] / len(rows) < 0.38
    assert 0.57 < kinds["individual"] / len(rows) < 0.63
    assert 0.03 < kinds["cooperative"] / len(rows) < 0.07
    assert 0 < kinds["product"] + kinds["project"] < 20
    risks = Counter(r["risk_class"] for r in rows if r["kind"] == "enterprise")
    total = sum(risks.values())
    for cls, share in (("A", 0.45), ("B", 0.40), ("C", 0.12), ("D", 0.03)):
        assert abs(risks[cls] / total - share) < 0.02, (cls, risks)
    active = sum(r["status"] == "active" for r in rows) / len(rows)
    assert 0.88 < active < 0.95
    never = sum(r["last_inspected_on"] is None for r in rows) / len(rows)
    assert 0.6 < never < 0.95


def test_profile_tags_are_the_plan_scope_tags_and_all_are_covered_early() -> None:
    profiles = load_data("names")["profiles"]
    used = {tag for p in profiles for tag in p["tags"]}
    assert used <= set(SCOPE_TAGS)
    # Every tag some task of the plan scopes on has a profile that always or often carries it, and
    # the first targets (one per profile, all active) give each task a non-empty pool.
    plan_tags = {
        t
        for row in _plan_rows()
        for t in parse_scope(row["抽查对象范围"], row["抽查任务名称"]).get("tags", [])
    }
    assert plan_tags <= used
    first = list(TargetGenerator(random.Random(9)).generate(len(profiles)))
    assert all(g.row["status"] == "active" for g in first)


def test_every_item_the_plan_names_is_on_the_item_list() -> None:
    listed = {item["name"] for item in load_data("items")["items"]}
    named = {name for row in _plan_rows() for name in parse_items(row["抽查事项"])}
    assert named <= listed, named - listed


def test_items_have_checklists_kinds_and_legal_basis() -> None:
    items = load_data("items")["items"]
    codes = [i["code"] for i in items]
    assert len(set(codes)) == len(codes)
    for item in items:
        assert item["kind"] in ("general", "key")
        assert item["legal_basis"].startswith("《")
        assert 3 <= len(item["checkpoints"]) <= 6, item["name"]
        assert all(len(cp) == 2 and cp[0] and cp[1] for cp in item["checkpoints"])
    key = {i["name"] for i in items if i["kind"] == "key"}
    assert {"食品销售监督检查", "特种设备使用单位的监督检查", "工业产品生产许可证产品是否在有效期内"} <= key


def test_county_lists_the_real_towns_and_streets() -> None:
    districts = [d["name"] for d in load_data("county")["districts"]]
    assert districts == [
        "东城街道", "南城街道", "北城街道", "米山镇", "三甲镇", "神农镇", "陈区镇", "北诗镇",
        "河西镇", "马村镇", "野川镇", "寺庄镇", "建宁乡", "石末乡", "原村乡", "永录乡",
    ]  # fmt: skip
