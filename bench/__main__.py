"""``python -m bench``: build the million-target database, then run every benchmark on it.

Options: ``--targets N`` (default 1,000,000), ``--runs N`` (default 3; each value printed is the
median of that many runs), ``--only draws|search``, ``--seed S``.
"""

from __future__ import annotations

import argparse
import sys

from bench import draws, ingest, pwa, rendition, search
from bench.dataset import OUT_DIR, build, log

BENCHMARKS = {
    "draws": draws.run,
    "search": search.run,
    "rendition": rendition.run,
    "ingest": ingest.run,
    "pwa": pwa.run,
}
# Benchmarks that make their own data and never read the million-target dataset.
OWN_DATA = {"rendition", "ingest", "pwa"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--targets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)
    if args.runs < 3:
        parser.error("--runs must be at least 3: the machine is noisy and one run says little")
    selected = args.only or list(BENCHMARKS)
    dataset = build(args.targets, args.seed, OUT_DIR) if set(selected) - OWN_DATA else None
    for name in selected:
        log(f"running {name}")
        for line in BENCHMARKS[name](dataset, args.runs):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
