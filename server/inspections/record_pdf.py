"""The inspection record as a PDF (检查记录表, 003 第二十条(三)) of one frozen version.

Everything comes from ``InspectionVersion.record`` — the self-contained snapshot of the submission —
so the PDF shows exactly what was signed, whatever changed in the directory since: the target, the
tasks and team, the checklist with each answer, the special outcome, findings, photos (their review
renditions), signatures (their images, and whether each still matches the content), refusals,
check-ins, the review decision and the content hash the signatures bind, printed on every page.

Chinese text is set in reportlab's built-in CID font STSong-Light (Adobe-GB1): nothing is downloaded
or embedded; PDF readers supply the glyphs (Acrobat, pdf.js, poppler with poppler-data do). The
font has no glyph for some Western punctuation (the middle dot ·), so labels use full-width forms.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from server.i18n import to_local, translate
from server.inspections.labels import ANSWER_NAMES, OUTCOME_NAMES, ROLE_NAMES

FONT = "STSong-Light"
MONO = "Courier"
# (sha256, rendition) → the image's bytes, or None when the server does not hold the file.
ImageLoader = Callable[[str, str], bytes | None]

SIGNER_NAMES = {"inspector": "执法人员", "representative": "被检查对象"}
SIGNATURE_STATUS = {"valid": "有效", "stale": "已失效（签署后内容有变更）"}
VERSION_STATUS = {"submitted": "待审核", "returned": "已退回", "approved": "审核通过"}

_registered = False


def _fonts() -> None:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9.5, leading=13, wordWrap="CJK")
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5),
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=24, alignment=TA_CENTER),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=11, leading=15, alignment=TA_CENTER),
        "h2": ParagraphStyle("h2", parent=base, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4),
        "mono": ParagraphStyle("mono", parent=base, fontName=MONO, fontSize=7.5, leading=10),
    }


def _esc(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br/>")


def _when(value: Any) -> str:
    """An ISO time from the record (with an offset, or naive UTC) as Asia/Shanghai wall time."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    local = to_local(moment)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def _place(lat: Any, lon: Any) -> str:
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        return f"{lat:.5f}, {lon:.5f}"
    return ""


def _role(role: str) -> str:
    return translate(ROLE_NAMES.get(role, role))


class _Grid:
    """A table of paragraphs with the house lines; the first row is the header."""

    def __init__(self, styles: dict[str, ParagraphStyle]) -> None:
        self.styles = styles

    def __call__(self, rows: list[list[Any]], widths: list[float], header: bool = True) -> Table:
        cells = [
            [c if isinstance(c, Flowable) else Paragraph(_esc(c), self.styles["base"]) for c in row]
            for row in rows
        ]
        table = Table(cells, colWidths=widths, repeatRows=1 if header else 0)
        commands: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
        if header:
            commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef0f4")))
        table.setStyle(TableStyle(commands))
        return table


def _image(
    data: bytes | None, max_w: float, max_h: float, styles: dict[str, ParagraphStyle], sha: str
) -> Flowable:
    if not data:
        return Paragraph(
            _esc(translate("文件缺失")) + f"<br/><font face='{MONO}' size='6'>{sha}</font>", styles["small"]
        )
    try:
        reader = ImageReader(io.BytesIO(data))
        w, h = reader.getSize()
    except Exception:  # any undecodable file: say so, never fail the whole record
        return Paragraph(_esc(translate("无法显示的图片")), styles["small"])
    scale = min(max_w / w, max_h / h)
    image = Image(io.BytesIO(data), width=w * scale, height=h * scale, mask="auto")
    image.hAlign = "LEFT"
    return image


def build_record_pdf(version: Any, facts: dict[str, Any], load_image: ImageLoader) -> bytes:
    """The PDF of ``version`` (an ``InspectionVersion``); ``facts`` adds what the record does not
    hold (inspection id, departments); ``load_image`` fetches photo and signature files."""
    _fonts()
    styles = _styles()
    grid = _Grid(styles)
    record: dict[str, Any] = version.record or {}
    inspection: dict[str, Any] = record.get("inspection") or {}
    target: dict[str, Any] = inspection.get("target") or {}
    content_hash = version.content_hash
    width = A4[0] - 36 * mm
    story: list[Flowable] = []

    story.append(Paragraph(_esc(translate("检查记录表")), styles["title"]))
    story.append(
        Paragraph(
            _esc(
                translate(
                    "第{n}版　{status}",
                    n=version.number,
                    status=translate(VERSION_STATUS.get(version.status, version.status)),
                )
            ),
            styles["subtitle"],
        )
    )
    story.append(Spacer(1, 4 * mm))

    team = inspection.get("team") or []
    tasks = inspection.get("tasks") or []
    window = " — ".join(v for v in (inspection.get("window_start"), inspection.get("window_end")) if v)
    fact_rows = [
        [translate("检查对象名称"), target.get("name", facts.get("target_name", ""))],
        [translate("统一社会信用代码/编号"), target.get("code", facts.get("target_code", ""))],
        [translate("住所（经营场所）"), target.get("address", "")],
        [translate("法定代表人（负责人）"), target.get("legal_rep", "")],
        [
            translate("抽查任务"),
            "；".join(f"{t.get('name', '')}（{t.get('department', '')}）" for t in tasks),
        ],
        [translate("检查实施机关"), "、".join(facts.get("departments", []))],
        [translate("检查时间范围"), window],
        [translate("检查日期"), facts.get("checked_on") or ""],
        [
            translate("检查人员"),
            "；".join(
                f"{m.get('name', '')}（{_role(m.get('role', ''))}，{m.get('department', '')}）" for m in team
            ),
        ],
        [translate("提交时间"), _when(version.submitted_at)],
        [translate("检查编号"), f"{facts.get('inspection_id', '')} / v{version.number}"],
        [translate("内容哈希（SHA-256）"), Paragraph(content_hash, styles["mono"])],
    ]
    story.append(grid(fact_rows, [35 * mm, width - 35 * mm], header=False))

    answers = {a.get("checkpoint_id"): a for a in record.get("answers") or []}
    checkpoint_text: dict[Any, str] = {}
    story.append(Paragraph(_esc(translate("检查事项与检查内容")), styles["h2"]))
    checklist = inspection.get("checklist") or []
    if not checklist:
        story.append(Paragraph(_esc(translate("无")), styles["base"]))
    for item in checklist:
        story.append(
            Paragraph(
                f"<b>{_esc(item.get('name', ''))}</b>"
                + (
                    f"　<font size='8'>{_esc(translate('依据'))}：{_esc(item.get('legal_basis'))}</font>"
                    if item.get("legal_basis")
                    else ""
                ),
                styles["base"],
            )
        )
        rows: list[list[Any]] = [
            [
                translate("序号"),
                translate("检查内容"),
                translate("检查方式"),
                translate("结果"),
                translate("说明"),
            ]
        ]
        for n, cp in enumerate(item.get("checkpoints") or [], 1):
            checkpoint_text[cp.get("id")] = cp.get("text", "")
            answer = answers.get(cp.get("id")) or {}
            value = answer.get("value")
            rows.append(
                [
                    str(n),
                    cp.get("text", ""),
                    cp.get("method", ""),
                    translate(ANSWER_NAMES[value]) if value in ANSWER_NAMES else translate("未填写"),
                    answer.get("note") or "",
                ]
            )
        story.append(
            grid(rows, [10 * mm, width - 10 * mm - 25 * mm - 20 * mm - 45 * mm, 25 * mm, 20 * mm, 45 * mm])
        )
        story.append(Spacer(1, 2 * mm))

    outcome = record.get("outcome")
    if outcome and outcome.get("code"):
        story.append(Paragraph(_esc(translate("特殊情形")), styles["h2"]))
        label = translate(OUTCOME_NAMES.get(outcome["code"], outcome["code"]))
        story.append(
            Paragraph(
                _esc(label) + (f"：{_esc(outcome.get('note'))}" if outcome.get("note") else ""),
                styles["base"],
            )
        )

    story.append(Paragraph(_esc(translate("发现的问题")), styles["h2"]))
    findings = record.get("findings") or []
    if findings:
        rows = [[translate("序号"), translate("检查内容"), translate("问题描述"), translate("记录时间")]]
        for n, f in enumerate(findings, 1):
            rows.append(
                [
                    str(n),
                    checkpoint_text.get(f.get("checkpoint_id"), ""),
                    f.get("description", ""),
                    _when(f.get("recorded_at")),
                ]
            )
        story.append(grid(rows, [10 * mm, 45 * mm, width - 10 * mm - 45 * mm - 30 * mm, 30 * mm]))
    else:
        story.append(Paragraph(_esc(translate("未发现问题")), styles["base"]))

    story.append(Paragraph(_esc(translate("现场照片")), styles["h2"]))
    photos = record.get("photos") or []
    if photos:
        cell_w = (width - 6 * mm) / 2
        cells: list[Any] = []  # one list of flowables per table cell
        for p in photos:
            sha = str(p.get("sha256", ""))
            caption = [
                f"{translate('拍摄时间')}：{_when(p.get('taken_at'))}",
                f"{translate('位置')}：{_place(p.get('lat'), p.get('lon'))}",
            ]
            if p.get("checkpoint_id") in checkpoint_text:
                caption.append(f"{translate('检查内容')}：{checkpoint_text[p.get('checkpoint_id')]}")
            cells.append(
                [
                    _image(load_image(sha, "review"), cell_w - 4 * mm, 70 * mm, styles, sha),
                    Paragraph("<br/>".join(_esc(c) for c in caption), styles["small"]),
                    Paragraph(sha, styles["mono"]),
                ]
            )
        pairs = [
            cells[i : i + 2] + ([Spacer(1, 1)] if i + 1 == len(cells) else [])
            for i in range(0, len(cells), 2)
        ]
        photo_table = Table(pairs, colWidths=[cell_w + 3 * mm, cell_w + 3 * mm])
        photo_table.setStyle(
            TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 6)])
        )
        story.append(photo_table)
    else:
        story.append(Paragraph(_esc(translate("无")), styles["base"]))

    story.append(Paragraph(_esc(translate("签名")), styles["h2"]))
    signatures = record.get("signatures") or []
    if signatures:
        rows = [
            [
                translate("签名"),
                translate("签名人"),
                translate("身份"),
                translate("签署时间"),
                translate("状态"),
            ]
        ]
        for s in signatures:
            sha = str(s.get("png_sha256", ""))
            rows.append(
                [
                    _image(load_image(sha, "original"), 45 * mm, 18 * mm, styles, sha),
                    s.get("signer_name", ""),
                    translate(SIGNER_NAMES.get(s.get("signer_role", ""), s.get("signer_role", ""))),
                    _when(s.get("signed_at")),
                    translate(SIGNATURE_STATUS.get(s.get("status", ""), s.get("status", ""))),
                ]
            )
        story.append(grid(rows, [50 * mm, 40 * mm, 25 * mm, 30 * mm, width - 145 * mm]))
    else:
        story.append(Paragraph(_esc(translate("无")), styles["base"]))

    refusals = record.get("refusals") or []
    if refusals:
        story.append(Paragraph(_esc(translate("拒绝签字记录")), styles["h2"]))
        rows = [[translate("原因"), translate("见证人"), translate("记录时间"), translate("状态")]]
        for r in refusals:
            rows.append(
                [
                    r.get("reason", ""),
                    r.get("witness_name", ""),
                    _when(r.get("recorded_at")),
                    translate(SIGNATURE_STATUS.get(r.get("status", ""), r.get("status", ""))),
                ]
            )
        story.append(grid(rows, [width - 105 * mm, 35 * mm, 30 * mm, 40 * mm]))

    checkins = record.get("checkins") or []
    if checkins:
        names = {m.get("inspector_id"): m.get("name", "") for m in team}
        story.append(Paragraph(_esc(translate("现场签到")), styles["h2"]))
        rows = [[translate("执法人员"), translate("时间"), translate("位置")]]
        rows += [
            [names.get(c.get("inspector_id"), ""), _when(c.get("at")), _place(c.get("lat"), c.get("lon"))]
            for c in checkins
        ]
        story.append(grid(rows, [40 * mm, 40 * mm, width - 80 * mm]))

    story.append(Paragraph(_esc(translate("审核")), styles["h2"]))
    review = [
        [translate("状态"), translate(VERSION_STATUS.get(version.status, version.status))],
        [translate("审核时间"), _when(version.decided_at)],
        [translate("审核意见"), version.decision_comment or ""],
    ]
    story.append(grid(review, [35 * mm, width - 35 * mm], header=False))
    story.append(Spacer(1, 4 * mm))
    story.append(
        Paragraph(
            _esc(translate("签名绑定本记录的内容哈希；记录的任何修改都会产生新的哈希，原有签名随之失效。")),
            styles["small"],
        )
    )

    def _footer(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(18 * mm, 10 * mm, translate("检查记录表") + "　" + translate("第{n}页", n=doc.page))
        canvas.setFont(MONO, 6.5)
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"SHA-256 {content_hash}")
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"{translate('检查记录表')} {target.get('name', '')} v{version.number}",
        author="Spotcheck",
    )
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return out.getvalue()
