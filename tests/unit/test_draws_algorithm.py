"""The pure draw algorithm: seed, weights, counts, selection, teams and the replacement pick."""

from __future__ import annotations

import hashlib
import importlib.util
import random
from pathlib import Path

import numpy as np
import pytest

from server.draws import algorithm as algo
from server.draws.algorithm import PoolInspector, TeamRequest

SEED = hashlib.sha256(b"unit-test-seed").digest()
SCRIPT = Path(__file__).resolve().parents[2] / "server" / "draws" / "verify_draw.py"


def _codes(n: int, prefix: str = "T") -> list[str]:
    return [f"{prefix}{i:05d}" for i in range(n)]


# -- seed and weights ---------------------------------------------------------------------------------


def test_seed_is_sha256_of_entropy_then_witness_utf8() -> None:
    entropy = bytes(range(32))
    assert algo.derive_seed(entropy, None) == hashlib.sha256(entropy).digest()
    assert algo.derive_seed(entropy, "") == hashlib.sha256(entropy).digest()
    assert algo.derive_seed(entropy, "见证 42") == hashlib.sha256(entropy + "见证 42".encode()).digest()
    assert algo.derive_seed(entropy, "a") != algo.derive_seed(entropy, "b")


@pytest.mark.parametrize(
    ("last_year", "weight"),
    [(2025, 1), (2024, 1), (2023, 2), (2022, 3), (2010, 3), (None, 3), (2026, 1)],
)
def test_weight_by_calendar_years_since_the_last_inspection(last_year: int | None, weight: int) -> None:
    assert algo.weight_for(2025, last_year) == weight


def test_weight_thresholds_come_from_the_parameters() -> None:
    assert algo.weight_for(2025, 2024, {"2": 1, "3": 4}) == 2
    assert algo.weight_for(2025, 2022, {"2": 1, "3": 4}) == 2
    assert algo.weight_for(2025, 2021, {"2": 1, "3": 4}) == 3


# -- counts ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pool", "bp", "min_one", "count"),
    [
        (100, 300, True, 3),
        (101, 300, True, 4),  # 3.03 rounds up
        (10, 100, True, 1),  # 0.1 rounds up
        (10, 0, True, 1),  # a ratio of 0 still takes one when min_one
        (10, 0, False, 0),
        (0, 300, True, 0),  # an empty pool never yields one
        (3, 9000, True, 3),  # never more than the pool
        (7, 3000, False, 3),  # 2.1 rounds up
    ],
)
def test_ratio_count_rounds_up_with_min_one_and_cap(pool: int, bp: int, min_one: bool, count: int) -> None:
    assert algo.ratio_count(pool, bp, min_one) == count


def test_compute_counts_by_ratio_per_stratum() -> None:
    pools = {"A": 50, "B": 120, "D": 9, "U": 1}
    ratios = {"A": 100, "B": 200, "C": 1000, "D": 3000, "U": 300}
    assert algo.compute_counts(pools, ratios, None, True) == {"A": 1, "B": 3, "D": 3, "U": 1}
    assert algo.compute_counts(pools, ratios, None, False) == {"A": 1, "B": 3, "D": 3, "U": 1}


def test_fixed_count_allocation() -> None:
    ratios = {"A": 100, "B": 200, "C": 1000, "D": 3000, "U": 300}
    # proportional to pool × ratio: 10×100, 10×200, 10×3000 of 6
    assert algo.allocate_fixed(6, {"A": 10, "B": 10, "D": 10}, ratios) == {"A": 0, "B": 0, "D": 6}
    # capping: D holds 2, the rest goes to the others in proportion
    assert algo.allocate_fixed(6, {"A": 10, "B": 10, "D": 2}, ratios) == {"A": 1, "B": 3, "D": 2}
    # all ratios zero: shares are the pools
    assert algo.allocate_fixed(4, {"A": 30, "U": 10}, {}) == {"A": 3, "U": 1}
    # more than the whole pool: everything
    assert algo.allocate_fixed(99, {"A": 3, "U": 2}, ratios) == {"A": 3, "U": 2}
    assert sum(algo.compute_counts({"B": 7, "C": 5}, ratios, 6, True).values()) == 6


# -- snapshot -----------------------------------------------------------------------------------------


def test_snapshot_round_trip_and_guards() -> None:
    data = algo.build_snapshot(["X1", "X2"], ["A", "U"], [1, 3])
    assert data == b"code,stratum,weight\nX1,A,1\nX2,U,3\n"
    codes, strata, weights = algo.parse_snapshot(data)
    assert (codes, strata.tolist(), weights.tolist()) == (["X1", "X2"], [b"A", b"U"], [1, 3])
    codes, strata, weights = algo.parse_snapshot("code,stratum,weight\n项目-7,D,2\n".encode())
    assert (codes, strata.tolist(), weights.tolist()) == (["项目-7"], [b"D"], [2])
    codes, strata, weights = algo.parse_snapshot(algo.build_snapshot([], [], []))
    assert (codes, len(strata), len(weights)) == ([], 0, 0)
    with pytest.raises(algo.SnapshotError):
        algo.build_snapshot(["bad,code"], ["A"], [1])
    with pytest.raises(algo.SnapshotError):
        algo.build_snapshot(['bad"code'], ["A"], [1])
    header = b"code,stratum,weight\n"
    for broken in (
        header + b"X1,E,1\n",  # no such stratum
        header + b"X1,A,4\n",  # no such weight
        header + b",A,1\n",  # no code
        header + b"X,1,A,1\n",  # a comma inside the code
        header + b"X1;A;1\n",
        b"X1,A,1\n",  # no header
        header + b"X1,A,1",  # no final newline
        header + b"\xff\xfe,A,1\n",  # not UTF-8
    ):
        with pytest.raises(algo.SnapshotError):
            algo.parse_snapshot(broken)


def _reference_snapshot(codes: list[str], strata: list[str], weights: list[int]) -> bytes:
    """The snapshot format written out row by row, as the public algorithm page describes it."""
    rows = "".join(f"{c},{s},{w}\n" for c, s, w in zip(codes, strata, weights, strict=True))
    return ("code,stratum,weight\n" + rows).encode("utf-8")


def _rows(codes: list[str]) -> tuple[list[str], list[str], list[int]]:
    rng = random.Random(len(codes))
    return codes, [rng.choice("ABCDU") for _ in codes], [rng.choice([1, 2, 3]) for _ in codes]


@pytest.mark.parametrize(
    "codes",
    [
        [f"9114058{i:011d}" for i in range(300)],  # every code the same length (credit codes)
        [f"9114058{i:011d}" for i in range(300)] + ["P-140581-0001", "项目-7", "X"],  # a few shorter
        [f"C{i}" for i in range(300)],  # lengths all over the place
        ["A\x00", "B", "中文代码\x00\x00", "D\x00E"],  # NUL bytes, also at the end
    ],
)
def test_snapshot_bytes_matches_the_row_by_row_format(
    codes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    codes, strata, weights = _rows(codes)
    expected = _reference_snapshot(codes, strata, weights)
    utf8 = [c.encode("utf-8") for c in codes]
    s_arr = np.frombuffer("".join(strata).encode("ascii"), dtype="S1")
    w_arr = np.asarray(weights, dtype=np.uint8)
    assert algo.snapshot_bytes(utf8, s_arr, w_arr) == expected
    assert algo.build_snapshot(codes, strata, weights) == expected
    monkeypatch.setattr(algo, "SHORT_ROWS_SPLICED", 0)  # the masked path for many shorter codes
    assert algo.snapshot_bytes(utf8, s_arr, w_arr) == expected
    parsed, p_strata, p_weights = algo.parse_snapshot_utf8(expected)
    assert (parsed, p_strata.tolist(), p_weights.tolist()) == (utf8, s_arr.tolist(), weights)


@pytest.mark.parametrize(
    ("codes", "strata", "weights"),
    [
        (["OK", ""], "AB", [1, 1]),  # an empty code
        (["OK", "A,B"], "AB", [1, 1]),
        (["OK", 'A"B'], "AB", [1, 1]),
        (["OK", "A\nB"], "AB", [1, 1]),
        (["OK", "A\rB"], "AB", [1, 1]),  # the parser refuses carriage returns, so the builder does
        (["OK", "OK2"], "AX", [1, 1]),  # no such stratum
        (["OK", "OK2"], "AB", [1, 4]),  # no such weight
        (["OK", "OK2"], "AB", [0, 1]),
    ],
)
def test_snapshot_bytes_refuses_what_the_format_cannot_hold(
    codes: list[str], strata: str, weights: list[int]
) -> None:
    with pytest.raises(algo.SnapshotError):
        algo.build_snapshot(codes, list(strata), weights)


# -- selection ------------------------------------------------------------------------------------------


def test_vectorised_keys_match_the_reference() -> None:
    codes = _codes(200)
    weights = [1, 2, 3, 2] * 50
    keys = algo.selection_keys(SEED, codes, np.asarray(weights, dtype=np.uint8))
    assert [int(k) for k in keys] == [
        algo.selection_key(SEED, c, w) for c, w in zip(codes, weights, strict=True)
    ]


def test_keys_from_digests_and_utf8_codes_give_the_same_keys() -> None:
    codes = [*_codes(50), "项目-7", "P-140581-0001"]
    weights = np.asarray([1, 2, 3] * 17 + [3], dtype=np.uint8)
    reference = [algo.selection_key(SEED, c, int(w)) for c, w in zip(codes, weights, strict=True)]
    utf8 = [c.encode("utf-8") for c in codes]
    assert algo.digests(SEED, utf8) == algo.digests(SEED, codes)
    assert algo.digests(SEED, utf8) == b"".join(hashlib.sha256(SEED + c).digest() for c in utf8)
    assert [int(k) for k in algo.keys_from_digests(algo.digests(SEED, utf8), weights)] == reference
    assert [int(k) for k in algo.selection_keys(SEED, utf8, weights)] == reference


def test_selection_is_the_same_for_utf8_codes_and_precomputed_keys() -> None:
    rng = random.Random(11)
    codes = [*_codes(400), "项目-7", "项目-10", "P-1"]
    strata = [rng.choice("ABCDU") for _ in codes]
    weights = [rng.choice([1, 2, 3]) for _ in codes]
    counts = {"A": 7, "B": 30, "C": 2, "D": 80, "U": 5}
    expected = algo.select(SEED, codes, strata, weights, counts)
    utf8 = [c.encode("utf-8") for c in codes]
    assert algo.select(SEED, utf8, strata, weights, counts) == expected
    keys = algo.selection_keys(SEED, utf8, np.asarray(weights, dtype=np.uint8))
    assert algo.select(SEED, utf8, strata, weights, counts, keys=keys) == expected
    with pytest.raises(ValueError, match="one key per row"):
        algo.select(SEED, utf8, strata, weights, counts, keys=keys[:-1])


def test_selection_takes_the_largest_keys_per_stratum_in_rank_order() -> None:
    codes = _codes(60)
    strata = ["U", "A", "C"] * 20
    weights = [1] * 60
    counts = {"A": 3, "C": 2, "U": 4}
    chosen = algo.select(SEED, codes, strata, weights, counts)
    assert [strata[i] for i in chosen] == ["A"] * 3 + ["C"] * 2 + ["U"] * 4
    for stratum, n in counts.items():
        pool = sorted(
            (c for c, s in zip(codes, strata, strict=True) if s == stratum),
            key=lambda c: -algo.selection_key(SEED, c, 1),
        )
        assert [codes[i] for i in chosen if strata[i] == stratum] == pool[:n]


def test_selection_is_deterministic_and_independent_of_row_order() -> None:
    rng = random.Random(7)
    codes = _codes(500)
    strata = [rng.choice("ABCDU") for _ in codes]
    weights = [rng.choice([1, 2, 3]) for _ in codes]
    counts = {"A": 5, "B": 9, "C": 3, "D": 20, "U": 1}
    first = [codes[i] for i in algo.select(SEED, codes, strata, weights, counts)]
    assert first == [codes[i] for i in algo.select(SEED, codes, strata, weights, counts)]
    order = list(range(len(codes)))
    rng.shuffle(order)
    shuffled = [codes[i] for i in order], [strata[i] for i in order], [weights[i] for i in order]
    again = algo.select(SEED, *shuffled, counts)
    assert [shuffled[0][i] for i in again] == first
    other_seed = [codes[i] for i in algo.select(b"\x01" * 32, codes, strata, weights, counts)]
    assert other_seed != first


def test_ties_go_to_the_smaller_code(monkeypatch: pytest.MonkeyPatch) -> None:
    codes = ["T9", "T1", "T5", "T3", "T7"]

    def flat(seed: bytes, codes: list[str], weights: np.ndarray) -> np.ndarray:
        keys = np.full(len(codes), 10, dtype=np.uint64)
        keys[0] = 20  # T9 has the largest key, the others tie
        return keys

    monkeypatch.setattr(algo, "selection_keys", flat)
    chosen = algo.select(SEED, codes, ["B"] * 5, [1] * 5, {"B": 3})
    assert [codes[i] for i in chosen] == ["T9", "T1", "T3"]
    # UTF-8 bytes order as the code points do, so ties break the same way for either form.
    mixed = ["项目-2", "P-9", "项目-1", "Z"]
    keys = np.full(len(mixed), 10, dtype=np.uint64)
    for form in (mixed, [c.encode("utf-8") for c in mixed]):
        chosen = algo.select(SEED, form, ["B"] * 4, [1] * 4, {"B": 3}, keys=keys)
        assert [mixed[i] for i in chosen] == ["P-9", "Z", "项目-1"]


def test_a_count_at_or_above_the_pool_takes_everything() -> None:
    codes = _codes(4)
    chosen = algo.select(SEED, codes, ["D"] * 4, [1] * 4, {"D": 10})
    assert sorted(codes[i] for i in chosen) == codes


def test_weight_three_is_drawn_more_often_than_weight_one() -> None:
    codes = _codes(100)
    weights = [1] * 50 + [3] * 50
    heavy = 0
    for n in range(200):
        seed = hashlib.sha256(f"stat-{n}".encode()).digest()
        chosen = algo.select(seed, codes, ["U"] * 100, weights, {"U": 10})
        heavy += sum(1 for i in chosen if weights[i] == 3)
    share = heavy / (200 * 10)
    # Efraimidis–Spirakis with weights 3 : 1 puts about three quarters of the picks on the heavy half.
    assert 0.65 < share < 0.85


# -- teams --------------------------------------------------------------------------------------------


def _pool(dept: int, n: int, prefix: str, load: int = 0) -> list[PoolInspector]:
    return [PoolInspector(f"{prefix}{i:02d}", dept, load) for i in range(n)]


def test_new_teams_have_a_leader_from_the_initiating_department_and_balance_load() -> None:
    pool = _pool(1, 5, "I")
    requests = [TeamRequest(f"T{i}") for i in range(10)]
    teams = algo.assign_teams(SEED, requests, pool, [], 1, [], 3)
    assert all(
        len(t) == 3 and t[0].role == "leader" and [p.role for p in t[1:]] == ["member"] * 2 for t in teams
    )
    assert all(len({p.code for p in t}) == 3 for t in teams)
    loads: dict[str, int] = {}
    for team in teams:
        for code, _, _ in team:
            loads[code] = loads.get(code, 0) + 1
    assert sorted(loads.values()) == [6, 6, 6, 6, 6]


def test_initial_load_and_seeded_ties_decide_who_goes_first() -> None:
    pool = [PoolInspector("BUSY", 1, 5), PoolInspector("FREE1", 1, 0), PoolInspector("FREE2", 1, 0)]
    teams = algo.assign_teams(SEED, [TeamRequest("T1")], pool, [], 1, [], 2)
    assert {p.code for p in teams[0]} == {"FREE1", "FREE2"}
    leader = min(("FREE1", "FREE2"), key=lambda c: algo.team_tiebreak(SEED, c))
    assert teams[0][0] == (leader, "leader", None)


def test_joint_teams_take_one_member_per_cooperating_department() -> None:
    pool = _pool(1, 3, "S") + _pool(2, 2, "J") + _pool(3, 2, "G")
    teams = algo.assign_teams(SEED, [TeamRequest("T1"), TeamRequest("T2")], pool, [], 1, [2, 3], 2)
    for team in teams:
        assert team[0][0].startswith("S") and team[0][1] == "leader"
        assert team[1][0].startswith("J") and team[2][0].startswith("G")
        assert len(team) == 3  # already two or more: no filler needed
    teams = algo.assign_teams(SEED, [TeamRequest("T1")], pool, [], 1, [2], 4)
    assert [p.code[0] for p in teams[0]] == ["S", "J", "S", "S"]


def test_conflicts_are_skipped_and_a_short_department_fails() -> None:
    pool = _pool(1, 3, "I")
    teams = algo.assign_teams(SEED, [TeamRequest("T1")], pool, [("I00", "T1"), ("I01", "T1")], 1, [], 1 + 0)
    assert [p.code for p in teams[0]] == ["I02"]
    with pytest.raises(algo.NotEnoughInspectors) as exc:
        algo.assign_teams(SEED, [TeamRequest("T1")], pool, [("I00", "T1"), ("I01", "T1")], 1, [], 2)
    assert exc.value.department_id == 1 and exc.value.target_code == "T1"
    with pytest.raises(algo.NotEnoughInspectors):
        algo.assign_teams(SEED, [TeamRequest("T1")], pool, [], 1, [9], 2)


def test_merged_visits_get_an_initiating_member_only_when_missing() -> None:
    pool = _pool(1, 3, "I")
    requests = [
        TeamRequest("T1", existing=("X1", "X2"), has_initiating=False),
        TeamRequest("T2", existing=("I00", "X3"), has_initiating=True),
        TeamRequest("T3", existing=("I00", "I01"), has_initiating=False),
    ]
    teams = algo.assign_teams(SEED, requests, pool, [], 1, [], 2)
    assert len(teams[0]) == 1 and teams[0][0][1] == "member"
    assert teams[1] == []
    assert teams[2] == [("I02", "member", None)]  # never someone already on the team


def test_replacement_pick_is_the_largest_hash_among_candidates() -> None:
    seed = b"\x07" * 32
    candidates = ["A1", "B2", "C3"]
    best = max(candidates, key=lambda c: hashlib.sha256(seed + b"replace:" + c.encode()).digest())
    assert algo.pick_replacement(seed, candidates) == best
    assert algo.pick_replacement(seed, reversed(candidates)) == best
    assert algo.pick_replacement(seed, []) is None


# -- the outsider's script ------------------------------------------------------------------------------


def test_the_published_script_uses_the_same_key() -> None:
    spec = importlib.util.spec_from_file_location("verify_draw_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for code, weight in (("91140581MA0K8E2N1", 1), ("GT0001", 2), ("项目-7", 3)):
        assert module.key(SEED, code, weight) == algo.selection_key(SEED, code, weight)
    assert len(SCRIPT.read_text("utf-8").splitlines()) < 45
