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
