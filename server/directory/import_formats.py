"""What an import file may contain and how it is read: CSV or XLSX, the columns of each kind
(Chinese headers with English aliases), the accepted spellings of enumerated values, cell parsers,
and the stable reason codes of the problems a dry run lists.

Line numbers are the spreadsheet's own (the header is line 1), so a user can go straight to a row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.i18n import translate

ERRORS_KEPT = 1000  # errors stored on the job; error_count keeps the full number

KIND_LABELS = {
    "departments": "部门",
    "items": "抽查事项",
    "targets": "检查对象",
    "inspectors": "执法人员",
    "conflicts": "回避关系",
    "history": "历史检查记录",
}
MODE_LABELS = {"create": "仅新增（代码已存在则报错）", "upsert": "新增或更新（按代码匹配）"}

# Reason codes are stable (clients and tests branch on them); messages are Chinese source text,
# translated when shown, formatted with the entry's params.
MESSAGES = {
    "unreadable": "无法读取文件：{reason}",
    "no_rows": "文件中没有数据行",
    "too_many_rows": "数据行数 {count} 超过上限 {max}",
    "missing_column": "缺少必需的列“{column}”",
    "duplicate_column": "列“{column}”出现了不止一次",
    "required": "“{column}”不能为空",
    "too_long": "“{column}”超过 {max} 个字符",
    "bad_date": "“{value}”不是有效日期，请写成 2024-03-05 这样的格式",
    "future_date": "日期 {value} 晚于今天",
    "bad_enum": "“{value}”不是有效的{column}，可填：{allowed}",
    "credit_code_length": "统一社会信用代码应为 18 位，这里是 {length} 位",
    "credit_code_alphabet": "统一社会信用代码只能由数字和大写字母组成（不含 I、O、S、V、Z）",
    "credit_code_check_digit": "统一社会信用代码“{value}”的校验位不正确",
    "duplicate_in_file": "“{value}”与第 {other} 行重复",
    "already_exists": "“{value}”已存在；要更新已有数据请选择“新增或更新”模式",
    "unknown_department": "部门代码“{value}”不存在",
    "unknown_parent": "上级部门代码“{value}”既不在系统中，也不在本文件中",
    "parent_cycle": "上级部门关系形成了循环",
    "unknown_inspector": "执法人员编号“{value}”不存在",
    "unknown_target": "检查对象代码“{value}”不存在",
    "inconsistent_item": "同一事项的“{column}”与第 {other} 行不一致",
    "internal_error": "导入时发生内部错误，未导入任何数据：{reason}",
}


# --------------------------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------------------------


class Unreadable(Exception):
    """The file is not a CSV or XLSX we can read; the message says why (Chinese source text)."""


@dataclass
class Sheet:
    rows: list[tuple[int, list[str]]]  # (line as the spreadsheet numbers it, cells) — blank rows dropped
    source: str  # "xlsx", "utf-8", "gb18030", "utf-16"


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 1001.0 from a numeric cell is the code "1001"
    return str(value).strip()


def _read_xlsx(data: bytes) -> Sheet:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise Unreadable("不是有效的 XLSX 文件") from exc
    try:
        ws = wb.worksheets[0]
        # Some generators write a wrong <dimension>; without this, read-only mode trusts it.
        ws.reset_dimensions()
        rows: list[tuple[int, list[str]]] = []
        for line, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            if any(cells):
                rows.append((line, cells))
        return Sheet(rows, "xlsx")
    finally:
        wb.close()


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gb18030"), "gb18030"


def _read_csv(data: bytes) -> Sheet:
    try:
        text, encoding = _decode(data)
    except UnicodeDecodeError as exc:
        raise Unreadable("文件编码既不是 UTF-8 也不是 GB18030") from exc
    if "\x00" in text:
        raise Unreadable("文件不是文本格式的 CSV")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","  # Excel "Unicode text" is TSV
    rows: list[tuple[int, list[str]]] = []
    try:
        # Line = record number, as a spreadsheet shows it, even when a quoted cell holds line breaks.
        for line, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1):
            stripped = [c.strip() for c in cells]
            if any(stripped):
                rows.append((line, stripped))
    except csv.Error as exc:
        raise Unreadable("CSV 格式错误") from exc
    return Sheet(rows, encoding)


def read_table(data: bytes, filename: str) -> Sheet:
    """The first worksheet (XLSX) or the CSV, as rows of trimmed strings."""
    if not data:
        raise Unreadable("文件是空的")
    lower = filename.lower()
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0") or lower.endswith(".xls"):
        raise Unreadable("不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV")
    if lower.endswith((".xlsx", ".xlsm")):
        raise Unreadable("不是有效的 XLSX 文件")
    return _read_csv(data)


# --------------------------------------------------------------------------------------------
# Cells: normalisers and parsers
# --------------------------------------------------------------------------------------------


class CellError(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def _nfkc(text: str) -> str:
    """Full-width digits and letters (９１，ＡＢ) become ASCII; only for codes, dates and enums."""
    return unicodedata.normalize("NFKC", text).strip()


def normalize_header(text: str) -> str:
    """Header as matched: NFKC, no spaces/underscores/BOM/'*' marks, no trailing note in brackets."""
    h = _nfkc(text.replace("\ufeff", ""))
    h = re.sub(r"[\s_\-*]+", "", h)
    h = re.sub(r"\([^()]*\)$", "", h)  # "住所(经营场所)" → "住所", "名称(必填)" → "名称"
    return h.lower()


def parse_code(raw: str) -> str:
    return _nfkc(raw)


def parse_target_code(raw: str) -> str:
    """Target codes are stored upper-case (as the directory pages store them): ９１ab… → 91AB…"""
    return _nfkc(raw).upper()


_DATE_SEP = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_date(raw: str) -> dt.date:
    text = _nfkc(raw)
    m = _DATE_SEP.match(text) or _DATE_COMPACT.match(text)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    raise CellError("bad_date", value=raw)


_LIST_SEP = re.compile(r"[、;；,，\n]+")


def split_list(raw: str, max_len: int) -> list[str]:
    """Tags / specialties: split on 、 ; , (any width) and line breaks; trimmed, deduplicated."""
    out: list[str] = []
    for part in _LIST_SEP.split(raw):
        part = part.strip()
        if not part or part in out:
            continue
        if len(part) > max_len:
            raise CellError("too_long", max=max_len)
        out.append(part)
    return out


class Choices:
    """The accepted spellings of each stored value of an enumerated column (Chinese first)."""

    def __init__(self, values: dict[str, tuple[str, ...]]) -> None:
        self.labels = [spellings[0] for spellings in values.values()]  # shown in hints and messages
        self._lookup: dict[str, str] = {}
        for stored, spellings in values.items():
            for spelling in (stored, *spellings):
                self._lookup[_choice_key(spelling)] = stored

    def parse(self, raw: str) -> str:
        stored = self._lookup.get(_choice_key(raw))
        if stored is None:
            raise CellError("bad_enum", value=raw, allowed="、".join(self.labels))
        return stored


def _choice_key(text: str) -> str:
    return re.sub(r"\s+", "", _nfkc(text)).lower()


LEVEL_CHOICES = Choices(
    {
        "province": ("省级", "省", "省局"),
        "city": ("市级", "市", "市局", "地市"),
        "county": ("县级", "县", "区", "县区", "县(区)", "县局", "区局"),
        "station": ("基层所", "所", "站", "市场监管所", "监管所"),
    }
)
# 行业 (directory/models.TRADES): the label first, then common ways of writing it.
TRADE_CHOICES = Choices(
    {
        "market": ("市场监管", "市场监督管理", "市场监管局", "工商", "质监", "市场"),
        "drugs": ("药品监管", "药品监督管理", "药监", "药监局"),
        "housing": ("住房和城乡建设", "住建", "住建局", "住房城乡建设", "建设"),
        "health": ("卫生健康", "卫健", "卫健委", "卫生健康委", "卫生"),
        "emergency": ("应急管理", "应急", "应急局", "安监"),
        "culture": ("文化和旅游", "文旅", "文旅局", "文化旅游", "文化"),
        "education": ("教育", "教育局", "教体局"),
        "ecology": ("生态环境", "环保", "生态环境局", "环境保护"),
        "transport": ("交通运输", "交通", "交通局", "交通运输局"),
        "agriculture": ("农业农村", "农业", "农业农村局", "农业局"),
        "natural_resources": ("自然资源", "自然资源局", "国土"),
        "water": ("水利", "水利局", "水务"),
        "commerce": ("商务", "商务局"),
        "human_resources": ("人力资源和社会保障", "人社", "人社局", "人力资源社会保障"),
        "public_security": ("公安", "公安局"),
        "fire": ("消防救援", "消防", "消防救援大队"),
        "tax": ("税务", "税务局"),
    }
)
ITEM_KIND_CHOICES = Choices(
    {"general": ("一般", "一般检查事项", "一般事项"), "key": ("重点", "重点检查事项", "重点事项")}
)
TARGET_KIND_CHOICES = Choices(
    {
        "enterprise": ("企业", "公司"),
        "individual": ("个体工商户", "个体", "个体户"),
        "cooperative": ("农民专业合作社", "合作社", "农民专业合作社联合社"),
        "product": ("产品",),
        "project": ("项目", "工程"),
        "behaviour": ("行为", "behavior"),
    }
)
TARGET_STATUS_CHOICES = Choices(
    {
        "active": ("存续", "在业", "在营", "开业", "正常", "存续(在营、开业、在册)"),
        "liquidating": ("清算", "正在清算", "清算中"),
        "deregistered": ("注销", "已注销"),
        "revoked": ("吊销", "已吊销", "吊销,未注销", "吊销未注销"),
        "moved": ("迁出", "已迁出"),
    }
)
RISK_CHOICES = Choices(
    {
        "A": ("低风险", "a类", "低", "低风险(a)"),
        "B": ("一般风险", "b类", "一般", "一般风险(b)"),
        "C": ("较高风险", "c类", "较高", "较高风险(c)"),
        "D": ("高风险", "d类", "高", "高风险(d)"),
    }
)
INSPECTOR_KIND_CHOICES = Choices(
    {"general": ("普通", "一般", "普通人员"), "professional": ("专业", "专业人员"), "expert": ("专家",)}
)
INSPECTOR_STATUS_CHOICES = Choices(
    {
        "active": ("在岗", "在职", "正常"),
        "leave": ("休假", "请假", "病假"),
        "transferred": ("调离", "调出", "调动"),
        "retired": ("退休", "已退休"),
    }
)


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the Chinese header written in templates
    aliases: tuple[str, ...] = ()
    required: bool = False  # for a new row (in create mode the column must be in the header)
    max_len: int | None = None
    parse: Callable[[str], Any] | None = None
    hint: str = ""  # accepted values / format, shown on the page
    list_of: int | None = None  # a separated list, each element at most this long

    def names(self) -> set[str]:
        return {normalize_header(n) for n in (self.label, self.key, *self.aliases)}


def _enum_col(
    key: str, label: str, enum: Choices, aliases: tuple[str, ...], required: bool = False
) -> Column:
    return Column(key, label, aliases, required, parse=enum.parse, hint="、".join(enum.labels))


def _code_col(
    key: str, label: str, aliases: tuple[str, ...], required: bool = False, hint: str = ""
) -> Column:
    """A code column (this row's key or a reference): NFKC-normalised, at most 32 characters."""
    return Column(key, label, aliases, required, 32, parse=parse_code, hint=hint)


def _target_code_col(key: str, required: bool = True, hint: str = "") -> Column:
    """A target's code: its 统一社会信用代码 or assigned identifier, upper-cased."""
    aliases: tuple[str, ...] = ("信用代码", "社会信用代码", "对象代码", "检查对象代码", "credit_code", "uscc")
    aliases += ("代码", "编号") if key == "code" else ("target", "target_code")
    return Column(key, "统一社会信用代码", aliases, required, 32, parse=parse_target_code, hint=hint)


DATE_HINT = "2024-03-05、2024/3/5 或 2024年3月5日"
LIST_HINT = "多个用 、 ; , 分隔"

DEPARTMENT_COLUMNS = (
    _code_col("code", "部门代码", ("代码", "编码", "部门编码", "机构代码", "department_code"), True),
    Column("name", "部门名称", ("名称", "部门", "单位名称"), True, 100),
    _enum_col("level", "层级", LEVEL_CHOICES, ("级别", "部门层级"), required=True),
    _code_col("parent_code", "上级部门代码", ("上级代码", "上级部门", "上级部门编码", "parent")),
    _enum_col("trade", "所属行业", TRADE_CHOICES, ("行业", "行业类别", "trade")),
)
ITEM_COLUMNS = (
    _code_col("code", "事项代码", ("代码", "编码", "事项编码", "item_code"), True),
    Column("name", "事项名称", ("抽查事项", "检查事项", "名称", "抽查事项名称"), True, 200),
    _enum_col("kind", "事项类型", ITEM_KIND_CHOICES, ("类型", "事项类别", "检查类型", "类别")),
    _code_col(
        "department_code", "实施部门代码", ("部门代码", "所属部门代码", "实施部门", "department"), True
    ),
    Column("legal_basis", "法律依据", ("抽查依据", "检查依据", "依据")),
    Column("specialty", "业务专长", ("专长", "所需专长"), False, 50),
    Column(
        "checkpoint",
        "检查要点",
        ("检查内容", "检查项目", "要点", "抽查内容"),
        True,
        hint="每行一个要点；单元格内换行可写多个要点",
    ),
    Column("method", "检查方式", ("检查方法", "方式", "抽查方式"), False, 100),
)
TARGET_COLUMNS = (
    _target_code_col("code", hint="市场主体须为有效的 18 位代码"),
    Column("name", "名称", ("对象名称", "企业名称", "主体名称", "单位名称", "市场主体名称"), True, 200),
    _enum_col("kind", "类型", TARGET_KIND_CHOICES, ("对象类型", "主体类型", "市场主体类型", "type"), True),
    Column("industry", "行业", ("所属行业", "行业类别", "行业门类"), False, 100),
    Column("district", "所属区域", ("区域", "辖区", "所属辖区", "地区", "行政区划", "area"), False, 100),
    Column("address", "地址", ("住所", "经营场所", "注册地址", "经营地址"), False, 300),
    Column(
        "legal_rep",
        "法定代表人",
        ("负责人", "经营者", "法人", "法人代表", "legal_representative"),
        False,
        100,
    ),
    _enum_col("status", "状态", TARGET_STATUS_CHOICES, ("登记状态", "经营状态")),
    _enum_col(
        "risk_class",
        "风险等级",
        RISK_CHOICES,
        ("风险分类", "信用风险等级", "信用风险分类", "风险类别", "risk"),
    ),
    Column(
        "risk_assessed_on", "风险评定日期", ("评定日期", "风险分类日期"), parse=parse_date, hint=DATE_HINT
    ),
    Column(
        "last_inspected_on",
        "最近检查日期",
        ("上次检查日期", "最后检查日期"),
        parse=parse_date,
        hint=DATE_HINT,
    ),
    Column("tags", "标签", ("tag",), list_of=50, hint=LIST_HINT),
)
INSPECTOR_COLUMNS = (
    _code_col("code", "人员编号", ("执法人员编号", "编号", "工号", "代码", "inspector_code"), True),
    Column("name", "姓名", ("名称", "执法人员", "人员姓名"), True, 100),
    _code_col("department_code", "部门代码", ("所属部门代码", "所属部门", "单位代码", "department"), True),
    Column("credential_no", "执法证号", ("执法证件号", "执法证编号", "证件号", "执法证件号码"), False, 50),
    Column(
        "credential_valid_until",
        "执法证有效期至",
        ("证件有效期", "有效期至", "执法证有效期", "有效期"),
        parse=parse_date,
        hint=DATE_HINT,
    ),
    _enum_col("kind", "人员类型", INSPECTOR_KIND_CHOICES, ("类型", "类别", "人员类别")),
    Column("post", "岗位", ("职务", "岗位职务"), False, 100),
    Column("specialties", "业务专长", ("专长", "specialty"), list_of=50, hint=LIST_HINT),
    _enum_col("status", "状态", INSPECTOR_STATUS_CHOICES, ("在岗状态", "人员状态")),
)
CONFLICT_COLUMNS = (
    _code_col("inspector_code", "人员编号", ("执法人员编号", "工号", "inspector"), True),
    _target_code_col("target_code"),
    Column("reason", "回避原因", ("原因", "理由", "回避事由"), True, 300),
)
HISTORY_COLUMNS = (
    _target_code_col("target_code"),
    Column("inspected_on", "检查日期", ("日期", "检查时间", "date"), True, parse=parse_date, hint=DATE_HINT),
    _code_col("department_code", "检查部门代码", ("部门代码", "实施部门代码", "department")),
    Column("task_name", "任务名称", ("抽查任务", "抽查任务名称", "任务", "task"), False, 200),
    Column("result", "检查结果", ("结果", "抽查结果"), False, 200),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    "departments": DEPARTMENT_COLUMNS,
    "items": ITEM_COLUMNS,
    "targets": TARGET_COLUMNS,
    "inspectors": INSPECTOR_COLUMNS,
    "conflicts": CONFLICT_COLUMNS,
    "history": HISTORY_COLUMNS,
}
# Columns needed in the header in upsert mode (a row's code finds the row to update).
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "departments": ("code",),
    "items": ("code", "checkpoint"),
    "targets": ("code",),
    "inspectors": ("code",),
    "conflicts": ("inspector_code", "target_code", "reason"),
    "history": ("target_code", "inspected_on"),
}


def template_csv(kind: str) -> bytes:
    """The header row of a kind's template, UTF-8 with BOM so Excel opens it as UTF-8."""
    buf = io.StringIO()
    csv.writer(buf).writerow([c.label for c in COLUMNS[kind]])
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")


# --------------------------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------------------------


def error_message(entry: dict[str, Any]) -> str:
    """An error entry's message in the request's language."""
    template = MESSAGES.get(entry.get("code", ""), "")
    if not template:
        return str(entry.get("message", ""))
    params = dict(entry.get("params", {}))
    if "reason" in params:  # our own Chinese text (why a file is unreadable), not user data
        params["reason"] = translate(params["reason"])
    try:
        return translate(template, **params)
    except (KeyError, IndexError):
        return str(entry.get("message", ""))


class Problems:
    """Every problem counted; the first ERRORS_KEPT kept (rows are checked in line order)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.count = 0

    def add(self, line: int | None, field: str | None, column: str | None, code: str, **params: Any) -> None:
        self.count += 1
        if len(self.items) < ERRORS_KEPT:
            params = {k: str(v) for k, v in params.items()}
            if column is not None:
                params.setdefault("column", column)
            self.items.append(
                {
                    "line": line,
                    "field": field,
                    "column": column,
                    "code": code,
                    "message": MESSAGES[code].format(**params),
                    "params": params,
                }
            )

    def sorted(self) -> list[dict[str, Any]]:
        return sorted(self.items, key=lambda e: -1 if e["line"] is None else e["line"])
