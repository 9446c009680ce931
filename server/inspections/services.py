"""Who may see which inspection (the object-level rule every inspection endpoint applies), and the
read-only guard of archived inspections."""

from __future__ import annotations

from sqlalchemy import Select, or_, select

from server.accounts.models import User
from server.accounts.services import visible_department_ids
from server.directory.models import Inspector
from server.errors import ApiError
from server.inspections.models import Inspection, InspectionTask, TeamMember
from server.planning.models import Task


def inspections_visible_to(user: User) -> Select[Inspection]:
    """Inspectors see the inspections they are on; staff see those of their departments' tasks."""
    query = select(Inspection).where(Inspection.state != "cancelled")
    if user.has_role("admin"):
        return query
    clauses = []
    if user.has_role("inspector"):
        clauses.append(
            Inspection.id.in_(
                select(TeamMember.inspection_id)
                .join(Inspector, Inspector.id == TeamMember.inspector_id)
                .where(Inspector.user_id == user.id, TeamMember.removed_at.is_(None))
            )
        )
    if user.has_role("supervisor", "leader"):
        departments = visible_department_ids(user) or set()
        clauses.append(
            Inspection.id.in_(
                select(InspectionTask.inspection_id)
                .join(Task, Task.id == InspectionTask.task_id)
                .where(Task.initiating_department_id.in_(departments))
            )
        )
    if not clauses:
        return query.where(Inspection.id.is_(None))
    return query.where(or_(*clauses))


def my_assignments(user: User) -> Select[Inspection]:
    """An inspector's own open assignments, soonest deadline first."""
    return (
        select(Inspection)
        .join(TeamMember, TeamMember.inspection_id == Inspection.id)
        .join(Inspector, Inspector.id == TeamMember.inspector_id)
        .where(
            Inspector.user_id == user.id,
            TeamMember.removed_at.is_(None),
            Inspection.state.notin_(("cancelled", "archived")),
        )
        .order_by(Inspection.window_end, Inspection.id)
    )


def ensure_not_archived(inspection: Inspection) -> None:
    """Refuse any change to an archived inspection (003 第二十五条: archive material is never
    modified, added to or removed from). Every service that changes an inspection, its versions,
    result or follow-ups calls this first."""
    if inspection.state == "archived":
        raise ApiError("inspection_archived", detail=f"inspection {inspection.id} was archived")
