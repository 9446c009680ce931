"""The inspection record PDF (检查记录表) of one version, for staff and the inspection's team.

``GET /inspections/<id>/record.pdf?version=N`` (the latest version without ``version``). Whoever
may see the inspection (``inspections_visible_to``) may download it; anyone else gets 404.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from sqlalchemy import select

from server.accounts.auth import current_user, page_auth
from server.directory.models import Department
from server.errors import ApiError
from server.evidence.services import blob_file, held_blob
from server.extensions import db
from server.inspections.models import Inspection, InspectionVersion
from server.inspections.record_pdf import build_record_pdf
from server.inspections.services import inspections_visible_to

bp = Blueprint("inspection_records", __name__)


def load_image(sha256: str, rendition: str) -> bytes | None:
    """A photo's rendition or a signature's original from the blob store; None if not held."""
    blob = held_blob(sha256) if len(sha256) == 64 else None
    if blob is None:
        return None
    try:
        path, _type, _sha = blob_file(blob, rendition)
    except ApiError:  # no such rendition: shown as missing, like a missing file
        return None
    return path.read_bytes()


@bp.route("/inspections/<int:inspection_id>/record.pdf")
@page_auth()
def record_pdf(inspection_id: int) -> Response:
    inspection = db.session.scalar(
        inspections_visible_to(current_user()).where(Inspection.id == inspection_id)
    )
    if inspection is None:
        abort(404)
    wanted = request.args.get("version", "")
    query = select(InspectionVersion).where(InspectionVersion.inspection_id == inspection.id)
    if wanted:
        if not wanted.isdigit() or len(wanted) > 6:
            abort(404)
        query = query.where(InspectionVersion.number == int(wanted))
    version = db.session.scalar(query.order_by(InspectionVersion.number.desc()).limit(1))
    if version is None:
        abort(404)
    department_ids: list[int] = []
    for link in sorted(inspection.task_links, key=lambda link: link.task_id):
        task = link.task
        department_ids += [task.initiating_department_id, *sorted(c.department_id for c in task.cooperating)]
    names = dict(
        db.session.execute(
            select(Department.id, Department.name).where(Department.id.in_(department_ids))
        ).all()
    )
    facts = {
        "inspection_id": inspection.id,
        "target_name": inspection.target.name,
        "target_code": inspection.target.code,
        "checked_on": inspection.checked_on.isoformat() if inspection.checked_on else "",
        "departments": list(dict.fromkeys(names[i] for i in department_ids if i in names)),
    }
    data = build_record_pdf(version, facts, load_image)
    # Renditions are made on first view (blob_file may store new ones): keep their hashes.
    db.session.commit()
    resp = Response(data, mimetype="application/pdf")
    filename = f"inspection-{inspection.id}-v{version.number}.pdf"
    resp.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp
