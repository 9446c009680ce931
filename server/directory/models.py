"""一单两库: departments, the inspection item list with checkpoints, targets and inspectors."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, utcnow

if TYPE_CHECKING:
    from server.accounts.models import User  # ImportJob.created_by; accounts imports this module

LEVELS = ("province", "city", "county", "station")
ITEM_KINDS = ("general", "key")  # 一般检查事项 / 重点检查事项
TARGET_KINDS = ("enterprise", "individual", "cooperative", "product", "project", "behaviour")
MARKET_KINDS = ("enterprise", "individual", "cooperative")  # identified by a 统一社会信用代码
TARGET_STATUSES = ("active", "liquidating", "deregistered", "revoked", "moved")
RISK_CLASSES = ("A", "B", "C", "D")  # 低风险 / 一般风险 / 较高风险 / 高风险
INSPECTOR_KINDS = ("general", "professional", "expert")  # experts never count toward the two
INSPECTOR_STATUSES = ("active", "leave", "transferred", "retired")
# 行业 (trade, line of work) of a department: departments of one trade are peers (同行业部门) whose
# inspectors may stand in when a department has too few (003 第十七条). Labels in TRADE_LABELS.
TRADES = (
    "market",
    "drugs",
    "housing",
    "health",
    "emergency",
    "culture",
    "education",
    "ecology",
    "transport",
    "agriculture",
    "natural_resources",
    "water",
    "commerce",
    "human_resources",
    "public_security",
    "fire",
    "tax",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Department(Base):
    __tablename__ = "department"
    __table_args__ = (
        CheckConstraint(_in("level", LEVELS), name="level"),
        CheckConstraint(_in("trade", TRADES), name="trade"),  # NULL passes: no trade, no peers
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    trade: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    parent: Mapped[Department | None] = relationship(remote_side=[id])


class Item(Base):
    """One entry of the 随机抽查事项清单, with its checklist (抽查工作指引)."""

    __tablename__ = "item"
    __table_args__ = (CheckConstraint(_in("kind", ITEM_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="general")
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    # Inspectors drawn for a task with this item must have this specialty (业务专长), if set.
    specialty: Mapped[str | None] = mapped_column(String(50))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    department: Mapped[Department] = relationship()
    checkpoints: Mapped[list[Checkpoint]] = relationship(
        back_populates="item", order_by="Checkpoint.position", cascade="all, delete-orphan"
    )


class Checkpoint(Base):
    __tablename__ = "checkpoint"
    __table_args__ = (UniqueConstraint("item_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(100), default="")  # 现场检查、书面检查…

    item: Mapped[Item] = relationship(back_populates="checkpoints")


class Target(Base):
    """An inspection target (检查对象): a market entity or a product, project or behaviour.

    ``code`` is the directory key: the 统一社会信用代码 for market entities (check digit
    validated), an assigned identifier for the others. ``search_grams`` holds the name's
    overlapping character bigrams so a Chinese fragment can be found through a full-text index.
    """

    __tablename__ = "target"
    __table_args__ = (
        CheckConstraint(_in("kind", TARGET_KINDS), name="kind"),
        CheckConstraint(_in("status", TARGET_STATUSES), name="status"),
        CheckConstraint(f"risk_class IS NULL OR {_in('risk_class', RISK_CLASSES)}", name="risk_class"),
        Index("ix_target_scope", "kind", "status", "district"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    industry: Mapped[str] = mapped_column(String(100), default="")
    district: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    # Personal data of individual operators: never published (DOMAIN.md §9).
    legal_rep: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    risk_class: Mapped[str | None] = mapped_column(String(1))
    risk_assessed_on: Mapped[dt.date | None] = mapped_column(Date)
    last_inspected_on: Mapped[dt.date | None] = mapped_column(Date)
    search_grams: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    tags: Mapped[list[TargetTag]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    history: Mapped[list[InspectionRecord]] = relationship(
        order_by="InspectionRecord.inspected_on.desc()", cascade="all, delete-orphan"
    )

    @property
    def tag_names(self) -> list[str]:
        return sorted(t.tag for t in self.tags)


class TargetTag(Base):
    """Tags build the per-domain sub-directories (分库) of the master directory (总库)."""

    __tablename__ = "target_tag"

    target_id: Mapped[int] = mapped_column(ForeignKey("target.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)


class InspectionRecord(Base):
    """A past inspection of a target: imported history, or a finished Spotcheck inspection."""

    __tablename__ = "inspection_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("target.id", ondelete="CASCADE"), index=True)
    inspected_on: Mapped[dt.date] = mapped_column(Date)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    task_name: Mapped[str] = mapped_column(String(200), default="")
    result: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(16), default="import")


class Inspector(Base):
    """An entry of the 执法检查人员名录库; ``user`` is the login account, if any."""

    __tablename__ = "inspector"
    __table_args__ = (
        CheckConstraint(_in("kind", INSPECTOR_KINDS), name="kind"),
        CheckConstraint(_in("status", INSPECTOR_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    credential_no: Mapped[str] = mapped_column(String(50), default="")
    credential_valid_until: Mapped[dt.date | None] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16), default="general")
    post: Mapped[str] = mapped_column(String(100), default="")
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="active")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    department: Mapped[Department] = relationship()
    conflicts: Mapped[list[Conflict]] = relationship(back_populates="inspector", cascade="all, delete-orphan")

    def credential_valid_on(self, day: dt.date) -> bool:
        return self.credential_valid_until is not None and self.credential_valid_until >= day

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "name": self.name}


class Conflict(Base):
    """A declared conflict of interest (回避): the inspector is never drawn for the target."""

    __tablename__ = "conflict"
    __table_args__ = (UniqueConstraint("inspector_id", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("inspector.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("target.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(300))
    declared_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    inspector: Mapped[Inspector] = relationship(back_populates="conflicts")
    target: Mapped[Target] = relationship()


IMPORT_KINDS = ("departments", "items", "targets", "inspectors", "conflicts", "history")
IMPORT_MODES = ("create", "upsert")  # upsert: rows whose code exists update that row
# validating → invalid | ready (dry run) | applying → done | failed
IMPORT_STATUSES = ("validating", "invalid", "ready", "applying", "done", "failed")


class ImportJob(Base):
    """One bulk import of a CSV/XLSX file (server/directory/importer.py): progress, errors, outcome.

    The file itself is in the blob store under ``file_sha256``, so a clean dry run can be applied
    later from exactly the bytes that were checked. ``errors`` keeps at most a capped number of
    entries; ``error_count`` is the full count.
    """

    __tablename__ = "import_job"
    __table_args__ = (
        CheckConstraint(_in("kind", IMPORT_KINDS), name="kind"),
        CheckConstraint(_in("mode", IMPORT_MODES), name="mode"),
        CheckConstraint(_in("status", IMPORT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16), default="create")
    filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="validating")
    dry_run: Mapped[bool] = mapped_column(default=False)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    created_by: Mapped[User | None] = relationship()
