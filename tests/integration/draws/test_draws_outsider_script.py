"""An outsider downloads the snapshot and the script from the public pages and gets the same list."""

from __future__ import annotations

import hashlib
import html
import re
import shlex
import subprocess
import sys
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select

from server.directory.models import Target
from server.draws.models import DrawnTarget
from server.draws.services import perform_draw
from server.extensions import db
from tests.integration.draws.conftest import DRAW_DAY, Builder


def test_the_published_script_reproduces_a_real_draw(
    client: FlaskClient, build: Builder, tmp_path: Path
) -> None:
    bureau = build.department()
    build.inspectors(bureau, 8)
    for i, cls in enumerate(["A", "B", "C", "D", None] * 60):
        build.target(
            risk_class=cls, last_inspected_on=None if i % 7 == 0 else DRAW_DAY.replace(year=2019 + i % 6)
        )
    task = build.task(bureau, class_ratios_bp={"A": 500, "B": 1000, "C": 2000, "D": 5000}, base_ratio_bp=800)
    build.commit()
    draw = perform_draw(task, witness="公开抽取 见证人", today=DRAW_DAY)
    db.session.commit()

    snapshot = tmp_path / "snapshot.csv"
    snapshot.write_bytes(client.get(f"/public/draws/{draw.id}/snapshot.csv").data)
    script = tmp_path / "verify_draw.py"
    script.write_bytes(client.get("/public/draws/verify_draw.py").data)
    counts = ",".join(f"{s}={v['count']}" for s, v in draw.strata.items())
    result = subprocess.run(
        [sys.executable, "-I", str(script), str(snapshot), draw.seed, counts],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=tmp_path,
    )
    lines = result.stdout.splitlines()
    stored = db.session.execute(
        select(DrawnTarget.rank, DrawnTarget.stratum, Target.code)
        .join(Target, Target.id == DrawnTarget.target_id)
        .where(DrawnTarget.draw_id == draw.id)
        .order_by(DrawnTarget.rank)
    ).all()
    assert len(stored) == sum(v["count"] for v in draw.strata.values()) > 20
    assert lines == [f"{rank},{stratum},{code}" for rank, stratum, code in stored]
    assert draw.snapshot_hash in result.stderr
    assert hashlib.sha256(snapshot.read_bytes()).hexdigest() == draw.snapshot_hash


def test_following_the_draw_page_literally_ends_in_match(
    client: FlaskClient, build: Builder, tmp_path: Path
) -> None:
    """Download the three files the page links, run the command it shows, read MATCH; a list that
    differs by one target reads MISMATCH and exits non-zero."""
    bureau = build.department()
    build.inspectors(bureau, 6)
    for i, cls in enumerate(["A", "B", "C", "D"] * 15):
        build.target(risk_class=cls, last_inspected_on=DRAW_DAY.replace(year=2019 + i % 6))
    task = build.task(bureau, class_ratios_bp={"A": 1000, "B": 2000, "C": 3000, "D": 5000})
    build.commit()
    draw = perform_draw(task, witness="2025-06-20 福彩3D 开奖号码 7 3 0；见证人", today=DRAW_DAY)
    db.session.commit()

    page = client.get(f"/public/draws/{draw.id}").get_data(as_text=True)
    steps = page[page.index('id="verify"') :]
    for href, name in re.findall(r'<a href="([^"]+)">([\w.-]+\.(?:csv|py))</a>', steps):
        resp = client.get(href)
        assert resp.status_code == 200, href
        assert name in resp.headers["Content-Disposition"]  # saved under the name the command uses
        (tmp_path / name).write_bytes(resp.data)
    command, seed_command = (
        html.unescape(c) for c in re.findall(r'<pre class="mono cmd">([^<]+)</pre>', steps)
    )
    argv = shlex.split(command)
    assert argv[0] == "python3" and all((tmp_path / a).exists() for a in argv[1:] if "." in a)

    run = subprocess.run(
        [sys.executable, "-I", *argv[1:]], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert f"snapshot sha256: {draw.snapshot_hash}" in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("MATCH:")
    drawn = (tmp_path / argv[-1]).read_text("utf-8")
    assert drawn == run.stdout and drawn.count("\n") == len(draw.drawn) > 5

    # The seed comes from the entropy and the witness input, as the last step shows.
    seed_argv = shlex.split(seed_command)
    assert seed_argv[0] == "python3" and seed_argv[-1] == draw.witness_input
    run = subprocess.run([sys.executable, "-I", *seed_argv[1:]], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == draw.seed

    lines = drawn.splitlines()
    (tmp_path / argv[-1]).write_text("\n".join(lines[:-1]) + "\n", "utf-8")  # one target left out
    run = subprocess.run(
        [sys.executable, "-I", *argv[1:]], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert run.returncode == 1 and "MISMATCH:" in run.stderr


def test_drawn_list_of_an_unknown_draw_is_404(client: FlaskClient) -> None:
    assert client.get("/public/draws/999/drawn.csv").status_code == 404
