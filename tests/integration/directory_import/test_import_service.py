"""run_import: every kind, both modes, dry runs, every kind of error by line, all or nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, text

from server.audit.models import AuditEvent
from server.directory import import_kinds, importer
from server.directory.grams import name_grams
from server.directory.importer import run_import
from server.directory.models import (
    Checkpoint,
    Conflict,
    Department,
    ImportJob,
    InspectionRecord,
    Inspector,
    Item,
    Target,
    TargetTag,
)
from server.extensions import db
from server.i18n import today_local
from server.storage import blob_store
from tests.integration.directory_import.conftest import (
    TARGET_HEADER,
    Setup,
    bad_check_digit,
    code,
    csv_bytes,
    xlsx_bytes,
)


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def target(code_: str) -> Target:
    t = db.session.scalar(select(Target).where(Target.code == code_))
    assert t is not None, code_
    return t


def problems(job: ImportJob) -> set[tuple[int | None, str]]:
    return {(e["line"], e["code"]) for e in job.errors}


# --- targets -----------------------------------------------------------------------------------


def test_a_good_target_file_is_imported_with_grams_tags_and_mapped_values(setup: Setup) -> None:
    a, b, c = code(), code("individual"), code("cooperative")
    data = csv_bytes(
        [
            TARGET_HEADER,
            [
                a,
                "文水县凤城食品有限公司",
                "企业",
                "食品销售",
                "凤城镇",
                "凤城镇南街1号",
                "王某",
                "存续",
                "B",
                "2024-06-01",
                "2024/5/6",
                "食品、重点;冷链",
            ],
            [b, "刘记小吃店", "个体工商户", "餐饮", "", "", "", "", "低风险", "", "", ""],
            [c, "文水县丰收农民专业合作社", "农民专业合作社", "", "", "", "", "清算", "较高风险", "", "", ""],
            ["XM-2025-001", "城区道路改造工程", "项目", "", "", "", "", "", "", "", "", "工程"],
            [],
        ]
    )
    job = run_import("targets", data, "targets.csv", actor_id=setup.admin.id)
    assert job.status == "done", job.errors
    assert job.error_count == 0 and job.errors == []
    assert (job.total_rows, job.processed_rows) == (4, 4)
    assert job.summary["created"] == 4 and job.summary["updated"] == 0
    assert job.summary["tags"] == 4
    assert job.finished_at is not None
    first = target(a)
    assert (first.kind, first.status, first.risk_class) == ("enterprise", "active", "B")
    assert first.risk_assessed_on == dt.date(2024, 6, 1)
    assert first.last_inspected_on == dt.date(2024, 5, 6)
    assert first.search_grams == name_grams("文水县凤城食品有限公司")
    assert first.tag_names == ["冷链", "重点", "食品"]
    assert (target(b).kind, target(b).risk_class, target(b).status) == ("individual", "A", "active")
    assert (target(c).status, target(c).risk_class) == ("liquidating", "C")
    assert target("XM-2025-001").kind == "project"  # not a market entity: no credit-code check
    # The file is kept, and both ends of the job are in the audit log.
    assert blob_store().read(job.file_sha256) == data
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions[-2:] == ["import.started", "import.done"]


def test_every_kind_of_error_is_listed_by_line_and_nothing_changes(setup: Setup) -> None:
    existing = code()
    run_import(
        "targets", csv_bytes([["统一社会信用代码", "名称", "类型"], [existing, "已有企业", "企业"]]), "a.csv"
    )
    before = (count(Target), count(TargetTag))
    good, dup = code(), code()
    tomorrow = (today_local() + dt.timedelta(days=1)).isoformat()
    rows = [
        TARGET_HEADER,
        [good, "好企业", "企业", "", "", "", "", "", "", "", "", "甲"],  # 2: fine
        [bad_check_digit(code()), "校验位错", "企业", "", "", "", "", "", "", "", "", ""],  # 3
        ["9114112", "太短", "企业", "", "", "", "", "", "", "", "", ""],  # 4
        ["91141121MA0IOSVZ1X", "字母错", "企业", "", "", "", "", "", "", "", "", ""],  # 5: I O S V Z
        [dup, "第一次", "企业", "", "", "", "", "", "", "", "", ""],  # 6: fine
        [dup, "重复", "企业", "", "", "", "", "", "", "", "", ""],  # 7
        [existing, "已存在", "企业", "", "", "", "", "", "", "", "", ""],  # 8
        [code(), "", "企业", "", "", "", "", "", "", "", "", ""],  # 9: no name
        [code(), "没有类型", "", "", "", "", "", "", "", "", "", ""],  # 10
        [code(), "类型错", "公司法人", "", "", "", "", "", "", "", "", ""],  # 11
        [code(), "状态错", "企业", "", "", "", "", "歇业中", "", "", "", ""],  # 12
        [code(), "风险错", "企业", "", "", "", "", "", "E", "", "", ""],  # 13
        [code(), "日期错", "企业", "", "", "", "", "", "", "2024-13-01", "", ""],  # 14
        [code(), "将来", "企业", "", "", "", "", "", "", "", tomorrow, ""],  # 15
        [code(), "名" * 201, "企业", "", "", "", "", "", "", "", "", ""],  # 16
        ["", "没有代码", "产品", "", "", "", "", "", "", "", "", ""],  # 17
        [code(), "标签太长", "企业", "", "", "", "", "", "", "", "", "x" * 51],  # 18
    ]
    job = run_import("targets", csv_bytes(rows), "bad.csv")
    assert job.status == "invalid"
    assert problems(job) == {
        (3, "credit_code_check_digit"),
        (4, "credit_code_length"),
        (5, "credit_code_alphabet"),
        (7, "duplicate_in_file"),
        (8, "already_exists"),
        (9, "required"),
        (10, "required"),
        (11, "bad_enum"),
        (12, "bad_enum"),
        (13, "bad_enum"),
        (14, "bad_date"),
        (15, "future_date"),
        (16, "too_long"),
        (17, "required"),
        (18, "too_long"),
    }
    assert job.error_count == 15
    assert [e["line"] for e in job.errors] == sorted(e["line"] for e in job.errors)
    by_line = {e["line"]: e for e in job.errors}
    assert by_line[7]["params"]["other"] == "6" and "第 6 行" in by_line[7]["message"]
    assert by_line[9]["field"] == "name" and by_line[9]["column"] == "名称"
    assert by_line[11]["message"].startswith("“公司法人”不是有效的类型")
    assert (count(Target), count(TargetTag)) == before
    assert job.summary.get("created") is None  # nothing is promised for an invalid file


def test_header_problems_stop_before_the_rows(setup: Setup) -> None:
    data = csv_bytes([["统一社会信用代码", "名称", "名称", "备注"], [code(), "x", "y", "z"]])
    job = run_import("targets", data, "h.csv")
    assert job.status == "invalid"
    assert problems(job) == {(1, "duplicate_column"), (1, "missing_column")}
    missing = next(e for e in job.errors if e["code"] == "missing_column")
    assert missing["field"] == "kind" and missing["column"] == "类型"
    assert job.summary["unknown_columns"] == ["备注"]


@pytest.mark.parametrize(
    ("data", "name", "code_"),
    [
        (b"", "empty.csv", "unreadable"),
        ("统一社会信用代码,名称,类型\n".encode(), "header-only.csv", "no_rows"),
        (b"\xd0\xcf\x11\xe0" + b"\0" * 64, "old.xls", "unreadable"),
    ],
)
def test_files_without_rows_or_unreadable(setup: Setup, data: bytes, name: str, code_: str) -> None:
    job = run_import("targets", data, name)
    assert job.status == "invalid"
    assert problems(job) == {(None, code_)}


def test_too_many_rows_is_refused(setup: Setup, app: Any) -> None:
    app.config["IMPORT_MAX_ROWS"] = 2
    rows = [["统一社会信用代码", "名称", "类型"]] + [[code(), f"企业{i}", "企业"] for i in range(3)]
    job = run_import("targets", csv_bytes(rows), "big.csv")
    assert problems(job) == {(None, "too_many_rows")}
    assert count(Target) == 0


def test_gb18030_csv(setup: Setup) -> None:
    a = code()
    data = csv_bytes(
        [["统一社会信用代码", "名称", "类型", "所属区域"], [a, "文水县䶮记商行", "企业", "凤城镇"]], "gb18030"
    )
    job = run_import("targets", data, "gbk.csv")
    assert job.status == "done", job.errors
    assert job.summary["source"] == "gb18030"
    assert target(a).name == "文水县䶮记商行"  # a character outside GBK: GB18030 has it


def test_target_codes_are_normalised_like_the_directory_pages(setup: Setup) -> None:
    # Full-width and lower-case: stored as the pages store codes (NFKC, upper-case).
    data = csv_bytes(
        [["统一社会信用代码", "名称", "类型"], ["９１３５０１００ｍ０００１００ｙ４３", "示例公司", "企业"]]
    )
    assert run_import("targets", data, "t.csv").status == "done"
    assert target("91350100M000100Y43").name == "示例公司"
    run_import(
        "inspectors", csv_bytes([["人员编号", "姓名", "部门代码"], ["WS001", "张三", "141121"]]), "p.csv"
    )
    conflict = csv_bytes(
        [["人员编号", "统一社会信用代码", "回避原因"], ["WS001", "91350100m000100y43", "亲属"]]
    )
    assert run_import("conflicts", conflict, "c.csv").status == "done"


def test_xlsx_with_date_cells_and_english_headers(setup: Setup) -> None:
    a = code()
    data = xlsx_bytes(
        [
            ["code", "name", "kind", "risk_class", "risk_assessed_on", "tags"],
            [a, "文水县晋韵酒业有限公司", "enterprise", "D", dt.datetime(2025, 3, 1), "酒类，重点"],
            [None],
            ["P-001", "散装白酒", "产品", None, None, None],
        ]
    )
    job = run_import("targets", data, "targets.xlsx")
    assert job.status == "done", job.errors
    assert job.summary["source"] == "xlsx"
    assert (target(a).risk_class, target(a).risk_assessed_on) == ("D", dt.date(2025, 3, 1))
    assert target(a).tag_names == sorted(["酒类", "重点"])
    assert target("P-001").kind == "product"


def test_xlsx_errors_use_the_sheet_line_numbers(setup: Setup) -> None:
    data = xlsx_bytes(
        [["统一社会信用代码", "名称", "类型"], [None], [None], ["91350100M000100Y44", "x", "企业"]]
    )
    job = run_import("targets", data, "t.xlsx")
    assert problems(job) == {(4, "credit_code_check_digit")}


def test_upsert_writes_only_given_columns_and_keeps_blanks(setup: Setup) -> None:
    a, b, c = code(), code(), code()
    run_import(
        "targets",
        csv_bytes(
            [
                TARGET_HEADER,
                [a, "甲公司", "企业", "食品", "城区", "", "", "", "A", "2024-01-01", "", "食品、重点"],
                [b, "乙公司", "企业", "药品", "城区", "", "", "", "B", "", "", "药品"],
            ]
        ),
        "first.csv",
    )
    grams_b = target(b).search_grams
    # Create mode refuses existing codes and changes nothing.
    again = run_import(
        "targets", csv_bytes([["统一社会信用代码", "名称", "类型"], [a, "甲", "企业"]]), "x.csv"
    )
    assert problems(again) == {(2, "already_exists")}
    # A risk reclassification file: code + risk class only; a new code needs name and kind.
    data = csv_bytes(
        [
            ["统一社会信用代码", "风险等级", "名称", "标签"],
            [a, "高风险", "", "冷链"],
            [b, "C", "乙公司", ""],
            [c, "A", "", ""],
        ]
    )
    job = run_import("targets", data, "risk.csv", mode="upsert")
    assert problems(job) == {(4, "required")}  # line 4 is new and has no name (nor a kind column)
    data = csv_bytes(
        [["统一社会信用代码", "风险等级", "名称", "标签"], [a, "高风险", "", "冷链"], [b, "C", "乙公司", ""]]
    )
    job = run_import("targets", data, "risk.csv", mode="upsert")
    assert job.status == "done", job.errors
    assert (job.summary["created"], job.summary["updated"], job.summary["unchanged"]) == (0, 2, 0)
    db.session.expire_all()
    ta, tb = target(a), target(b)
    assert (ta.risk_class, ta.name, ta.industry, ta.risk_assessed_on) == (
        "D",
        "甲公司",
        "食品",
        dt.date(2024, 1, 1),
    )
    assert ta.tag_names == ["冷链"]  # a given tag list replaces the tags
    assert (tb.risk_class, tb.tag_names, tb.search_grams) == ("C", ["药品"], grams_b)  # blank tags: kept
    # The same file again changes nothing, and says so.
    same = run_import("targets", data, "risk.csv", mode="upsert")
    assert (same.summary["updated"], same.summary["unchanged"]) == (0, 2)
    assert db.session.get(Target, ta.id).updated_at == ta.updated_at  # type: ignore[union-attr]


def test_upsert_keeps_last_inspected_on_at_least_the_latest_history(setup: Setup) -> None:
    a = code()
    run_import("targets", csv_bytes([["统一社会信用代码", "名称", "类型"], [a, "甲公司", "企业"]]), "t.csv")
    history = csv_bytes([["统一社会信用代码", "检查日期"], [a, "2024-09-01"]])
    assert run_import("history", history, "h.csv").status == "done"
    data = csv_bytes([["统一社会信用代码", "最近检查日期"], [a, "2023-01-01"]])
    assert run_import("targets", data, "t.csv", mode="upsert").status == "done"
    db.session.expire_all()
    assert target(a).last_inspected_on == dt.date(2024, 9, 1)


def test_a_dry_run_checks_everything_and_writes_nothing(setup: Setup) -> None:
    existing = code()
    run_import(
        "targets", csv_bytes([["统一社会信用代码", "名称", "类型"], [existing, "已有", "企业"]]), "a.csv"
    )
    before = (count(Target), count(TargetTag))
    new = [code() for _ in range(3)]
    rows = [["统一社会信用代码", "名称", "类型", "标签"], [existing, "已有改名", "企业", "x"]]
    rows += [[c, f"新企业{i}", "企业", "食品"] for i, c in enumerate(new)]
    job = run_import("targets", csv_bytes(rows), "dry.csv", mode="upsert", dry_run=True)
    assert job.status == "ready" and job.dry_run
    assert (job.summary["created"], job.summary["updated"]) == (3, 1)
    assert job.summary["created_sample"] == new and job.summary["updated_sample"] == [existing]
    assert (count(Target), count(TargetTag)) == before
    assert target(existing).name == "已有"
    bad = run_import(
        "targets",
        csv_bytes([["统一社会信用代码", "名称", "类型"], ["1", "x", "企业"]]),
        "d.csv",
        dry_run=True,
    )
    assert bad.status == "invalid" and problems(bad) == {(2, "credit_code_length")}


def test_a_failure_while_writing_rolls_everything_back(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: Any) -> None:
        raise RuntimeError("disk full")

    # Targets are inserted first, then the updates run: fail there, after rows were written.
    monkeypatch.setattr(import_kinds, "_update_by_id", boom)
    rows = [["统一社会信用代码", "名称", "类型"]] + [[code(), f"企业{i}", "企业"] for i in range(5)]
    job = run_import("targets", csv_bytes(rows), "t.csv")
    assert job.status == "failed"
    assert problems(job) == {(None, "internal_error")}
    assert count(Target) == 0


def test_the_error_list_is_capped_but_counted(setup: Setup) -> None:
    rows = [["统一社会信用代码", "名称", "类型"]] + [[f"91{i:04d}", "x", "企业"] for i in range(1200)]
    job = run_import("targets", csv_bytes(rows), "many.csv")
    assert job.error_count == 1200
    assert len(job.errors) == 1000
    assert job.errors[0]["line"] == 2 and job.errors[-1]["line"] == 1001


def test_progress_is_visible_to_other_connections(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the job's transaction is open, another connection sees processed_rows advance."""
    monkeypatch.setattr(importer, "PROGRESS_EVERY", 0.0)
    seen: list[tuple[str, int, int]] = []
    real_tick = importer.Progress.tick

    def tick(self: importer.Progress, done: int) -> None:
        real_tick(self, done)
        with db.engine.connect() as other:  # what a polling request sees
            row = other.execute(
                text("SELECT status, processed_rows, total_rows FROM import_job WHERE id = :id"),
                {"id": self.job_id},
            ).one()
        seen.append((row[0], row[1], row[2]))
        live = importer.LIVE_PROGRESS[self.job_id]
        assert live == (self.status, done)

    monkeypatch.setattr(importer.Progress, "tick", tick)
    rows = [["统一社会信用代码", "名称", "类型"]] + [[code(), f"企业{i}", "企业"] for i in range(1600)]
    job = run_import("targets", csv_bytes(rows), "p.csv")
    assert job.status == "done"
    validating = [s for s in seen if s[0] == "validating"]
    assert validating and validating[-1] == ("validating", 1600, 1600)
    assert any(0 < done < 1600 for _s, done, _t in validating)
    assert importer.LIVE_PROGRESS == {}
    assert (job.processed_rows, job.total_rows) == (1600, 1600)


# --- departments -------------------------------------------------------------------------------


def test_departments_with_parents_in_the_file_and_in_the_system(setup: Setup) -> None:
    data = csv_bytes(
        [
            ["部门代码", "部门名称", "层级", "上级部门代码"],
            ["141121-03", "孝义镇市场监管所", "基层所", "141121-02"],  # parent appears later in the file
            ["141121-02", "城区片区", "县级", "141121"],
            ["1411", "吕梁市市场监督管理局", "市级", ""],
        ]
    )
    job = run_import("departments", data, "d.csv")
    assert job.status == "done", job.errors
    by_code = {d.code: d for d in db.session.scalars(select(Department))}
    assert by_code["141121-03"].parent_id == by_code["141121-02"].id
    assert by_code["141121-02"].parent_id == setup.county.id
    assert by_code["141121-03"].level == "station" and by_code["1411"].parent_id is None
    # Upsert: hang the county under the city.
    up = run_import(
        "departments", csv_bytes([["部门代码", "上级部门代码"], ["141121", "1411"]]), "u.csv", mode="upsert"
    )
    assert up.status == "done", up.errors
    db.session.expire_all()
    assert db.session.get(Department, setup.county.id).parent_id == by_code["1411"].id  # type: ignore[union-attr]


def test_departments_with_their_trade(setup: Setup) -> None:
    """行业 makes peers (003 第十七条): written as a label or a common short name; blank keeps it."""
    rows = [
        ["部门代码", "部门名称", "层级", "上级部门代码", "所属行业"],
        ["T-01", "某某市场监管所", "基层所", "141121", "市场监管"],
        ["T-02", "某县住建局", "县级", "", "住建局"],
        ["T-03", "某县某局", "县级", "", ""],
        ["T-04", "某县某委", "县级", "", "渔业"],  # 5: not a trade
    ]
    before = count(Department)
    job = run_import("departments", csv_bytes(rows), "d.csv")
    assert problems(job) == {(5, "bad_enum")}
    assert count(Department) == before  # nothing written
    job = run_import("departments", csv_bytes(rows[:4]), "d.csv")
    assert job.status == "done", job.errors
    trades = {d.code: d.trade for d in db.session.scalars(select(Department))}
    assert (trades["T-01"], trades["T-02"], trades["T-03"]) == ("market", "housing", None)
    up = run_import(
        "departments",
        csv_bytes([["部门代码", "行业"], ["T-03", "卫健委"], ["T-01", ""]]),
        "u.csv",
        mode="upsert",
    )
    assert up.status == "done", up.errors
    db.session.expire_all()
    trades = {d.code: d.trade for d in db.session.scalars(select(Department))}
    assert (trades["T-01"], trades["T-03"]) == ("market", "health")


def test_department_errors(setup: Setup) -> None:
    before = count(Department)
    data = csv_bytes(
        [
            ["部门代码", "部门名称", "层级", "上级部门代码"],
            ["X1", "甲", "县级", "X2"],  # 2: cycle X1 → X2 → X1
            ["X2", "乙", "县级", "X1"],  # 3: cycle
            ["X3", "丙", "乡级", ""],  # 4: bad level
            ["X4", "丁", "县级", "NOPE"],  # 5: unknown parent
            ["141121", "重复", "县级", ""],  # 6: exists
            ["X5", "自己", "所", "X5"],  # 7: its own parent
        ]
    )
    job = run_import("departments", data, "d.csv")
    assert problems(job) == {
        (2, "parent_cycle"),
        (3, "parent_cycle"),
        (4, "bad_enum"),
        (5, "unknown_parent"),
        (6, "already_exists"),
        (7, "parent_cycle"),
    }
    assert count(Department) == before


# --- items -------------------------------------------------------------------------------------


def test_items_one_row_per_checkpoint_and_upsert_rewrites_the_checklist(setup: Setup) -> None:
    header = ["事项代码", "事项名称", "事项类型", "实施部门代码", "法律依据", "检查要点", "检查方式"]
    data = csv_bytes(
        [
            header,
            [
                "SC-01",
                "食品经营许可情况检查",
                "重点",
                "141121",
                "《食品安全法》第三十五条",
                "是否持有有效许可证",
                "现场检查",
            ],
            ["SC-01", "", "", "", "", "许可事项与实际经营是否一致", "现场检查"],
            [
                "SC-02",
                "企业公示信息检查",
                "一般",
                "141121",
                "",
                "年报是否按时公示\n公示信息是否真实",
                "书面检查",
            ],
        ]
    )
    job = run_import("items", data, "items.csv")
    assert job.status == "done", job.errors
    assert (job.summary["created"], job.summary["checkpoints"]) == (2, 4)
    item = db.session.scalar(select(Item).where(Item.code == "SC-01"))
    assert item is not None and item.kind == "key" and item.department_id == setup.county.id
    assert [(c.position, c.text, c.method) for c in item.checkpoints] == [
        (1, "是否持有有效许可证", "现场检查"),
        (2, "许可事项与实际经营是否一致", "现场检查"),
    ]
    two = db.session.scalar(select(Item).where(Item.code == "SC-02"))
    assert two is not None and [c.text for c in two.checkpoints] == ["年报是否按时公示", "公示信息是否真实"]
    # Upsert SC-01 with one checkpoint: position 1 rewritten, position 2 dropped.
    up = csv_bytes([["事项代码", "检查要点"], ["SC-01", "许可证是否在有效期内"]])
    assert run_import("items", up, "up.csv", mode="upsert").status == "done"
    db.session.expire_all()
    rows = db.session.execute(
        select(Checkpoint.position, Checkpoint.text).where(Checkpoint.item_id == item.id)
    ).all()
    assert [tuple(r) for r in rows] == [(1, "许可证是否在有效期内")]
    assert db.session.get(Item, item.id).name == "食品经营许可情况检查"  # type: ignore[union-attr]


def test_item_errors(setup: Setup) -> None:
    header = ["事项代码", "事项名称", "事项类型", "实施部门代码", "检查要点"]
    data = csv_bytes(
        [
            header,
            ["A", "甲事项", "一般", "141121", "要点1"],
            ["A", "乙事项", "", "", "要点2"],  # 3: another name for the same item
            ["B", "丙事项", "普通", "NOPE", "要点"],  # 4: bad kind, unknown department
            ["C", "", "", "141121", "要点"],  # 5: a new item without a name
            ["D", "丁事项", "", "141121", ""],  # 6: no checkpoint
        ]
    )
    job = run_import("items", data, "i.csv")
    assert problems(job) == {
        (3, "inconsistent_item"),
        (4, "bad_enum"),
        (4, "unknown_department"),
        (5, "required"),
        (6, "required"),
    }
    assert count(Item) == 0 and count(Checkpoint) == 0


# --- inspectors, conflicts, history ------------------------------------------------------------


def test_inspectors(setup: Setup) -> None:
    header = [
        "人员编号",
        "姓名",
        "部门代码",
        "执法证号",
        "执法证有效期至",
        "人员类型",
        "岗位",
        "业务专长",
        "状态",
    ]
    data = csv_bytes(
        [
            header,
            [
                "WS001",
                "张三",
                "141121-01",
                "14110001",
                "2027-12-31",
                "专业",
                "所长",
                "食品、特种设备",
                "在岗",
            ],
            ["WS002", "李四", "141121", "", "", "专家", "", "计量", "退休"],
            ["WS003", "王五", "141121", "", "", "", "", "", ""],
        ]
    )
    job = run_import("inspectors", data, "p.csv")
    assert job.status == "done", job.errors
    one = db.session.scalar(select(Inspector).where(Inspector.code == "WS001"))
    assert one is not None
    assert (one.department_id, one.kind, one.status, one.post) == (
        setup.station.id,
        "professional",
        "active",
        "所长",
    )
    assert one.specialties == ["食品", "特种设备"]
    assert one.credential_valid_until == dt.date(2027, 12, 31)
    three = db.session.scalar(select(Inspector).where(Inspector.code == "WS003"))
    assert three is not None and (three.kind, three.status, three.specialties) == ("general", "active", [])
    bad = csv_bytes(
        [
            header,
            ["WS001", "张三", "141121", "", "", "", "", "", ""],
            ["WS009", "", "NOPE", "", "明年", "临时", "", "", ""],
        ]
    )
    job = run_import("inspectors", bad, "b.csv")
    assert problems(job) == {
        (2, "already_exists"),
        (3, "required"),
        (3, "unknown_department"),
        (3, "bad_date"),
        (3, "bad_enum"),
    }
    up = csv_bytes([["人员编号", "状态", "部门代码"], ["WS001", "调离", "141121"]])
    assert run_import("inspectors", up, "u.csv", mode="upsert").status == "done"
    db.session.expire_all()
    one = db.session.scalar(select(Inspector).where(Inspector.code == "WS001"))
    assert one is not None and (one.status, one.department_id, one.post) == (
        "transferred",
        setup.county.id,
        "所长",
    )


def _people_and_targets(setup: Setup) -> tuple[str, str]:
    a = code()
    run_import("targets", csv_bytes([["统一社会信用代码", "名称", "类型"], [a, "甲公司", "企业"]]), "t.csv")
    run_import(
        "inspectors", csv_bytes([["人员编号", "姓名", "部门代码"], ["WS001", "张三", "141121"]]), "p.csv"
    )
    return a, "WS001"


def test_conflicts(setup: Setup) -> None:
    a, ins = _people_and_targets(setup)
    header = ["人员编号", "统一社会信用代码", "回避原因"]
    bad = csv_bytes(
        [
            header,
            [ins, a, "近亲属任法定代表人"],
            [ins, a, "重复"],  # 3
            ["WS404", a, "无此人"],  # 4
            [ins, "91350100M000100Y43", "无此对象"],  # 5
            [ins, a, ""],  # 6: no reason (and a duplicate pair)
        ]
    )
    job = run_import("conflicts", bad, "c.csv")
    assert problems(job) == {
        (3, "duplicate_in_file"),
        (4, "unknown_inspector"),
        (5, "unknown_target"),
        (6, "required"),
        (6, "duplicate_in_file"),
    }
    assert count(Conflict) == 0
    assert (
        run_import("conflicts", csv_bytes([header, [ins, a, "近亲属任法定代表人"]]), "c.csv").status == "done"
    )
    again = run_import("conflicts", csv_bytes([header, [ins, a, "曾在该企业任职"]]), "c.csv")
    assert problems(again) == {(2, "already_exists")}
    assert (
        run_import(
            "conflicts", csv_bytes([header, [ins, a, "曾在该企业任职"]]), "c.csv", mode="upsert"
        ).status
        == "done"
    )
    db.session.expire_all()
    assert db.session.scalars(select(Conflict.reason)).all() == ["曾在该企业任职"]


def test_history_sets_last_inspected_on_to_the_latest_date(setup: Setup) -> None:
    a, _ins = _people_and_targets(setup)
    b = code()
    run_import(
        "targets",
        csv_bytes(
            [["统一社会信用代码", "名称", "类型", "最近检查日期"], [b, "乙公司", "企业", "2025-01-10"]]
        ),
        "t.csv",
    )
    header = ["统一社会信用代码", "检查日期", "检查部门代码", "任务名称", "检查结果"]
    data = csv_bytes(
        [
            header,
            [a, "2023-04-02", "141121", "2023年食品销售抽查", "未发现问题"],
            [a, "2024年8月15日", "141121", "2024年企业公示信息抽查", "发现问题已责令改正"],
            [b, "2024-03-01", "", "", "未发现问题"],  # older than b's recorded date: b stays
        ]
    )
    job = run_import("history", data, "h.csv")
    assert job.status == "done", job.errors
    assert job.summary["last_inspected_updated"] == 1
    db.session.expire_all()
    assert target(a).last_inspected_on == dt.date(2024, 8, 15)
    assert target(b).last_inspected_on == dt.date(2025, 1, 10)
    records = db.session.scalars(select(InspectionRecord).order_by(InspectionRecord.inspected_on)).all()
    assert [(r.source, r.department_id) for r in records] == [
        ("import", setup.county.id),
        ("import", None),
        ("import", setup.county.id),
    ]
    future = (today_local() + dt.timedelta(days=3)).isoformat()
    bad = csv_bytes(
        [
            header,
            [a, "2023-04-02", "141121", "2023年食品销售抽查", "又一次"],  # 2: already imported
            ["NOPE", "2024-01-01", "", "", ""],  # 3
            [a, future, "", "", ""],  # 4
            [a, "2022-01-01", "NOPE", "", ""],  # 5
            [a, "", "", "", ""],  # 6
            [b, "2020-01-01", "", "", ""],  # 7
            [b, "2020-01-01", "", "", ""],  # 8: same as line 7
        ]
    )
    job = run_import("history", bad, "bad.csv")
    assert problems(job) == {
        (2, "already_exists"),
        (3, "unknown_target"),
        (4, "future_date"),
        (5, "unknown_department"),
        (6, "required"),
        (8, "duplicate_in_file"),
    }
    assert count(InspectionRecord) == 3
    # Upsert updates the result of the matching record instead.
    up = csv_bytes([header, [a, "2023-04-02", "141121", "2023年食品销售抽查", "发现问题待后续处理"]])
    assert run_import("history", up, "up.csv", mode="upsert").status == "done"
    assert count(InspectionRecord) == 3
    assert "发现问题待后续处理" in db.session.scalars(select(InspectionRecord.result)).all()


def test_unknown_kind_or_mode_is_refused(setup: Setup) -> None:
    from server.errors import ApiError

    with pytest.raises(ApiError) as exc:
        run_import("people", b"x", "x.csv")
    assert exc.value.code == "validation_failed"
    with pytest.raises(ApiError):
        run_import("targets", b"x", "x.csv", mode="merge")
    assert count(ImportJob) == 0


def test_a_large_import_and_reclassification_write_every_row(setup: Setup) -> None:
    # Volume, not speed: speed goals live in `make bench`, never in timed tests.
    header = ["统一社会信用代码", "名称", "类型", "所属区域", "风险等级", "标签"]
    rows = [header] + [
        [code(), f"文水县测试商贸有限公司{i}", "企业", "凤城镇", "B", "食品、重点"] for i in range(20_000)
    ]
    job = run_import("targets", csv_bytes(rows), "20k.csv")
    assert job.status == "done", job.errors[:3]
    assert count(Target) == 20_000 and count(TargetTag) == 40_000
    # A monthly reclassification of every row, in upsert mode.
    rows = [["统一社会信用代码", "风险等级"]] + [[r[0], "C"] for r in rows[1:]]
    job = run_import("targets", csv_bytes(rows), "risk.csv", mode="upsert")
    assert job.status == "done" and job.summary["updated"] == 20_000
