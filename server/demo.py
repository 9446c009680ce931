"""``flask demo``: a realistic county, 高平市, for trying Spotcheck out.

What it loads, in order: the departments (the county bureau with its chain up to the province,
its 16 market-supervision stations and four other county agencies), the inspection item list with
checklists (``demo_data/items.toml``, named exactly as the 2025 plan names them), N targets with
valid 统一社会信用代码, tags for the sub-directories, risk classes and inspection history, about 60
inspectors with login accounts, the bundled 2025 plan of the bureau (published) and two finished
draws. Everything but the draws' server entropy follows from ``--seed``.

The target generator (``TargetGenerator``) and the bulk insert (``insert_targets``) are shared with
the benchmarks (``bench/``), which load a million targets the same way.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import time
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select, text

from server.accounts.models import User, UserRole
from server.accounts.services import hash_password
from server.audit.services import record_event
from server.db import utcnow
from server.directory.creditcode import ALPHABET, KIND_PREFIX, WEIGHTS
from server.directory.grams import name_grams
from server.directory.models import (
    Checkpoint,
    Conflict,
    Department,
    Inspector,
    Item,
    Target,
)
from server.draws.models import DrawnTarget
from server.draws.services import perform_draw
from server.extensions import db
from server.planning.importing import load_seed_plan
from server.planning.services import publish_plan

T = TypeVar("T")

DATA_DIR = Path(__file__).resolve().parent / "demo_data"
PASSWORD = "spotcheck-demo"  # noqa: S105 (the published demo password, printed by the command)
YEAR = 2025  # the bundled plan's year; history and risk dates lead up to it
REGION = "140581"

# Kind mix of market entities (percent); a few products and projects come on top.
KIND_SHARES = (("enterprise", 35), ("individual", 60), ("cooperative", 5))
# Enterprise risk classes (企业信用风险分类, percent): mostly low and normal risk.
RISK_SHARES = (("A", 45), ("B", 40), ("C", 12), ("D", 3))
# Statuses (per mille): a directory keeps deregistered and revoked entities for the record.
STATUS_SHARES = (("active", 915), ("liquidating", 10), ("deregistered", 55), ("revoked", 15), ("moved", 5))
# Chance (percent) of an inspection in each year, by kind; most targets were never inspected.
HISTORY_SHARES = {
    "enterprise": {2023: 12, 2024: 14, 2025: 6},
    "individual": {2023: 3, 2024: 3, 2025: 1},
    "cooperative": {2023: 8, 2024: 10, 2025: 4},
}
# Risk classifications are redone monthly; the demo's last runs ended these months.
RISK_DATES = (dt.date(2025, 1, 31), dt.date(2025, 2, 28), dt.date(2025, 3, 31), dt.date(2025, 4, 30))
# The 2025 history stops before the first demo draw (2025-04-25).
HISTORY_END_2025 = dt.date(2025, 4, 18)
HISTORY_RESULTS = (
    ("未发现问题", 80),
    ("发现问题已责令改正", 9),
    ("未按规定公示应当公示的信息", 5),
    ("通过登记的住所（经营场所）无法联系", 4),
    ("未发现开展本次抽查涉及的经营活动", 2),
)
HISTORY_TASKS = {
    "enterprise": "对企业的不定向双随机抽查",
    "individual": "对个体户的不定向双随机抽查",
    "cooperative": "对合作社的不定向双随机抽查",
}
# Specialties that make an inspector 专业 rather than 普通.
PROFESSIONAL_SPECIALTIES = {"食品", "特种设备", "计量", "工业产品", "认证"}
STATION_SPECIALTIES = (["食品"], ["食品", "特种设备"], ["食品", "计量"], ["特种设备"], ["登记注册"])
CONFLICT_REASONS = (
    "近亲属担任该企业法定代表人",
    "曾在该企业任职，离职未满两年",
    "与该企业负责人存在其他利害关系",
)
# (plan row 序号, draw day, witness input): the non-directed enterprise task and one directed task.
DEMO_DRAWS = (
    (11, dt.date(2025, 4, 25), "2025-04-25 福彩3D 第2025108期 开奖号码 4 1 9；见证人 高平市人大代表"),
    (1, dt.date(2025, 6, 20), "2025-06-20 福彩3D 第2025164期 开奖号码 7 3 0；见证人 高平市政协委员"),
)
BATCH = 20_000  # rows per executemany: big enough to amortise, small enough to bound memory


@cache
def load_data(name: str) -> dict[str, Any]:
    """One of the TOML files in ``demo_data/`` (county, items, names)."""
    with (DATA_DIR / f"{name}.toml").open("rb") as fh:
        return tomllib.load(fh)


def _pick(rng: random.Random, seq: Sequence[T]) -> T:
    """``rng.choice`` without its per-call overhead (a million targets make tens of millions of picks)."""
    return seq[int(rng.random() * len(seq))]


class _Choice:
    """A weighted choice by bisecting cumulative weights: much faster than ``rng.choices`` per call."""

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.values = [v for v, _ in pairs]
        self.cum = list(itertools.accumulate(w for _, w in pairs))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.total)]


# -- targets ---------------------------------------------------------------------------------------

_BODY_SPACE = 31**9  # the 9-symbol 主体标识码
_BODY_BITS = _BODY_SPACE.bit_length()
_BODY_WEIGHTS = WEIGHTS[8:17]


@cache
def _head_sum(head: str) -> int:
    return sum(ALPHABET.index(c) * w for c, w in zip(head, WEIGHTS, strict=False))


def random_code(kind: str, region: str, rng: random.Random) -> str:
    """What ``creditcode.make_code`` makes (prefix by kind, region, 9 uniform symbols, check digit),
    from one random number and with the fixed head's share of the checksum computed once: the
    benchmarks generate a million of these, and nine picks plus a full checksum per code would
    take a quarter of the load time."""
    head = KIND_PREFIX[kind] + region
    while (n := rng.getrandbits(_BODY_BITS)) >= _BODY_SPACE:
        pass
    total = _head_sum(head)
    body = []
    for w in _BODY_WEIGHTS:
        n, d = divmod(n, 31)
        body.append(ALPHABET[d])
        total += d * w
    return head + "".join(body) + ALPHABET[-total % 31]


@dataclass
class GeneratedTarget:
    """One generated target: its ``target`` columns, its tags and the dates it was inspected."""

    row: dict[str, Any]
    tags: list[str] = field(default_factory=list)
    history: list[dt.date] = field(default_factory=list)


@dataclass(frozen=True)
class _Profile:
    kind: str
    industry: str
    words: tuple[str, ...]
    tags: tuple[tuple[str, float], ...]


class TargetGenerator:
    """Plausible targets of 高平市, deterministic for a given ``rng``.

    The first targets cover every profile once (and are active), so even a small demo has a
    non-empty pool for every task of the plan; the rest follow the kind, status, risk and
    history mixes above.
    """

    def __init__(self, rng: random.Random, region: str = REGION) -> None:
        self.rng = rng
        self.region = region
        names = load_data("names")
        county = load_data("county")
        self.county = county["county"]
        self.address_prefix = county["province"] + county["city"] + county["county"]
        self.districts = county["districts"]
        self.surname = _Choice([(s, w) for s, w in names["surnames"]])
        self.given: str = names["given"]
        self.trade_chars: str = names["trade_chars"]
        self.trade_words: list[str] = names["trade_words"]
        self.prefix = _Choice([(p, w) for p, w in names["enterprise_prefixes"]])
        self.form = _Choice([(f, w) for f, w in names["enterprise_forms"]])
        self.profiles: list[_Profile] = []
        by_kind: dict[str, list[tuple[_Profile, float]]] = {}
        for p in names["profiles"]:
            profile = _Profile(p["kind"], p["industry"], tuple(p["words"]), tuple(p["tags"].items()))
            self.profiles.append(profile)
            by_kind.setdefault(profile.kind, []).append((profile, p["weight"]))
        self.profile_of = {kind: _Choice(pairs) for kind, pairs in by_kind.items()}
        self.kind = _Choice(KIND_SHARES)
        self.risk = _Choice(RISK_SHARES)
        self.status = _Choice(STATUS_SHARES)
        self.result = _Choice(HISTORY_RESULTS)
        self.products = names["products"]
        self.projects = names["projects"]
        self.codes: set[str] = set()

    # names and people

    def person(self) -> str:
        rng = self.rng
        given = _pick(rng, self.given)
        if rng.random() < 0.7:
            given += _pick(rng, self.given)
        return str(self.surname(rng)) + given

    def trade_name(self) -> str:
        rng = self.rng
        if rng.random() < 0.25:
            return str(_pick(rng, self.trade_words))
        first = _pick(rng, self.trade_chars)
        second = _pick(rng, self.trade_chars)
        return first + (second if second != first else _pick(rng, self.trade_chars))

    def name_for(self, profile: _Profile, district: dict[str, Any], place: str) -> str:
        rng = self.rng
        word = _pick(rng, profile.words)
        if profile.kind == "enterprise":
            return f"{self.prefix(rng)}{self.trade_name()}{word}{self.form(rng)}"
        if profile.kind == "cooperative":
            origin = place if not district.get("roads") and rng.random() < 0.5 else self.trade_name()
            return f"{self.county}{origin}{word}专业合作社"
        r = rng.random()
        if r < 0.45:
            where = district["name"] if not district.get("roads") else district["name"][:2]
            return f"{self.county}{where}{self.trade_name()}{word}"
        if r < 0.7:
            return f"{self.county}{self.surname(rng)}记{word}"
        return f"{self.county}{self.trade_name()}{word}"

    def code_for(self, kind: str) -> str:
        """A random valid 统一社会信用代码 of the county, never one given out before."""
        while True:
            code = random_code(kind, self.region, self.rng)
            if code not in self.codes:  # 31^9 bodies: a repeat is rare, but the column is unique
                self.codes.add(code)
                return code

    # rows

    def _place(self) -> tuple[dict[str, Any], str, str]:
        rng = self.rng
        district = _pick(rng, self.districts)
        place = _pick(rng, district["places"])
        return (
            district,
            place,
            f"{self.address_prefix}{district['name']}{place}{int(rng.random() * 299) + 1}号",
        )

    def _history(self, kind: str) -> list[dt.date]:
        rng = self.rng
        days: list[dt.date] = []
        for year, pct in HISTORY_SHARES[kind].items():
            if rng.random() * 100 < pct:
                last = HISTORY_END_2025 if year == YEAR else dt.date(year, 12, 20)
                first = dt.date(year, 3, 1) if year != YEAR else dt.date(year, 1, 6)
                days.append(first + dt.timedelta(days=int(rng.random() * ((last - first).days + 1))))
        return days

    def market_entity(self, profile: _Profile, status: str) -> GeneratedTarget:
        rng = self.rng
        district, place, address = self._place()
        name = self.name_for(profile, district, place)
        kind = profile.kind
        risk = assessed = None
        if kind == "enterprise":
            risk = self.risk(rng)
            assessed = _pick(rng, RISK_DATES)
        history = self._history(kind)
        row = {
            "code": self.code_for(kind),
            "name": name,
            "kind": kind,
            "industry": profile.industry,
            "district": district["name"],
            "address": address,
            "legal_rep": self.person(),
            "status": status,
            "risk_class": risk,
            "risk_assessed_on": assessed,
            "last_inspected_on": max(history) if history else None,
            "search_grams": name_grams(name),
        }
        tags = [tag for tag, p in profile.tags if rng.random() < p]
        return GeneratedTarget(row, tags, history)

    def other_target(self, kind: str, n: int) -> GeneratedTarget:
        """A product ("P-140581-0001") or project ("X-140581-0001"): assigned codes, no credit code."""
        rng = self.rng
        district, _, address = self._place()
        if kind == "product":
            name = f"{rng.choice(self.products)}（{self.trade_name()}牌）"
            industry = "制造业"
        else:
            name = f"{district['name']}{rng.choice(self.projects)}"
            industry = "建筑业"
        prefix = "P" if kind == "product" else "X"
        row = {
            "code": f"{prefix}-{self.region}-{n:04d}",
            "name": name,
            "kind": kind,
            "industry": industry,
            "district": district["name"],
            "address": address if kind == "project" else "",
            "legal_rep": "",
            "status": "active",
            "risk_class": None,
            "risk_assessed_on": None,
            "last_inspected_on": None,
            "search_grams": name_grams(name),
        }
        return GeneratedTarget(row)

    def generate(self, n: int) -> Iterator[GeneratedTarget]:
        """``n`` targets: every profile once, a few products and projects, then the mix."""
        rng = self.rng
        extras = 0 if n < 100 else min(len(self.products), max(1, n // 400))
        made = 0
        for profile in self.profiles[: max(0, n)]:
            yield self.market_entity(profile, "active")
            made += 1
        for i in range(min(extras, n - made)):
            yield self.other_target("product", i + 1)
            made += 1
        for i in range(min(max(1, extras // 2) if extras else 0, n - made)):
            yield self.other_target("project", i + 1)
            made += 1
        for _ in range(n - made):
            yield self.market_entity(self.profile_of[self.kind(rng)](rng), self.status(rng))

    def history_result(self) -> str:
        return str(self.result(self.rng))


TARGET_COLUMNS = (
    "id", "code", "name", "kind", "industry", "district", "address", "legal_rep", "status",
    "risk_class", "risk_assessed_on", "last_inspected_on", "search_grams", "created_at", "updated_at",
)  # fmt: skip
HISTORY_COLUMNS = ("target_id", "inspected_on", "department_id", "task_name", "result", "source")


def sync_sequence(table_name: str) -> None:
    """After inserting explicit ids, move PostgreSQL's serial past them (SQLite needs nothing)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table_name}))"
            )
        )


class _Writer:
    """executemany straight to the driver, with values already in the form the column stores.

    SQLAlchemy's per-value processing costs about as much as SQLite's own insert, which matters at
    a million rows. On SQLite dates are stored as ISO text and timestamps as
    "YYYY-MM-DD HH:MM:SS.ffffff", exactly as SQLAlchemy writes them; psycopg adapts dates itself.
    """

    def __init__(self) -> None:
        self.conn = db.session.connection()
        self.sqlite = self.conn.dialect.name == "sqlite"
        self.mark = "?" if self.sqlite else "%s"

    def day(self, value: dt.date | None) -> Any:
        return value.isoformat() if self.sqlite and value is not None else value

    def stamp(self, value: dt.datetime) -> Any:
        return value.isoformat(" ", "microseconds") if self.sqlite else value

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if rows:
            marks = ", ".join([self.mark] * len(columns))
            self.conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def insert_targets(
    generated: Iterable[GeneratedTarget],
    history_department_id: int | None = None,
    history_result: Any = None,
    batch_size: int = BATCH,
) -> int:
    """Insert targets, their tags and (with a department) their history, in executemany batches.

    Ids are assigned here, from the current maximum, so tags and history need no read-back; the
    caller holds the only writer (the demo loads an empty database). Returns how many targets.
    """
    out = _Writer()
    next_id = (db.session.scalar(select(func.max(Target.id))) or 0) + 1
    now = out.stamp(utcnow())
    total = 0
    it = iter(generated)
    while batch := list(itertools.islice(it, batch_size)):
        rows: list[tuple[Any, ...]] = []
        tags: list[tuple[Any, ...]] = []
        records: list[tuple[Any, ...]] = []
        for g in batch:
            r = g.row
            rows.append(
                (next_id, r["code"], r["name"], r["kind"], r["industry"], r["district"], r["address"],
                 r["legal_rep"], r["status"], r["risk_class"], out.day(r["risk_assessed_on"]),
                 out.day(r["last_inspected_on"]), r["search_grams"], now, now)
            )  # fmt: skip
            tags.extend((next_id, t) for t in g.tags)
            if history_department_id is not None:
                task = HISTORY_TASKS.get(r["kind"], "")
                records.extend(
                    (next_id, out.day(day), history_department_id, f"{day.year}年度{task}",
                     history_result() if history_result else "未发现问题", "import")
                    for day in sorted(g.history)
                )  # fmt: skip
            next_id += 1
        out.insert("target", TARGET_COLUMNS, rows)
        out.insert("target_tag", ("target_id", "tag"), tags)
        out.insert("inspection_record", HISTORY_COLUMNS, records)
        total += len(rows)
    sync_sequence("target")
    return total


# -- departments, items, inspectors, accounts --------------------------------------------------


@dataclass
class County:
    """What the demo created, for the steps that follow and for the summary."""

    bureau: Department
    departments: dict[str, Department]
    stations: dict[str, Department]
    items: list[Item] = field(default_factory=list)
    inspectors: list[Inspector] = field(default_factory=list)
    users: dict[str, User] = field(default_factory=dict)


def create_departments() -> County:
    data = load_data("county")
    by_code: dict[str, Department] = {}
    bureau: Department | None = None
    for d in data["departments"]:
        dept = Department(
            code=d["code"],
            name=d["name"],
            level=d["level"],
            parent=by_code.get(d.get("parent", "")),
            trade=d.get("trade"),
        )
        db.session.add(dept)
        by_code[d["code"]] = dept
        if d.get("bureau"):
            bureau = dept
    assert bureau is not None, "county.toml names no bureau"
    stations: dict[str, Department] = {}
    for n, district in enumerate(data["districts"], start=1):
        station = Department(
            code=f"{bureau.code}-S{n:02d}",
            name=district["station"],
            level="station",
            parent=bureau,
            trade=bureau.trade,  # a station of the bureau: the same trade, so a peer
        )
        db.session.add(station)
        stations[district["name"]] = station
    db.session.flush()
    return County(bureau, by_code, stations)


def create_items(county: County) -> list[Item]:
    items = []
    for spec in load_data("items")["items"]:
        dept = county.departments[spec["department"]] if spec.get("department") else county.bureau
        item = Item(
            code=spec["code"],
            name=spec["name"],
            kind=spec["kind"],
            department=dept,
            legal_basis=spec["legal_basis"],
            specialty=spec.get("specialty") or None,
        )
        item.checkpoints = [
            Checkpoint(position=i, text=cp_text, method=method)
            for i, (cp_text, method) in enumerate(spec["checkpoints"], start=1)
        ]
        db.session.add(item)
        items.append(item)
    db.session.flush()
    county.items = items
    return items


# Fixed irregularities rather than random ones, so every task keeps enough eligible inspectors:
# (post or district, index within it) → fields.
IRREGULAR: dict[tuple[str, int], dict[str, Any]] = {
    ("信用监管股", 3): {"credential_valid_until": dt.date(2024, 12, 31)},  # 执法证 expired
    ("登记注册股", 2): {"credential_valid_until": dt.date(2025, 3, 31)},
    ("东城街道", 0): {"credential_valid_until": dt.date(2025, 1, 15)},
    ("食品经营监管股", 4): {"status": "leave"},
    ("广告监管股", 1): {"status": "transferred"},
    ("永录乡", 0): {"status": "retired"},
}
# Other agencies' inspectors (code prefix, how many) and two experts of testing bodies.
AGENCY_STAFF = {"140581-WJJ": ("WJ", 2, ["公共卫生"]), "140581-YJJ": ("YJ", 2, ["危险化学品"])}
AGENCY_STAFF |= {"140581-ZJJ": ("ZJ", 1, ["建筑施工"]), "140581-WLJ": ("WL", 1, ["文化市场"])}
EXPERTS = (
    ("晋城市特种设备监督检验所 高级工程师", ["特种设备"]),
    ("晋城市食品药品检验检测中心 主管检验师", ["食品"]),
)


def _credential(gen: TargetGenerator, n: int) -> tuple[str, dt.date]:
    rng = gen.rng
    valid_until = dt.date(2027, 1, 1) + dt.timedelta(days=rng.randrange(3 * 365))
    return f"1405{REGION[4:]}{n:05d}", valid_until


def create_inspectors(county: County, gen: TargetGenerator) -> list[Inspector]:
    """About 60 inspectors: the bureau's sections, one per station, other agencies, two experts."""
    rng = gen.rng
    data = load_data("county")
    people: list[Inspector] = []
    serial = itertools.count(1)

    def add(dept: Department, code: str, post: str, specialties: list[str], key: tuple[str, int]) -> None:
        n = next(serial)
        credential_no, valid_until = _credential(gen, n)
        extra = list(specialties)
        if rng.random() < 0.2:
            extra.append(rng.choice(["登记注册", "信用监管", "价格监督"]))
        ins = Inspector(
            code=code,
            name=gen.person(),
            department=dept,
            credential_no=credential_no,
            credential_valid_until=valid_until,
            kind="professional" if PROFESSIONAL_SPECIALTIES & set(extra) else "general",
            post=post,
            specialties=sorted(set(extra)),
            status="active",
        )
        for attr, value in IRREGULAR.get(key, {}).items():
            setattr(ins, attr, value)
        db.session.add(ins)
        people.append(ins)

    gp = itertools.count(1)
    for post in data["posts"]:
        for i in range(post["staff"]):
            add(county.bureau, f"GP{next(gp):03d}", post["name"], post["specialties"], (post["name"], i))
    for district in data["districts"]:
        station = county.stations[district["name"]]
        add(
            station,
            f"GP{next(gp):03d}",
            station.name,
            list(rng.choice(STATION_SPECIALTIES)),
            (district["name"], 0),
        )
    for dept_code, (prefix, count, specialties) in AGENCY_STAFF.items():
        for i in range(count):
            add(
                county.departments[dept_code], f"{prefix}{i + 1:02d}", "执法大队", specialties, (dept_code, i)
            )
    for i, (post, specialties) in enumerate(EXPERTS, start=1):
        expert = Inspector(
            code=f"EX{i:02d}",
            name=gen.person(),
            department=county.bureau,
            kind="expert",
            post=post,
            specialties=specialties,
            status="active",
        )
        db.session.add(expert)
        people.append(expert)
    db.session.flush()
    county.inspectors = people
    return people


def _user(
    username: str, display_name: str, roles: Sequence[str], dept: Department, password_hash: str
) -> User:
    user = User(username=username, display_name=display_name, password_hash=password_hash, department=dept)
    user.role_rows = [UserRole(role=r) for r in sorted(set(roles))]
    db.session.add(user)
    return user


def create_accounts(county: County, gen: TargetGenerator) -> dict[str, User]:
    """admin, supervisor, leader and one inspector account per inspector, all with ``PASSWORD``.

    The password is hashed once: with the production scrypt cost, hashing it 60 times would take
    most of the demo's run time, and every demo account shares the published password anyway.
    """
    password_hash = hash_password(PASSWORD)
    users = {
        "admin": _user("admin", "系统管理员", ["admin"], county.bureau, password_hash),
        "supervisor": _user(
            "supervisor", f"{gen.person()}（信用监管股股长）", ["supervisor"], county.bureau, password_hash
        ),
        "leader": _user("leader", f"{gen.person()}（分管副局长）", ["leader"], county.bureau, password_hash),
    }
    for ins in county.inspectors:
        user = _user(ins.code, ins.name, ["inspector"], ins.department, password_hash)
        users[ins.code] = user
    db.session.flush()
    for ins in county.inspectors:
        ins.user_id = users[ins.code].id
    county.users = users
    return users


def create_conflicts(county: County, gen: TargetGenerator) -> list[Conflict]:
    """A few declared conflicts of interest (回避) between bureau inspectors and active enterprises."""
    rng = gen.rng
    candidates = list(
        db.session.scalars(
            select(Target.id)
            .where(Target.kind == "enterprise", Target.status == "active")
            .order_by(Target.id)
            .limit(500)
        )
    )
    staff = [i for i in county.inspectors if i.department_id == county.bureau.id and i.kind != "expert"]
    conflicts = []
    for reason, target_id, inspector in zip(
        CONFLICT_REASONS, rng.sample(candidates, min(3, len(candidates))), rng.sample(staff, 3), strict=False
    ):
        conflict = Conflict(inspector=inspector, target_id=target_id, reason=reason)
        db.session.add(conflict)
        conflicts.append(conflict)
    db.session.flush()
    return conflicts


# -- the whole demo --------------------------------------------------------------------------------


@dataclass
class DemoSummary:
    departments: int
    items: int
    targets: int
    inspectors: int
    accounts: list[str]
    plan_id: int
    tasks: int
    draws: list[tuple[str, int, int]]  # (task name, draw id, targets drawn)
    seconds: float


def load_demo(targets: int = 3000, seed: int = 2025) -> DemoSummary:
    """Load the whole demo into an empty database; flushes, the caller commits."""
    started = time.perf_counter()
    rng = random.Random(seed)
    gen = TargetGenerator(rng)
    county = create_departments()
    create_items(county)
    create_inspectors(county, gen)
    users = create_accounts(county, gen)
    count = insert_targets(gen.generate(targets), county.bureau.id, gen.history_result)
    create_conflicts(county, gen)
    admin = users["admin"]
    record_event(
        "demo.loaded",
        "department",
        county.bureau.id,
        actor_id=admin.id,
        details={
            "seed": seed,
            "departments": len(county.departments) + len(county.stations),
            "items": len(county.items),
            "targets": count,
            "inspectors": len(county.inspectors),
        },
    )

    plan = load_seed_plan(county.bureau, YEAR, actor_id=admin.id)
    publish_plan(plan, actor_id=users["leader"].id)
    tasks = {t.seq: t for t in plan.tasks}
    draws = []
    for seq, day, witness in DEMO_DRAWS:
        draw = perform_draw(tasks[seq], actor=users["supervisor"], witness=witness, today=day)
        drawn = db.session.scalar(select(func.count()).where(DrawnTarget.draw_id == draw.id))
        draws.append((tasks[seq].name, draw.id, int(drawn or 0)))
    return DemoSummary(
        departments=len(county.departments) + len(county.stations),
        items=len(county.items),
        targets=count,
        inspectors=len(county.inspectors),
        accounts=list(users),
        plan_id=plan.id,
        tasks=len(plan.tasks),
        draws=draws,
        seconds=time.perf_counter() - started,
    )


def database_is_empty() -> bool:
    return db.session.scalar(select(Department.id).limit(1)) is None


@click.command("demo")
@click.option(
    "--targets",
    default=3000,
    show_default=True,
    type=click.IntRange(100, 2_000_000),
    help="number of targets to create",
)
@click.option("--if-empty", is_flag=True, help="do nothing if the database already has departments")
@click.option(
    "--seed", default=2025, show_default=True, help="random seed: the same seed gives the same data"
)
@with_appcontext
def demo_command(targets: int, if_empty: bool, seed: int) -> None:
    """Load demo data: 高平市 with its plan for 2025 and two finished draws."""
    if not database_is_empty():
        if if_empty:
            click.echo("demo: the database already has data; nothing loaded")
            return
        raise click.ClickException(
            "the database already has data; the demo loads into an empty database only"
        )
    try:
        summary = load_demo(targets, seed)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    click.echo(
        f"demo: {summary.departments} departments, {summary.items} items, {summary.targets} targets, "
        f"{summary.inspectors} inspectors, plan #{summary.plan_id} with {summary.tasks} tasks (published)"
    )
    for name, draw_id, drawn in summary.draws:
        click.echo(f"demo: draw #{draw_id} of {name}: {drawn} targets drawn")
    inspectors = [a for a in summary.accounts if a not in ("admin", "supervisor", "leader")]
    click.echo(f"demo accounts (password for all: {PASSWORD}):")
    click.echo("  admin (admin), supervisor (supervisor), leader (leader)")
    click.echo(f"  inspectors: {', '.join(inspectors)}")
    click.echo(f"demo: loaded in {summary.seconds:.1f} s")
