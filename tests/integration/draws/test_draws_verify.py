"""verify_draw and the `flask draws` commands: an honest draw verifies, any tampering shows."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from server.draws.models import Draw, DrawnTarget
from server.draws.services import perform_draw, verify_draw
from server.extensions import db
from server.inspections.models import TeamMember
from server.storage import blob_store
from tests.integration.draws.conftest import DRAW_DAY


def _draw(county: dict[str, Any]) -> Draw:
    draw = perform_draw(county["task"], witness="公证员", today=DRAW_DAY)
    db.session.commit()
    return draw


def test_an_honest_draw_verifies_even_after_the_directory_changes(county: dict[str, Any], build: Any) -> None:
    draw = _draw(county)
    for ins in county["inspectors"]:
        ins.status = "retired"  # today's directory no longer matters: the pool was frozen
    build.targets(5, risk_class="D")
    db.session.commit()
    assert verify_draw(draw) == []


def test_a_tampered_drawn_target_is_detected(county: dict[str, Any]) -> None:
    draw = _draw(county)
    drawn_ids = set(db.session.scalars(select(DrawnTarget.target_id).where(DrawnTarget.draw_id == draw.id)))
    outsider = next(t for t in county["targets"] if t.id not in drawn_ids)
    row = db.session.scalars(
        select(DrawnTarget).where(DrawnTarget.draw_id == draw.id, DrawnTarget.rank == 1)
    ).one()
    row.target_id = outsider.id
    db.session.commit()
    problems = verify_draw(draw)
    assert any(p.startswith("drawn targets differ") and outsider.code in p for p in problems)


def test_a_swapped_rank_or_weight_is_detected(county: dict[str, Any]) -> None:
    draw = _draw(county)
    row = db.session.scalars(
        select(DrawnTarget).where(DrawnTarget.draw_id == draw.id, DrawnTarget.rank == 2)
    ).one()
    row.weight = 3 if row.weight != 3 else 1
    db.session.commit()
    assert any("rank/stratum/weight" in p for p in verify_draw(draw))


def test_a_tampered_or_missing_snapshot_is_detected(county: dict[str, Any]) -> None:
    draw = _draw(county)
    path = blob_store().path_for(draw.snapshot_hash)
    original = path.read_bytes()
    path.write_bytes(original.replace(b",A,", b",B,", 1))
    assert verify_draw(draw) == ["snapshot file does not match its hash"]
    path.unlink()
    assert verify_draw(draw) == ["snapshot file missing from the blob store"]
    path.write_bytes(original)
    assert verify_draw(draw) == []


def test_a_tampered_team_or_seed_is_detected(county: dict[str, Any]) -> None:
    draw = _draw(county)
    member = db.session.scalars(select(TeamMember).where(TeamMember.draw_id == draw.id).limit(1)).one()
    spare = next(i for i in county["inspectors"] if i.id != member.inspector_id)
    member.inspector_id = spare.id
    db.session.commit()
    assert any(p.startswith("teams differ") for p in verify_draw(draw))
    draw.witness_input = "另一个见证人"
    db.session.commit()
    assert "seed does not match SHA-256(entropy ‖ witness input)" in verify_draw(draw)


def test_cli_verify_and_run(county: dict[str, Any], app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["draws", "run", str(county["task"].id), "--witness", "群众代表"])
    assert result.exit_code == 0, result.output
    draw = db.session.scalars(select(Draw)).one()
    assert draw.witness_input == "群众代表" and f"draw {draw.id}" in result.output
    again = runner.invoke(args=["draws", "run", str(county["task"].id)])
    assert again.exit_code != 0 and "draw_already_active" in again.output

    ok = runner.invoke(args=["draws", "verify", "--all"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith(f"OK   draw {draw.id}")
    assert runner.invoke(args=["draws", "verify", "--draw", str(draw.id)]).exit_code == 0

    row = db.session.scalars(
        select(DrawnTarget).where(DrawnTarget.draw_id == draw.id, DrawnTarget.rank == 1)
    ).one()
    row.stratum = "U" if row.stratum != "U" else "A"
    db.session.commit()
    bad = runner.invoke(args=["draws", "verify", "--all"])
    assert bad.exit_code == 1
    assert bad.output.startswith(f"DIFF draw {draw.id}") and "drawn targets differ" in bad.output
    assert runner.invoke(args=["draws", "verify"]).exit_code == 2  # neither --all nor --draw
    assert runner.invoke(args=["draws", "verify", "--draw", "999999"]).exit_code == 1
