"""Tasks, their history, and the ledgers that make reminders and briefings happen once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base
from bot.db.types import UTCDateTime

OPEN = "open"
DONE = "done"


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    assignee: Mapped[str | None] = mapped_column(String(64), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    has_time: Mapped[bool] = mapped_column(Boolean, default=False)
    repeat_rule: Mapped[str | None] = mapped_column(String(200))
    # naive local wall-clock of the first occurrence: repeats are computed from it in TIMEZONE
    repeat_anchor: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default=OPEN, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # raised by every change (TaskService.touch): the calendar export's SEQUENCE
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


# the open tasks in list order (undated last): a page of /tasks is read off it, nothing sorted
Index("ix_tasks_page", Task.status, Task.due_at, Task.id)


class TaskCompletion(Base):
    """One row each time a task is marked done: a repeating task keeps its history here."""

    __tablename__ = "task_completions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(Text)
    assignee: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ReminderLog(Base):
    """A reminder rung for one due instant of one task: queued in the outbox (or skipped), once.

    Written in the transaction that queues the message; whether it reached Telegram is the
    outbox row's status, not this one's.
    """

    __tablename__ = "reminder_log"
    __table_args__ = (UniqueConstraint("task_id", "due_at", "rung"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rung: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))  # queued | skipped
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class BriefingLog(Base):
    """One row per local day whose briefing was queued in the outbox (`sent_at`: queued at)."""

    __tablename__ = "briefing_log"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(Boolean, default=False)


class Setting(Base):
    """Settings the owner changed at run time (/settings), overriding the environment."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
