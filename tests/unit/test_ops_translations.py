"""Every Chinese string of the deadlines, notifications, jobs, audit, archive and KPI pages has an
English entry, with the same placeholders."""

from __future__ import annotations

import json
import re
from pathlib import Path

from server import jobs
from server.deadlines import services as deadlines
from server.deadlines import views as deadline_views
from server.draws import services as draws
from server.reports import views as report_views
from server.review import services as review
from server.scheduler import views as job_views

ROOT = Path(__file__).resolve().parents[2] / "server"
AREAS = ("deadlines", "notifications", "jobs", "audit", "archive", "reports")
CODE = ("deadlines", "notifications", "scheduler", "audit", "archive", "reports")


def _catalogue() -> dict[str, str]:
    data: dict[str, str] = {}
    for path in (ROOT / "translations" / "en").glob("*.json"):
        data.update(json.loads(path.read_text("utf-8")))
    return data


def _source_strings() -> set[str]:
    found: set[str] = set()
    for area in AREAS:
        for path in (ROOT / "templates" / area).glob("*.html"):
            found |= {m[1] for m in re.findall(r"""_\(\s*(['"])(.+?)\1""", path.read_text("utf-8"))}
    for area in CODE:
        for path in (ROOT / area).glob("*.py"):
            found |= set(re.findall(r'translate\(\s*"((?:[^"\\]|\\.)*)"', path.read_text("utf-8")))
    for table in (
        deadline_views.KIND_NAMES,
        deadline_views.SOURCE_NAMES,
        deadline_views.STATE_NAMES,
        job_views.STATUS_NAMES,
        job_views.TRIGGER_NAMES,
        report_views.METRIC_NAMES,
        report_views.METRIC_NOTES,
    ):
        found |= set(table.values())
    found |= {job.description for job in jobs.JOBS}
    found |= {
        deadlines.REMINDER_TEXT,
        deadlines.LATE_TEXT,
        draws.REPLACEMENT_REQUESTED_TEXT,
        draws.REPLACEMENT_APPROVED_TEXT,
        draws.REPLACEMENT_REJECTED_TEXT,
        deadlines.CALENDAR_TEXT,
        review.WITHHOLD_REQUESTED_TEXT,
        "审计日志校验失败：{problem}",
        "合计",
        "部门",
        "任务",
    }
    found |= {"期限跟踪", "工作日历", "定时任务", "审计日志", "检查档案", "工作指标", "消息提醒"}
    return {s for s in found if re.search(r"[\u4e00-\u9fff]", s)}


def test_every_ops_string_is_translated() -> None:
    strings = _source_strings()
    assert len(strings) > 150  # the extraction itself works
    missing = sorted(s for s in strings if s not in _catalogue())
    assert missing == []


def test_translations_keep_their_placeholders() -> None:
    for area in AREAS:
        own = json.loads((ROOT / "translations" / "en" / f"{area}.json").read_text("utf-8"))
        for zh, en in own.items():
            assert sorted(re.findall(r"\{(\w+)\}", zh)) == sorted(re.findall(r"\{(\w+)\}", en)), zh


def test_our_entries_never_reword_another_areas() -> None:
    """The catalogues merge into one: a string another area translates must read the same in ours."""
    others: dict[str, str] = {}
    for path in (ROOT / "translations" / "en").glob("*.json"):
        if path.stem not in AREAS:
            others.update(json.loads(path.read_text("utf-8")))
    for area in AREAS:
        own = json.loads((ROOT / "translations" / "en" / f"{area}.json").read_text("utf-8"))
        assert {k: v for k, v in own.items() if k in others and others[k] != v} == {}, area
