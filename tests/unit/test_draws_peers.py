"""Peer departments of the same trade (003 第十七条) in the pure algorithm: who counts as a peer and
in which order, and how ``assign_teams`` falls back to them only when a department runs short."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from server.draws import algorithm as algo
from server.draws.algorithm import DepartmentNode, Pick, PoolInspector, TeamRequest

SEED = hashlib.sha256(b"peers-unit-seed").digest()

# A county bureau (1) under a city bureau (10), its stations (2, 3), another county's bureau (20)
# with its station (21), a province bureau (30), and a housing bureau (40) of another trade.
DEPARTMENTS = [
    DepartmentNode(10, None, "city", "market"),
    DepartmentNode(1, 10, "county", "market"),
    DepartmentNode(2, 1, "station", "market"),
    DepartmentNode(3, 1, "station", "market"),
    DepartmentNode(20, 10, "county", "market"),
    DepartmentNode(21, 20, "station", "market"),
    DepartmentNode(30, None, "province", "market"),
    DepartmentNode(40, None, "county", "housing"),
    DepartmentNode(41, None, "county", None),
]


def _pool(dept: int, n: int, prefix: str, load: int = 0) -> list[PoolInspector]:
    return [PoolInspector(f"{prefix}{i:02d}", dept, load) for i in range(n)]


def _requests(n: int) -> list[TeamRequest]:
    return [TeamRequest(f"T{i}") for i in range(n)]


# -- who is a peer ------------------------------------------------------------------------------------


def test_peer_tiers_go_from_the_hierarchy_to_the_same_level_to_the_rest_of_the_trade() -> None:
    # The bureau: its parent and its stations; the other county bureau is a sibling (same parent).
    # No other county-level department of the trade is left, so the second tier is empty and
    # left out; the rest follows.
    assert algo.peer_tiers(1, DEPARTMENTS) == [[2, 3, 10, 20], [21, 30]]
    # A station: its bureau and its sibling station; then the other county's station; then the rest.
    assert algo.peer_tiers(2, DEPARTMENTS) == [[1, 3], [21], [10, 20, 30]]
    # Without a parent, siblings do not exist: only children count as the hierarchy.
    assert algo.peer_tiers(30, DEPARTMENTS) == [[1, 2, 3, 10, 20, 21]]
    assert algo.peer_tiers(10, DEPARTMENTS) == [[1, 20], [2, 3, 21, 30]]


def test_no_trade_or_a_trade_of_its_own_means_no_peers() -> None:
    assert algo.peer_tiers(41, DEPARTMENTS) == []  # no trade set
    assert algo.peer_tiers(40, DEPARTMENTS) == []  # the only housing department
    assert algo.peer_tiers(99, DEPARTMENTS) == []  # unknown
    assert all(40 not in tier and 41 not in tier for tier in algo.peer_tiers(1, DEPARTMENTS))


# -- when peers are used ------------------------------------------------------------------------------


def test_a_staffable_draw_is_the_same_with_or_without_peers() -> None:
    own = _pool(1, 3, "S", load=4) + _pool(40, 2, "H")
    idle_peers = _pool(2, 4, "P") + _pool(3, 4, "Q")  # less loaded, yet never needed
    conflicts = [("S00", "T1"), ("H01", "T2")]
    without = algo.assign_teams(SEED, _requests(12), own, conflicts, 1, [40], 3)
    with_peers = algo.assign_teams(
        SEED, _requests(12), own + idle_peers, conflicts, 1, [40], 3, {1: [[2, 3]], 40: []}
    )
    assert with_peers == without
    assert all(p.acting_for is None for team in with_peers for p in team)


def test_a_short_department_fills_only_its_missing_slots_from_peers() -> None:
    pool = _pool(1, 1, "S") + _pool(2, 2, "P") + _pool(3, 2, "Q")
    peers = {1: [[2, 3]]}
    teams = algo.assign_teams(SEED, _requests(8), pool, [], 1, [], 2, peers)
    assert teams == algo.assign_teams(SEED, _requests(8), list(reversed(pool)), [], 1, [], 2, peers)
    for team in teams:
        assert team[0] == Pick("S00", "leader")  # the own inspector leads every team
        assert team[1].role == "member" and team[1].acting_for == 1
        assert team[1].code[0] in "PQ"
    # Workload balance across the whole tier: each of the four peers goes twice.
    assert sorted(Counter(t[1].code for t in teams).values()) == [2, 2, 2, 2]


def test_with_nobody_eligible_the_leader_comes_from_a_peer_acting_for_the_initiating_department() -> None:
    pool = _pool(2, 3, "P")
    teams = algo.assign_teams(SEED, _requests(2), pool, [], 1, [], 2, {1: [[2]]})
    for team in teams:
        assert [(p.role, p.acting_for) for p in team] == [("leader", 1), ("member", 1)]
        assert len({p.code for p in team}) == 2


def test_a_nearer_tier_wins_over_a_less_loaded_farther_one() -> None:
    pool = _pool(1, 1, "S") + _pool(2, 1, "NEAR", load=9) + _pool(21, 3, "FAR")
    teams = algo.assign_teams(SEED, _requests(3), pool, [], 1, [], 2, {1: [[2], [21]]})
    assert [t[1].code for t in teams] == ["NEAR00"] * 3
    # Once the near tier has nobody left for a target (here a conflict), the next tier serves.
    teams = algo.assign_teams(SEED, _requests(2), pool, [("NEAR00", "T1")], 1, [], 2, {1: [[2], [21]]})
    assert teams[0][1].code == "NEAR00"
    assert teams[1][1].code.startswith("FAR") and teams[1][1].acting_for == 1


def test_conflicts_bar_peers_too_and_ties_follow_the_seed() -> None:
    pool = _pool(1, 1, "S") + _pool(2, 3, "P")
    teams = algo.assign_teams(SEED, _requests(1), pool, [("P00", "T0"), ("P01", "T0")], 1, [], 2, {1: [[2]]})
    assert teams[0][1] == Pick("P02", "member", 1)
    teams = algo.assign_teams(SEED, _requests(1), pool, [], 1, [], 2, {1: [[2]]})
    expected = min(("P00", "P01", "P02"), key=lambda c: algo.team_tiebreak(SEED, c))
    assert teams[0][1].code == expected
    other_seed = hashlib.sha256(b"another").digest()
    again = algo.assign_teams(other_seed, _requests(1), pool, [], 1, [], 2, {1: [[2]]})
    assert again[0][1].code == min(("P00", "P01", "P02"), key=lambda c: algo.team_tiebreak(other_seed, c))


def test_a_short_cooperating_department_is_stood_in_for_by_its_own_peers() -> None:
    pool = _pool(1, 2, "S") + _pool(2, 2, "P") + _pool(40, 0, "H") + _pool(42, 2, "K")
    teams = algo.assign_teams(SEED, _requests(2), pool, [], 1, [40], 2, {1: [[2]], 40: [[42]]})
    for team in teams:
        assert team[0].code.startswith("S") and team[0].acting_for is None
        assert team[1].code.startswith("K") and team[1].acting_for == 40


def test_a_merged_visit_without_the_initiating_department_gets_a_stand_in() -> None:
    pool = _pool(2, 2, "P")
    requests = [TeamRequest("T1", existing=("X1", "P00"), has_initiating=False)]
    teams = algo.assign_teams(SEED, requests, pool, [], 1, [], 2, {1: [[2]]})
    assert teams == [[Pick("P01", "member", 1)]]  # never someone already on the visit


def test_when_even_peers_are_exhausted_the_error_names_them() -> None:
    pool = _pool(1, 1, "S") + _pool(2, 1, "P")
    with pytest.raises(algo.NotEnoughInspectors) as exc:
        algo.assign_teams(SEED, _requests(1), pool, [("P00", "T0")], 1, [], 2, {1: [[2], [3]]})
    assert (exc.value.department_id, exc.value.target_code, exc.value.peers_tried) == (1, "T0", (2, 3))
    assert "nor of its peer departments 2, 3" in str(exc.value)
    with pytest.raises(algo.NotEnoughInspectors) as exc:
        algo.assign_teams(SEED, _requests(1), pool, [], 1, [], 3, None)
    assert exc.value.peers_tried == ()
