"""Import a plan table (CSV or XLSX, the columns of the seed tables) all-or-nothing, with a dry run.

The file is read into rows, every row is checked and every problem is listed with its line number;
only a file without errors creates anything. Line numbers are the spreadsheet's: the header is the line
it is on, and a quoted CSV cell spanning lines counts from the line the record starts on.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select

from server.audit.services import record_event
from server.directory.models import Department
from server.errors import ApiError
from server.extensions import db
from server.i18n import translate
from server.planning.models import Plan
from server.planning.parsing import (
    PlanTextError,
    RatioSpec,
    normalize_department_name,
    parse_items,
    parse_mode,
    parse_ratio,
    parse_scope,
    parse_task_type,
    parse_window,
    split_items,
    split_names,
)
from server.planning.services import add_task, create_plan, match_items

DATA_DIR = Path(__file__).resolve().parent / "data"
SEED_PLAN = DATA_DIR / "gaoping_2025_plan.csv"
SEED_BUREAU = "高平市市场监管局"  # the department the seed file names; mapped to the caller's
MAX_ROWS = 2000  # a plan has tens of rows; anything larger is the wrong file

# Column → accepted headers (compared after removing spaces and folding width and case). The first is
# the canonical Chinese header, used in messages.
COLUMNS: dict[str, tuple[str, ...]] = {
    "seq": ("序号", "seq", "no", "no.", "#"),
    "name": ("抽查任务名称", "任务名称", "name", "task", "task_name"),
    "task_type": ("抽查类型", "类型", "type", "task_type"),
    "items": ("抽查事项", "items", "inspection_items"),
    "scope": ("抽查对象范围", "对象范围", "scope"),
    "ratio": ("抽查比例/数量", "抽查比例及频次", "抽查比例", "抽查数量", "ratio", "ratio_text"),
    "risk": (
        "信用风险分类管理",
        "信用风险管理",
        "信用风险管理分类管理",
        "智慧监管(信用风险分类)要求",
        "risk",
        "risk_text",
    ),
    "window": (
        "抽取检查起至时间",
        "抽取检查起止时间",
        "抽查起止时间",
        "抽查检查起止时间",
        "抽查时间",
        "window",
        "window_text",
    ),
    "mode": ("抽查检查模式", "检查模式", "mode", "mode_text"),
    "initiating": ("发起部门", "initiating_department", "initiating"),
    "cooperating": ("配合部门", "cooperating_departments", "cooperating"),
    "body": ("检查主体", "inspection_body", "body"),
}
REQUIRED = ("seq", "name", "task_type", "items", "scope", "ratio", "window", "mode")


def _fold(header: Any) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(header or ""))).lower()


_ALIASES = {_fold(alias): column for column, aliases in COLUMNS.items() for alias in aliases}


def column_label(column: str) -> str:
    return COLUMNS[column][0]


def issue(
    line: int, column: str, code: str, message: str, value: str = "", level: str = "error"
) -> dict[str, Any]:
    """One line of the dry-run report; ``level`` is "error" (blocks the import) or "notice"."""
    return {
        "line": line,
        "column": column_label(column) if column in COLUMNS else column,
        "code": code,
        "level": level,
        "message": message,
        "value": value,
    }


class TableError(Exception):
    """The file as a whole cannot be read."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Row:
    line: int
    cells: dict[str, str]


# ------------------------------------------------------------------------------------ reading


def _decode(data: bytes) -> str:
    # Excel in China saves CSV as GBK; GB 18030 is its superset.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableError("unreadable", translate("文件编码无法识别，请使用UTF-8或GBK编码的CSV"))


def _csv_records(data: bytes) -> list[tuple[int, list[str]]]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for record in reader:
            records.append((start, record))
            start = reader.line_num + 1
            if len(records) > MAX_ROWS + 50:
                break
    except csv.Error as exc:
        raise TableError("unreadable", translate("CSV格式错误（第{line}行）", line=reader.line_num)) from exc
    return records


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value).strip()


def _xlsx_records(data: bytes) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise TableError("unreadable", translate("无法读取XLSX文件")) from exc
    try:
        sheet = book.worksheets[0]
        records: list[tuple[int, list[Any]]] = []
        for n, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            records.append((n, list(values)))
            if len(records) > MAX_ROWS + 50:
                break
        return records
    finally:
        book.close()


def read_plan_table(source: Path | bytes, filename: str) -> list[Row]:
    """The data rows of a plan table, keyed by column; raises TableError for an unreadable file."""
    data = source.read_bytes() if isinstance(source, Path) else source
    is_xlsx = filename.lower().endswith((".xlsx", ".xlsm")) or data[:2] == b"PK"
    raw: list[tuple[int, list[Any]]] = list(_xlsx_records(data)) if is_xlsx else list(_csv_records(data))
    # The header may sit under a title row or two, as in the published tables.
    header_at = None
    for index, (_, cells) in enumerate(raw[:20]):
        if sum(_fold(c) in _ALIASES for c in cells) >= 3:
            header_at = index
            break
    if header_at is None:
        raise TableError("no_header", translate("未找到表头：需要“序号”“抽查任务名称”等列"))
    header_line, header = raw[header_at]
    positions: dict[str, int] = {}
    for pos, cell in enumerate(header):
        column = _ALIASES.get(_fold(cell))
        if column and column not in positions:
            positions[column] = pos
    missing = [column_label(c) for c in REQUIRED if c not in positions]
    if missing:
        raise TableError(
            "missing_column",
            translate("缺少列：{columns}（第{line}行）", columns="、".join(missing), line=header_line),
        )
    rows: list[Row] = []
    for line, cells in raw[header_at + 1 :]:
        texts = [_xlsx_cell(c) if is_xlsx else str(c).strip() for c in cells]
        # A percentage cell in a spreadsheet holds 0.03 for "3%".
        ratio_pos = positions["ratio"]
        if (
            is_xlsx
            and ratio_pos < len(cells)
            and isinstance(cells[ratio_pos], float)
            and 0 < cells[ratio_pos] <= 1
        ):
            texts[ratio_pos] = f"{cells[ratio_pos] * 100:g}%"
        if not any(texts):
            continue
        row = {c: (texts[p] if p < len(texts) else "") for c, p in positions.items()}
        if _ALIASES.get(_fold(row["seq"])) == "seq":
            continue  # the header repeated on every printed page
        rows.append(Row(line, row))
    if len(rows) > MAX_ROWS:
        raise TableError("too_many_rows", translate("行数超过{max}行，请检查文件", max=MAX_ROWS))
    return rows


# ----------------------------------------------------------------------------------- checking


@dataclass
class ParsedTask:
    """One row, checked; the values ``add_task`` gets."""

    line: int
    seq: int
    name: str
    task_type: str
    items_text: str
    item_names: list[str]
    scope_text: str
    scope: dict[str, list[str]]
    ratio_text: str
    ratio: RatioSpec
    risk_text: str
    window_text: str
    window_start: dt.date
    window_end: dt.date
    mode: str
    mode_text: str
    initiating: Department
    cooperating: list[Department] = field(default_factory=list)
    inspection_body: str = ""

    def task_data(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "name": self.name,
            "task_type": self.task_type,
            "items_text": self.items_text,
            "item_names": self.item_names,
            "scope_text": self.scope_text,
            "scope": self.scope,
            "ratio_text": self.ratio_text,
            "base_ratio_bp": self.ratio.base_ratio_bp,
            "fixed_count": self.ratio.fixed_count,
            "frequency_per_year": self.ratio.frequency_per_year,
            "risk_text": self.risk_text,
            "window_text": self.window_text,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "mode": self.mode,
            "mode_text": self.mode_text,
            "initiating_department_id": self.initiating.id,
            "cooperating_department_ids": [d.id for d in self.cooperating],
            "inspection_body": self.inspection_body,
        }


class DepartmentIndex:
    """Departments by code and by loosely compared name, plus the caller's aliases."""

    def __init__(self, aliases: dict[str, Department] | None = None) -> None:
        self.by_code: dict[str, Department] = {}
        self.by_name: dict[str, Department] = {}
        for dept in db.session.scalars(select(Department).order_by(Department.id)):
            self.by_code.setdefault(dept.code.lower(), dept)
            self.by_name.setdefault(normalize_department_name(dept.name), dept)
        for name, dept in (aliases or {}).items():
            self.by_name[normalize_department_name(name)] = dept

    def find(self, text: str) -> Department | None:
        return self.by_code.get(text.strip().lower()) or self.by_name.get(normalize_department_name(text))


T = TypeVar("T")


def _attempt(
    parse: Callable[[str], T], cells: dict[str, str], column: str, issues: list[dict[str, Any]], line: int
) -> T | None:
    """Parse one cell; a failure becomes an issue and None (an empty cell is reported elsewhere)."""
    if not cells.get(column):
        return None
    try:
        return parse(cells[column])
    except PlanTextError as exc:
        issues.append(issue(line, column, exc.code, exc.message, cells[column]))
        return None


# Maximum lengths of the text columns (the model's String sizes).
_MAX_LEN = {"name": 200, "scope": 300, "ratio": 100, "window": 50, "mode": 200, "body": 200}


def check_rows(
    rows: list[Row], department: Department, year: int, aliases: dict[str, Department] | None = None
) -> tuple[list[ParsedTask], list[dict[str, Any]]]:
    """Check every row; returns the parsed tasks and the issues (errors and notices) by line."""
    index = DepartmentIndex(aliases)
    issues: list[dict[str, Any]] = []
    parsed: list[ParsedTask] = []
    seen_seq: dict[int, int] = {}
    for row in rows:
        line, cells = row.line, row.cells
        errors_before = sum(1 for i in issues if i["level"] == "error")

        def error(
            column: str, code: str, message: str, line: int = line, cells: dict[str, str] = cells
        ) -> None:
            issues.append(issue(line, column, code, message, cells.get(column, "")))

        for column in REQUIRED:
            if not cells.get(column):
                error(column, "missing_field", translate("“{column}”为空", column=column_label(column)))
        for column, limit in _MAX_LEN.items():
            if len(cells.get(column, "")) > limit:
                error(
                    column,
                    "too_long",
                    translate("“{column}”超过{limit}个字", column=column_label(column), limit=limit),
                )
        seq = 0
        if cells.get("seq"):
            digits = re.fullmatch(r"(\d+)(?:\.0+)?", unicodedata.normalize("NFKC", cells["seq"]).strip())
            seq = int(digits.group(1)) if digits else 0
            if seq < 1:
                error("seq", "bad_seq", translate("序号应为正整数"))
            elif seq in seen_seq:
                error("seq", "duplicate_seq", translate("序号与第{other}行重复", other=seen_seq[seq]))
            else:
                seen_seq[seq] = line
        task_type = _attempt(parse_task_type, cells, "task_type", issues, line)
        ratio = _attempt(parse_ratio, cells, "ratio", issues, line)
        window = _attempt(lambda t: parse_window(t, year), cells, "window", issues, line)
        mode = _attempt(parse_mode, cells, "mode", issues, line)
        initiating: Department | None = department
        if cells.get("initiating"):
            initiating = index.find(cells["initiating"])
            if initiating is None:
                error(
                    "initiating",
                    "unknown_department",
                    translate("未知部门：{name}", name=cells["initiating"]),
                )
        cooperating: list[Department] = []
        for name in split_names(cells.get("cooperating", "")):
            dept = index.find(name)
            if dept is None:
                error("cooperating", "unknown_department", translate("未知部门：{name}", name=name))
            elif initiating is not None and dept.id == initiating.id:
                error(
                    "cooperating",
                    "bad_department",
                    translate("配合部门不能与发起部门相同：{name}", name=name),
                )
            elif dept not in cooperating:
                cooperating.append(dept)
        items = parse_items(cells.get("items", ""))
        if cells.get("items") and not items:
            error("items", "missing_field", translate("“{column}”为空", column=column_label("items")))
        for name in items:
            if len(name) > 200:
                error("items", "too_long", translate("抽查事项名称超过200个字：{name}", name=name[:20]))
        if sum(1 for i in issues if i["level"] == "error") > errors_before:
            continue
        assert task_type and ratio and window and mode and initiating  # every failure was reported above
        empty = [n for n, name in enumerate(split_items(cells["items"]), start=1) if not name]
        if empty:
            issues.append(
                issue(
                    line,
                    "items",
                    "empty_item",
                    translate(
                        "第{numbers}项内容为空（原文截断），已忽略", numbers="、".join(map(str, empty))
                    ),
                    cells["items"],
                    "notice",
                )
            )
        if ratio.dynamic:
            issues.append(
                issue(
                    line,
                    "ratio",
                    "dynamic_ratio",
                    translate("比例未定，抽取前需设定比例或数量"),
                    cells["ratio"],
                    "notice",
                )
            )
        parsed.append(
            ParsedTask(
                line=line,
                seq=seq,
                name=cells["name"],
                task_type=task_type,
                items_text=cells["items"],
                item_names=items,
                scope_text=cells["scope"],
                scope=parse_scope(cells["scope"], cells["name"]),
                ratio_text=cells["ratio"],
                ratio=ratio,
                risk_text=cells.get("risk", ""),
                window_text=cells["window"],
                window_start=window[0],
                window_end=window[1],
                mode=mode,
                mode_text=cells["mode"],
                initiating=initiating,
                cooperating=cooperating,
                inspection_body=cells.get("body", ""),
            )
        )
    if not rows:
        issues.append(issue(0, "文件", "empty", translate("文件中没有任务行")))
    issues.extend(_new_item_notices(parsed))
    issues.sort(key=lambda i: (i["line"], i["level"] != "error"))
    return parsed, issues


def _new_item_notices(parsed: list[ParsedTask]) -> list[dict[str, Any]]:
    """Say which item names are not in the item list and will be created (the dry run shows them)."""
    notices: list[dict[str, Any]] = []
    announced: set[tuple[int, str]] = set()
    for task in parsed:
        found = match_items(task.item_names, [task.initiating.id, *(d.id for d in task.cooperating)])
        for name in task.item_names:
            if name in found or (task.initiating.id, name) in announced:
                continue
            announced.add((task.initiating.id, name))
            notices.append(
                issue(
                    task.line,
                    "items",
                    "new_item",
                    translate(
                        "抽查事项清单中没有“{name}”，将作为{department}的一般检查事项新建",
                        name=name,
                        department=task.initiating.name,
                    ),
                    name,
                    "notice",
                )
            )
    return notices


# ---------------------------------------------------------------------------------- importing


@dataclass
class Preview:
    """What a dry run found: the tasks as they would be created, and every issue."""

    tasks: list[ParsedTask]
    issues: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return not any(i["level"] == "error" for i in self.issues)


def preview_plan(
    rows_source: Path | bytes,
    filename: str,
    department: Department,
    year: int,
    aliases: dict[str, Department] | None = None,
) -> Preview:
    """Read and check a plan table without changing anything."""
    try:
        rows = read_plan_table(rows_source, filename)
    except TableError as exc:
        return Preview([], [issue(0, "文件", exc.code, exc.message)])
    tasks, issues = check_rows(rows, department, year, aliases)
    existing = db.session.scalar(
        select(Plan.id).where(Plan.department_id == department.id, Plan.year == year).limit(1)
    )
    if existing is not None:
        issues.insert(
            0,
            issue(
                0,
                "文件",
                "plan_exists",
                translate(
                    "{department}已有{year}年度计划，请修订该计划", department=department.name, year=year
                ),
            ),
        )
    return Preview(tasks, issues)


def import_plan(
    rows_source: Path | bytes,
    filename: str,
    department: Department,
    year: int,
    title: str,
    dry_run: bool = False,
    actor_id: int | None = None,
    *,
    document_no: str = "",
    completion_date: dt.date | None = None,
    aliases: dict[str, Department] | None = None,
) -> tuple[Plan | None, list[dict[str, Any]]]:
    """Import a plan table as a new draft plan of ``department`` for ``year``.

    Returns (plan, issues). Any error → (None, issues) and nothing is created; a dry run returns
    (None, issues) in any case. Issues are dicts: line, column, code, level ("error"/"notice"),
    message, value. Item names missing from the item list are created as general items of the
    task's initiating department (a "new_item" notice says so).
    """
    preview = preview_plan(rows_source, filename, department, year, aliases)
    if dry_run or not preview.ok:
        return None, preview.issues
    data = rows_source.read_bytes() if isinstance(rows_source, Path) else rows_source
    plan = create_plan(
        department, year, title, document_no=document_no, completion_date=completion_date, actor_id=actor_id
    )
    for task in sorted(preview.tasks, key=lambda t: t.seq):
        add_task(plan, task.task_data(), actor_id=actor_id)
    record_event(
        "plan.imported",
        "plan",
        plan.id,
        actor_id=actor_id,
        details={
            "filename": filename,
            "sha256": hashlib.sha256(data).hexdigest(),
            "tasks": len(preview.tasks),
            "notices": len(preview.issues),
        },
    )
    return plan, preview.issues


def problem_code(error_codes: set[str]) -> str:
    """The catalogue code for a failed import: the file unreadable, the plan exists, or bad rows."""
    if "plan_exists" in error_codes:
        return "plan_exists"
    if error_codes <= {"unreadable", "no_header", "too_many_rows"}:
        return "import_unreadable"
    return "import_invalid"


def load_seed_plan(department: Department, year: int = 2025, actor_id: int | None = None) -> Plan:
    """Import the bundled 高平市 2025 plan (16 tasks) as a draft of ``department`` (used by the demo).

    The file names 高平市市场监管局 as the initiating department; it is read as ``department``.
    """
    plan, issues = import_plan(
        SEED_PLAN,
        SEED_PLAN.name,
        department,
        year,
        f"{department.name}{year}年度双随机抽查工作计划",
        actor_id=actor_id,
        document_no="高市市监办发〔2025〕9号" if year == 2025 else "",
        completion_date=dt.date(year, 12, 15),  # 001 §三: every task done by 12-15
        aliases={SEED_BUREAU: department},
    )
    if plan is None:
        errors = [i for i in issues if i["level"] == "error"]
        raise ApiError(problem_code({i["code"] for i in errors}), errors=errors)
    return plan
