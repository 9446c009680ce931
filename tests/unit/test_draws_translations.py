"""Every Chinese string the draws pages and messages show has an English entry."""

from __future__ import annotations

import json
import re
from pathlib import Path

from server.draws import views

ROOT = Path(__file__).resolve().parents[2] / "server"


def _catalogue() -> dict[str, str]:
    data: dict[str, str] = {}
    for name in ("common.json", "draws.json"):
        data.update(json.loads((ROOT / "translations" / "en" / name).read_text("utf-8")))
    return data


def _source_strings() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "templates" / "draws").glob("*.html"):
        found |= set(re.findall(r"_\(\s*'((?:[^'\\]|\\.)*)'", path.read_text("utf-8")))
    found |= set(
        re.findall(r'translate\(\s*"((?:[^"\\]|\\.)*)"', (ROOT / "draws" / "views.py").read_text("utf-8"))
    )
    for table in (
        views.STRATUM_NAMES,
        views.STATUS_NAMES,
        views.ROLE_NAMES,
        views.REASON_NAMES,
        views.REPLACEMENT_STATUS,
        views.PROBLEM_NAMES,
    ):
        found |= set(table.values())
    return found


def test_every_draws_string_is_translated() -> None:
    strings = _source_strings()
    assert len(strings) > 100  # the extraction itself works
    assert sorted(s for s in strings if s not in _catalogue()) == []


def test_translations_keep_their_placeholders() -> None:
    own = json.loads((ROOT / "translations" / "en" / "draws.json").read_text("utf-8"))
    for zh, en in own.items():
        assert sorted(re.findall(r"\{(\w+)\}", zh)) == sorted(re.findall(r"\{(\w+)\}", en)), zh
