"""Simplified Chinese first, English on request.

Source strings are the Chinese text itself; ``translations/en/<area>.json`` map each to English. The
locale comes from the ``lang`` cookie (set by the language switch), then the user's saved choice,
then the default (zh_CN). A test checks that every string the templates translate has an entry.

One Chinese word can want different English in different places (有效 is a "valid" signature but an
"active" draw; 结果 is a checklist "answer" in the record but a "result" in review), so each area's
file is looked up first for the pages of its blueprint (``directory`` reads ``directory.json`` and
``directory_import.json``), then every file merged.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app, g, has_request_context, request

LOCALES = ("zh_CN", "en")
_DIR = Path(__file__).parent / "translations"


@cache
def _catalogue(locale: str) -> dict[str, str]:
    """All of ``translations/<locale>/*.json`` merged, ``common.json`` last so the shared vocabulary
    wins where areas differ (an area's own word is found first on its own pages anyway)."""
    data: dict[str, str] = {}
    for path in sorted((_DIR / locale).glob("*.json"), key=lambda p: (p.stem == "common", p.stem)):
        data.update(json.loads(path.read_text("utf-8")))
    return data


# Blueprints whose translation file is not named after them.
_AREA_FILES = {"inspection_records": ("records",)}


@cache
def _area_catalogue(locale: str, area: str) -> dict[str, str]:
    stems = _AREA_FILES.get(area, (area,))
    data: dict[str, str] = {}
    for path in sorted((_DIR / locale).glob("*.json")):
        if any(path.stem == stem or path.stem.startswith(f"{stem}_") for stem in stems):
            data.update(json.loads(path.read_text("utf-8")))
    return data


def current_locale() -> str:
    if not has_request_context():
        return "zh_CN"
    # Cached on the request, not on g: g lives as long as the app context, which may span requests.
    cached = request.environ.get("spotcheck.locale")
    if cached is None:
        lang = request.cookies.get("lang")
        user = getattr(g, "user", None)
        if lang not in LOCALES and user is not None:
            lang = user.locale
        cached = lang if lang in LOCALES else current_app.config.get("DEFAULT_LOCALE", "zh_CN")
        request.environ["spotcheck.locale"] = cached
    return str(cached)


def translate(text: str, **kwargs: object) -> str:
    """Translate a Chinese source string into the request's locale, then format it."""
    if current_locale() == "en":
        area = request.blueprint if has_request_context() else None
        found = _area_catalogue("en", area).get(text) if area else None
        text = found if found is not None else _catalogue("en").get(text, text)
    return text.format(**kwargs) if kwargs else text


def colon() -> str:
    """The colon after a label in running text: full width in Chinese, ": " in English."""
    return ": " if current_locale() == "en" else "："


def local_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))


def to_local(value: dt.datetime | None) -> dt.datetime | None:
    """Stored timestamps are naive UTC; show them in Asia/Shanghai."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(local_tz())


def format_datetime(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = to_local(value)
    return local.strftime(fmt) if local else ""


def today_local() -> dt.date:
    return dt.datetime.now(local_tz()).date()


# Field messages come from marshmallow and from the services in English, for the API's problem
# documents. The pages show them in the user's language: in Chinese through this table (pattern of
# the English message → Chinese, its numbers carried over); a message not listed stays as it is.
_FIELD_MESSAGES_ZH: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), zh)
    for pattern, zh in (
        (r"Missing data for required field\.?|Field may not be null\.?|required\.?", "必填"),
        (r"Length must be between (\d+) and (\d+)\.?", "长度应为{0}至{1}个字符"),
        (r"Longer than maximum length (\d+)\.?", "最多{0}个字符"),
        (r"Shorter than minimum length (\d+)\.?", "至少{0}个字符"),
        (r"At most (\d+) characters\.?", "最多{0}个字符"),
        (r"(\d+)-(\d+) characters\.?", "应为{0}至{1}个字符"),
        (
            r"2-40 characters: a-z, 0-9 and _, starting with a letter\.?",
            "应为2至40个字符：小写字母、数字或下划线，以字母开头",
        ),
        (r"Not a valid integer\.?", "应为整数"),
        (r"Not a valid number\.?", "应为数字"),
        (r"Not a valid date\.?|A date like (\S+?)\.?", "应为日期，如 2025-09-28"),
        (r"Not a valid datetime\.?", "应为日期和时间"),
        (r"Not a valid boolean\.?", "应为是或否"),
        (r"Not a valid string\.?", "应为文字"),
        (r"Unknown field\.?", "无法识别的字段"),
        (r"Must be one of: (.+?)\.?|One of (.+?)\.?", "应为以下之一：{0}"),
        (
            r"Must be greater than or equal to (\S+) and less than or equal to (\S+?)\.?",
            "应在{0}至{1}之间",
        ),
        (r"Must be greater than or equal to (\S+?)\.?", "不得小于{0}"),
        (r"Must be less than or equal to (\S+?)\.?", "不得大于{0}"),
        (r"A year between (\d+) and (\d+)\.?", "应为{0}至{1}之间的年份"),
        (r"Say why \(e\.g\. the State Council notice\)\.?", "请填写原因（如国务院办公厅的通知）"),
        (r"Say why, in at most (\d+) characters\.?", "请填写原因，最多{0}个字符"),
        (
            r"The holiday package already covers (\S+?)[–-](\S+?); use overrides\.?",
            "节假日数据已涵盖{0}–{1}年，请逐日调整",
        ),
    )
)


def field_message(message: object) -> str:
    """A field's validation message in the request's language (see ``_FIELD_MESSAGES_ZH``)."""
    text = str(message)
    if current_locale() == "en":
        return text
    for pattern, zh in _FIELD_MESSAGES_ZH:
        found = pattern.fullmatch(text.strip())
        if found:
            return zh.format(*(g for g in found.groups() if g is not None))
    return text
