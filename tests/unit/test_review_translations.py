"""Every Chinese string the review and result-category pages show has an English entry."""

from __future__ import annotations

import json
import re
from pathlib import Path

from server.results import views as results_views
from server.review import views as review_views
from server.web.nav import NAV

ROOT = Path(__file__).resolve().parents[2] / "server"
OWN = ("review.json", "results.json")


def _catalogue() -> dict[str, str]:
    data: dict[str, str] = {}
    for path in sorted((ROOT / "translations" / "en").glob("*.json")):
        data.update(json.loads(path.read_text("utf-8")))
    return data


def _source_strings() -> set[str]:
    found: set[str] = set()
    for folder in ("review", "results"):
        for path in (ROOT / "templates" / folder).glob("*.html"):
            found |= set(re.findall(r"_\(\s*'((?:[^'\\]|\\.)*)'", path.read_text("utf-8")))
        found |= set(
            re.findall(r'translate\(\s*"((?:[^"\\]|\\.)*)"', (ROOT / folder / "views.py").read_text("utf-8"))
        )
    for table in (
        review_views.STATE_NAMES,
        review_views.TAB_NAMES,
        review_views.VERSION_STATUS,
        review_views.ANSWER_NAMES,
        review_views.OUTCOME_NAMES,
        review_views.WITHHOLD_NAMES,
        review_views.ROLE_NAMES,
        review_views.SIGNER_ROLES,
        review_views.KIND_NAMES,
        review_views.EVENT_NAMES,
        results_views.FLAGS,
    ):
        found |= set(table.values())
    found |= {label for endpoint, label, _roles in NAV if endpoint.split(".")[0] in ("review", "results")}
    return found


def test_every_review_string_is_translated() -> None:
    strings = _source_strings()
    assert len(strings) > 150  # the extraction itself works
    assert sorted(s for s in strings if s not in _catalogue()) == []


def test_own_translations_keep_placeholders() -> None:
    # Other areas may word the same Chinese differently: each area's file wins on its own pages.
    for name in OWN:
        own = json.loads((ROOT / "translations" / "en" / name).read_text("utf-8"))
        for zh, en in own.items():
            assert sorted(re.findall(r"\{(\w+)\}", zh)) == sorted(re.findall(r"\{(\w+)\}", en)), zh
