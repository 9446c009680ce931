"""The draw algorithm "spotcheck-draw/2", as pure functions (no Flask, no database).

Everything here is a function of its arguments only, so the server, ``verify_draw`` and an outsider
with the published snapshot reach the same result. The steps, precisely (the public page
``/public/draws/algorithm`` says the same in prose):

1. seed = SHA-256(server_entropy ‖ witness_input as UTF-8); the entropy is 32 bytes from ``secrets``.
2. snapshot = CSV (UTF-8, LF) with header ``code,stratum,weight`` and one row per eligible target.
3. For each row, d = SHA-256(seed ‖ code as UTF-8); u_j is the j-th big-endian uint64 of d;
   key = max(u_0 … u_{weight-1}). The maximum of w uniforms is distributed like U^(1/w), so taking
   the largest keys is Efraimidis–Spirakis weighted sampling without replacement, in exact integers.
4. In each stratum take the ``count`` rows with the largest keys (ties: code ascending). Ranks run
   over strata A, B, C, D, U, then key descending.
5. Teams: per drawn target in rank order, the eligible inspector with the lowest load, ties broken by
   SHA-256(seed ‖ "team:" ‖ inspector code); see ``assign_teams``. Only when a department has
   nobody eligible left for a target, its slot is filled the same way from its peer departments of
   the same trade (003 第十七条), nearest tier first; see ``peer_tiers``.

"spotcheck-draw/1" is the same without step 5's peers: it failed where /2 draws from peers, and
every draw it made is exactly what /2 draws for the same inputs, so both verify with this code.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, cast

import numpy as np

ALGORITHM = "spotcheck-draw/2"
# Every algorithm this code recomputes; /1 is /2 without peers (see the module docstring).
ALGORITHMS = ("spotcheck-draw/1", "spotcheck-draw/2")
STRATA = ("A", "B", "C", "D", "U")  # risk classes 低风险…高风险, then U = unclassified / not stratified
SNAPSHOT_HEADER = b"code,stratum,weight\n"
# DOMAIN.md §3: a published provincial example; a task's own ratios win.
DEFAULT_CLASS_RATIOS_BP = {"A": 100, "B": 200, "C": 1000, "D": 3000}
DEFAULT_BASE_RATIO_BP = 300  # 3 %: the yearly enterprise coverage floor (000 §二; 004 §一)
# 003 第十六条: raise the weight of targets not inspected for 2, 3 or more years. Weight 3 also
# covers targets never inspected. Stored with every draw so the thresholds can change later.
WEIGHT_YEARS = {"2": 2, "3": 3}
SHORT_ROWS_SPLICED = 10_000  # snapshot_bytes: up to this many shorter codes are spliced, not masked


class SnapshotError(ValueError):
    """The snapshot file is not in the expected format."""


class NotEnoughInspectors(Exception):
    """No eligible inspector left in a department (nor in its peers, if any) for one target's team."""

    def __init__(self, department_id: int, target_code: str, peers_tried: Sequence[int] = ()) -> None:
        text = f"no eligible inspector of department {department_id} for target {target_code}"
        if peers_tried:
            text += f", nor of its peer departments {', '.join(map(str, peers_tried))}"
        super().__init__(text)
        self.department_id = department_id
        self.target_code = target_code
        self.peers_tried = tuple(peers_tried)


# -- seed and weights --------------------------------------------------------------------------


def derive_seed(entropy: bytes, witness: str | None) -> bytes:
    """seed = SHA-256(entropy ‖ witness UTF-8); a missing witness input adds no bytes."""
    return hashlib.sha256(entropy + (witness or "").encode("utf-8")).digest()


def weight_for(
    draw_year: int, last_inspected_year: int | None, years: Mapping[str, int] = WEIGHT_YEARS
) -> int:
    """1 normally; 2 after ``years["2"]`` calendar years without inspection, 3 after ``years["3"]``
    or if never inspected (calendar years: draw year − year of the last inspection)."""
    if last_inspected_year is None:
        return 3
    gap = draw_year - last_inspected_year
    if gap >= years["3"]:
        return 3
    if gap >= years["2"]:
        return 2
    return 1


# -- snapshot ----------------------------------------------------------------------------------


def build_snapshot(codes: Sequence[str], strata: Sequence[str], weights: Sequence[int]) -> bytes:
    """The snapshot file's exact bytes. Codes must not contain commas, quotes or line breaks."""
    return snapshot_bytes(
        [c.encode("utf-8") for c in codes],
        np.frombuffer("".join(strata).encode("ascii"), dtype="S1"),
        np.asarray(weights, dtype=np.uint8),
    )


def snapshot_bytes(codes: Sequence[bytes], strata: np.ndarray, weights: np.ndarray) -> bytes:
    """``build_snapshot`` for UTF-8 codes and the strata ("S1") and weights (uint8) as arrays.

    Built in numpy, not row by row: each row is its code in a padded byte matrix followed by
    ",S,W\\n", and the padding is cut out at the end (0.08 s instead of 0.3 s for a million rows).
    """
    n = len(codes)
    if len(strata) != n or len(weights) != n:
        raise ValueError("codes, strata and weights differ in length")
    if not n:
        return SNAPSHOT_HEADER
    s_col = np.ascontiguousarray(strata, dtype="S1").view(np.uint8)
    w_col = np.asarray(weights, dtype=np.uint8)
    if not np.isin(s_col, np.frombuffer("".join(STRATA).encode("ascii"), dtype=np.uint8)).all():
        raise SnapshotError("a stratum is not one of " + ", ".join(STRATA))
    if ((w_col < 1) | (w_col > 3)).any():
        raise SnapshotError("a weight is not 1, 2 or 3")
    lens = np.fromiter(map(len, codes), dtype=np.intp, count=n)
    if not lens.all():
        raise SnapshotError("a target code is empty")
    width = int(lens.max())
    # Row i of the matrix: code i padded with NULs to ``width`` ("S<width>" pads; a code's own
    # trailing NULs come back through its length), then ",S,W\n" in the last five columns.
    out = np.empty((n, width + 5), dtype=np.uint8)
    out[:, :width] = np.array(codes, dtype=f"S{width}").view(np.uint8).reshape(n, width)
    out[:, width] = ord(",")
    out[:, width + 1] = s_col
    out[:, width + 2] = ord(",")
    out[:, width + 3] = w_col + ord("0")
    out[:, width + 4] = ord("\n")
    short = np.flatnonzero(lens < width)
    if not len(short):  # the usual case: every code an 18-character credit code
        body = out.tobytes()
    elif len(short) <= SHORT_ROWS_SPLICED:
        # A few shorter codes (products, projects): splice those rows, copy the runs between.
        flat, size, at, pieces = out.data.cast("B"), width + 5, 0, []
        for row, length in zip(short.tolist(), lens[short].tolist(), strict=True):
            pieces += [
                flat[at : row * size],
                flat[row * size : row * size + length],
                flat[(row + 1) * size - 5 : (row + 1) * size],
            ]
            at = (row + 1) * size
        pieces.append(flat[at:])
        body = b"".join(pieces)
    else:
        body = out[(np.arange(width + 5) < lens[:, None]) | (np.arange(width + 5) >= width)].tobytes()
    data = SNAPSHOT_HEADER + body
    # One cheap check over the whole file instead of a per-row test: every row has exactly two
    # commas and one newline, so any code needing CSV quoting is caught here (and a carriage
    # return, which the parser refuses, too).
    if data.count(b",") != 2 * (n + 1) or data.count(b"\n") != n + 1 or b'"' in data or b"\r" in data:
        raise SnapshotError("a target code contains a comma, quote or line break")
    return data


def parse_snapshot(data: bytes) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(codes, strata as an "S1" array, weights as a uint8 array) from snapshot bytes.

    Raises SnapshotError; see ``parse_snapshot_utf8``, which this decodes the codes of.
    """
    codes, strata, weights = parse_snapshot_utf8(data)
    return [c.decode("utf-8") for c in codes], strata, weights


def parse_snapshot_utf8(data: bytes) -> tuple[list[bytes], np.ndarray, np.ndarray]:
    """``parse_snapshot`` with the codes left as UTF-8 bytes (what the selection hashes).

    Every row ends in ",<stratum>,<weight>" (one character each), so the checks run in numpy over
    the row ends instead of splitting a million rows in Python. Raises SnapshotError.
    """
    if not data.startswith(SNAPSHOT_HEADER) or not data.endswith(b"\n"):
        raise SnapshotError("missing header or final newline")
    body = data[len(SNAPSHOT_HEADER) :]
    raw = np.frombuffer(body, dtype=np.uint8)
    ends = np.flatnonzero(raw == ord("\n"))
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(ends.dtype)
    comma = ord(",")
    strata = raw[ends - 3] if len(ends) else np.empty(0, dtype=np.uint8)
    weights = (raw[ends - 1] - ord("0")) if len(ends) else np.empty(0, dtype=np.uint8)
    bad = ends - starts < 5  # at least one character of code, then ",S,W"
    if len(ends):
        bad |= (raw[np.maximum(ends - 2, 0)] != comma) | (raw[np.maximum(ends - 4, 0)] != comma)
        bad |= ~np.isin(strata, np.frombuffer("".join(STRATA).encode("ascii"), dtype=np.uint8))
        bad |= (weights < 1) | (weights > 3)
    if bad.any():
        raise SnapshotError(f"line {int(np.flatnonzero(bad)[0]) + 2} is malformed")
    if body.count(b",") != 2 * len(ends) or b'"' in body or b"\r" in body:
        raise SnapshotError("a code contains a comma, quote or carriage return")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SnapshotError("not UTF-8") from exc
    # Each code is its row without the last four bytes (",S,W"): drop those and split once,
    # instead of slicing a million lines.
    keep = np.ones(len(raw), dtype=bool)
    for back in (1, 2, 3, 4):
        keep[ends - back] = False
    codes = raw[keep].tobytes().split(b"\n")[:-1]
    return codes, strata.view("S1"), weights.astype(np.uint8)


# -- how many per stratum ----------------------------------------------------------------------


def ratio_count(pool: int, ratio_bp: int, min_one: bool) -> int:
    """ceil(pool × bp / 10000), at least 1 for a non-empty pool when ``min_one``, at most the pool."""
    count = (pool * ratio_bp + 9999) // 10000
    if min_one and pool > 0:
        count = max(count, 1)
    return min(count, pool)


def allocate_fixed(total: int, pools: Mapping[str, int], ratios_bp: Mapping[str, int]) -> dict[str, int]:
    """Split a fixed count ("6家") over the strata in proportion to pool × ratio.

    A stratum whose exact share exceeds its pool takes the whole pool and drops out; the rest is
    shared again among the others, until every share fits. Then the largest-remainder method in
    integers (ties: stratum order A…U). If every remaining ratio is 0 the shares are the pools.
    """
    alloc = dict.fromkeys(pools, 0)
    remaining = min(total, sum(pools.values()))
    open_ = [s for s in STRATA if pools.get(s, 0) > 0]

    def shares_of(strata: list[str]) -> dict[str, int]:
        shares = {s: pools[s] * max(ratios_bp.get(s, 0), 0) for s in strata}
        return shares if sum(shares.values()) else {s: pools[s] for s in strata}

    while open_:
        shares = shares_of(open_)
        whole = sum(shares.values())
        capped = [s for s in open_ if remaining * shares[s] > pools[s] * whole]
        if not capped:
            break
        for s in capped:
            alloc[s] = pools[s]
            remaining -= pools[s]
            open_.remove(s)
    if open_ and remaining > 0:
        shares = shares_of(open_)
        whole = sum(shares.values())
        for s in open_:
            alloc[s] = remaining * shares[s] // whole
        extra = remaining - sum(alloc[s] for s in open_)
        by_remainder = sorted(open_, key=lambda s: (-(remaining * shares[s] % whole), STRATA.index(s)))
        for s in by_remainder[:extra]:  # each remainder < 1, so these never pass their pool
            alloc[s] += 1
    return alloc


def compute_counts(
    pools: Mapping[str, int], ratios_bp: Mapping[str, int], fixed_count: int | None, min_one: bool
) -> dict[str, int]:
    """Per-stratum counts: by ratio, or a fixed total shared out by ``allocate_fixed``."""
    if fixed_count is not None:
        return allocate_fixed(fixed_count, pools, ratios_bp)
    return {s: ratio_count(pools[s], ratios_bp.get(s, 0), min_one) for s in pools}


# -- selection ---------------------------------------------------------------------------------


def selection_key(seed: bytes, code: str, weight: int) -> int:
    """The key of one row, in plain Python: the reference the vectorised version must match."""
    d = hashlib.sha256(seed + code.encode("utf-8")).digest()
    return max(int.from_bytes(d[8 * j : 8 * j + 8], "big") for j in range(weight))


def digests(seed: bytes, codes: Sequence[str] | Sequence[bytes]) -> bytearray:
    """SHA-256(seed ‖ code) of every row, concatenated (32 bytes a row). One hashlib call per row
    is the floor in CPython; codes already in UTF-8 save the encode, and appending each digest to
    one buffer (instead of joining a list of a million digests) frees each at once: ≈ 0.36 s a
    million instead of 0.45 s."""
    sha = hashlib.sha256
    out = bytearray()
    if codes and isinstance(codes[0], str):
        for text in cast("Sequence[str]", codes):
            out += sha(seed + text.encode("utf-8")).digest()
    else:
        for code in cast("Sequence[bytes]", codes):
            out += sha(seed + code).digest()
    return out


def keys_from_digests(data: bytes | bytearray, weights: np.ndarray) -> np.ndarray:
    """Step 3's keys as uint64 from the rows' digests: the largest of the first ``weight``
    big-endian 64-bit words of each."""
    u = np.frombuffer(data, dtype=">u8").reshape(-1, 4)
    keys = u[:, 0].astype(np.uint64)
    keys = np.where(weights >= 2, np.maximum(keys, u[:, 1]), keys)
    return np.where(weights >= 3, np.maximum(keys, u[:, 2]), keys)


def selection_keys(seed: bytes, codes: Sequence[str] | Sequence[bytes], weights: np.ndarray) -> np.ndarray:
    """Keys of every row as uint64, vectorised: one SHA-256 per row, then numpy. Codes are ``str``
    or their UTF-8 bytes (the same keys either way)."""
    return keys_from_digests(digests(seed, codes), weights)


def select(
    seed: bytes,
    codes: Sequence[str] | Sequence[bytes],
    strata: Sequence[str] | np.ndarray,
    weights: Sequence[int] | np.ndarray,
    counts: Mapping[str, int],
    keys: np.ndarray | None = None,
) -> list[int]:
    """Indices of the drawn rows in rank order (strata A…U, key descending, code ascending).

    Codes may be ``str`` or UTF-8 ``bytes``: UTF-8 orders bytes as ``str`` orders code points, so
    ties break the same way. ``keys`` are ``selection_keys(seed, codes, weights)`` if the caller
    already computed them.
    """
    w = np.asarray(weights, dtype=np.uint8)
    if keys is None:
        keys = selection_keys(seed, codes, w)
    elif len(keys) != len(codes):
        raise ValueError("one key per row")
    s_arr = (
        strata
        if isinstance(strata, np.ndarray)
        else np.frombuffer("".join(strata).encode("ascii"), dtype="S1")
    )
    chosen: list[int] = []
    for stratum in STRATA:
        count = counts.get(stratum, 0)
        if count <= 0:
            continue
        idx = np.flatnonzero(s_arr == stratum.encode("ascii"))
        if count >= len(idx):
            picked = idx
        else:
            k = keys[idx]
            # Everything strictly above the count-th largest key is in; rows equal to it compete
            # by code, so the result never depends on the order of the snapshot rows.
            threshold = k[np.argpartition(k, len(k) - count)[len(k) - count]]
            above = idx[k > threshold]
            tied = sorted(idx[k == threshold].tolist(), key=lambda i: codes[i])
            picked = np.concatenate([above, np.asarray(tied[: count - len(above)], dtype=idx.dtype)])
        picked_keys = keys[picked].tolist()
        order = sorted(range(len(picked)), key=lambda j: (-picked_keys[j], codes[int(picked[j])]))
        chosen.extend(int(picked[j]) for j in order)
    return chosen


# -- teams -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolInspector:
    """An eligible inspector as frozen into the draw: code, department and load at draw time."""

    code: str
    department_id: int
    load: int


@dataclass(frozen=True)
class TeamRequest:
    """One drawn target's staffing need.

    ``existing`` is None for a new inspection (a whole team is drawn); for a merge into an existing
    visit it holds the inspector codes already on that team, and one member of the initiating
    department is drawn only when ``has_initiating`` is false.
    """

    target_code: str
    existing: tuple[str, ...] | None = None
    has_initiating: bool = False


class Pick(NamedTuple):
    """One drawn team member. ``acting_for`` is the task department the member was drawn for when
    that department had nobody eligible left and the member came from one of its peers."""

    code: str
    role: str
    acting_for: int | None = None


@dataclass(frozen=True)
class DepartmentNode:
    """What ``peer_tiers`` needs of a department."""

    id: int
    parent_id: int | None
    level: str
    trade: str | None


def peer_tiers(department_id: int, departments: Iterable[DepartmentNode]) -> list[list[int]]:
    """The peer departments of the same trade (同行业部门, 003 第十七条), in tiers of preference.

    1. the same local hierarchy: the department's parent, its children and its siblings (same
       parent), e.g. a county bureau and its stations;
    2. the other departments of the same level;
    3. every other department of the trade.
    Each tier is sorted by id and empty tiers are left out. A department without a trade has no
    peers. Within a tier no department is preferred: their inspectors compete as one pool.
    """
    nodes = {d.id: d for d in departments}
    me = nodes.get(department_id)
    if me is None or me.trade is None:
        return []
    same = sorted(d.id for d in nodes.values() if d.trade == me.trade and d.id != me.id)
    family = [
        d
        for d in same
        if d == me.parent_id
        or nodes[d].parent_id == me.id
        or (me.parent_id is not None and nodes[d].parent_id == me.parent_id)
    ]
    level = [d for d in same if d not in family and nodes[d].level == me.level]
    rest = [d for d in same if d not in family and d not in level]
    return [tier for tier in (family, level, rest) if tier]


_NOBODY: frozenset[str] = frozenset()


def team_tiebreak(seed: bytes, code: str) -> bytes:
    return hashlib.sha256(seed + b"team:" + code.encode("utf-8")).digest()


def assign_teams(
    seed: bytes,
    requests: Sequence[TeamRequest],
    pool: Iterable[PoolInspector],
    conflicts: Iterable[tuple[str, str]],
    initiating_department_id: int,
    cooperating_department_ids: Sequence[int],
    team_size: int,
    peers: Mapping[int, Sequence[Sequence[int]]] | None = None,
) -> list[list[Pick]]:
    """For each request, the drawn members, the leader first.

    A new team: the leader from the initiating department, then one member from each cooperating
    department (in the order given), then members of the initiating department up to ``team_size``.
    Each pick takes the department's inspector with the lowest load, skipping those already on the
    team or with a declared conflict with the target; ties go to the smaller
    SHA-256(seed ‖ "team:" ‖ code). Each pick adds 1 to that inspector's load. One heap per
    department keeps this O(picks × log n). ``conflicts`` holds (inspector code, target code).

    Only when a department has nobody left to pick for a target, ``peers[department]`` (tiers of
    peer department ids, see ``peer_tiers``) is tried tier by tier: the tier's departments pool
    their inspectors and the same rule picks one (lowest load, then the seeded tie-break), who
    fills the slot acting for the short department (the leader, too, acts for the initiating
    department). Without peers, or with a draw that never runs short, the teams are exactly those
    of "spotcheck-draw/1". Raises NotEnoughInspectors when even the peers have nobody left.
    """
    depts: dict[int, list[tuple[int, bytes, str]]] = {}
    for p in pool:
        depts.setdefault(p.department_id, []).append((p.load, team_tiebreak(seed, p.code), p.code))
    for heap in depts.values():
        heapq.heapify(heap)
    blocked: dict[str, set[str]] = {}
    for inspector_code, target_code in conflicts:
        blocked.setdefault(target_code, set()).add(inspector_code)
    tiers_of = peers or {}

    def take(department_ids: Sequence[int], avoid: frozenset[str] | set[str], taken: set[str]) -> str | None:
        """The best eligible entry over these departments' heaps (one peer tier), its load raised;
        None if none. With one department this is the same walk as ``pick``'s own."""
        best: tuple[tuple[int, bytes, str], list[tuple[int, bytes, str]]] | None = None
        found: list[tuple[tuple[int, bytes, str], list[tuple[int, bytes, str]]]] = []
        for department_id in department_ids:
            heap = depts.get(department_id, [])
            skipped: list[tuple[int, bytes, str]] = []
            chosen: tuple[int, bytes, str] | None = None
            while heap:
                entry = heapq.heappop(heap)
                if entry[2] in taken or entry[2] in avoid:
                    skipped.append(entry)
                    continue
                chosen = entry
                break
            for entry in skipped:
                heapq.heappush(heap, entry)
            if chosen is not None:
                found.append((chosen, heap))
                if best is None or chosen < best[0]:
                    best = (chosen, heap)
        for entry, heap in found:  # every candidate but the winner goes back as it was
            if best is None or entry is not best[0]:
                heapq.heappush(heap, entry)
        if best is None:
            return None
        (load, tiebreak, code), heap = best
        heapq.heappush(heap, (load + 1, tiebreak, code))
        taken.add(code)
        return code

    def pick(department_id: int, target_code: str, taken: set[str], role: str) -> Pick:
        # The department's own heap first, walked inline: this is every pick of a draw that never
        # runs short (the million-target benchmark's 50,000), so it stays the plain /1 loop.
        heap = depts.get(department_id, [])
        skipped: list[tuple[int, bytes, str]] = []
        avoid = blocked.get(target_code, _NOBODY)
        chosen: tuple[int, bytes, str] | None = None
        while heap:
            entry = heapq.heappop(heap)
            if entry[2] in taken or entry[2] in avoid:
                skipped.append(entry)
                continue
            chosen = entry
            break
        for entry in skipped:
            heapq.heappush(heap, entry)
        if chosen is not None:
            heapq.heappush(heap, (chosen[0] + 1, chosen[1], chosen[2]))
            taken.add(chosen[2])
            return Pick(chosen[2], role)
        tiers = [[d for d in tier if d != department_id] for tier in tiers_of.get(department_id, ())]
        for tier in tiers:
            code = take(tier, avoid, taken)
            if code is not None:
                return Pick(code, role, department_id)
        raise NotEnoughInspectors(department_id, target_code, [d for tier in tiers for d in tier])

    teams: list[list[Pick]] = []
    for req in requests:
        code = req.target_code
        if req.existing is not None:
            taken = set(req.existing)
            added = [] if req.has_initiating else [pick(initiating_department_id, code, taken, "member")]
            teams.append(added)
            continue
        taken = set()
        team = [pick(initiating_department_id, code, taken, "leader")]
        team += [pick(dept, code, taken, "member") for dept in cooperating_department_ids]
        while len(team) < team_size:
            team.append(pick(initiating_department_id, code, taken, "member"))
        teams.append(team)
    return teams


def pick_replacement(seed: bytes, candidate_codes: Iterable[str]) -> str | None:
    """The replacement inspector: the candidate with the largest SHA-256(seed ‖ "replace:" ‖ code)."""
    best: tuple[bytes, str] | None = None
    for code in candidate_codes:
        h = hashlib.sha256(seed + b"replace:" + code.encode("utf-8")).digest()
        if best is None or h > best[0]:
            best = (h, code)
    return None if best is None else best[1]
