"""The golden fixtures are exactly what the reference implementation answers, and PROTOCOL.md shows them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sync.errors import CODES
from sync.golden import replay

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "sync").glob("*.json"))
PROTOCOL = (ROOT / "sync" / "PROTOCOL.md").read_text(encoding="utf-8")


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_there_are_fixtures() -> None:
    assert len(FIXTURES) >= 10


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_replays_exactly(path: Path) -> None:
    fixture = load(path)
    assert fixture["name"] == path.stem
    assert fixture["description"]
    expected = [step["response"] for step in fixture["steps"]]
    # Compared as serialized text too: key order is part of "byte-identical".
    actual = replay(fixture)
    assert actual == expected
    assert json.dumps(actual, ensure_ascii=False) == json.dumps(expected, ensure_ascii=False)


def test_every_problem_code_has_a_worked_example() -> None:
    text = "\n".join(path.read_text(encoding="utf-8") for path in FIXTURES)
    assert [code for code in CODES if f'"code": "{code}"' not in text] == []


def test_protocol_documents_every_code_and_fixture() -> None:
    assert [code for code in CODES if f"`{code}`" not in PROTOCOL] == []
    # §11 lists every fixture with its description, word for word.
    assert [p.stem for p in FIXTURES if f"- `{p.stem}` — {load(p)['description']}" not in PROTOCOL] == []


def test_replays_in_fixtures_are_byte_identical() -> None:
    fixture = load(ROOT / "tests" / "fixtures" / "sync" / "02_replay_is_identical.json")
    first, second = (step["response"]["body"]["results"] for step in fixture["steps"])
    assert json.dumps(first[:2]) == json.dumps(second)
    assert first[2] == first[0]
