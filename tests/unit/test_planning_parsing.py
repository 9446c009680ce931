"""The plan-table cell parsers, on every form the seed plans use."""

from __future__ import annotations

import datetime as dt

import pytest

from server.planning.parsing import (
    PlanTextError,
    default_class_ratios,
    format_bp,
    normalize_department_name,
    parse_items,
    parse_mode,
    parse_ratio,
    parse_scope,
    parse_task_type,
    parse_window,
    percent_to_bp,
    scope_description,
    split_items,
    split_names,
    validate_scope,
)

D = dt.date


@pytest.mark.parametrize(
    ("text", "bp", "count", "per_year"),
    [
        ("3%; 1次/年", 300, None, 1),  # 001 row 1
        ("0.1%; 1次/年", 10, None, 1),  # 001 row 2
        ("50%; 1次/年", 5000, None, 1),  # 001 row 7
        ("不低于5%", 500, None, 1),  # 000 row 12
        ("不低于30%", 3000, None, 1),
        ("35%; 1次/季度", 3500, None, 4),  # 002 row 35
        ("5%以上；1次/年", 500, None, 1),  # 002 row 2, full-width semicolon
        ("抽查比例不低于20%; 1次/年", 2000, None, 1),  # 002 row 17
        ("不低于30%; 抽查1次", 3000, None, 1),  # 002 row 18
        ("5%; 1/年", 500, None, 1),  # 002 row 20
        ("100%; 1次/年", 10000, None, 1),  # 002 row 21
        ("10％；2次/年", 1000, None, 2),  # full-width percent sign
        ("5%；每月1次", 500, None, 12),
        ("6家", None, 6, 1),  # 000 row 9
        ("不少于6家；1次/半年", None, 6, 2),
        ("根据预警监测情况动态比例", None, None, 1),  # 000 row 21
        ("企业抽取比例不低于1%，抽查名单由市场监管总局统一抽取派发", 100, None, 1),  # 000 row 22
    ],
)
def test_parse_ratio(text: str, bp: int | None, count: int | None, per_year: int) -> None:
    spec = parse_ratio(text)
    assert (spec.base_ratio_bp, spec.fixed_count, spec.frequency_per_year) == (bp, count, per_year)
    assert spec.dynamic == (bp is None and count is None)


@pytest.mark.parametrize("text", ["", "很多", "0%", "150%", "0.005%", "3%; 500次/年", "0家"])
def test_parse_ratio_refuses(text: str) -> None:
    with pytest.raises(PlanTextError) as info:
        parse_ratio(text)
    assert info.value.code == "bad_ratio"


def test_percent_to_bp_and_back() -> None:
    assert percent_to_bp("2") == 200
    assert percent_to_bp("0.05%") == 5
    assert percent_to_bp("100") == 10000
    assert [format_bp(v) for v in (300, 10, 5, 10000, 1250)] == ["3%", "0.1%", "0.05%", "100%", "12.5%"]
    assert format_bp(None) == ""
    for bad in ("abc", "101", "-1", "0.001", "nan"):
        with pytest.raises(PlanTextError):
            percent_to_bp(bad)


def test_class_defaults_reproduce_the_provincial_example() -> None:
    # A 1 % / B 2 % / C 10 % / D 30 % at a 2 % base (DOMAIN.md §3); U = the base.
    assert default_class_ratios(200) == {"A": 100, "B": 200, "C": 1000, "D": 3000, "U": 200}


def test_class_defaults_round_up_and_cap() -> None:
    assert default_class_ratios(10) == {"A": 5, "B": 10, "C": 50, "D": 150, "U": 10}
    assert default_class_ratios(3) == {"A": 2, "B": 3, "C": 15, "D": 45, "U": 3}  # A rounds up, never 0
    assert default_class_ratios(1)["A"] == 1
    big = default_class_ratios(5000)
    assert (big["C"], big["D"]) == (10000, 10000)  # capped at 100 %
    ratios = default_class_ratios(300)
    assert ratios["A"] < ratios["B"] < ratios["C"] < ratios["D"]  # 递加


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("7月—11月", D(2025, 7, 1), D(2025, 11, 30)),  # 001 rows 1-3, em dash
        ("5月-11月", D(2025, 5, 1), D(2025, 11, 30)),
        ("4月—11月", D(2025, 4, 1), D(2025, 11, 30)),  # 001 row 5
        ("1月-11月", D(2025, 1, 1), D(2025, 11, 30)),  # 002
        ("3月—12月", D(2025, 3, 1), D(2025, 12, 31)),  # 000
        ("1-11月", D(2025, 1, 1), D(2025, 11, 30)),
        ("2月", D(2025, 2, 1), D(2025, 2, 28)),
        ("全年", D(2025, 1, 1), D(2025, 12, 31)),
        ("下半年", D(2025, 7, 1), D(2025, 12, 31)),
        ("3月15日至11月20日", D(2025, 3, 15), D(2025, 11, 20)),
        ("2025-03-01至2025-11-30", D(2025, 3, 1), D(2025, 11, 30)),
        ("2025年3月1日—2025年6月30日", D(2025, 3, 1), D(2025, 6, 30)),
        (" 7 月 — 11 月 ", D(2025, 7, 1), D(2025, 11, 30)),
    ],
)
def test_parse_window(text: str, start: dt.date, end: dt.date) -> None:
    assert parse_window(text, 2025) == (start, end)


def test_window_follows_the_plan_year() -> None:
    assert parse_window("2月", 2024) == (D(2024, 2, 1), D(2024, 2, 29))


@pytest.mark.parametrize(
    "text",
    ["", "下个月", "13月", "11月—7月", "2月30日—3月1日", "2024-03-01至2024-11-30", "2025-03-01", "7-11"],
)
def test_parse_window_refuses(text: str) -> None:
    with pytest.raises(PlanTextError) as info:
        parse_window(text, 2025)
    assert info.value.code == "bad_window"


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("【县抽县查】 高平市市场监管局发起并实施检查", "county_county"),  # 001
        ("县抽县查", "county_county"),  # 002
        ("市抽县查", "city_county"),
        ("市抽查(市、区)查", "city_county"),  # 000's OCR form
        ("市抽县（市、区）查", "city_county"),
        ("市抽市查", "city_city"),  # 000 row 18
        ("省抽县查", "province_county"),
        ("双随机抽查", "double_random"),  # 000 row 15
        ("city_city", "city_city"),
    ],
)
def test_parse_mode(text: str, mode: str) -> None:
    assert parse_mode(text) == mode


@pytest.mark.parametrize("text", ["", "市抽查", "随便查"])
def test_parse_mode_refuses(text: str) -> None:
    with pytest.raises(PlanTextError) as info:
        parse_mode(text)
    assert info.value.code == "bad_mode"


def test_parse_task_type() -> None:
    assert parse_task_type("定向") == "directed"
    assert parse_task_type("不定向") == "undirected"
    assert parse_task_type(" 定向抽查 ") == "directed"  # 000 row 22
    assert parse_task_type("Undirected") == "undirected"
    with pytest.raises(PlanTextError) as info:
        parse_task_type("随机")
    assert info.value.code == "bad_type"


def test_parse_items_numbered_keeps_order_and_inner_punctuation() -> None:
    assert parse_items("1.登记事项检查；2.公示信息检查；3.商标使用行为的检查") == [
        "登记事项检查",
        "公示信息检查",
        "商标使用行为的检查",
    ]
    assert parse_items("1.登记事项检查，2.公示信息检查") == ["登记事项检查", "公示信息检查"]  # 001 row 2
    # 001 row 5: "、" and "，" inside an item never split it.
    assert parse_items(
        "1.健全广告业务的承接登记、审核、档案管理制度情况的检查；2.依据法律、行政法规规定有关证明文件，核对广告内容情况检查"
    ) == [
        "健全广告业务的承接登记、审核、档案管理制度情况的检查",
        "依据法律、行政法规规定有关证明文件，核对广告内容情况检查",
    ]
    assert parse_items("（1）甲检查；（2）乙检查") == ["甲检查", "乙检查"]


def test_parse_items_drops_the_truncated_fifth_item_of_row_6() -> None:
    text = (
        "1.工业产品生产许可证产品是否在有效期内；2.企业名称、住所、生产地址的检查；"
        "3.生产设备、生产工艺的检查；4.检验设备及检验情况的检查；5."
    )
    assert split_items(text)[-1] == ""
    assert parse_items(text) == [
        "工业产品生产许可证产品是否在有效期内",
        "企业名称、住所、生产地址的检查",
        "生产设备、生产工艺的检查",
        "检验设备及检验情况的检查",
    ]


def test_parse_items_unnumbered() -> None:
    assert parse_items("餐饮服务监督管理") == ["餐饮服务监督管理"]
    assert parse_items("质量管理体系认证活动、有机产品认证活动") == [
        "质量管理体系认证活动",
        "有机产品认证活动",
    ]
    assert parse_items("食品销售、餐饮服务监督检查") == [
        "食品销售、餐饮服务监督检查"
    ]  # shared ending: one item
    assert parse_items("甲检查；乙检查；甲检查") == ["甲检查", "乙检查"]
    assert parse_items("") == []


@pytest.mark.parametrize(
    ("scope_text", "name", "expected"),
    [
        ("全市范围内存续的企业", "", {"kinds": ["enterprise"], "statuses": ["active"]}),
        ("全市范围内个体户", "", {"kinds": ["individual"]}),
        ("全市范围内合作社", "", {"kinds": ["cooperative"]}),
        ("全市范围内电子商务经营者", "", {"tags": ["电子商务"]}),
        (
            "全市范围内存续广告经营企业",
            "",
            {"kinds": ["enterprise"], "statuses": ["active"], "tags": ["广告"]},
        ),
        (
            "全市范围内存续的工业产品企业",
            "",
            {"kinds": ["enterprise"], "statuses": ["active"], "tags": ["工业产品生产许可"]},
        ),
        ("全市范围内集贸市场", "", {"tags": ["集贸市场"]}),
        (
            "全市范围内存续的眼镜配制企业",
            "",
            {"kinds": ["enterprise"], "statuses": ["active"], "tags": ["眼镜配制"]},
        ),
        (
            "全市范围内存续的有机产品认证企业",
            "",
            {"kinds": ["enterprise"], "statuses": ["active"], "tags": ["有机产品认证"]},
        ),
        (
            "全市宣传出版、文化教育、交易市场等领域",
            "对计量使用单位情况的监督检查",
            {"tags": ["计量器具使用"]},
        ),
        ("全市食品经营企业", "对食品销售经营单位监督检查", {"kinds": ["enterprise"], "tags": ["食品销售"]}),
        ("餐饮服务单位", "", {"tags": ["餐饮服务"]}),
        ("特种设备使用单位", "", {"tags": ["特种设备使用"]}),
        ("自愿性认证企业", "", {"kinds": ["enterprise"], "tags": ["自愿性认证"]}),
        ("商标代理机构", "", {"tags": ["商标代理"]}),
        ("食品小经营店、小摊点", "", {"tags": ["食品小经营店"]}),
        ("全市个体工商户和农民专业合作社", "", {"kinds": ["individual", "cooperative"]}),
        ("各类学校", "学校收费情况的检查", {}),
    ],
)
def test_parse_scope(scope_text: str, name: str, expected: dict[str, list[str]]) -> None:
    assert parse_scope(scope_text, name) == expected


def test_scope_text_wins_over_the_name() -> None:
    # The name is read only when the scope text names no domain.
    assert parse_scope("餐饮服务单位", "对食品销售经营单位监督检查") == {"tags": ["餐饮服务"]}


def test_validate_scope() -> None:
    assert validate_scope(None) == {}
    assert validate_scope({"kinds": [" enterprise ", "enterprise"], "tags": [], "districts": ["东城"]}) == {
        "kinds": ["enterprise"],
        "districts": ["东城"],
    }
    for bad in (
        {"colour": ["red"]},
        {"kinds": "enterprise"},
        {"kinds": ["company"]},
        {"statuses": ["open"]},
        [],
    ):
        with pytest.raises(PlanTextError) as info:
            validate_scope(bad)
        assert info.value.code == "bad_scope"


def test_scope_description() -> None:
    assert scope_description({}) == "全部类型；状态：存续"
    assert (
        scope_description(
            {"kinds": ["enterprise", "individual"], "statuses": ["active", "liquidating"], "tags": ["广告"]}
        )
        == "企业、个体工商户；状态：存续、清算中；标签（任一）：广告"
    )
    assert scope_description({"districts": ["米山镇"], "industries": ["餐饮业"]}) == (
        "全部类型；状态：存续；区域：米山镇；行业：餐饮业"
    )


def test_department_names() -> None:
    assert normalize_department_name("高平市 市场监督管理局") == normalize_department_name("高平市市场监管局")
    assert split_names("原平市教育科技局、原平市公安局，原平市统计局") == [
        "原平市教育科技局",
        "原平市公安局",
        "原平市统计局",
    ]
    assert split_names("") == []
