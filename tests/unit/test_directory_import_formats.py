"""Reading import files and parsing cells: encodings, XLSX, dates, enums, headers, messages."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import openpyxl
import pytest

from server.directory import import_formats as fmt
from server.directory.import_formats import CellError, Problems, Unreadable, read_table
from server.directory.import_kinds import IMPORTERS
from server.directory.importer import STATUS_LABELS, SUMMARY_LABELS

EN = Path(__file__).resolve().parents[2] / "server" / "translations" / "en"
HEADER = "统一社会信用代码,名称,类型\n"
ROW = "91350100M000100Y43,示例食品有限公司,企业\n"


def test_utf8_with_and_without_bom_and_gb18030_read_alike() -> None:
    text = HEADER + ROW
    for data, source in (
        (text.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + text.encode("utf-8"), "utf-8"),
        (text.encode("gb18030"), "gb18030"),
        (text.encode("utf-16"), "utf-16"),
    ):
        sheet = read_table(data, "x.csv")
        assert sheet.source == source
        assert sheet.rows == [
            (1, ["统一社会信用代码", "名称", "类型"]),
            (2, ["91350100M000100Y43", "示例食品有限公司", "企业"]),
        ]


def test_csv_lines_are_records_and_blank_rows_keep_numbering() -> None:
    data = (HEADER + '\n"a",",,"\n' + ROW + '"多行\n名称",x,y\n').encode()
    sheet = read_table(data, "x.csv")
    assert [line for line, _ in sheet.rows] == [1, 3, 4, 5]  # line 2 is blank; line 5 spans two text lines
    assert sheet.rows[3][1][0] == "多行\n名称"


def test_excel_unicode_text_is_tab_separated() -> None:
    data = (HEADER + ROW).replace(",", "\t").encode("utf-16")
    assert read_table(data, "x.txt").rows[1][1][2] == "企业"


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_first_sheet_with_dates_numbers_and_blank_rows() -> None:
    data = _xlsx(
        [
            ["人员编号", "姓名", "执法证有效期至"],
            [1001, "张三", dt.datetime(2026, 5, 1)],
            [None, None, None],
            ["A-2", "李四", dt.date(2027, 1, 31)],
        ]
    )
    sheet = read_table(data, "whatever.bin")  # recognised by content, not by name
    assert sheet.source == "xlsx"
    assert sheet.rows == [
        (1, ["人员编号", "姓名", "执法证有效期至"]),
        (2, ["1001", "张三", "2026-05-01"]),
        (4, ["A-2", "李四", "2027-01-31"]),
    ]


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"", "x.csv"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "x.xls"),
        (b"not a zip", "x.xlsx"),
        (b"PK\x03\x04broken", "x.xlsx"),
        (b"\x81\x30", "x.csv"),  # a truncated GB18030 sequence, and not UTF-8 either
    ],
)
def test_unreadable_files_say_why(data: bytes, name: str) -> None:
    with pytest.raises(Unreadable) as exc:
        read_table(data, name)
    assert re.search(r"[\u4e00-\u9fff]", str(exc.value))


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("2024-03-05", dt.date(2024, 3, 5)),
        ("2024/3/5", dt.date(2024, 3, 5)),
        ("2024.03.05", dt.date(2024, 3, 5)),
        ("2024年3月5日", dt.date(2024, 3, 5)),
        ("20240305", dt.date(2024, 3, 5)),
        ("2024-03-05 00:00:00", dt.date(2024, 3, 5)),
        ("２０２４－０３－０５", dt.date(2024, 3, 5)),  # full-width
    ],
)
def test_dates(raw: str, day: dt.date) -> None:
    assert fmt.parse_date(raw) == day


@pytest.mark.parametrize("raw", ["2024-02-30", "03/05/2024", "去年", "2024-3", "45123"])
def test_bad_dates(raw: str) -> None:
    with pytest.raises(CellError) as exc:
        fmt.parse_date(raw)
    assert exc.value.code == "bad_date"


def test_enums_accept_chinese_letters_and_english() -> None:
    assert fmt.TARGET_KIND_CHOICES.parse("个体工商户") == "individual"
    assert fmt.TARGET_KIND_CHOICES.parse("农民专业合作社") == "cooperative"
    assert fmt.TARGET_KIND_CHOICES.parse("Enterprise") == "enterprise"
    assert fmt.TARGET_STATUS_CHOICES.parse("吊销，未注销") == "revoked"  # full-width comma
    assert [fmt.RISK_CHOICES.parse(v) for v in ("低风险", "b", "较高风险", "D")] == ["A", "B", "C", "D"]
    assert fmt.INSPECTOR_KIND_CHOICES.parse("专家") == "expert"
    assert fmt.INSPECTOR_STATUS_CHOICES.parse("退休") == "retired"
    assert fmt.ITEM_KIND_CHOICES.parse("重点检查事项") == "key"
    with pytest.raises(CellError) as exc:
        fmt.RISK_CHOICES.parse("E")
    assert exc.value.code == "bad_enum"
    assert exc.value.params["allowed"] == "低风险、一般风险、较高风险、高风险"


def test_lists_split_on_every_separator() -> None:
    assert fmt.split_list("食品、药品;特种设备，食品\n餐饮", 50) == ["食品", "药品", "特种设备", "餐饮"]
    with pytest.raises(CellError):
        fmt.split_list("x" * 51, 50)


def test_headers_match_loosely() -> None:
    assert fmt.normalize_header("\ufeff 统一社会信用代码 ") == "统一社会信用代码"
    assert fmt.normalize_header("住所（经营场所）") == "住所"
    assert fmt.normalize_header("*名称") == "名称"
    assert fmt.normalize_header("Legal_Rep") == "legalrep"


@pytest.mark.parametrize("kind", list(fmt.COLUMNS))
def test_templates_round_trip_to_every_column(kind: str) -> None:
    data = fmt.template_csv(kind)
    assert data.startswith(b"\xef\xbb\xbf")
    sheet = read_table(data + b"x\n", "t.csv")
    importer = IMPORTERS[kind]("create", Problems())
    importer.map_header(sheet)
    assert set(importer.mapping) == {c.key for c in fmt.COLUMNS[kind]}
    assert importer.unknown_columns == []
    assert importer.problems.count == 0


def test_a_title_row_above_the_header_is_skipped() -> None:
    sheet = read_table("检查对象导入表\n统一社会信用代码,名称,类型,备注\n1,2,3,4\n".encode(), "t.csv")
    importer = IMPORTERS["targets"]("create", Problems())
    assert importer.map_header(sheet) == 2
    assert importer.unknown_columns == ["备注"]
    assert sheet.rows == [(3, ["1", "2", "3", "4"])]


def test_problems_keep_a_capped_list_and_the_full_count() -> None:
    problems = Problems()
    for line in range(fmt.ERRORS_KEPT + 500, 1, -1):
        problems.add(line, "name", "名称", "required")
    assert problems.count == fmt.ERRORS_KEPT + 499
    kept = problems.sorted()
    assert len(kept) == fmt.ERRORS_KEPT
    assert kept[0]["line"] <= kept[-1]["line"]
    assert kept[0]["message"] == "“名称”不能为空"


def test_every_chinese_text_of_the_importer_has_an_english_translation() -> None:
    english: dict[str, str] = {}
    for path in EN.glob("*.json"):
        english.update(json.loads(path.read_text("utf-8")))
    texts = [
        *fmt.MESSAGES.values(),
        *fmt.KIND_LABELS.values(),
        *fmt.MODE_LABELS.values(),
        *STATUS_LABELS.values(),
        *SUMMARY_LABELS.values(),
        *(c.hint for cols in fmt.COLUMNS.values() for c in cols if c.hint),
    ]
    source = (Path(fmt.__file__)).read_text("utf-8")
    texts += re.findall(r'raise Unreadable\("([^"]+)"\)', source)
    missing = [t for t in texts if t not in english]
    assert not missing, missing
    for text in fmt.MESSAGES.values():  # the English keeps every placeholder
        assert set(re.findall(r"\{\w+\}", english[text])) == set(re.findall(r"\{\w+\}", text)), text
