"""Bulk-import fixtures: an admin, two departments, file builders, and no import thread left running."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openpyxl
import pytest
from flask import Flask

from server.accounts.models import User
from server.directory.creditcode import make_code
from server.directory.importer import wait_for_imports
from server.directory.models import Department

_rng = random.Random(4242)


def code(kind: str = "enterprise") -> str:
    """A fresh valid 统一社会信用代码."""
    return make_code(kind, "141121", _rng)


def bad_check_digit(valid: str) -> str:
    from server.directory.creditcode import ALPHABET

    return valid[:-1] + next(c for c in ALPHABET if c != valid[-1])


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


TARGET_HEADER = [
    "统一社会信用代码",
    "名称",
    "类型",
    "行业",
    "所属区域",
    "地址",
    "法定代表人",
    "状态",
    "风险等级",
    "风险评定日期",
    "最近检查日期",
    "标签",
]


@dataclass
class Setup:
    admin: User
    supervisor: User
    county: Department
    station: Department


@pytest.fixture(autouse=True)
def _no_thread_outlives_the_test(app: Flask) -> Iterator[None]:
    yield
    wait_for_imports(timeout=60)


@pytest.fixture
def setup(make: Any) -> Setup:
    county = make.department(code="141121", name="文水县市场监督管理局", level="county")
    station = make.department(code="141121-01", name="凤城市场监管所", level="station", parent_id=county.id)
    return Setup(
        admin=make.user(roles=["admin"], department=county),
        supervisor=make.user(roles=["supervisor"], department=county),
        county=county,
        station=station,
    )
