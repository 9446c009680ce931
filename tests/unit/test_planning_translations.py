"""Every Chinese string the planning pages and messages show has an English entry."""

from __future__ import annotations

import json
import re
from pathlib import Path

from server.planning import parsing, views
from server.planning.importing import COLUMNS
from server.planning.models import MODES

ROOT = Path(__file__).resolve().parents[2] / "server"


def _catalogue() -> dict[str, str]:
    data: dict[str, str] = {}
    for name in ("common.json", "planning.json"):
        data.update(json.loads((ROOT / "translations" / "en" / name).read_text("utf-8")))
    return data


def _source_strings() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "templates" / "planning").glob("*.html"):
        found |= set(re.findall(r"_\(\s*'((?:[^'\\]|\\.)*)'", path.read_text("utf-8")))
    for path in (ROOT / "planning").glob("*.py"):
        found |= set(re.findall(r'translate\(\s*"((?:[^"\\]|\\.)*)"', path.read_text("utf-8")))
    for table in (
        views.STATUS_NAMES,
        views.TYPE_NAMES,
        views.STRATUM_NAMES,
        MODES,
        parsing.KIND_LABELS,
        parsing.STATUS_LABELS,
    ):
        found |= set(table.values())
    found |= {aliases[0] for aliases in COLUMNS.values()}
    return found


def test_every_planning_string_is_translated() -> None:
    strings = _source_strings()
    assert len(strings) > 100  # the extraction itself works
    missing = sorted(s for s in strings if s not in _catalogue())
    assert missing == []


def test_translations_keep_their_placeholders() -> None:
    own = json.loads((ROOT / "translations" / "en" / "planning.json").read_text("utf-8"))
    for zh, en in own.items():
        assert sorted(re.findall(r"\{(\w+)\}", zh)) == sorted(re.findall(r"\{(\w+)\}", en)), zh
