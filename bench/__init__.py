"""Benchmarks of the jobs that must stay fast at a million targets: ``python -m bench``.

Each result is one line on stdout, ``BENCH <name> <value> <unit> <ratio>``; progress goes to
stderr. ``bench/README.md`` says what each benchmark measures and what it should reach. The
helpers here (line format, median, percentile) are pure so they can be unit-tested.
"""

from __future__ import annotations

import math
import re
import statistics
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

UNITS = ("s", "ms", "KB", "MB")  # whole jobs, latencies, sizes; MB only for peak memory
_NAME = re.compile(r"[a-z][a-z0-9_]*")
# Digits after the point per unit: enough to see a 1 % change at the sizes we measure.
_DECIMALS = {"s": 3, "ms": 2, "KB": 1, "MB": 1}


def bench_line(name: str, value: float, unit: str, ratio: float) -> str:
    """The one line a benchmark prints: ``BENCH draw_1m 1.234 s 2.10``."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"benchmark name must be lower_snake_case: {name!r}")
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}: {unit!r}")
    if not (math.isfinite(value) and math.isfinite(ratio)) or value < 0 or ratio < 0:
        raise ValueError(f"value and ratio must be finite and non-negative: {value!r}, {ratio!r}")
    return f"BENCH {name} {value:.{_DECIMALS[unit]}f} {unit} {ratio:.2f}"


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no values")
    return float(statistics.median(values))


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``pct`` % of the values at or below it."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 < pct <= 100:
        raise ValueError("pct must be in (0, 100]")
    ordered = sorted(values)
    rank = math.ceil(pct / 100 * len(ordered))
    return float(ordered[max(rank, 1) - 1])


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """(wall seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result
