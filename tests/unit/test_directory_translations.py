"""Every Chinese string the directory pages show has an English translation."""

from __future__ import annotations

import json
import re
from pathlib import Path

from server.directory import services

ROOT = Path(__file__).resolve().parents[2] / "server"
TEMPLATE_STRING = re.compile(r"_\(\s*'([^']*)'")
CODE_STRING = re.compile(r'(?:translate\(|_field_error\([^,]+,\s*"[^"]+",)\s*"([^"]*)"')


def _english() -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((ROOT / "translations" / "en").glob("*.json")):
        merged.update(json.loads(path.read_text("utf-8")))
    return merged


def _directory_strings() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "templates" / "directory").glob("*.html"):
        if not path.name.startswith("imports"):  # the import pages have their own file
            found |= set(TEMPLATE_STRING.findall(path.read_text("utf-8")))
    for name in ("views.py", "services.py"):
        found |= set(CODE_STRING.findall((ROOT / "directory" / name).read_text("utf-8")))
    for labels in (
        services.TARGET_KIND_LABELS,
        services.TARGET_STATUS_LABELS,
        services.RISK_LABELS,
        services.INSPECTOR_KIND_LABELS,
        services.INSPECTOR_STATUS_LABELS,
        services.LEVEL_LABELS,
        services.TRADE_LABELS,
        services.ITEM_KIND_LABELS,
    ):
        found |= set(labels.values())
    return found


def test_every_directory_string_has_english() -> None:
    strings = _directory_strings()
    assert len(strings) > 100  # the scan found the pages
    missing = sorted(s for s in strings if s not in _english())
    assert missing == []


def test_directory_file_is_a_flat_string_map() -> None:
    data = json.loads((ROOT / "translations" / "en" / "directory.json").read_text("utf-8"))
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in data.items())
