"""Pure parsers for the free-text cells of a plan table, and the scope filter format.

Each parser takes a cell as written in a plan (抽查比例/数量, 抽取检查起至时间, 抽查检查模式, 抽查类型,
抽查事项, 抽查对象范围) and returns structured values, or raises ``PlanTextError`` with a reason code that
the importer reports per line. Nothing here touches Flask or the database, so the unit tests run bare.

SCOPE FORMAT (shared with the draws engine; keep it exactly): a dict with optional keys ``kinds``,
``statuses`` (``["active"]`` when absent), ``districts``, ``industries`` and ``tags`` (a target must have
ANY of them), each a list of strings; an absent or empty key is no constraint.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from calendar import monthrange
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from server.directory.models import RISK_CLASSES, TARGET_KINDS, TARGET_STATUSES
from server.i18n import translate
from server.planning.models import MODES

FULL_BP = 10_000  # 100 %
# The strata a task holds a ratio for: the four risk classes and "U" for targets not yet classified.
STRATA = (*RISK_CLASSES, "U")
# Per-class defaults as multiples of the class-B (一般风险, "normal") ratio. The seeds only say the ratio
# rises from A to D (递加); these factors reproduce the published provincial example A 1 % / B 2 % /
# C 10 % / D 30 % at a 2 % base (DOMAIN.md §3).
CLASS_FACTORS = {"A": Decimal("0.5"), "B": Decimal(1), "C": Decimal(5), "D": Decimal(15)}


class PlanTextError(ValueError):
    """A cell that cannot be read; ``code`` names the reason (bad_ratio, bad_window, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _norm(text: str) -> str:
    """Full-width digits, letters and punctuation to their ASCII forms; outer whitespace removed."""
    return unicodedata.normalize("NFKC", text or "").strip()


# ----------------------------------------------------------------------------------- ratio / count


@dataclass(frozen=True)
class RatioSpec:
    """What 抽查比例/数量 says: a ratio in basis points, or a fixed count, or neither (dynamic)."""

    base_ratio_bp: int | None
    fixed_count: int | None
    frequency_per_year: int

    @property
    def dynamic(self) -> bool:
        """No number at all ("根据预警监测情况动态比例"): the task needs numbers before a draw."""
        return self.base_ratio_bp is None and self.fixed_count is None


_PERIODS = {"年": 1, "半年": 2, "季度": 4, "季": 4, "月": 12, "周": 52}
_FREQ_PER = re.compile(r"(\d+)\s*次?\s*/\s*(半年|季度|季|年|月|周)")
_FREQ_EVERY = re.compile(r"每\s*(半年|季度|季|年|月|周)\s*(?:抽查)?\s*(\d+)\s*次")
_FREQ_TIMES = re.compile(r"(?:抽查|检查)\s*(\d+)\s*次")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_COUNT = re.compile(r"(\d+)\s*(家|户|个|所|台|件|批)")
# Words that mark a ratio left to be decided, as in 000 row 21 "根据预警监测情况动态比例".
_DYNAMIC_MARKERS = ("动态", "视情", "另行确定", "根据")


def percent_to_bp(text: str) -> int:
    """ "2", "2.5", "0.1" or "0.1%" (a percentage) → basis points; finer than 0.01 % is refused."""
    raw = _norm(str(text)).rstrip("%").strip()
    try:
        value = Decimal(raw) * 100
    except InvalidOperation as exc:
        raise PlanTextError("bad_ratio", translate("比例不是数字：{value}", value=text)) from exc
    if not value.is_finite() or value != value.to_integral_value():
        raise PlanTextError("bad_ratio", translate("比例最小单位为0.01%：{value}", value=text))
    bp = int(value)
    if not 0 <= bp <= FULL_BP:
        raise PlanTextError("bad_ratio", translate("比例应在0%到100%之间：{value}", value=text))
    return bp


def format_bp(bp: int | None) -> str:
    """Basis points as a percentage without trailing zeros: 300 → "3%", 10 → "0.1%"."""
    if bp is None:
        return ""
    text = f"{Decimal(bp) / 100:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def parse_frequency(text: str) -> int:
    """Times a year: "1次/年" → 1, "1次/季度" → 4, "每月1次" → 12, "抽查1次" → 1; none written → 1."""
    t = _norm(text)
    if m := _FREQ_PER.search(t):
        n, per = int(m.group(1)), _PERIODS[m.group(2)]
    elif m := _FREQ_EVERY.search(t):
        n, per = int(m.group(2)), _PERIODS[m.group(1)]
    elif m := _FREQ_TIMES.search(t):
        n, per = int(m.group(1)), 1
    else:
        return 1
    if not 1 <= n * per <= 366:
        raise PlanTextError("bad_ratio", translate("抽查频次不合理：{value}", value=text))
    return n * per


def parse_ratio(text: str) -> RatioSpec:
    """Read 抽查比例/数量: "3%; 1次/年", "不低于5%", "5%以上", "35%; 1次/季度", "6家", "…动态比例".

    "不低于" (at least) and "以上" are read as the ratio itself: the plan's floor is what a draw uses.
    """
    t = _norm(text)
    if not t:
        raise PlanTextError("bad_ratio", translate("抽查比例/数量为空"))
    frequency = parse_frequency(t)
    if m := _PERCENT.search(t):
        bp = percent_to_bp(m.group(1))
        if bp == 0:
            raise PlanTextError("bad_ratio", translate("比例应在0%到100%之间：{value}", value=text))
        return RatioSpec(bp, None, frequency)
    # Strip the frequency first so "1次/年" is never taken for a count.
    rest = _FREQ_EVERY.sub("", _FREQ_PER.sub("", t))
    if m := _COUNT.search(rest):
        count = int(m.group(1))
        if count < 1:
            raise PlanTextError("bad_ratio", translate("抽查数量应至少为1：{value}", value=text))
        return RatioSpec(None, count, frequency)
    if any(marker in t for marker in _DYNAMIC_MARKERS) and not re.search(r"\d", rest):
        return RatioSpec(None, None, frequency)
    raise PlanTextError("bad_ratio", translate("无法识别抽查比例/数量：{value}", value=text))


def default_class_ratios(base_bp: int) -> dict[str, int]:
    """Per-stratum ratios from the class-B ratio: A = B/2 (rounded up), C = 5×B, D = 15×B, U = B."""
    ratios = {
        cls: min(FULL_BP, math.ceil(Decimal(base_bp) * factor)) for cls, factor in CLASS_FACTORS.items()
    }
    if base_bp > 0:
        ratios["A"] = max(1, ratios["A"])  # a class is never silently excluded by rounding
    ratios["U"] = base_bp
    return ratios


# ------------------------------------------------------------------------------------------ window

_MONTH_RANGE = re.compile(
    r"^(\d{1,2})(?:月(?:(\d{1,2})日)?)?(?:[-—–~至到]+(\d{1,2})月(?:(\d{1,2})日)?)?[底末份]?$"
)
_FULL_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_HALVES = {"全年": (1, 12), "上半年": (1, 6), "下半年": (7, 12)}


def _date(year: int, month: int, day: int | None, end: bool, text: str) -> dt.date:
    try:
        if day is None:
            day = monthrange(year, month)[1] if end else 1
        return dt.date(year, month, day)
    except ValueError as exc:
        raise PlanTextError("bad_window", translate("日期不存在：{value}", value=text)) from exc


def parse_window(text: str, year: int) -> tuple[dt.date, dt.date]:
    """Read 抽取检查起至时间 for a plan year: "7月—11月" → (07-01, 11-30); also "5月-11月", "1-11月",
    "全年", "上半年", "5月", "3月15日—11月30日" and explicit dates "2025-03-01至2025-11-30".

    The window must lie inside the plan year and must not end before it starts.
    """
    t = re.sub(r"\s+", "", _norm(text))
    if not t:
        raise PlanTextError("bad_window", translate("抽取检查起至时间为空"))
    dates = _FULL_DATE.findall(t)
    if dates:
        if len(dates) != 2:
            raise PlanTextError("bad_window", translate("需要起止两个日期：{value}", value=text))
        start, end = (_date(int(y), int(m), int(d), False, text) for y, m, d in dates)
    elif t in _HALVES:
        first, last = _HALVES[t]
        start, end = _date(year, first, None, False, text), _date(year, last, None, True, text)
    else:
        t = re.sub(rf"^{year}年", "", t)
        m = _MONTH_RANGE.match(t)
        if m is None or ("月" not in t):
            raise PlanTextError("bad_window", translate("无法识别抽取检查起至时间：{value}", value=text))
        m1, d1, m2, d2 = m.groups()
        first = int(m1)
        last = int(m2) if m2 else first
        if not (1 <= first <= 12 and 1 <= last <= 12):
            raise PlanTextError("bad_window", translate("月份应在1到12之间：{value}", value=text))
        start = _date(year, first, int(d1) if d1 else None, False, text)
        # "5月" alone is the whole of May; "5月10日" alone is that one day.
        end_day = int(d2) if d2 else (int(d1) if d1 and not m2 else None)
        end = _date(year, last, end_day, True, text)
    if start.year != year or end.year != year:
        raise PlanTextError(
            "bad_window", translate("抽查时间应在计划年度{year}年内：{value}", year=year, value=text)
        )
    if end < start:
        raise PlanTextError("bad_window", translate("结束时间早于开始时间：{value}", value=text))
    return start, end


# ------------------------------------------------------------------------------------- mode, type

_MODE_PAIRS = {
    ("县", "县"): "county_county",
    ("市", "县"): "city_county",
    ("市", "市"): "city_city",
    ("省", "县"): "province_county",
}
_MODE_BY_LABEL = {label: code for code, label in MODES.items()}


def parse_mode(text: str) -> str:
    """Read 抽查检查模式: "【县抽县查】 高平市市场监管局发起并实施检查" → "county_county".

    Also the OCR forms of seed 000: "市抽查(市、区)查" and "市抽县(市、区)查" both mean 市抽县查 (the
    parenthesis lists the county-level units), and the English codes of ``MODES``.
    """
    t = re.sub(r"\s+", "", _norm(text))
    if t in MODES:
        return t
    if not t:
        raise PlanTextError("bad_mode", translate("抽查检查模式为空"))
    # "(市、区)" after 抽 or 抽查 stands for the county level.
    folded = re.sub(r"\([^)]*\)", "县", t).replace("县县", "县").replace("抽查县", "抽县")
    if m := re.search(r"([省市县])抽([省市县])查", folded):
        code = _MODE_PAIRS.get((m.group(1), m.group(2)))
        if code:
            return code
    for label, code in _MODE_BY_LABEL.items():
        if label in t:
            return code
    raise PlanTextError("bad_mode", translate("无法识别抽查检查模式：{value}", value=text))


def parse_task_type(text: str) -> str:
    """定向 → directed, 不定向 → undirected ("定向抽查" and the English codes are accepted too)."""
    t = _norm(text).lower()
    if t in ("directed", "undirected"):
        return t
    if "不定向" in t:
        return "undirected"
    if "定向" in t:
        return "directed"
    raise PlanTextError("bad_type", translate("抽查类型应为“定向”或“不定向”：{value}", value=text))


# ------------------------------------------------------------------------------------------ items

# An item number: "1." "1．" "1、" "(1)" "（1）" "1)" at the start or after a separator.
_ITEM_MARK = re.compile(r"(?:^|(?<=[；;，,。\s]))\s*[(（]?(\d{1,2})\s*[)）.．、]")
_ITEM_ENDINGS = ("检查", "活动", "行为", "管理")
_TRAILING = re.compile(r"[\s；;，,。、]+$")


def split_items(text: str) -> list[str]:
    """The items in 1+X order, keeping empty pieces (row 6 of the 高平 plan ends in a bare "5.").

    Numbered text ("1.登记事项检查；2.公示信息检查") is split at the numbers 1, 2, 3 … in sequence, so a
    "、" or "，" inside one item never splits it; text without numbers is split only at "；" and line ends.
    """
    text = (text or "").strip()
    if not text:
        return []
    marks: list[re.Match[str]] = []
    for m in _ITEM_MARK.finditer(text):
        if int(m.group(1)) == len(marks) + 1 and (marks or m.start() == 0):
            marks.append(m)
    if marks:
        ends = [m.start() for m in marks[1:]] + [len(text)]
        pieces = [text[m.end() : end] for m, end in zip(marks, ends, strict=True)]
    else:
        pieces = re.split(r"[；;\n]+", text)
        # "质量管理体系认证活动、有机产品认证活动" lists two items; "食品销售、餐饮服务监督检查" is one item
        # with a shared ending. Split at "、" only when every piece reads as a whole item.
        if len(pieces) == 1 and all(p.strip().endswith(_ITEM_ENDINGS) for p in text.split("、")):
            pieces = text.split("、")
    return [_TRAILING.sub("", p).strip() for p in pieces]


def parse_items(text: str) -> list[str]:
    """Item names in order, the first being the main item (1+X); empty and repeated names dropped."""
    seen: list[str] = []
    for name in split_items(text):
        if name and name not in seen:
            seen.append(name)
    return seen


# ------------------------------------------------------------------------------------------ scope

SCOPE_KEYS = ("kinds", "statuses", "districts", "industries", "tags")
DEFAULT_STATUSES = ["active"]
# Keyword tables, kept as data: (phrase in the plan text, value). Longer phrases first where one
# contains another, so the table reads top-down as "most specific first".
KIND_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("个体工商户", "individual"),
    ("个体户", "individual"),
    ("农民专业合作社", "cooperative"),
    ("合作社", "cooperative"),
    ("企业", "enterprise"),
)
STATUS_KEYWORDS: tuple[tuple[str, str], ...] = (("存续", "active"), ("在业", "active"), ("在营", "active"))
# Domain phrases → the tag of the sub-directory (分库) a target must be in.
TAG_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("电子商务", "电子商务"),
    ("广告", "广告"),
    ("工业产品生产许可", "工业产品生产许可"),
    ("工业产品", "工业产品生产许可"),
    ("集贸市场", "集贸市场"),
    ("眼镜配制", "眼镜配制"),
    ("眼镜制配", "眼镜配制"),
    ("有机产品认证", "有机产品认证"),
    ("计量器具使用", "计量器具使用"),
    ("计量使用", "计量器具使用"),
    ("食品销售", "食品销售"),
    ("餐饮服务", "餐饮服务"),
    ("特种设备使用", "特种设备使用"),
    ("自愿性认证", "自愿性认证"),
    ("商标代理", "商标代理"),
    ("食品小经营店", "食品小经营店"),
    ("小摊点", "食品小经营店"),
)
SCOPE_TAGS = tuple(dict.fromkeys(tag for _, tag in TAG_KEYWORDS))

KIND_LABELS = {
    "enterprise": "企业",
    "individual": "个体工商户",
    "cooperative": "农民专业合作社",
    "product": "产品",
    "project": "项目",
    "behaviour": "行为",
}
STATUS_LABELS = {
    "active": "存续",
    "liquidating": "清算中",
    "deregistered": "已注销",
    "revoked": "已吊销",
    "moved": "已迁出",
}


def _matches(text: str, table: tuple[tuple[str, str], ...]) -> list[str]:
    return list(dict.fromkeys(value for phrase, value in table if phrase in text))


def parse_scope(scope_text: str, task_name: str = "") -> dict[str, list[str]]:
    """Scope text → scope filter. "全市范围内存续广告经营企业" → kinds enterprise, statuses active, tags 广告.

    When the scope text names no domain (row 10: "全市宣传出版、文化教育、交易市场等领域"), the task name is
    read for one ("对计量使用单位情况的监督检查" → 计量器具使用).
    """
    text = _norm(scope_text)
    scope: dict[str, list[str]] = {}
    if kinds := _matches(text, KIND_KEYWORDS):
        scope["kinds"] = kinds
    if statuses := _matches(text, STATUS_KEYWORDS):
        scope["statuses"] = statuses
    tags = _matches(text, TAG_KEYWORDS) or _matches(_norm(task_name), TAG_KEYWORDS)
    if tags:
        scope["tags"] = tags
    return scope


def validate_scope(scope: Any) -> dict[str, list[str]]:
    """Check a scope filter and return it cleaned (strings stripped, empties and duplicates dropped).

    Raises ``PlanTextError("bad_scope", …)`` for unknown keys, non-lists, or unknown kinds/statuses.
    """
    if scope is None:
        return {}
    if not isinstance(scope, dict):
        raise PlanTextError("bad_scope", translate("抽查范围格式错误"))
    unknown = sorted(set(scope) - set(SCOPE_KEYS))
    if unknown:
        raise PlanTextError("bad_scope", translate("抽查范围含未知字段：{keys}", keys=", ".join(unknown)))
    clean: dict[str, list[str]] = {}
    for key in SCOPE_KEYS:
        values = scope.get(key)
        if values is None:
            continue
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise PlanTextError("bad_scope", translate("抽查范围的{key}应为字符串列表", key=key))
        items = list(dict.fromkeys(v.strip() for v in values if v.strip()))
        allowed = {"kinds": TARGET_KINDS, "statuses": TARGET_STATUSES}.get(key)
        if allowed is not None and (bad := [v for v in items if v not in allowed]):
            raise PlanTextError(
                "bad_scope", translate("抽查范围的{key}取值无效：{values}", key=key, values=", ".join(bad))
            )
        if items:
            clean[key] = items
    return clean


def scope_description(scope: dict[str, Any] | None) -> str:
    """A one-line reading of a scope filter for pages: "企业；存续；标签（任一）：广告"."""
    scope = scope or {}
    sep = translate("、")
    parts = [
        sep.join(translate(KIND_LABELS.get(k, k)) for k in scope["kinds"])
        if scope.get("kinds")
        else translate("全部类型")
    ]
    statuses = scope.get("statuses") or DEFAULT_STATUSES
    parts.append(
        translate("状态：{values}", values=sep.join(translate(STATUS_LABELS.get(s, s)) for s in statuses))
    )
    if scope.get("districts"):
        parts.append(translate("区域：{values}", values=sep.join(scope["districts"])))
    if scope.get("industries"):
        parts.append(translate("行业：{values}", values=sep.join(scope["industries"])))
    if scope.get("tags"):
        parts.append(translate("标签（任一）：{values}", values=sep.join(scope["tags"])))
    return translate("；").join(parts)


# ------------------------------------------------------------------------------------ departments


def normalize_department_name(name: str) -> str:
    """Compare department names loosely: width, spaces, and the common short form 市场监管局."""
    t = re.sub(r"\s+", "", _norm(name))
    return t.replace("市场监督管理局", "市场监管局")


def split_names(text: str) -> list[str]:
    """ "原平市教育科技局、原平市公安局" → two names (also split at ， , ； ; / and line ends)."""
    return [p.strip() for p in re.split(r"[、，,；;/\n]+", text or "") if p.strip()]
