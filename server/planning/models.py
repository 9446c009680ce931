"""The annual plan (年度抽查计划) and its tasks, with every column of the seed tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, utcnow
from server.directory.models import Department, Item

TASK_TYPES = ("directed", "undirected")  # 定向 / 不定向
PLAN_STATUSES = ("draft", "published", "superseded")
# 抽查检查模式: who draws and who inspects.
MODES = {
    "county_county": "县抽县查",
    "city_county": "市抽县查",
    "city_city": "市抽市查",
    "province_county": "省抽县查",
    "double_random": "双随机抽查",
}


class Plan(Base):
    """One department's plan for one year; a published plan is changed by a new version."""

    __tablename__ = "plan"
    __table_args__ = (
        UniqueConstraint("department_id", "year", "version"),
        CheckConstraint("status IN ('draft', 'published', 'superseded')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    title: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    document_no: Mapped[str] = mapped_column(String(100), default="")  # e.g. 高市市监办发〔2025〕9号
    completion_date: Mapped[dt.date | None] = mapped_column(Date)  # all tasks done by (001 §三: 12-15)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    department: Mapped[Department] = relationship()
    tasks: Mapped[list[Task]] = relationship(
        back_populates="plan", order_by="Task.seq", cascade="all, delete-orphan"
    )


class Task(Base):
    """A row of the plan table.

    Ratios are integers in basis points (1 bp = 0.01 %) so counts are exact: count =
    ceil(pool × bp / 10000). ``class_ratios_bp`` maps risk class → bp; ``fixed_count`` replaces
    ratios for tasks like "6家". The texts as written in the plan are kept beside the parsed values.
    """

    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("plan_id", "seq"),
        CheckConstraint("task_type IN ('directed', 'undirected')", name="task_type"),
        CheckConstraint("team_size >= 2", name="team_size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int]  # 序号
    name: Mapped[str] = mapped_column(String(200))
    task_type: Mapped[str] = mapped_column(String(16))
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # filter over the directory
    scope_text: Mapped[str] = mapped_column(String(300), default="")
    items_text: Mapped[str] = mapped_column(Text, default="")  # 抽查事项, as written (the links are parsed)
    ratio_text: Mapped[str] = mapped_column(String(100), default="")
    base_ratio_bp: Mapped[int | None]
    class_ratios_bp: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    fixed_count: Mapped[int | None]
    min_one: Mapped[bool] = mapped_column(default=True)
    frequency_per_year: Mapped[int] = mapped_column(default=1)
    risk_text: Mapped[str] = mapped_column(Text, default="")  # 信用风险分类管理, as written
    use_risk_classes: Mapped[bool] = mapped_column(default=True)
    window_start: Mapped[dt.date]
    window_end: Mapped[dt.date]
    window_text: Mapped[str] = mapped_column(String(50), default="")
    initiating_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    inspection_body: Mapped[str] = mapped_column(String(200), default="")  # 检查主体
    mode: Mapped[str] = mapped_column(String(32), default="county_county")
    mode_text: Mapped[str] = mapped_column(String(200), default="")
    team_size: Mapped[int] = mapped_column(default=2)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    plan: Mapped[Plan] = relationship(back_populates="tasks")
    initiating_department: Mapped[Department] = relationship()
    item_links: Mapped[list[TaskItem]] = relationship(
        order_by="TaskItem.position", cascade="all, delete-orphan", lazy="selectin"
    )
    cooperating: Mapped[list[TaskCooperation]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def items(self) -> list[Item]:
        return [link.item for link in self.item_links]

    @property
    def is_joint(self) -> bool:
        return bool(self.cooperating)


class TaskItem(Base):
    """The task's items in 1+X order: position 0 is the main item."""

    __tablename__ = "task_item"

    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)

    item: Mapped[Item] = relationship(lazy="joined")


class TaskCooperation(Base):
    """A cooperating department (配合部门) of a joint task."""

    __tablename__ = "task_cooperation"

    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), primary_key=True)

    department: Mapped[Department] = relationship(lazy="joined")
