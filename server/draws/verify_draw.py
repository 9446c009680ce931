#!/usr/bin/env python3
"""Reproduce a Spotcheck draw's targets (spotcheck-draw/1 and /2 select alike) from its published data.

Usage:  python3 verify_draw.py snapshot.csv SEED_HEX A=3,B=5,C=2,D=1,U=4 [drawn.csv]
Prints the drawn targets in rank order as "rank,stratum,code", and the snapshot's SHA-256 on
stderr (compare it with the published snapshot hash). Given the published list of drawn targets
(drawn.csv), also says MATCH or MISMATCH on stderr (exit 1). Needs only the Python standard library.
"""

import csv
import hashlib
import sys


def key(seed: bytes, code: str, weight: int) -> int:
    """max of the first `weight` big-endian uint64 words of SHA-256(seed ‖ code)."""
    d = hashlib.sha256(seed + code.encode("utf-8")).digest()
    return max(int.from_bytes(d[8 * j : 8 * j + 8], "big") for j in range(weight))


def main(path: str, seed_hex: str, counts_text: str, published: str = "") -> None:
    seed = bytes.fromhex(seed_hex)
    counts = {k: int(v) for k, v in (part.split("=") for part in counts_text.split(",") if part)}
    with open(path, "rb") as f:
        print("snapshot sha256:", hashlib.sha256(f.read()).hexdigest(), file=sys.stderr)
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    drawn: list[str] = []
    for stratum in "ABCDU":  # strata in this order, then key descending, ties by code
        pool = [(key(seed, r["code"], int(r["weight"])), r["code"]) for r in rows if r["stratum"] == stratum]
        pool.sort(key=lambda kc: (-kc[0], kc[1]))
        for _, code in pool[: counts.get(stratum, 0)]:
            drawn.append(f"{len(drawn) + 1},{stratum},{code}")
    print(*drawn, sep="\n")
    if published:  # line by line against the published list
        with open(published, encoding="utf-8-sig") as f:
            same = f.read().split() == drawn
        print("MATCH:" if same else "MISMATCH:", len(drawn), "targets vs", published, file=sys.stderr)
        sys.exit(0 if same else 1)


if __name__ == "__main__":
    main(*sys.argv[1:5])
