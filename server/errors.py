"""The one catalogue of problem codes and the one handler that renders them.

Every API error is an RFC 9457 problem document with a stable ``code`` from CATALOGUE; clients
(the PWA, scripts) branch on the code, never on the human-readable title. Pages get an HTML
rendering of the same problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from marshmallow import INCLUDE, Schema, fields, validate
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException


@dataclass(frozen=True)
class ProblemType:
    status: int
    zh: str
    en: str


CATALOGUE: dict[str, ProblemType] = {
    # Generic HTTP-level problems.
    "bad_request": ProblemType(400, "请求格式错误", "The request is malformed"),
    "validation_failed": ProblemType(422, "提交的数据不合法", "The submitted data is invalid"),
    "not_found": ProblemType(404, "未找到", "Not found"),
    "method_not_allowed": ProblemType(405, "不支持该请求方法", "Method not allowed"),
    "payload_too_large": ProblemType(413, "上传内容超过大小限制", "The upload exceeds the size limit"),
    "conflict": ProblemType(409, "与当前数据冲突", "Conflicts with the current state"),
    "internal_error": ProblemType(500, "服务器内部错误", "Internal server error"),
    # The field app's files (pwa/dist) were not built on this server: run `make pwa`.
    "pwa_not_built": ProblemType(503, "现场检查应用尚未构建", "The field app has not been built"),
    # Authentication and authorization.
    "auth_required": ProblemType(401, "需要登录", "Authentication required"),
    "invalid_credentials": ProblemType(401, "用户名或密码错误", "Wrong username or password"),
    "login_throttled": ProblemType(429, "登录失败次数过多，请稍后再试", "Too many failed logins; try later"),
    "token_invalid": ProblemType(401, "令牌无效或已吊销", "The token is invalid or revoked"),
    "account_disabled": ProblemType(403, "账号已停用", "The account is disabled"),
    "forbidden": ProblemType(403, "无权访问", "You may not access this"),
    "csrf_failed": ProblemType(400, "页面已过期，请刷新后重试", "The page expired; reload and retry"),
    # Directories and imports.
    "duplicate_code": ProblemType(409, "代码已存在", "The code already exists"),
    "invalid_credit_code": ProblemType(422, "统一社会信用代码校验失败", "Invalid unified social credit code"),
    # The same inspector–target conflict of interest (回避) is declared only once.
    "duplicate_conflict": ProblemType(
        409, "该回避关系已登记", "This conflict of interest is already declared"
    ),
    "import_invalid": ProblemType(
        422, "导入文件有错误，未导入任何数据", "The import has errors; nothing was imported"
    ),
    "import_unreadable": ProblemType(422, "无法读取导入文件", "The import file cannot be read"),
    "import_not_found": ProblemType(404, "导入任务不存在", "No such import job"),
    # Only a finished, clean dry run can be applied (it is re-validated when applied).
    "import_not_ready": ProblemType(
        409, "只有校验通过的试导入才能正式导入", "Only a clean, finished dry run can be applied"
    ),
    # Only a failed import (interrupted by a restart, or an internal error) runs its file again.
    "import_not_failed": ProblemType(
        409, "只有失败的导入才能重新运行", "Only a failed import can be run again"
    ),
    # Planning.
    "plan_locked": ProblemType(409, "计划已发布，请新建修订版本", "The plan is published; create a revision"),
    # One plan per department and year; later changes are revisions of it.
    "plan_exists": ProblemType(
        409, "该部门该年度已有计划或修订草稿", "A plan or draft revision already exists"
    ),
    "plan_not_published": ProblemType(
        409, "只有已发布的计划可以修订", "Only a published plan can be revised"
    ),
    "plan_empty": ProblemType(409, "计划没有任务，不能发布", "The plan has no tasks to publish"),
    "task_has_draws": ProblemType(
        409, "任务已有抽取记录，不能删除", "The task has draws and cannot be deleted"
    ),
    # Draws.
    "draw_empty_pool": ProblemType(409, "抽查范围内没有符合条件的对象", "No eligible targets in the scope"),
    "draw_no_inspectors": ProblemType(409, "符合条件的执法人员不足", "Not enough eligible inspectors"),
    "draw_already_active": ProblemType(
        409, "该任务已有有效的抽取结果", "The task already has an active draw"
    ),
    "draw_voided": ProblemType(409, "抽取结果已作废", "The draw was voided"),
    # Only a task of a published plan, with a ratio or a count, can be drawn (detail names why not).
    "draw_task_not_ready": ProblemType(
        409, "任务尚不能抽取（计划未发布或未设定比例/数量）", "The task cannot be drawn yet"
    ),
    # A target code that would need CSV quoting cannot go into the published snapshot.
    "draw_snapshot_invalid": ProblemType(
        422, "检查对象代码含有逗号、引号或换行，无法生成抽取快照", "A target code cannot go into the snapshot"
    ),
    "replacement_not_allowed": ProblemType(
        409, "不符合更换执法人员的条件", "This replacement is not allowed"
    ),
    "replacement_no_candidate": ProblemType(409, "没有可替换的执法人员", "No eligible replacement inspector"),
    # Evidence files (photos, signature images); payload_too_large above covers an oversized upload.
    # The uploaded bytes do not hash to the SHA-256 in the URL; nothing is stored.
    "blob_hash_mismatch": ProblemType(
        400, "上传内容与其SHA-256不符", "The upload does not match its SHA-256"
    ),
    "image_unreadable": ProblemType(422, "文件不是可读取的图片", "The file is not a readable image"),
    "image_truncated": ProblemType(422, "图片文件不完整", "The image file is truncated"),
    # More pixels than the limit (also decompression bombs: tiny files that decode to huge images).
    "image_too_many_pixels": ProblemType(422, "图片像素过多", "The image has too many pixels"),
    "image_unsupported_format": ProblemType(
        415, "不支持的图片格式（仅限JPEG、PNG、WebP、HEIC）", "Unsupported image format"
    ),
    # Field sync (sync/PROTOCOL.md §10): the same codes the protocol's reference implementation uses.
    # The push/pull envelope failed validation; nothing was applied.
    "sync_bad_request": ProblemType(400, "同步请求格式错误，未应用任何更改", "Malformed sync request"),
    # Garbled, unknown-version or ahead-of-server pull cursor: pull again from the start.
    "sync_cursor_invalid": ProblemType(400, "同步游标无效，请从头同步", "Invalid sync cursor"),
    # HEAD of an evidence file the server does not hold yet: PUT it.
    "sync_missing_blob": ProblemType(404, "服务器尚无此文件", "The server does not hold this file"),
    # The PUT body does not hash to the SHA-256 in the URL; nothing was stored.
    "sync_blob_hash_mismatch": ProblemType(
        400, "上传内容与其SHA-256不符", "The upload does not match its SHA-256"
    ),
    # Finalize refused: ``missing`` lists exactly what the two-person rule and the checklist still need.
    "inspection_incomplete": ProblemType(409, "检查记录尚不完整", "The inspection is incomplete"),
    # The inspection is submitted, approved, published or archived: it takes no field changes.
    "inspection_locked": ProblemType(
        409, "检查已提交或已审核，不能修改", "The inspection takes no changes now"
    ),
    # Archived inspections are read-only (003 第二十五条): every service that changes one refuses it.
    "inspection_archived": ProblemType(
        409, "检查已归档，不能修改", "The inspection is archived and read-only"
    ),
    # Publication and follow-up need an approved result (the review's approval comes first).
    "inspection_not_approved": ProblemType(
        409, "检查结果尚未审核通过", "The inspection's result is not approved yet"
    ),
    # Only an approved result that a leader did not withhold is published; detail names which are not.
    "result_not_publishable": ProblemType(
        409, "结果未审核通过或已批准不予公示，不能公示", "The result cannot be published"
    ),
    # An XLSX export is capped (PUBLICATION_EXPORT_MAX_ROWS); the CSV export streams without a cap.
    "export_too_large": ProblemType(
        422, "导出的记录过多，请按任务或部门筛选后再导出", "Too many rows to export; filter first"
    ),
    # One open disposition per problem at a time: close it (e.g. after a failed re-check) first.
    "follow_up_open_exists": ProblemType(
        409, "该问题已有未完结的后续处置", "This problem already has an open follow-up"
    ),
    # Steps and closing are for open follow-ups only; a closed one stays as it was closed.
    "follow_up_closed": ProblemType(409, "后续处置已完结，不能修改", "The follow-up is closed"),
    # Closing needs the step its kind requires (a re-check after a correction, feedback after a transfer).
    "follow_up_step_missing": ProblemType(
        409, "尚缺必要的处置步骤，不能完结", "A step this follow-up needs before closing is missing"
    ),
    # Review: only a submitted inspection (待审核) can be returned or approved.
    "inspection_not_submitted": ProblemType(
        409, "该检查不在待审核状态", "The inspection is not awaiting review"
    ),
    # Approval froze the version and its result; only the withholding decision may follow.
    "inspection_frozen": ProblemType(
        409, "检查结果已审核通过并冻结，不能再退回或修改", "The approved result is frozen"
    ),
    # The decision names a version that is not the latest submitted one (someone acted first).
    "review_version_stale": ProblemType(
        409, "审核的版本不是最新提交的版本，请刷新后重试", "The version reviewed is not the latest submission"
    ),
    # A reviewer may not review an inspection they are on the team of.
    "review_own_inspection": ProblemType(
        403, "不能审核本人参与的检查", "You may not review an inspection you took part in"
    ),
    # A return needs a general comment or at least one comment on a checkpoint.
    "review_comment_required": ProblemType(
        422, "退回须填写总体意见或至少一条检查项意见", "A return needs a comment"
    ),
    # Approval needs at least one active result category.
    "result_category_required": ProblemType(
        422, "请至少选择一个结果类别", "Choose at least one result category"
    ),
    # An unknown or deactivated result category was chosen.
    "result_category_invalid": ProblemType(
        422, "结果类别不存在或已停用", "Unknown or deactivated result category"
    ),
    # A result marked not for publication needs the reason the leader decides on (003 第二十条(三)).
    "withhold_reason_required": ProblemType(422, "不予公示须填写理由", "Withholding a result needs a reason"),
    # The withholding decision is only for a result whose withholding was requested and not decided.
    "withhold_not_requested": ProblemType(
        409, "该结果没有待审批的不公示申请", "No withholding request is pending for this result"
    ),
    # Four eyes: the leader who decides is not the person who asked to withhold.
    "withhold_own_request": ProblemType(
        403, "不能审批本人提出的不公示申请", "You may not decide your own withholding request"
    ),
    # A result category that any result or follow-up uses is deactivated, never deleted.
    "category_in_use": ProblemType(
        409, "该结果类别已被使用，只能停用，不能删除", "The category is in use; deactivate it instead"
    ),
    # Recovery of a phone's export (server/recovery): the file is not a readable export of the field app.
    "recovery_file_invalid": ProblemType(
        422, "不是可读取的现场检查应用导出文件", "Not a readable export file of the field app"
    ),
    # Only an admin or the user the export names may import it.
    "recovery_not_yours": ProblemType(
        403,
        "只有管理员或导出数据的本人可以导入该文件",
        "Only an admin or the exporting user may import this file",
    ),
    # The user the export names does not exist or does not match the account (username, inspector).
    "recovery_user_unknown": ProblemType(
        422, "导出文件所列用户不存在或与账号不符", "The export names no matching user"
    ),
    # The device id is not one the named user ever registered (a forged or foreign export).
    "recovery_device_unknown": ProblemType(
        422, "导出文件中的设备不属于所列用户", "The export's device does not belong to its user"
    ),
    # A file's bytes are not base64 or do not hash to their name: the export was altered or damaged.
    "recovery_file_tampered": ProblemType(
        422,
        "导出文件已被改动或损坏，未导入任何数据",
        "The export was altered or damaged; nothing was imported",
    ),
    # One file of the export: the phone no longer held its bytes.
    "recovery_blob_missing": ProblemType(
        422, "导出文件中没有该文件的内容", "The export lacks this file's bytes"
    ),
    # One file of the export: its bytes are not valid base64.
    "recovery_blob_malformed": ProblemType(
        422, "文件内容不是有效的 base64", "The file's bytes are not valid base64"
    ),
    "recovery_import_not_found": ProblemType(404, "恢复导入记录不存在", "No such recovery import"),
    # An import is applied once; upload the file again to import it again (it changes nothing twice).
    "recovery_already_applied": ProblemType(409, "该导入已执行", "This import was already applied"),
    # Working-day calendar: the date's year is neither in the holiday package nor declared by an admin.
    "calendar_year_unknown": ProblemType(
        422, "工作日历未覆盖该年份，请先维护节假日", "The working-day calendar does not cover that year"
    ),
    # One override per day; remove the existing one first.
    "calendar_override_exists": ProblemType(
        409, "该日期已有工作日历调整", "That day already has a calendar override"
    ),
}


class ProblemDocumentSchema(Schema):
    """The body of every API error (RFC 9457), as problem_body builds it; documents the OpenAPI
    error responses. Some codes add members (e.g. ``missing``), hence additional properties."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(
        required=True, metadata={"description": "/api/problems#<code>: the code in the catalogue"}
    )
    code = fields.String(
        required=True,
        validate=validate.OneOf(sorted(CATALOGUE)),
        metadata={"description": "stable; branch on this, never on the title"},
    )
    status = fields.Integer(required=True, metadata={"description": "the HTTP status"})
    title = fields.String(
        required=True, metadata={"description": "the code's title in the request's language"}
    )
    detail = fields.String(metadata={"description": "what exactly was wrong, when known"})
    errors = fields.Raw(
        metadata={"description": "validation messages by location and field, or a list of issues"}
    )


class ApiError(Exception):
    """Raise anywhere below a request; the handler renders it as a problem document."""

    def __init__(
        self, code: str, detail: str | None = None, errors: Any = None, extra: dict[str, Any] | None = None
    ) -> None:
        if code not in CATALOGUE:
            raise KeyError(f"unknown problem code {code!r}")  # catches typos at the raise site
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.errors = errors
        self.extra = extra or {}  # more members of the problem document, e.g. ``missing``

    @property
    def status(self) -> int:
        return CATALOGUE[self.code].status


_HTTP_CODES = {
    400: "bad_request",
    401: "auth_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_failed",
}


def problem_body(
    code: str, detail: str | None = None, errors: Any = None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    from server.i18n import current_locale

    entry = CATALOGUE[code]
    body: dict[str, Any] = {
        "type": f"/api/problems#{code}",
        "code": code,
        "status": entry.status,
        "title": entry.en if current_locale() == "en" else entry.zh,
    }
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    for key, value in (extra or {}).items():
        body.setdefault(key, value)
    return body


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def render_problem(
    code: str, detail: str | None = None, errors: Any = None, extra: dict[str, Any] | None = None
) -> Response:
    body = problem_body(code, detail, errors, extra)
    if _wants_json():
        resp = jsonify(body)
        resp.mimetype = "application/problem+json"
    else:
        resp = Response(render_template("error.html", problem=body))
    resp.status_code = body["status"]
    if code == "auth_required" and request.path.startswith("/api/"):
        resp.headers["WWW-Authenticate"] = 'Bearer realm="spotcheck"'
    return resp


def register_error_handlers(app: Flask) -> None:
    from server.extensions import db

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        db.session.rollback()  # an error changes nothing
        return render_problem(exc.code, exc.detail, exc.errors, exc.extra)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> Response:
        return render_problem("csrf_failed", exc.description)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        db.session.rollback()
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "internal_error" if status >= 500 else "bad_request")
        errors = None
        data = getattr(exc, "data", None)  # webargs puts validation messages here
        if isinstance(data, dict) and "messages" in data:
            errors = data["messages"]
        detail = None if errors is not None else exc.description
        if detail == type(exc).description and not _wants_json():
            detail = None  # werkzeug's stock English sentence; the page says it in the reader's language
        return render_problem(code, detail, errors)

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def _out_of_range(exc: Exception) -> Response:
        # A number (or text) the request carried that the database column cannot hold, e.g. an id
        # of 20 digits: SQLite's driver raises OverflowError, PostgreSQL's a DataError. Bad input,
        # not a server fault, and nothing was written. Schemas that bound their fields say more.
        db.session.rollback()
        app.logger.warning("value out of range for the database: %s", exc)
        return render_problem("validation_failed", detail="a value is out of range")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        db.session.rollback()
        app.logger.exception("unhandled error")
        return render_problem("internal_error")
