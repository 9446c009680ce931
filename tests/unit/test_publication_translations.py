"""Every Chinese string the publication and follow-up pages and the record PDF show has an English entry."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from server.followup import services as followup_services
from server.followup import views as followup_views
from server.inspections import record_pdf
from server.publication import services as publication_services
from server.publication import views as publication_views

ROOT = Path(__file__).resolve().parents[2] / "server"


def _catalogue() -> dict[str, str]:
    """The catalogue as the app merges it: these pages reuse labels other areas already translate
    (target kinds, 抽查任务…), and an entry of ours must not override theirs with another wording."""
    data: dict[str, str] = {}
    for path in sorted((ROOT / "translations" / "en").glob("*.json")):
        data.update(json.loads(path.read_text("utf-8")))
    return data


def _strings(templates: list[Path], modules: list[Path], tables: list[dict[str, str]]) -> set[str]:
    found: set[str] = set()
    for path in templates:
        found |= set(re.findall(r"_\(\s*'((?:[^'\\]|\\.)*)'", path.read_text("utf-8")))
    for path in modules:
        found |= set(re.findall(r'translate\(\s*"((?:[^"\\]|\\.)*)"', path.read_text("utf-8")))
        found |= set(re.findall(r"translate\(\s*'((?:[^'\\]|\\.)*)'", path.read_text("utf-8")))
    for table in tables:
        found |= set(table.values())
    return found


AREAS = {
    "publication.json": (
        [
            *sorted((ROOT / "templates" / "publication").glob("*.html")),
            ROOT / "templates" / "public" / "index.html",
            ROOT / "templates" / "public" / "problems.html",
        ],
        [ROOT / "publication" / "views.py"],
        [
            publication_views.KIND_NAMES,
            publication_views.WITHHOLD_NAMES,
            publication_services.TASK_TYPE_NAMES,
            followup_services.KIND_NAMES,  # closed follow-ups on the public result
        ],
    ),
    "followup.json": (
        sorted((ROOT / "templates" / "followup").glob("*.html")),
        [ROOT / "followup" / "views.py"],
        [
            followup_services.KIND_NAMES,
            followup_services.STATUS_NAMES,
            followup_services.EVENT_NAMES,
            followup_views.FIELD_MESSAGES,
        ],
    ),
    "records.json": (
        [],
        [ROOT / "inspections" / "record_pdf.py"],
        [
            record_pdf.ANSWER_NAMES,
            record_pdf.OUTCOME_NAMES,
            record_pdf.ROLE_NAMES,
            record_pdf.SIGNER_NAMES,
            record_pdf.SIGNATURE_STATUS,
            record_pdf.VERSION_STATUS,
        ],
    ),
}


@pytest.mark.parametrize("own", sorted(AREAS))
def test_every_string_is_translated(own: str) -> None:
    strings = _strings(*AREAS[own])
    assert len(strings) > 40  # the extraction itself works
    catalogue = _catalogue()
    assert sorted(s for s in strings if s not in catalogue) == []


@pytest.mark.parametrize("own", sorted(AREAS))
def test_translations_keep_their_placeholders(own: str) -> None:
    for zh, en in json.loads((ROOT / "translations" / "en" / own).read_text("utf-8")).items():
        assert sorted(re.findall(r"\{(\w+)\}", zh)) == sorted(re.findall(r"\{(\w+)\}", en)), zh
