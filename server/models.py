"""Imports every model module so the metadata (and Alembic) sees every table."""

from server.accounts.models import ApiToken, DepartmentGrant, User, UserRole
from server.audit.models import AuditEvent
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
from server.draws.models import Draw, DrawnTarget, Replacement
from server.evidence.models import Blob
from server.fieldsync.models import SyncChange, SyncCounter, SyncRecord
from server.inspections.models import Inspection, InspectionTask, TeamMember
from server.planning.models import Plan, Task, TaskCooperation, TaskItem

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Blob",
    "Checkpoint",
    "Conflict",
    "Department",
    "DepartmentGrant",
    "Draw",
    "DrawnTarget",
    "ImportJob",
    "Inspection",
    "InspectionRecord",
    "InspectionTask",
    "Inspector",
    "Item",
    "Plan",
    "Replacement",
    "SyncChange",
    "SyncCounter",
    "SyncRecord",
    "Target",
    "TargetTag",
    "Task",
    "TaskCooperation",
    "TaskItem",
    "TeamMember",
    "User",
    "UserRole",
]
