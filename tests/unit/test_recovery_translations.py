"""Every Chinese string of the recovery pages and their labels has an English entry, placeholders kept."""

from __future__ import annotations

import json
import re
from pathlib import Path

from server.errors import CATALOGUE
from server.recovery import services, views
from sync.errors import CODES

ROOT = Path(__file__).resolve().parents[2] / "server"


def _english() -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((ROOT / "translations" / "en").glob("*.json")):
        merged.update(json.loads(path.read_text("utf-8")))
    return merged


def _strings() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "templates" / "recovery").glob("*.html"):
        found |= set(re.findall(r"_\(\s*'((?:[^'\\]|\\.)*)'", path.read_text("utf-8")))
    found |= set(
        re.findall(r'translate\(\s*"((?:[^"\\]|\\.)*)"', (ROOT / "recovery" / "views.py").read_text("utf-8"))
    )
    for table in (
        views.STATUS_NAMES,
        views.CHANGE_STATUS_NAMES,
        views.FILE_STATUS_NAMES,
        views.RECORD_NAMES,
        views.FILE_KIND_NAMES,
        views.FIELD_NAMES,
        views.SIGNER_ROLE_NAMES,
        services.SYNC_CODE_TITLES,
    ):
        found |= set(table.values())
    return found


def test_every_recovery_string_has_english() -> None:
    strings = _strings()
    assert len(strings) > 60  # the scan found the pages
    assert sorted(s for s in strings if s not in _english()) == []


def test_translations_keep_their_placeholders() -> None:
    own = json.loads((ROOT / "translations" / "en" / "recovery.json").read_text("utf-8"))
    for zh, en in own.items():
        assert en.strip(), zh
        assert sorted(re.findall(r"\{(\w+)\}", zh)) == sorted(re.findall(r"\{(\w+)\}", en)), zh


def test_every_code_a_report_can_name_has_a_title() -> None:
    # Hold codes and file refusals come from the catalogue or the protocol's per-change codes.
    for code in (
        *services.HOLD_CODES,
        "recovery_blob_missing",
        "recovery_blob_malformed",
        "blob_hash_mismatch",
    ):
        assert code in CATALOGUE or code in services.SYNC_CODE_TITLES, code
    assert set(services.SYNC_CODE_TITLES) <= set(CODES)
