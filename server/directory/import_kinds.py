"""How each kind of import checks its rows against the directories and writes them.

One class per kind. ``lookup`` loads everything the file refers to with one query per set of codes
(chunked IN lists), ``check`` validates one parsed row in memory, ``preview`` says what would be
created and updated, ``apply`` writes with Core bulk statements inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from sqlalchemy import ARRAY, ColumnElement, Table, any_, bindparam, delete, func, insert, select, update

from server.db import utcnow
from server.directory.creditcode import problem as credit_code_problem
from server.directory.grams import name_grams
from server.directory.import_formats import (
    COLUMNS,
    KEY_COLUMNS,
    CellError,
    Problems,
    Sheet,
    normalize_header,
    parse_code,
    split_list,
)
from server.directory.models import (
    MARKET_KINDS,
    Checkpoint,
    Conflict,
    Department,
    InspectionRecord,
    Inspector,
    Item,
    Target,
    TargetTag,
)
from server.extensions import db
from server.i18n import today_local

SAMPLE_CODES = 20  # codes listed per action in the summary ("would create 91…, 92…")
LOOKUP_CHUNK = 5000  # IN-list size: far below SQLite's and PostgreSQL's parameter limits
WRITE_CHUNK = 2000  # rows per executemany, and the progress granularity while applying

T = TypeVar("T")
INVALID = object()  # a cell that failed to parse (its problem is already recorded)


def _chunks(seq: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def table_of(model: type) -> Table:
    """The Core table of a model: bulk statements skip the ORM's per-object work."""
    return model.__table__  # type: ignore[attr-defined,no-any-return]


@dataclass
class Row:
    line: int
    values: dict[str, Any]  # field → parsed value, None for blank, INVALID for a bad cell
    ok: bool = True


@dataclass
class Outcome:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "created_sample": self.created[:SAMPLE_CODES],
            "updated_sample": self.updated[:SAMPLE_CODES],
            **self.extra,
        }


class Importer(ABC):
    """Header mapping, cell parsing and the generic checks; subclasses check rows and write."""

    kind: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]  # what apply() writes to

    def __init__(
        self, mode: str, problems: Problems, on_progress: Callable[[int], None] | None = None
    ) -> None:
        self.mode = mode
        self.problems = problems
        self.on_progress = on_progress  # called with the number of rows checked / written so far
        self.columns = COLUMNS[self.kind]
        self.by_key = {c.key: c for c in self.columns}
        self.mapping: dict[str, int] = {}  # field → cell index
        self.headers: dict[str, str] = {}  # field → header as written in the file
        self.unknown_columns: list[str] = []
        self.outcome = Outcome()
        self.departments: dict[str, int] = {}

    # -- header ------------------------------------------------------------------------------

    def map_header(self, sheet: Sheet) -> int | None:
        """Find the header (the first row naming a known column, usually line 1); returns its line."""
        names = {n: c for c in self.columns for n in c.names()}
        header_at = None
        for index, (_line, cells) in enumerate(sheet.rows[:10]):
            if sum(1 for c in cells if normalize_header(c) in names) >= min(2, len(self.columns)):
                header_at = index
                break
        if header_at is None:
            header_at = 0
        line, cells = sheet.rows[header_at]
        del sheet.rows[: header_at + 1]  # a title row above the header is dropped with it
        for index, text in enumerate(cells):
            if not text:
                continue
            column = names.get(normalize_header(text))
            if column is None:
                self.unknown_columns.append(text)
            elif column.key in self.mapping:
                self.problems.add(line, column.key, text, "duplicate_column")
            else:
                self.mapping[column.key] = index
                self.headers[column.key] = text
        needed = (
            [c.key for c in self.columns if c.required]
            if self.mode == "create"
            else list(KEY_COLUMNS[self.kind])
        )
        for key in needed:
            if key not in self.mapping:
                self.problems.add(line, key, self.by_key[key].label, "missing_column")
        return line

    def column_name(self, key: str) -> str:
        return self.headers.get(key, self.by_key[key].label)

    # -- cells -------------------------------------------------------------------------------

    def raw(self, cells: list[str], key: str) -> str:
        index = self.mapping.get(key)
        return cells[index] if index is not None and index < len(cells) else ""

    def parse_row(self, line: int, cells: list[str]) -> Row:
        row = Row(line, {})
        for key, index in self.mapping.items():
            column = self.by_key[key]
            raw = cells[index] if index < len(cells) else ""
            if not raw:
                row.values[key] = None
                continue
            try:
                if column.list_of is not None:
                    value: Any = split_list(raw, column.list_of)
                else:
                    if column.max_len is not None and len(raw) > column.max_len:
                        raise CellError("too_long", max=column.max_len)
                    value = column.parse(raw) if column.parse else raw
            except CellError as exc:
                self.fail(row, key, exc.code, **exc.params)
                row.values[key] = INVALID
            else:
                row.values[key] = value
        return row

    def fail(self, row: Row, key: str | None, code: str, **params: Any) -> None:
        row.ok = False
        self.problems.add(row.line, key, self.column_name(key) if key else None, code, **params)

    def require(self, row: Row, *keys: str) -> None:
        for key in keys:
            if row.values.get(key) is None:
                self.fail(row, key, "required")

    def text(self, row: Row, key: str) -> str | None:
        value = row.values.get(key)
        return value if isinstance(value, str) else None

    def future(self, row: Row, key: str) -> None:
        value = row.values.get(key)
        if isinstance(value, dt.date) and value > today_local():
            self.fail(row, key, "future_date", value=value.isoformat())

    # -- lookups -----------------------------------------------------------------------------

    def codes_in(self, rows: list[tuple[int, list[str]]], key: str) -> list[str]:
        if key not in self.mapping:
            return []
        parse = self.by_key[key].parse or parse_code  # the same normalisation as the cells get
        return sorted({parse(v) for _, cells in rows if (v := self.raw(cells, key))})

    def load_departments(self) -> None:
        t = table_of(Department)
        self.departments = {code: id_ for id_, code in db.session.execute(select(t.c.id, t.c.code))}

    def lookup(self, rows: list[tuple[int, list[str]]]) -> None:  # noqa: B027 (optional hook)
        """Load everything the rows refer to, one query per set (chunked)."""

    # -- the run -----------------------------------------------------------------------------

    def validate(self, rows: list[tuple[int, list[str]]]) -> None:
        self.lookup(rows)
        for done, (line, cells) in enumerate(rows, start=1):
            self.check(self.parse_row(line, cells))
            if self.on_progress is not None and done % 500 == 0:
                self.on_progress(done)
        self.finish_checks()
        if self.on_progress is not None:
            self.on_progress(len(rows))

    @abstractmethod
    def check(self, row: Row) -> None:
        """Validate one parsed row, recording its problems."""

    def finish_checks(self) -> None:  # noqa: B027 (optional hook)
        """Checks that need every row (e.g. cycles)."""

    @abstractmethod
    def preview(self) -> None:
        """Fill ``outcome`` with what apply() would create and update."""

    @abstractmethod
    def apply(self) -> None:
        """Write the checked rows (inside the caller's transaction) and fill ``outcome``."""

    def written(self, n: int) -> None:
        if self.on_progress is not None:
            self.on_progress(n)

    def present(self, row: Row, keys: Iterable[str]) -> dict[str, Any]:
        """Upsert: the fields the file gives a value for (a blank cell keeps the stored value)."""
        return {k: row.values[k] for k in keys if row.values.get(k) is not None}


def _update_by_id(table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk UPDATE … WHERE id = :_id, one executemany per distinct set of columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        cols = tuple(sorted(k for k in r if k != "_id"))
        if cols:
            groups.setdefault(cols, []).append(r)
    for cols, group in groups.items():
        stmt = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({c: bindparam(c) for c in cols})
            .execution_options(synchronize_session=False)
        )
        for chunk in _chunks(group, WRITE_CHUNK):
            db.session.execute(stmt, list(chunk))


def _among(column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``= ANY(array)``: one parameter instead of thousands of
    placeholders that the driver would re-parse for every chunk."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def _insert_rows(table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk INSERT as executemany (psycopg pipelines it; no RETURNING, so no giant statements)."""
    for chunk in _chunks(rows, WRITE_CHUNK):
        db.session.execute(insert(table), list(chunk))


def _insert_with_ids(table: Table, rows: list[dict[str, Any]], key: str = "code") -> dict[Any, int]:
    """Insert, then read back the new ids by their unique key: key → id."""
    _insert_rows(table, rows)
    ids: dict[Any, int] = {}
    keys = [r[key] for r in rows]
    for chunk in _chunks(keys, LOOKUP_CHUNK):
        for id_, k in db.session.execute(select(table.c.id, table.c[key]).where(_among(table.c[key], chunk))):
            ids[k] = id_
    return ids


class DepartmentImporter(Importer):
    kind = "departments"
    tables = ("department",)

    def lookup(self, rows: list[tuple[int, list[str]]]) -> None:
        t = table_of(Department)
        self.existing = {
            r.code: r for r in db.session.execute(select(t.c.id, t.c.code, t.c.parent_id, t.c.level))
        }
        self.code_by_id = {r.id: r.code for r in self.existing.values()}
        self.seen: dict[str, int] = {}
        self.accepted: dict[str, Row] = {}
        self.parents: dict[str, str | None] = {
            code: self.code_by_id.get(r.parent_id) if r.parent_id else None
            for code, r in self.existing.items()
        }
        self.file_codes = set(self.codes_in(rows, "code"))

    def check(self, row: Row) -> None:
        code = self.text(row, "code")
        self.require(row, "code")
        if code is not None:
            if code in self.seen:
                self.fail(row, "code", "duplicate_in_file", value=code, other=self.seen[code])
            else:
                self.seen[code] = row.line
                if code in self.existing and self.mode == "create":
                    self.fail(row, "code", "already_exists", value=code)
        if code is None or code not in self.existing:
            self.require(row, "name", "level")
        parent = self.text(row, "parent_code")
        if parent is not None and parent not in self.existing and parent not in self.file_codes:
            self.fail(row, "parent_code", "unknown_parent", value=parent)
        if row.ok and code is not None:
            self.accepted[code] = row
            if parent is not None:
                self.parents[code] = parent
            elif code not in self.existing:
                self.parents[code] = None

    def finish_checks(self) -> None:
        for code, row in self.accepted.items():
            seen = {code}
            node = self.parents.get(code)
            while node is not None:
                if node in seen:
                    self.fail(row, "parent_code", "parent_cycle")
                    break
                seen.add(node)
                node = self.parents.get(node)

    def apply(self) -> None:
        t = table_of(Department)
        new = [code for code in self.accepted if code not in self.existing]
        inserts = [
            {
                "code": code,
                "name": self.accepted[code].values["name"],
                "level": self.accepted[code].values["level"],
                "trade": self.accepted[code].values.get("trade"),
                "parent_id": None,  # set below, once every new department has an id
            }
            for code in new
        ]
        ids = {code: r.id for code, r in self.existing.items()}
        ids.update(_insert_with_ids(t, inserts))
        updates = []
        for code, row in self.accepted.items():
            values = self.present(row, ("name", "level", "trade")) if code in self.existing else {}
            parent = self.text(row, "parent_code")
            if parent is not None:
                values["parent_id"] = ids[parent]
            if values:
                updates.append({"_id": ids[code], **values})
        _update_by_id(t, updates)
        self.outcome.created = new
        self.outcome.updated = [c for c in self.accepted if c in self.existing]
        self.written(len(self.accepted))

    def preview(self) -> None:
        self.outcome.created = [c for c in self.accepted if c not in self.existing]
        self.outcome.updated = [c for c in self.accepted if c in self.existing]


class ItemImporter(Importer):
    """One row per checkpoint; rows sharing an item code make one item."""

    kind = "items"
    tables = ("item", "checkpoint")
    ITEM_FIELDS = ("name", "kind", "department_code", "legal_basis", "specialty")

    def lookup(self, rows: list[tuple[int, list[str]]]) -> None:
        self.load_departments()
        t = table_of(Item)
        codes = self.codes_in(rows, "code")
        self.existing: dict[str, int] = {}
        for chunk in _chunks(codes, LOOKUP_CHUNK):
            self.existing.update(
                {c: i for i, c in db.session.execute(select(t.c.id, t.c.code).where(_among(t.c.code, chunk)))}
            )
        # item code → first line, merged item fields (with the line each came from), checkpoints
        self.items: dict[str, dict[str, Any]] = {}

    def check(self, row: Row) -> None:
        code = self.text(row, "code")
        self.require(row, "code", "checkpoint")
        dept = self.text(row, "department_code")
        if dept is not None and dept not in self.departments:
            self.fail(row, "department_code", "unknown_department", value=dept)
        if code is None:
            return
        item = self.items.get(code)
        if item is None:
            item = self.items[code] = {"line": row.line, "row": row, "fields": {}, "checkpoints": []}
            if code in self.existing and self.mode == "create":
                self.fail(row, "code", "already_exists", value=code)
        fields: dict[str, tuple[Any, int]] = item["fields"]
        for key in self.ITEM_FIELDS:
            value = row.values.get(key)
            if value is None or value is INVALID:
                continue
            if key in fields and fields[key][0] != value:
                self.fail(row, key, "inconsistent_item", other=fields[key][1])
            else:
                fields.setdefault(key, (value, row.line))
        method = self.text(row, "method") or ""
        text = self.text(row, "checkpoint")
        if text is not None:
            for part in text.splitlines():
                if part.strip():
                    item["checkpoints"].append((part.strip(), method))
        if not row.ok:
            item["bad"] = True

    def finish_checks(self) -> None:
        for code, item in self.items.items():
            if code in self.existing:
                continue
            first: Row = item["row"]
            for key in ("name", "department_code"):
                if key not in item["fields"] and first.values.get(key) is not INVALID:
                    # Reported on the item's first line: the fields may be on any of its rows.
                    self.fail(first, key, "required")
                    item["bad"] = True

    def _good(self) -> dict[str, dict[str, Any]]:
        return {c: i for c, i in self.items.items() if not i.get("bad")}

    def preview(self) -> None:
        good = self._good()
        self.outcome.created = [c for c in good if c not in self.existing]
        self.outcome.updated = [c for c in good if c in self.existing]
        self.outcome.extra["checkpoints"] = sum(len(i["checkpoints"]) for i in good.values())

    def _item_values(self, item: dict[str, Any]) -> dict[str, Any]:
        values = {k: v for k, (v, _line) in item["fields"].items()}
        if "department_code" in values:
            values["department_id"] = self.departments[values.pop("department_code")]
        return values

    def apply(self) -> None:
        self.preview()
        good = self._good()
        t, cp = table_of(Item), table_of(Checkpoint)
        inserts = []
        for code in self.outcome.created:
            values = self._item_values(good[code])
            inserts.append(
                {
                    "code": code,
                    "name": values["name"],
                    "kind": values.get("kind", "general"),
                    "department_id": values["department_id"],
                    "legal_basis": values.get("legal_basis", ""),
                    "specialty": values.get("specialty"),
                    "active": True,
                }
            )
        ids = _insert_with_ids(t, inserts)
        updates = []
        for code in self.outcome.updated:
            ids[code] = self.existing[code]
            values = self._item_values(good[code])
            if values:
                updates.append({"_id": ids[code], **values})
        _update_by_id(t, updates)
        # Checklists of updated items: rewrite position by position, drop the surplus.
        old: dict[int, dict[int, int]] = {}
        updated_ids = [ids[c] for c in self.outcome.updated]
        for id_chunk in _chunks(updated_ids, LOOKUP_CHUNK):
            for cp_id, item_id, position in db.session.execute(
                select(cp.c.id, cp.c.item_id, cp.c.position).where(_among(cp.c.item_id, id_chunk))
            ):
                old.setdefault(item_id, {})[position] = cp_id
        cp_inserts, cp_updates, cp_deletes = [], [], []
        for code, item in good.items():
            item_id = ids[code]
            existing = old.get(item_id, {})
            for position, (text, method) in enumerate(item["checkpoints"], start=1):
                if position in existing:
                    cp_updates.append({"_id": existing[position], "text": text, "method": method})
                else:
                    cp_inserts.append(
                        {"item_id": item_id, "position": position, "text": text, "method": method}
                    )
            cp_deletes += [i for p, i in existing.items() if p > len(item["checkpoints"])]
        for ids_chunk in _chunks(cp_deletes, LOOKUP_CHUNK):
            db.session.execute(delete(cp).where(_among(cp.c.id, ids_chunk)))
        _update_by_id(cp, cp_updates)
        _insert_rows(cp, cp_inserts)
        self.written(sum(len(i["checkpoints"]) for i in good.values()))


@dataclass
class TargetChange:
    """An existing target's row in the file, reduced to what actually changes."""

    code: str
    target_id: int
    values: dict[str, Any]  # changed columns only
    tags: list[str] | None  # the new tag list, or None to keep the tags


class TargetImporter(Importer):
    """Targets; in upsert mode only real changes are written, so a monthly risk reclassification
    of a large directory touches (and re-indexes) just the rows whose class moved."""

    kind = "targets"
    tables = ("target", "target_tag")
    FIELDS = (
        "name",
        "kind",
        "industry",
        "district",
        "address",
        "legal_rep",
        "status",
        "risk_class",
        "risk_assessed_on",
        "last_inspected_on",
    )

    def lookup(self, rows: list[tuple[int, list[str]]]) -> None:
        t = table_of(Target)
        columns = [t.c.id, t.c.code, *(t.c[f] for f in self.FIELDS)]
        self.existing: dict[str, Any] = {}
        for chunk in _chunks(self.codes_in(rows, "code"), LOOKUP_CHUNK):
            self.existing.update(
                {r.code: r for r in db.session.execute(select(*columns).where(_among(t.c.code, chunk)))}
            )
        self.seen: dict[str, int] = {}
        self.creates: list[Row] = []
        self.updates: list[Row] = []
        self.changes: list[TargetChange] | None = None

    def check(self, row: Row) -> None:
        self.require(row, "code")
        code = self.text(row, "code")
        current = None
        if code is not None:
            if code in self.seen:
                self.fail(row, "code", "duplicate_in_file", value=code, other=self.seen[code])
            else:
                self.seen[code] = row.line
            current = self.existing.get(code)
            if current is not None and self.mode == "create":
                self.fail(row, "code", "already_exists", value=code)
        kind = self.text(row, "kind") or (current.kind if current is not None else None)
        if code is not None and kind in MARKET_KINDS:
            why = credit_code_problem(code)
            if why is not None:
                self.fail(row, "code", f"credit_code_{why}", value=code, length=len(code))
        if current is None:
            self.require(row, "name", "kind")
        self.future(row, "risk_assessed_on")
        self.future(row, "last_inspected_on")
        if row.ok and code is not None:
            (self.updates if current is not None else self.creates).append(row)

    def _diff(self) -> list[TargetChange]:
        """Compare each existing target's row with the stored values (two queries per chunk)."""
        if self.changes is not None:
            return self.changes
        ids = [self.existing[r.values["code"]].id for r in self.updates]
        # An upserted last_inspected_on never goes behind the latest recorded inspection.
        history_max: dict[int, dt.date] = {}
        old_tags: dict[int, set[str]] = {}
        h, tags_t = table_of(InspectionRecord), table_of(TargetTag)
        for chunk in _chunks(ids, LOOKUP_CHUNK):
            if "last_inspected_on" in self.mapping:
                for target_id, latest in db.session.execute(
                    select(h.c.target_id, func.max(h.c.inspected_on))
                    .where(_among(h.c.target_id, chunk))
                    .group_by(h.c.target_id)
                ):
                    history_max[target_id] = latest
            if "tags" in self.mapping:
                for target_id, tag in db.session.execute(
                    select(tags_t.c.target_id, tags_t.c.tag).where(_among(tags_t.c.target_id, chunk))
                ):
                    old_tags.setdefault(target_id, set()).add(tag)
        self.changes = []
        for r in self.updates:
            current = self.existing[r.values["code"]]
            values = self.present(r, self.FIELDS)
            last = values.get("last_inspected_on")
            if last is not None and current.id in history_max:
                values["last_inspected_on"] = max(last, history_max[current.id])
            values = {k: v for k, v in values.items() if getattr(current, k) != v}
            if "name" in values:  # only then: search_grams feeds the full-text index
                values["search_grams"] = name_grams(values["name"])
            tags = r.values.get("tags") or None
            if tags is not None and set(tags) == old_tags.get(current.id, set()):
                tags = None
            if values or tags is not None:
                self.changes.append(TargetChange(r.values["code"], current.id, values, tags))
        return self.changes

    def preview(self) -> None:
        changes = self._diff()
        self.outcome.created = [r.values["code"] for r in self.creates]
        self.outcome.updated = [c.code for c in changes]
        self.outcome.extra["unchanged"] = len(self.updates) - len(changes)
        if "tags" in self.mapping:
            self.outcome.extra["tags"] = sum(len(r.values.get("tags") or []) for r in self.creates) + sum(
                len(c.tags or []) for c in changes
            )

    def apply(self) -> None:
        self.preview()
        t, tags_t = table_of(Target), table_of(TargetTag)
        now = utcnow()
        inserts = []
        for r in self.creates:
            v = r.values
            inserts.append(
                {
                    "code": v["code"],
                    "name": v["name"],
                    "kind": v["kind"],
                    "industry": v.get("industry") or "",
                    "district": v.get("district") or "",
                    "address": v.get("address") or "",
                    "legal_rep": v.get("legal_rep") or "",
                    "status": v.get("status") or "active",
                    "risk_class": v.get("risk_class"),
                    "risk_assessed_on": v.get("risk_assessed_on"),
                    "last_inspected_on": v.get("last_inspected_on"),
                    "search_grams": name_grams(v["name"]),
                    "created_at": now,
                    "updated_at": now,
                }
            )
        ids = _insert_with_ids(t, inserts)
        self.written(len(inserts))
        changes = self._diff()
        _update_by_id(t, [{"_id": c.target_id, **c.values, "updated_at": now} for c in changes if c.values])
        replaced = [c.target_id for c in changes if c.tags is not None]
        for chunk in _chunks(replaced, LOOKUP_CHUNK):
            db.session.execute(delete(tags_t).where(_among(tags_t.c.target_id, chunk)))
        tag_rows = [
            {"target_id": ids[r.values["code"]], "tag": tag}
            for r in self.creates
            for tag in r.values.get("tags") or []
        ]
        tag_rows += [{"target_id": c.target_id, "tag": tag} for c in changes for tag in c.tags or []]
        _insert_rows(tags_t, tag_rows)
        self.written(len(inserts) + len(changes))


class InspectorImporter(Importer):
    kind = "inspectors"
    tables = ("inspector",)
    FIELDS = ("name", "credential_no", "credential_valid_until", "kind", "post", "specialties", "status")

    def lookup(self, rows: list[tuple[int, list[str]]]) -> None:
        self.load_departments()
        t = table_of(Inspector)
        self.existing: dict[str, int] = {}
        for chunk in _chunks(self.codes_in(rows, "code"), LOOKUP_CHUNK):
            self.existing.update(
                {c: i for i, c in db.session.execute(select(t.c.id, t.c.code).where(_among(t.c.code, chunk)))}
            )
        self.seen: dict[str, int] = {}
        self.accepted: list[Row] = []

    def check(self, row: Row) -> None:
        self.require(row, "code")
        code = self.text(row, "code")
        if code is not None:
            if code in self.seen:
                self.fail(row, "code", "duplicate_in_file", value=code, other=self.seen[code])
            else:
                self.seen[code] = row.line
            if code in self.existing and self.mode == "create":
                self.fail(row, "code", "already_exists", value=code)
        if code is None or code not in self.existing:
            self.require(row, "name", "department_code")
        dept = self.text(row, "department_code")
        if dept is not None and dept not in self.departments:
            self.fail(row, "department_code", "unknown_department", value=dept)
        if row.ok and code is not None:
            self.accepted.append(row)

    def preview(self) -> None:
        self.outcome.created = [
            r.values["code"] for r in self.accepted if r.values["code"] not in self.existing
        ]
        self.outcome.updated = [r.values["code"] for r in self.accepted if r.values["code"] in self.existing]

    def apply(self) -> None:
        self.preview()
        t = table_of(Inspector)
        now = utcnow()
        inserts, updates = [], []
        for r in self.accepted:
            v = r.values
            if v["code"] not in self.existing:
                inserts.append(
                    {
                        "code": v["code"],
                        "name": v["name"],
                        "department_id": self.departments[v["department_code"]],
                        "credential_no": v.get("credential_no") or "",
                        "credential_valid_until": v.get("credential_valid_until"),
                        "kind": v.get("kind") or "general",
                        "post": v.get("post") or "",
                        "specialties": v.get("specialties") or [],
                        "status": v.get("status") or "active",
                        "created_at": now,
                    }
                )
            else:
                values = self.present(r, self.FIELDS)
                if v.get("department_code") is not None:
                    values["department_id"] = self.departments[v["department_code"]]
                if values:
                    updates.append({"_id": self.existing[v["code"]], **values})
        _insert_with_ids(t, inserts)
        _update_by_id(t, updates)
        self.written(len(self.accepted))


class ConflictImporter(Importer):
    kind = "conflicts"
    tables = ("conflict",)

    def lookup(self, rows: list[tuple[int, list[str]]]) -> None:
        i, t, c = table_of(Inspector), table_of(Target), table_of(Conflict)
        self.inspectors: dict[str, int] = {}
        for chunk in _chunks(self.codes_in(rows, "inspector_code"), LOOKUP_CHUNK):
            self.inspectors.update(
                {
                    code: id_
                    for id_, code in db.session.execute(
                        select(i.c.id, i.c.code).where(_among(i.c.code, chunk))
                    )
                }
            )
        self.targets: dict[str, int] = {}
        for chunk in _chunks(self.codes_in(rows, "target_code"), LOOKUP_CHUNK):
            self.targets.update(
                {
                    code: id_
                    for id_, code in db.session.execute(
                        select(t.c.id, t.c.code).where(_among(t.c.code, chunk))
                    )
                }
            )
        self.existing: dict[tuple[int, int], int] = {}
        for ids_chunk in _chunks(sorted(self.inspectors.values()), LOOKUP_CHUNK):
            for id_, ins, tgt in db.session.execute(
                select(c.c.id, c.c.inspector_id, c.c.target_id).where(_among(c.c.inspector_id, ids_chunk))
            ):
                self.existing[(ins, tgt)] = id_
        self.seen: dict[tuple[int, int], int] = {}
        self.accepted: list[tuple[Row, tuple[int, int]]] = []

    def check(self, row: Row) -> None:
        self.require(row, "inspector_code", "target_code", "reason")
        ins, tgt = self.text(row, "inspector_code"), self.text(row, "target_code")
        if ins is not None and ins not in self.inspectors:
            self.fail(row, "inspector_code", "unknown_inspector", value=ins)
        if tgt is not None and tgt not in self.targets:
            self.fail(row, "target_code", "unknown_target", value=tgt)
        if ins is not None and tgt is not None and ins in self.inspectors and tgt in self.targets:
            pair = (self.inspectors[ins], self.targets[tgt])
            label = f"{ins} / {tgt}"
            if pair in self.seen:
                self.fail(row, "target_code", "duplicate_in_file", value=label, other=self.seen[pair])
            else:
                self.seen[pair] = row.line
            if pair in self.existing and self.mode == "create":
                self.fail(row, "target_code", "already_exists", value=label)
            if row.ok:
                self.accepted.append((row, pair))

    def preview(self) -> None:
        self.outcome.created = [
            f"{r.values['inspector_code']}/{r.values['target_code']}"
            for r, p in self.accepted
            if p not in self.existing
        ]
        self.outcome.updated = [
            f"{r.values['inspector_code']}/{r.values['target_code']}"
            for r, p in self.accepted
            if p in self.existing
        ]

    def apply(self) -> None:
        self.preview()
        c = table_of(Conflict)
        now = utcnow()
        inserts = [
            {"inspector_id": p[0], "target_id": p[1], "reason": r.values["reason"], "declared_at": now}
            for r, p in self.accepted
            if p not in self.existing
        ]
        updates = [
            {"_id": self.existing[p], "reason": r.values["reason"]}
            for r, p in self.accepted
            if p in self.existing
        ]
        _insert_rows(c, inserts)
        _update_by_id(c, updates)
        self.written(len(self.accepted))


class HistoryImporter(Importer):
    """Past inspections; each target's last_inspected_on is raised to its latest imported date."""

    kind = "history"
    tables = ("inspection_record", "target")

    def lookup(self, rows: list[tuple[int, list[str]]]) -> None:
        self.load_departments()
        t, h = table_of(Target), table_of(InspectionRecord)
        self.targets: dict[str, Any] = {}
        for chunk in _chunks(self.codes_in(rows, "target_code"), LOOKUP_CHUNK):
            self.targets.update(
                {
                    r.code: r
                    for r in db.session.execute(
                        select(t.c.id, t.c.code, t.c.last_inspected_on).where(_among(t.c.code, chunk))
                    )
                }
            )
        # Existing records of these targets, keyed like the file's rows.
        self.existing: dict[tuple[int, dt.date, int | None, str], int] = {}
        target_ids = sorted(r.id for r in self.targets.values())
        for chunk in _chunks(target_ids, LOOKUP_CHUNK):
            for id_, tid, on, dept, task in db.session.execute(
                select(h.c.id, h.c.target_id, h.c.inspected_on, h.c.department_id, h.c.task_name).where(
                    _among(h.c.target_id, chunk)
                )
            ):
                self.existing[(tid, on, dept, task)] = id_
        self.seen: dict[tuple[int, dt.date, int | None, str], int] = {}
        self.accepted: list[tuple[Row, tuple[int, dt.date, int | None, str]]] = []

    def check(self, row: Row) -> None:
        self.require(row, "target_code", "inspected_on")
        code = self.text(row, "target_code")
        if code is not None and code not in self.targets:
            self.fail(row, "target_code", "unknown_target", value=code)
        dept = self.text(row, "department_code")
        if dept is not None and dept not in self.departments:
            self.fail(row, "department_code", "unknown_department", value=dept)
        self.future(row, "inspected_on")
        on = row.values.get("inspected_on")
        if row.ok and code is not None and isinstance(on, dt.date):
            key = (
                self.targets[code].id,
                on,
                self.departments[dept] if dept is not None else None,
                row.values.get("task_name") or "",
            )
            label = f"{code} {on.isoformat()}"
            if key in self.seen:
                self.fail(row, "inspected_on", "duplicate_in_file", value=label, other=self.seen[key])
            else:
                self.seen[key] = row.line
            if key in self.existing and self.mode == "create":
                self.fail(row, "inspected_on", "already_exists", value=label)
            if row.ok:
                self.accepted.append((row, key))

    def _latest(self) -> dict[int, dt.date]:
        latest: dict[int, dt.date] = {}
        for _row, (tid, on, _dept, _task) in self.accepted:
            if tid not in latest or on > latest[tid]:
                latest[tid] = on
        current = {r.id: r.last_inspected_on for r in self.targets.values()}
        return {tid: on for tid, on in latest.items() if current[tid] is None or on > current[tid]}

    def preview(self) -> None:
        label = "{} {}".format
        self.outcome.created = [
            label(r.values["target_code"], k[1].isoformat())
            for r, k in self.accepted
            if k not in self.existing
        ]
        self.outcome.updated = [
            label(r.values["target_code"], k[1].isoformat()) for r, k in self.accepted if k in self.existing
        ]
        self.outcome.extra["last_inspected_updated"] = len(self._latest())

    def apply(self) -> None:
        self.preview()
        h, t = table_of(InspectionRecord), table_of(Target)
        inserts = [
            {
                "target_id": k[0],
                "inspected_on": k[1],
                "department_id": k[2],
                "task_name": k[3],
                "result": r.values.get("result") or "",
                "source": "import",
            }
            for r, k in self.accepted
            if k not in self.existing
        ]
        updates = [
            {"_id": self.existing[k], "result": r.values["result"]}
            for r, k in self.accepted
            if k in self.existing and r.values.get("result") is not None
        ]
        _insert_rows(h, inserts)
        _update_by_id(h, updates)
        _update_by_id(t, [{"_id": tid, "last_inspected_on": on} for tid, on in self._latest().items()])
        self.written(len(self.accepted))


IMPORTERS: dict[str, type[Importer]] = {
    cls.kind: cls
    for cls in (
        DepartmentImporter,
        ItemImporter,
        TargetImporter,
        InspectorImporter,
        ConflictImporter,
        HistoryImporter,
    )
}
