"""Importing plan tables: the bundled 高平 plan, broken files, dry runs, XLSX and GBK."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from server.audit.models import AuditEvent
from server.directory.models import Department, Item
from server.errors import ApiError
from server.extensions import db
from server.planning.importing import SEED_PLAN, import_plan, load_seed_plan
from server.planning.models import Plan, Task, TaskItem

HEADER = (
    "序号,抽查任务名称,抽查类型,抽查事项,抽查对象范围,抽查比例/数量,信用风险分类管理,"
    "抽取检查起至时间,抽查检查模式,发起部门,配合部门,检查主体"
)
GOOD_ROW = (
    "1,对企业的不定向双随机抽查,不定向,1.登记事项检查；2.公示信息检查,全市范围内存续的企业,"
    "3%; 1次/年,递加,7月—11月,县抽县查,,,"
)


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_seed_plan_gives_sixteen_tasks_with_the_published_values(bureau: Department) -> None:
    plan = load_seed_plan(bureau, actor_id=None)
    db.session.commit()
    assert (plan.year, plan.version, plan.status) == (2025, 1, "draft")
    assert plan.title == "高平市市场监督管理局2025年度双随机抽查工作计划"
    assert plan.document_no == "高市市监办发〔2025〕9号"
    assert plan.completion_date == dt.date(2025, 12, 15)
    tasks = {t.seq: t for t in plan.tasks}
    assert sorted(tasks) == list(range(1, 17))

    t1 = tasks[1]
    assert t1.name == "对企业的不定向双随机抽查"
    assert t1.task_type == "undirected"
    assert [i.name for i in t1.items] == ["登记事项检查", "公示信息检查", "商标使用行为的检查"]
    assert t1.items_text == "1.登记事项检查；2.公示信息检查；3.商标使用行为的检查"
    assert t1.scope == {"kinds": ["enterprise"], "statuses": ["active"]}
    assert t1.scope_text == "全市范围内存续的企业"
    assert (t1.ratio_text, t1.base_ratio_bp, t1.fixed_count, t1.frequency_per_year) == (
        "3%; 1次/年",
        300,
        None,
        1,
    )
    assert t1.class_ratios_bp == {"A": 150, "B": 300, "C": 1500, "D": 4500, "U": 300}
    assert t1.risk_text.startswith("根据企业信用风险分类结果")
    assert (t1.window_text, t1.window_start, t1.window_end) == (
        "7月—11月",
        dt.date(2025, 7, 1),
        dt.date(2025, 11, 30),
    )
    assert (t1.mode, t1.mode_text) == ("county_county", "【县抽县查】 高平市市场监管局发起并实施检查")
    assert t1.initiating_department_id == bureau.id and t1.cooperating == []
    assert t1.inspection_body == "高平市市场监管局"
    assert (t1.team_size, t1.min_one, t1.use_risk_classes) == (2, True, True)

    assert (tasks[2].base_ratio_bp, tasks[2].scope) == (10, {"kinds": ["individual"]})
    assert tasks[2].class_ratios_bp == {"A": 5, "B": 10, "C": 50, "D": 150, "U": 10}
    assert tasks[3].scope == {"kinds": ["cooperative"]}
    assert tasks[4].task_type == "directed" and tasks[4].scope == {"tags": ["电子商务"]}
    assert tasks[5].window_start == dt.date(2025, 4, 1)
    assert tasks[6].items_text.endswith("5.") and len(tasks[6].items) == 4
    assert tasks[7].base_ratio_bp == 5000 and tasks[7].class_ratios_bp["D"] == 10000
    assert tasks[10].scope == {"tags": ["计量器具使用"]}
    assert [i.name for i in tasks[14].items] == ["质量管理体系认证活动", "有机产品认证活动"]
    assert tasks[16].scope == {"tags": ["食品小经营店"]}
    assert all(t.window_end == dt.date(2025, 11, 30) for t in plan.tasks)
    assert {t.mode for t in plan.tasks} == {"county_county"}

    # Items named in several tasks exist once, as general items of the bureau.
    registration = db.session.scalars(select(Item).where(Item.name == "登记事项检查")).all()
    assert len(registration) == 1 and registration[0].kind == "general"
    assert registration[0].department_id == bureau.id
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"plan.created", "task.created", "item.created", "plan.imported"} <= actions


def test_seed_plan_uses_existing_items(bureau: Department) -> None:
    item = Item(code="SJ-001", name="登记事项检查", department_id=bureau.id)
    db.session.add(item)
    db.session.commit()
    plan = load_seed_plan(bureau)
    links = db.session.scalars(select(TaskItem).where(TaskItem.item_id == item.id)).all()
    assert {link.position for link in links} == {0}  # the main item of every task that names it
    assert len(links) == sum(1 for t in plan.tasks if "登记事项检查" in [i.name for i in t.items])
    assert db.session.scalar(select(func.count()).where(Item.name == "登记事项检查")) == 1


def test_seed_plan_twice_is_refused(bureau: Department) -> None:
    load_seed_plan(bureau)
    with pytest.raises(ApiError) as info:
        load_seed_plan(bureau)
    assert info.value.code == "plan_exists"


def test_broken_file_lists_every_bad_line_and_creates_nothing(bureau: Department) -> None:
    rows = [
        HEADER,
        GOOD_ROW,  # line 2: fine
        "2,甲,定向,1.登记事项检查,全市企业,5%,,5月—11月,县抽县查,不存在的局,,",  # 3: unknown department
        "3,乙,定向,1.登记事项检查,全市企业,很多,,5月—11月,县抽县查,,,",  # 4: bad ratio
        "4,丙,定向,1.登记事项检查,全市企业,5%,,11月—5月,县抽县查,,,",  # 5: bad window
        "5,丁,随机,1.登记事项检查,全市企业,5%,,5月—11月,县抽县查,,,",  # 6: bad type
        "6,,定向,1.登记事项检查,全市企业,5%,,5月—11月,县抽县查,,,",  # 7: missing name
        "7,戊,定向,1.登记事项检查,全市企业,5%,,5月—11月,随便查,,,",  # 8: bad mode
        "1,己,定向,1.登记事项检查,全市企业,5%,,5月—11月,县抽县查,,,",  # 9: repeated 序号
        # 10: unknown cooperating department
        '8,庚,定向,"1.登记事项检查",全市企业,5%,,5月—11月,县抽县查,,不存在的配合局,',
    ]
    plan, issues = import_plan("\n".join(rows).encode(), "plan.csv", bureau, 2025, "计划")
    assert plan is None
    errors = [(i["line"], i["code"]) for i in issues if i["level"] == "error"]
    assert errors == [
        (3, "unknown_department"),
        (4, "bad_ratio"),
        (5, "bad_window"),
        (6, "bad_type"),
        (7, "missing_field"),
        (8, "bad_mode"),
        (9, "duplicate_seq"),
        (10, "unknown_department"),
    ]
    bad_dept = next(i for i in issues if i["line"] == 3)
    assert bad_dept["column"] == "发起部门" and bad_dept["value"] == "不存在的局"
    assert "不存在的局" in bad_dept["message"]
    assert next(i for i in issues if i["line"] == 7)["column"] == "抽查任务名称"
    db.session.commit()
    assert (_count(Plan), _count(Task), _count(Item), _count(AuditEvent)) == (0, 0, 0, 0)


def test_dry_run_reports_new_items_and_creates_nothing(bureau: Department) -> None:
    plan, issues = import_plan(
        SEED_PLAN, SEED_PLAN.name, bureau, 2025, "计划", dry_run=True, aliases={"高平市市场监管局": bureau}
    )
    assert plan is None
    assert not [i for i in issues if i["level"] == "error"]
    new_items = [i for i in issues if i["code"] == "new_item"]
    assert {i["value"] for i in new_items} >= {"登记事项检查", "公示信息检查", "商标使用行为的检查"}
    assert len({i["value"] for i in new_items}) == len(new_items)  # each name announced once
    assert [(i["line"], i["code"]) for i in issues if i["code"] == "empty_item"] == [
        (7, "empty_item")
    ]  # row 6
    db.session.commit()
    assert (_count(Plan), _count(Item)) == (0, 0)


def test_departments_by_name_or_code_and_dynamic_ratio_notice(bureau: Department, make: object) -> None:
    police = make.department(code="YP-GA", name="原平市公安局", level="county")  # type: ignore[attr-defined]
    edu = make.department(code="YP-JY", name="原平市教育科技局", level="county")  # type: ignore[attr-defined]
    rows = [
        HEADER,
        "1,对辖区各涉爆企业民爆物品安全检查,定向,民用爆炸物品仓储情况的检查,爆破作业单位,5%以上; 1次/年,,"
        "1月-11月,县抽县查,YP-GA,高平市市场监管局、原平市教育科技局,原平市公安局",
        "2,对风险预警企业的双随机抽查,定向,1.登记事项检查,风险预警企业,根据预警监测情况动态比例,,全年,市抽县(市、区)查,,,",
    ]
    plan, issues = import_plan("\n".join(rows).encode(), "joint.csv", bureau, 2025, "联合计划")
    assert plan is not None, issues
    joint, dynamic = sorted(plan.tasks, key=lambda t: t.seq)
    assert joint.initiating_department_id == police.id
    assert sorted(c.department_id for c in joint.cooperating) == sorted([bureau.id, edu.id])
    assert joint.items[0].department_id == police.id  # a new item belongs to the initiating department
    assert (dynamic.base_ratio_bp, dynamic.fixed_count, dynamic.class_ratios_bp) == (None, None, {})
    assert dynamic.mode == "city_county" and dynamic.window_end == dt.date(2025, 12, 31)
    assert any(i["code"] == "dynamic_ratio" and i["line"] == 3 for i in issues)


def test_xlsx_with_title_row_percent_cells_and_repeated_header(bureau: Department) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["高平市市场监督管理局2025年度双随机抽查工作计划"])
    header = HEADER.split(",")
    sheet.append(header)
    sheet.append(
        [
            1,
            "对企业的不定向双随机抽查",
            "不定向",
            "1.登记事项检查",
            "全市范围内存续的企业",
            0.03,
            "",
            "7月—11月",
            "县抽县查",
        ]
    )
    sheet.append(header)  # the header repeated on a second printed page
    sheet.append(
        [
            2,
            "对特殊食品销售的双随机抽查",
            "定向",
            "特殊食品销售监督检查",
            "部分特殊食品销售者",
            "6家",
            "",
            "3月—12月",
            "市抽市查",
        ]
    )
    sheet.append(["3", "坏行", "定向", "甲检查", "全市", "5%", "", "13月", "县抽县查"])
    buffer = io.BytesIO()
    book.save(buffer)
    plan, issues = import_plan(buffer.getvalue(), "plan.xlsx", bureau, 2025, "计划")
    assert plan is None
    assert [(i["line"], i["code"]) for i in issues if i["level"] == "error"] == [(6, "bad_window")]
    sheet.delete_rows(6)
    buffer = io.BytesIO()
    book.save(buffer)
    plan, issues = import_plan(buffer.getvalue(), "plan.xlsx", bureau, 2025, "计划")
    assert plan is not None, issues
    first, second = sorted(plan.tasks, key=lambda t: t.seq)
    assert (first.ratio_text, first.base_ratio_bp) == ("3%", 300)
    assert (second.fixed_count, second.base_ratio_bp, second.mode) == (6, None, "city_city")


def test_gbk_csv_and_english_headers(bureau: Department) -> None:
    text = (
        "seq,name,type,items,scope,ratio,risk,window,mode\n"
        "1,对个体户的不定向双随机抽查,不定向,1.登记事项检查,全市范围内个体户,0.1%; 1次/年,,"
        "7月—11月,county_county\n"
    )
    plan, issues = import_plan(text.encode("gbk"), "plan.csv", bureau, 2025, "计划")
    assert plan is not None, issues
    assert plan.tasks[0].name == "对个体户的不定向双随机抽查" and plan.tasks[0].base_ratio_bp == 10


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"just,some,words\nmore,words,here\n", "no_header"),
        (b"\xff\xfe\x00garbage", "unreadable"),
        ("序号,抽查任务名称,抽查类型\n1,甲,定向\n".encode(), "missing_column"),
        ((HEADER + "\n").encode(), "empty"),
        (b"PK\x03\x04 not really a zip", "unreadable"),
    ],
)
def test_unreadable_files(bureau: Department, content: bytes, code: str) -> None:
    plan, issues = import_plan(content, "plan.csv", bureau, 2025, "计划")
    assert plan is None
    assert [i["code"] for i in issues] == [code]
