"""The SVG charts: well-formed, proportional, escaped, with goal lines."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

from server.reports.charts import bar_chart, line_chart

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: object) -> ET.Element:
    return ET.fromstring(str(svg))  # noqa: S314 (our own output, not untrusted input)


def test_bar_chart_is_proportional_with_goals_and_escaped_labels() -> None:
    svg = bar_chart(
        [("市场监管局", 0.5, "(5/10)"), ('<script>alert("x")</script>', 1.0, "(2/2)"), ("无数据", None, "")],
        [(0.8, "004 ≥80%"), (0.95, "002 ≥95%")],
        title="运用信用风险分类的抽取占比",
    )
    root = parse(svg)  # well-formed XML
    assert root.get("aria-label") == "运用信用风险分类的抽取占比"
    bars = list(root.iter(f"{NS}rect"))
    widths = [float(r.get("width", 0)) for r in bars]
    assert len(bars) == 3 and abs(widths[1] - 2 * widths[0]) < 0.2 and widths[2] == 2
    colors = [r.get("fill") for r in bars]
    assert colors[0] == "#b3261e" and colors[1] == "#1b7f3b" and colors[2] == "#c4c9d2"  # short, met, none
    assert len(list(root.iter(f"{NS}line"))) == 2
    assert "<script>" not in str(svg) and "&lt;script&gt;" in str(svg)
    assert "50%" in str(svg) and "100%" in str(svg)


def test_small_rates_are_zoomed_so_the_goal_stays_readable() -> None:
    svg = str(bar_chart([("A", 0.012, ""), ("B", 0.036, "")], [(0.03, "≥3%")], title="覆盖率"))
    root = parse(svg)
    widths = [float(r.get("width", 0)) for r in root.iter(f"{NS}rect")]
    assert widths[1] > 250  # 3.6% is most of the plot, not a sliver
    goal_x = float(next(root.iter(f"{NS}line")).get("x1", 0))
    assert 190 < goal_x < 190 + widths[1]


def test_line_chart_leaves_gaps_for_missing_days() -> None:
    day = dt.date(2025, 10, 1)
    points = [(day + dt.timedelta(days=i), v) for i, v in enumerate([0.01, 0.02, None, 0.03])]
    svg = str(line_chart(points, [(0.03, "≥3%")], title="覆盖率"))
    root = parse(svg)
    assert len(list(root.iter(f"{NS}polyline"))) == 2
    assert len(list(root.iter(f"{NS}circle"))) == 3
    assert "2025-10-01" in svg and "2025-10-04" in svg
    assert re.search(r"<title>2025-10-04: 3%</title>", svg)
