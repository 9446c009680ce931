"""The benchmark harness's output line and statistics (no database, nothing timed)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from bench import bench_line, median, percentile

LINE = re.compile(r"BENCH [a-z][a-z0-9_]* \d+(\.\d+)? (s|ms|KB|MB) \d+\.\d{2}")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("draw_1m", 1.23456, "s", 2.345), "BENCH draw_1m 1.235 s 2.35"),
        (("directory_search_1m", 12.3456, "ms", 0.0421), "BENCH directory_search_1m 12.35 ms 0.04"),
        (("draw_1m_peak_rss", 512.04, "MB", 0.5), "BENCH draw_1m_peak_rss 512.0 MB 0.50"),
        (("snapshot_size", 2048, "KB", 1), "BENCH snapshot_size 2048.0 KB 1.00"),
    ],
)
def test_line_is_exactly_name_value_unit_ratio(args: tuple[str, float, str, float], expected: str) -> None:
    line = bench_line(*args)
    assert line == expected
    assert LINE.fullmatch(line)
    assert len(line.split(" ")) == 5


@pytest.mark.parametrize(
    ("name", "value", "unit", "ratio", "reason"),
    [
        ("Draw 1m", 1.0, "s", 1.0, "lower_snake_case"),  # spaces would break the five fields
        ("draw-1m", 1.0, "s", 1.0, "lower_snake_case"),
        ("draw_1m", 1.0, "sec", 1.0, "unit"),
        ("draw_1m", math.nan, "s", 1.0, "finite"),
        ("draw_1m", 1.0, "s", math.inf, "finite"),
        ("draw_1m", -1.0, "s", 1.0, "non-negative"),
    ],
)
def test_bad_lines_are_refused(name: str, value: float, unit: str, ratio: float, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        bench_line(name, value, unit, ratio)


def test_median_of_runs() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    with pytest.raises(ValueError, match="no values"):
        median([])


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1 … 100
    assert percentile(values, 95) == 95.0
    assert percentile(values, 100) == 100.0
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 95)
    with pytest.raises(ValueError, match="pct"):
        percentile([1.0], 0)


def test_main_insists_on_several_runs() -> None:
    from bench.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["--runs", "1"])
    assert exc.value.code == 2


def test_pwa_shell_size_is_the_gzipped_sum_of_the_precached_files(tmp_path: Path) -> None:
    import gzip
    import json

    from bench.pwa import shell_size_kb

    files = {"index.html": b"<!doctype html>" * 50, "app.js": bytes(range(256)) * 40, "sw.js": b"self" * 10}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "shell.json").write_text(json.dumps({"files": ["index.html", "app.js"]}))
    expected = sum(len(gzip.compress(d, compresslevel=9, mtime=0)) for d in files.values()) / 1024
    assert shell_size_kb(tmp_path) == expected
