"""A staffable draw comes out exactly as the code before peer departments (003 第十七条) drew it.

``tests/fixtures/draws/golden_teams.json`` was written by the draw code of ``main`` at commit
6c27bcf (before peers existed) for the scenario below with fixed server entropy: a bureau with
stations and partner departments, specialties, an expired credential, an expert, declared
conflicts, an open visit that loads one inspector, and a second, joint task that merges into the
first task's visits. Today's code must give the same drawn targets and the same teams for it, with
the peers of every department now known (same trade) but never needed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.directory.models import Department, Inspector
from server.draws import services
from server.draws.models import Draw
from server.extensions import db
from server.inspections.models import TeamMember
from tests.integration.draws.conftest import DRAW_DAY, Builder

GOLDEN = Path(__file__).parents[2] / "fixtures" / "draws" / "golden_teams.json"
ENTROPY = (bytes(range(32)), bytes(range(32, 64)))


def build_scenario(build: Builder, set_trade: Callable[[Department, str], None]) -> dict[str, Any]:
    """The scenario's directory and two tasks; ``set_trade`` gives departments their trade."""
    bureau = build.department("高平市市场监督管理局")
    stations = [
        build.department(f"第{i}市场监督管理所", level="station", parent_id=bureau.id) for i in (1, 2)
    ]
    housing = build.department("高平市住房和城乡建设局")
    health = build.department("高平市卫生健康局")
    for dept, trade in ((bureau, "market"), *((s, "market") for s in stations)):
        set_trade(dept, trade)
    set_trade(housing, "housing")
    set_trade(health, "health")
    food = build.item(bureau, specialty="食品")
    staff = build.inspectors(bureau, 5, specialties=["食品", "登记注册"])
    build.inspector(bureau, specialties=["计量"])  # no 食品: never on the food task
    build.inspector(bureau, credential_valid_until=dt.date(2025, 1, 1))
    build.inspector(bureau, kind="expert")
    for station in stations:
        build.inspectors(station, 2)
    partners = build.inspectors(housing, 2) + build.inspectors(health, 2)
    targets = []
    for i, cls in enumerate(["A", "B", "C", "D", None] * 8):
        last = None if i % 7 == 0 else dt.date(2024 - i % 4, 5, 1)
        targets.append(build.target(risk_class=cls, last_inspected_on=last))
    build.conflict(staff[0], targets[3])
    build.conflict(staff[1], targets[8])
    build.conflict(partners[0], targets[13])
    elsewhere = build.target(risk_class=None, status="liquidating")  # outside every scope
    old = build.task(bureau)
    for _ in range(2):
        build.visit(elsewhere, [(staff[2], "leader")], old)
    first = build.task(bureau, items=[food], team_size=3)
    second = build.task(
        bureau,
        cooperating=[housing, health],
        fixed_count=12,
        window_start=dt.date(2025, 5, 1),
        window_end=dt.date(2025, 7, 31),
    )
    build.commit()
    return {"first": first, "second": second}


def describe(draw: Draw) -> dict[str, Any]:
    """What a draw selected and whom it put on which visit, by codes (no database ids)."""
    drawn = []
    teams: dict[str, list[list[Any]]] = {}
    for row in draw.drawn:
        code = row.target.code
        drawn.append([row.rank, code, row.stratum, row.weight])
        members = db.session.execute(
            select(Inspector.code, TeamMember.role, Department.code)
            .join(Inspector, Inspector.id == TeamMember.inspector_id)
            .join(Department, Department.id == TeamMember.department_id)
            .where(TeamMember.inspection_id == row.inspection_id, TeamMember.draw_id == draw.id)
            .order_by(TeamMember.id)
        )
        teams[code] = [list(m) for m in members]
    return {
        "seed": draw.seed,
        "snapshot_hash": draw.snapshot_hash,
        "strata": draw.strata,
        "drawn": drawn,
        "teams": teams,
    }


def perform_both(scenario: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    out = []
    for task, entropy in zip((scenario["first"], scenario["second"]), ENTROPY, strict=True):
        monkeypatch.setattr(services.secrets, "token_bytes", lambda n, e=entropy: e[:n])
        draw = services.perform_draw(task, witness="golden", today=DRAW_DAY)
        db.session.commit()
        assert services.verify_draw(draw) == []
        out.append(describe(draw))
    return out


def _set_trade(dept: Department, trade: str) -> None:
    dept.trade = trade
    db.session.flush()


def test_a_staffable_draw_is_exactly_what_the_code_before_peers_drew(
    build: Builder, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = build_scenario(build, _set_trade)
    got = perform_both(scenario, monkeypatch)
    assert got == json.loads(GOLDEN.read_text("utf-8"))
    for draw in db.session.scalars(select(Draw)):
        assert draw.parameters["team"]["peers"] is None  # never needed, so nothing recorded
