"""Server-rendered SVG charts: no JavaScript, no CDN, nothing downloaded at run time.

Pure functions from numbers to an SVG string (``Markup``, every label escaped), so a chart is
tested like any other output and prints as it looks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from markupsafe import Markup, escape

OK = "#1b7f3b"
SHORT = "#b3261e"
NONE = "#c4c9d2"
GOAL = "#5b6475"
LABEL_W = 190
BAR_H = 20
GAP = 6
TOP = 22  # room for the goal labels


def _percent(value: float) -> str:
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _scale(values: Sequence[float | None], goals: Sequence[tuple[float, str]]) -> float:
    """Full width: 100% for rates that reach past half; small rates (coverage) are zoomed so the
    bars and the goal stay readable."""
    top = max([v for v in values if v is not None] + [g for g, _ in goals] + [0.0])
    if top > 0.5:
        return max(1.0, top)
    return max(top * 1.25, 0.01)


def bar_chart(
    rows: Sequence[tuple[str, float | None, str]],
    goals: Sequence[tuple[float, str]] = (),
    *,
    title: str,
    width: int = 640,
) -> Markup:
    """Horizontal bars, one per (label, rate 0…1 or None, note); dashed lines at the goals.

    A bar is green when it meets the lowest goal, red when it does not, grey when there is no data.
    """
    plot_w = width - LABEL_W - 110
    scale = _scale([v for _, v, _ in rows], goals)
    height = TOP + len(rows) * (BAR_H + GAP) + 4
    lowest = min((g for g, _ in goals), default=None)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value, note) in enumerate(rows):
        y = TOP + i * (BAR_H + GAP)
        short_label = label if len(label) <= 14 else label[:13] + "…"
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y + BAR_H - 6}" text-anchor="end" font-size="12">'
            f"<title>{escape(label)}</title>{escape(short_label)}</text>"
        )
        if value is None:
            parts.append(
                f'<rect x="{LABEL_W}" y="{y}" width="2" height="{BAR_H}" fill="{NONE}"/>'
                f'<text x="{LABEL_W + 8}" y="{y + BAR_H - 6}" font-size="12" fill="{GOAL}">—</text>'
            )
            continue
        bar_w = max(1.0, min(value / scale, 1.0) * plot_w)
        color = OK if lowest is None or value >= lowest else SHORT
        parts.append(
            f'<rect x="{LABEL_W}" y="{y}" width="{bar_w:.1f}" height="{BAR_H}" fill="{color}">'
            f"<title>{escape(label)}: {_percent(value)} {escape(note)}</title></rect>"
            f'<text x="{LABEL_W + bar_w + 6:.1f}" y="{y + BAR_H - 6}" font-size="12">'
            f'{_percent(value)} <tspan fill="{GOAL}">{escape(note)}</tspan></text>'
        )
    for goal, goal_label in goals:
        x = LABEL_W + min(goal / scale, 1.0) * plot_w
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{height}" stroke="{GOAL}" '
            f'stroke-dasharray="4 3"/><text x="{x:.1f}" y="{TOP - 8}" font-size="10" text-anchor="middle" '
            f'fill="{GOAL}">{escape(goal_label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every label and note above went through escape())


def line_chart(
    points: Sequence[tuple[dt.date, float | None]],
    goals: Sequence[tuple[float, str]] = (),
    *,
    title: str,
    width: int = 640,
    height: int = 160,
) -> Markup:
    """A rate over time (the daily snapshots); gaps where there is no data."""
    left, right, top, bottom = 44, 16, 12, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    scale = _scale([v for _, v in points], goals)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{NONE}"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">{_percent(scale)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0%</text>',
    ]
    n = len(points)

    def xy(i: int, value: float) -> tuple[float, float]:
        x = left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        return x, top + plot_h - min(value / scale, 1.0) * plot_h

    for goal, goal_label in goals:
        _, y = xy(0, goal)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GOAL}" '
            f'stroke-dasharray="4 3"/><text x="{left + plot_w}" y="{y - 3:.1f}" font-size="10" '
            f'text-anchor="end" fill="{GOAL}">{escape(goal_label)}</text>'
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (day, value) in enumerate(points):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        x, y = xy(i, value)
        segment.append(f"{x:.1f},{y:.1f}")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{OK}">'
            f"<title>{day.isoformat()}: {_percent(value)}</title></circle>"
        )
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(f'<polyline fill="none" stroke="{OK}" stroke-width="1.5" points="{" ".join(seg)}"/>')
    if points:
        parts.append(
            f'<text x="{left}" y="{height - 6}" font-size="10">{points[0][0].isoformat()}</text>'
            f'<text x="{left + plot_w}" y="{height - 6}" font-size="10" text-anchor="end">'
            f"{points[-1][0].isoformat()}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every label and note above went through escape())
