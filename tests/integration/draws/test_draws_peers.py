"""Drawing inspectors from peer departments of the same trade (003 第十七条), end to end: the draw,
what it freezes, verification and tampering, the pages, the refusals and replacements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import flag_modified

from server.accounts.models import User
from server.directory.models import Department
from server.draws import algorithm as algo
from server.draws.models import Draw, DrawnTarget, Replacement
from server.draws.services import decide_replacement, perform_draw, request_replacement, verify_draw
from server.errors import ApiError
from server.extensions import db
from server.inspections.models import Inspection, TeamMember
from tests.integration.draws.conftest import DRAW_DAY, Builder


def _members(draw: Draw) -> list[TeamMember]:
    return list(db.session.scalars(select(TeamMember).where(TeamMember.draw_id == draw.id)))


@pytest.fixture
def short(build: Builder) -> dict[str, Any]:
    """A bureau with a single inspector who may do the food task, its two stations, another
    county's bureau (same trade, same level), a housing bureau (another trade), one task."""
    city = build.department("晋城市市场监督管理局", level="city", trade="market")
    bureau = build.department("高平市市场监督管理局", trade="market", parent_id=city.id)
    east = build.department("东城市场监督管理所", level="station", trade="market", parent_id=bureau.id)
    south = build.department("南城市场监督管理所", level="station", trade="market", parent_id=bureau.id)
    other_county = build.department("陵川县市场监督管理局", trade="market")
    housing = build.department("高平市住房和城乡建设局", trade="housing")
    food = build.item(bureau, specialty="食品")
    (lead,) = build.inspectors(bureau, 1)
    build.inspector(bureau, specialties=["计量"])  # lacks the item's specialty
    build.inspector(bureau, credential_valid_until=dt.date(2024, 12, 31))  # expired
    east_staff = build.inspectors(east, 2)
    build.inspector(east, specialties=["计量"])  # a peer without the specialty is never drawn
    south_staff = build.inspectors(south, 1)
    far = build.inspectors(other_county, 3)
    build.inspectors(housing, 3)  # another trade: never a peer
    targets = build.targets(10, risk_class="D")  # 30 %: three drawn
    task = build.task(bureau, items=[food])
    build.commit()
    return {
        "bureau": bureau,
        "east": east,
        "south": south,
        "other_county": other_county,
        "city": city,
        "housing": housing,
        "lead": lead,
        "near": east_staff + south_staff,
        "far": far,
        "targets": targets,
        "task": task,
    }


def test_a_short_department_is_staffed_from_its_nearest_peers_and_verifies(short: dict[str, Any]) -> None:
    draw = perform_draw(short["task"], today=DRAW_DAY)
    db.session.commit()
    assert draw.algorithm == algo.ALGORITHM == "spotcheck-draw/2"
    members = _members(draw)
    assert len(members) == 6  # three teams of two
    leaders = [m for m in members if m.role == "leader"]
    assert {m.inspector_id for m in leaders} == {short["lead"].id}  # the bureau's own inspector leads
    assert all(m.acting_for_department_id is None for m in leaders)
    near_ids = {i.id for i in short["near"]}
    stand_ins = [m for m in members if m.role == "member"]
    assert all(m.inspector_id in near_ids for m in stand_ins)  # the stations, not the other county
    assert all(m.acting_for_department_id == short["bureau"].id for m in stand_ins)
    assert all(m.department_id in (short["east"].id, short["south"].id) for m in stand_ins)
    assert len({m.inspector_id for m in stand_ins}) == 3  # workload spread over the tier

    peers = draw.parameters["team"]["peers"]
    bureau_id = short["bureau"].id
    assert peers["short"] == [bureau_id]
    assert peers["trades"] == {str(bureau_id): "market"}
    assert peers["tiers"][str(bureau_id)] == [
        sorted([short["city"].id, short["east"].id, short["south"].id]),
        [short["other_county"].id],
    ]
    pool_codes = {code for code, _, _ in peers["pool"]}
    assert pool_codes == {i.code for i in short["near"] + short["far"]}  # specialty and trade respected
    assert sorted(reason for _, reason in peers["excluded"]) == ["specialty"]
    assert sum(len(v) for v in peers["stand_ins"].values()) == 3
    assert all(acting == bureau_id for v in peers["stand_ins"].values() for _, _, acting in v)
    assert verify_draw(draw) == []


def test_tampering_with_a_peer_drawn_team_fails_verification(short: dict[str, Any], app: Flask) -> None:
    draw = perform_draw(short["task"], today=DRAW_DAY)
    db.session.commit()
    member = next(m for m in _members(draw) if m.acting_for_department_id is not None)
    # As if the member had been the bureau's own: the place it filled for the bureau is hidden.
    member.acting_for_department_id = None
    db.session.commit()
    assert any(p.startswith("teams differ") for p in verify_draw(draw))
    member.acting_for_department_id = short["bureau"].id
    # Another inspector of the same trade put in by hand.
    spare = short["far"][0]
    original = (member.inspector_id, member.department_id)
    member.inspector_id, member.department_id = spare.id, spare.department_id
    db.session.commit()
    assert any(p.startswith("teams differ") for p in verify_draw(draw))
    result = app.test_cli_runner().invoke(args=["draws", "verify", "--all"])
    assert result.exit_code == 1 and "teams differ" in result.output
    member.inspector_id, member.department_id = original
    db.session.commit()
    assert verify_draw(draw) == []
    # The stored summary the pages show must match the recomputation as well.
    draw.parameters["team"]["peers"]["short"] = []
    flag_modified(draw, "parameters")
    db.session.commit()
    assert verify_draw(draw) == ["the stored peer stand-ins differ from the recomputed ones"]


def test_a_nearer_tier_is_used_up_before_the_next(short: dict[str, Any], build: Builder) -> None:
    """With the stations in conflict with every target, the other county's bureau stands in."""
    for ins in short["near"]:
        for t in short["targets"]:
            build.conflict(ins, t)
    build.commit()
    draw = perform_draw(short["task"], today=DRAW_DAY)
    db.session.commit()
    far_ids = {i.id for i in short["far"]}
    stand_ins = [m for m in _members(draw) if m.acting_for_department_id is not None]
    assert len(stand_ins) == 3 and all(m.inspector_id in far_ids for m in stand_ins)
    assert verify_draw(draw) == []


def test_a_short_cooperating_department_is_stood_in_for_and_the_leader_acts_for_the_initiator(
    build: Builder,
) -> None:
    bureau = build.department("甲县市场监管局", trade="market")
    station = build.department("甲县某所", level="station", trade="market", parent_id=bureau.id)
    health = build.department("甲县卫健局", trade="health")
    health_peer = build.department("乙县卫健局", trade="health")
    station_staff = build.inspectors(station, 2)
    health_peer_staff = build.inspectors(health_peer, 1)
    build.inspector(health, status="retired")
    build.targets(3, risk_class="D")
    task = build.task(bureau, cooperating=[health])
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    db.session.commit()
    teams: dict[int, list[TeamMember]] = {}
    for m in _members(draw):
        teams.setdefault(m.inspection_id, []).append(m)
    assert len(teams) == 1
    (team,) = teams.values()
    roles = {(m.role, m.acting_for_department_id) for m in team}
    assert roles == {("leader", bureau.id), ("member", health.id)}
    by_role = {m.role: m.inspector_id for m in team}
    assert by_role["leader"] in {i.id for i in station_staff}
    assert by_role["member"] == health_peer_staff[0].id
    assert draw.parameters["team"]["peers"]["short"] == sorted([bureau.id, health.id])
    assert verify_draw(draw) == []


def test_a_visit_with_a_stand_in_for_the_initiator_counts_as_having_it(build: Builder) -> None:
    bureau = build.department("丙县市场监管局", trade="market")
    station = build.department("丙县某所", level="station", trade="market", parent_id=bureau.id)
    build.inspectors(station, 3)
    target = build.target(risk_class="D")
    first = build.task(bureau)
    build.commit()
    first_draw = perform_draw(first, today=DRAW_DAY)
    db.session.commit()
    second = build.task(bureau, window_start=dt.date(2025, 5, 1), window_end=dt.date(2025, 5, 31))
    build.commit()
    second_draw = perform_draw(second, today=DRAW_DAY)
    db.session.commit()
    merged = second_draw.parameters["team"]["merged"][target.code]
    assert merged["has_initiating"] is True  # the first draw's stand-in acts for the bureau
    assert _members(second_draw) == []
    assert second_draw.parameters["team"]["peers"] is None
    assert verify_draw(first_draw) == [] and verify_draw(second_draw) == []


def test_without_a_trade_or_able_peers_the_draw_fails_naming_what_is_missing(
    short: dict[str, Any], build: Builder
) -> None:
    lonely = build.department("某县教育局")  # no trade
    build.inspectors(lonely, 1)
    build.targets(2, risk_class="D")
    lonely_task = build.task(lonely)
    build.commit()
    with pytest.raises(ApiError) as exc:
        perform_draw(lonely_task, today=DRAW_DAY)
    assert exc.value.code == "draw_no_inspectors"
    assert "某县教育局" in (exc.value.detail or "") and "no trade" in (exc.value.detail or "")
    db.session.rollback()

    for ins in short["near"] + short["far"]:
        ins.specialties = ["计量"]  # nobody of the trade has the food specialty any more
    build.commit()
    with pytest.raises(ApiError) as exc:
        perform_draw(short["task"], today=DRAW_DAY)
    detail = exc.value.detail or ""
    assert exc.value.code == "draw_no_inspectors"
    assert "高平市市场监督管理局" in detail and "食品" in detail
    assert "东城市场监督管理所" in detail and "陵川县市场监督管理局" in detail
    db.session.rollback()
    for model in (Draw, DrawnTarget, Inspection, TeamMember):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0


def test_a_draw_of_the_previous_algorithm_still_verifies(county: dict[str, Any]) -> None:
    """A spotcheck-draw/1 draw (no peers in its parameters) recomputes as it was drawn."""
    draw = perform_draw(county["task"], today=DRAW_DAY)
    db.session.commit()
    draw.algorithm = "spotcheck-draw/1"
    draw.parameters = {**draw.parameters, "algorithm": "spotcheck-draw/1"}
    team = dict(draw.parameters["team"])
    del team["peers"]  # the key did not exist then
    draw.parameters = {**draw.parameters, "team": team}
    db.session.commit()
    assert verify_draw(draw) == []
    draw.parameters = {**draw.parameters, "team": {**team, "peers": {"tiers": {}, "pool": []}}}
    db.session.commit()
    assert verify_draw(draw) == ["a spotcheck-draw/1 draw cannot have drawn from peer departments"]


def test_pages_say_when_and_for_whom_peers_were_drawn(
    short: dict[str, Any], client: FlaskClient, page_as: Callable[[User], FlaskClient], make: Any
) -> None:
    draw = perform_draw(short["task"], today=DRAW_DAY)
    db.session.commit()
    public = client.get(f"/public/draws/{draw.id}").get_data(as_text=True)
    assert "同行业部门匹配人员" in public
    stations = ("东城市场监督管理所", "南城市场监督管理所")
    assert any(f"{name}（代高平市市场监督管理局）" in public for name in stations)
    assert "陵川县市场监督管理局" in public  # the peers considered, in their tiers
    for ins in short["near"]:
        assert ins.name not in public  # still no inspector names in public
    staff = page_as(make.user(roles=["supervisor"], department=short["bureau"]))
    page = staff.get(f"/draws/{draw.id}").get_data(as_text=True)
    assert page.count("同行业部门人员，代高平市市场监督管理局") == 3
    assert "人员不足的部门：" in page
    client.set_cookie("lang", "en")
    english = client.get(f"/public/draws/{draw.id}").get_data(as_text=True)
    assert "(for 高平市市场监督管理局)" in english and "Inspectors from peer departments" in english
    client.delete_cookie("lang")
    algorithm = client.get("/public/draws/algorithm").get_data(as_text=True)
    assert "同行业部门" in algorithm and "spotcheck-draw/1" in algorithm
    api = client.get(
        f"/api/v1/draws/{draw.id}",
        headers=make.auth_header(make.user(roles=["supervisor"], department=short["bureau"])),
    ).json
    acting = [m for row in api["drawn"] for m in row["team"] if m["acting_for_department_id"]]
    assert len(acting) == 3 and {m["acting_for_department_name"] for m in acting} == {"高平市市场监督管理局"}


# -- replacement ------------------------------------------------------------------------------------


@pytest.fixture
def full_team(build: Builder, make: Any) -> dict[str, Any]:
    """A bureau of exactly two eligible inspectors, both drawn onto the one visit."""
    bureau = build.department("丁县市场监管局", trade="market")
    station = build.department("丁县某所", level="station", trade="market", parent_id=bureau.id)
    food = build.item(bureau, specialty="食品")
    build.inspectors(bureau, 2)
    station_staff = build.inspectors(station, 2)
    build.inspector(station, specialties=["计量"])  # never a candidate for a food task
    target = build.target(risk_class="D")
    task = build.task(bureau, items=[food])
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    db.session.commit()
    assert draw.parameters["team"]["peers"] is None  # two is enough for the draw itself
    inspection = db.session.get(Inspection, draw.drawn[0].inspection_id)
    assert inspection is not None
    return {
        "bureau": bureau,
        "station": station,
        "station_staff": station_staff,
        "target": target,
        "draw": draw,
        "inspection": inspection,
        "supervisor": make.user(roles=["supervisor"], department=bureau),
        "leader": make.user(roles=["leader"], department=bureau),
    }


def test_a_replacement_comes_from_a_peer_when_the_department_has_nobody_left(
    full_team: dict[str, Any],
) -> None:
    inspection: Inspection = full_team["inspection"]
    leaving = inspection.team[1]
    replacement = request_replacement(leaving, "illness", "住院", full_team["supervisor"])
    decide_replacement(replacement, True, full_team["leader"], today=DRAW_DAY)
    db.session.commit()
    staff_codes = sorted(i.code for i in full_team["station_staff"])
    assert replacement.candidates == staff_codes  # with the specialty; the 计量 one is not
    assert replacement.peers == {
        "department_id": full_team["bureau"].id,
        "trade": "market",
        "tiers": [[full_team["station"].id]],
        "tier": 0,
        "specialties": ["食品"],
    }
    picked = algo.pick_replacement(bytes.fromhex(replacement.seed or ""), replacement.candidates)
    incoming = db.session.get(TeamMember, replacement.in_member_id)
    assert incoming is not None and incoming.inspector.code == picked
    assert incoming.acting_for_department_id == full_team["bureau"].id
    assert incoming.department_id == full_team["station"].id and incoming.role == leaving.role
    assert verify_draw(full_team["draw"]) == []  # the draw's own team is unchanged

    # The stand-in leaves too: its place is still the bureau's, whose peers are asked again.
    second = request_replacement(incoming, "work_conflict", "", full_team["supervisor"])
    decide_replacement(second, True, full_team["leader"], today=DRAW_DAY)
    db.session.commit()
    assert second.candidates == [c for c in staff_codes if c != picked]
    later = db.session.get(TeamMember, second.in_member_id)
    assert later is not None and later.acting_for_department_id == full_team["bureau"].id


def test_no_replacement_anywhere_changes_nothing_and_says_why(
    full_team: dict[str, Any], build: Builder
) -> None:
    for ins in full_team["station_staff"]:
        build.conflict(ins, full_team["target"])
    build.commit()
    member = full_team["inspection"].team[0]
    replacement = request_replacement(member, "post_change", "", full_team["supervisor"])
    db.session.commit()
    with pytest.raises(ApiError) as exc:
        decide_replacement(replacement, True, full_team["leader"], today=DRAW_DAY)
    assert exc.value.code == "replacement_no_candidate"
    assert "丁县市场监管局" in (exc.value.detail or "") and "peer" in (exc.value.detail or "")
    db.session.rollback()
    assert replacement.status == "requested" and member.removed_at is None
    assert db.session.get(Department, full_team["bureau"].id) is not None
    assert (
        db.session.scalar(select(func.count()).select_from(Replacement).where(Replacement.peers.is_not(None)))
        == 0
    )
