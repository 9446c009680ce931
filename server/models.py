"""Imports every model module so the metadata (and Alembic) sees every table."""

from server.accounts.models import ApiToken, DepartmentGrant, User, UserRole
from server.archive.models import ArchiveRecord
from server.audit.models import AuditCheckpoint, AuditEvent
from server.deadlines.models import CalendarOverride, CalendarYear
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
from server.evidence.models import Blob, BlobRef
from server.fieldsync.models import SyncChange, SyncCounter, SyncRecord
from server.followup.models import FollowUp, FollowUpEvent
from server.inspections.models import Inspection, InspectionTask, InspectionVersion, TeamMember
from server.notifications.models import Notification
from server.planning.models import Plan, Task, TaskCooperation, TaskItem
from server.recovery.models import RecoveryImport
from server.reports.models import KpiSnapshot
from server.results.models import InspectionResult, InspectionResultCategory, ResultCategory
from server.review.models import ReviewComment
from server.scheduler.models import JobRun, SchedulerLease

__all__ = [
    "ApiToken",
    "ArchiveRecord",
    "AuditCheckpoint",
    "AuditEvent",
    "Blob",
    "BlobRef",
    "CalendarOverride",
    "CalendarYear",
    "Checkpoint",
    "Conflict",
    "Department",
    "DepartmentGrant",
    "Draw",
    "DrawnTarget",
    "FollowUp",
    "FollowUpEvent",
    "ImportJob",
    "Inspection",
    "InspectionRecord",
    "InspectionResult",
    "InspectionResultCategory",
    "InspectionTask",
    "InspectionVersion",
    "Inspector",
    "Item",
    "JobRun",
    "KpiSnapshot",
    "Notification",
    "Plan",
    "RecoveryImport",
    "Replacement",
    "ResultCategory",
    "ReviewComment",
    "SchedulerLease",
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
