"""The recovery pages: upload a phone's export (dry run), read the report per inspection, apply it.

Admins, and inspectors for their own exports (the field app's export screen sends them here). The
upload form is exempt from the automatic CSRF check only so that the larger upload limit can be
set before the body is parsed; the view then checks the token itself (``csrf.protect()``).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from server.accounts.auth import current_user, page_auth
from server.errors import CATALOGUE, ApiError
from server.extensions import count_rows, csrf, db
from server.i18n import current_locale, translate
from server.inspections.labels import ANSWER_NAMES, OUTCOME_NAMES, STATE_NAMES
from server.recovery import services
from server.recovery.models import RecoveryImport

bp = Blueprint("recovery", __name__, url_prefix="/recovery")

ROLES = ("admin", "inspector")
STATUS_NAMES = {"checked": "已试导入，待执行", "blocked": "文件被改动或损坏，不能导入", "applied": "已导入"}
CHANGE_STATUS_NAMES = {
    "applied": "已应用",
    "merged": "已合并",
    "conflict": "冲突，待组长处理",
    "duplicate": "重复，服务器已有",
    "rejected": "被拒绝",
    "held": "未发送",
}
FILE_STATUS_NAMES = {"new": "将保存", "stored": "已保存", "on_server": "服务器已有", "refused": "不能保存"}
RECORD_NAMES = {
    "inspection": "检查备注",
    "answer": "检查要点答案",
    "outcome": "特殊情形",
    "finding": "发现的问题",
    "photo": "照片",
    "signature": "签名",
    "refusal": "拒绝签名记录",
    "checkin": "现场签到",
}
FILE_KIND_NAMES = {"photo": "照片", "signature": "签名图片"}
# What a change sets, by field; a field not named here is shown by its protocol name.
FIELD_NAMES = {
    "notes": "备注",
    "checkpoint_id": "检查要点",
    "value": "结果",
    "note": "说明",
    "code": "情形",
    "description": "描述",
    "recorded_by": "记录人",
    "recorded_at": "记录时间",
    "sha256": "文件",
    "png_sha256": "签名图片",
    "finding_id": "问题",
    "taken_at": "拍摄时间",
    "lat": "纬度",
    "lon": "经度",
    "accuracy_m": "精度（米）",
    "device_id": "设备",
    "signer_role": "签名身份",
    "signer_id": "签名人员",
    "signer_name": "签名人",
    "content_hash": "内容哈希",
    "signed_at": "签名时间",
    "reason": "理由",
    "witness_name": "见证人",
    "witness_contact": "见证人联系方式",
    "inspector_id": "执法人员",
    "at": "时间",
}
SIGNER_ROLE_NAMES = {"inspector": "执法检查人员", "representative": "被检查对象代表"}


def reason(code: str) -> str:
    """The title of a refusal or hold code in the page's language."""
    if code in CATALOGUE:
        entry = CATALOGUE[code]
        return entry.en if current_locale() == "en" else entry.zh
    return translate(services.SYNC_CODE_TITLES.get(code, code))


def _value(name: str, value: Any) -> str:
    if isinstance(value, str) and len(value) == 64 and name in ("sha256", "png_sha256", "content_hash"):
        return value[:12] + "…"
    tables = {"value": ANSWER_NAMES, "code": OUTCOME_NAMES, "signer_role": SIGNER_ROLE_NAMES}
    if name in tables and isinstance(value, str) and value in tables[name]:
        return translate(tables[name][value])
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def sets(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of what a change sets; the inspection it belongs to is the row's group."""
    return [
        (translate(FIELD_NAMES[name]) if name in FIELD_NAMES else name, _value(name, value))
        for name, value in fields.items()
        if name != "inspection_id"
    ]


def _context(**extra: Any) -> dict[str, Any]:
    return {
        "status_names": STATUS_NAMES,
        "change_status_names": CHANGE_STATUS_NAMES,
        "file_status_names": FILE_STATUS_NAMES,
        "record_names": RECORD_NAMES,
        "file_kind_names": FILE_KIND_NAMES,
        "state_names": STATE_NAMES,
        "reason": reason,
        "sets": sets,
        "max_mib": int(current_app.config["RECOVERY_MAX_BYTES"]) // (1024 * 1024),
        **extra,
    }


@bp.route("", methods=["GET", "POST"])
@page_auth(*ROLES)
@csrf.exempt
def imports() -> str | Response | tuple[str, int]:
    """The upload form and the imports the user may see; a POST is the dry run."""
    problem: dict[str, str] | None = None
    status = 200
    if request.method == "POST":
        request.max_content_length = int(current_app.config["RECOVERY_MAX_BYTES"])
        csrf.protect()
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise ApiError("recovery_file_invalid", translate("请选择要上传的文件"))
            imp = services.check_export(upload.read(), upload.filename, current_user())
            db.session.commit()
            return redirect(url_for("recovery.detail", import_id=imp.id))
        except ApiError as exc:
            db.session.rollback()
            problem = {"title": reason(exc.code), "detail": exc.detail or "", "code": exc.code}
            status = exc.status
    visible = services.visible_imports(current_user())
    rows = db.session.scalars(visible.limit(50)).all()
    total = count_rows(visible)
    return render_template("recovery/list.html", **_context(rows=rows, total=total, problem=problem)), status


@bp.route("/<int:import_id>")
@page_auth(*ROLES)
def detail(import_id: int) -> str:
    """The report: per inspection its changes, files and earlier rejections; the apply button."""
    imp = services.import_for(current_user(), import_id)
    report = imp.results if imp.status == "applied" and imp.results else imp.plan
    return render_template("recovery/detail.html", **_context(imp=imp, report=report))


@bp.route("/<int:import_id>/apply", methods=["POST"])
@page_auth(*ROLES)
def apply(import_id: int) -> Response:
    """Apply a checked import: files first, then every change in one push transaction."""
    user = current_user()
    imp: RecoveryImport = services.import_for(user, import_id)
    try:
        services.run_apply(imp, user)
        flash(translate("已导入：结果见下表"))
    except ApiError as exc:
        db.session.rollback()
        flash(f"{reason(exc.code)} {exc.detail or ''}".strip(), "error")
    return redirect(url_for("recovery.detail", import_id=import_id))
