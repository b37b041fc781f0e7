"""HTTP models of action steps."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from sessions.action_steps.domain import ActionStatus, ActionStep, Progress

EmployeeId = Annotated[str, Field(min_length=1, max_length=128)]
Title = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]


class CommitRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "owner_id": "emp_2",
                    "accountability_partner_id": "emp_3",
                    "title": "Book a skip-level 1:1 with the CFO",
                    "description": "Bring the three numbers we discussed.",
                    "due_on": "2026-09-28",
                }
            ]
        },
    )

    owner_id: EmployeeId | None = Field(
        None, description="Who commits: you (the default); anyone else's id is a 403."
    )
    accountability_partner_id: EmployeeId = Field(description="Another member of the group.")
    title: Title = Field(description="Shown in reminders.")
    description: Text | None = Field(None, description="Stays inside the group.")
    due_on: date = Field(description="The owner's day; due at its end in their time zone.")
    due_by: time | None = Field(
        None,
        description="Due by this local time on that day instead of its end.",
        examples=["17:00"],
    )


class EditRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"due_on": "2026-10-05"}]}
    )

    title: Title | None = None
    description: Text | None = None
    accountability_partner_id: EmployeeId | None = None
    due_on: date | None = None
    due_by: time | None = None


class ProgressRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"progress": "on_track", "note": "Meeting is booked for Thursday."}]
        },
    )

    progress: Progress
    note: Text | None = None


class DropRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"note": "The reorg made this moot."}]},
    )

    note: Text = Field(description="Why it will not be done.")


class CommentRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "How did the 1:1 go?"}]},
    )

    text: Text


class ProgressOut(BaseModel):
    at: datetime
    progress: Progress
    note: str | None


class CommentOut(BaseModel):
    comment_id: str
    author_id: str
    text: str
    at: datetime


class ActionStepOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "act_5c3e",
                    "session_id": "ses_81a0",
                    "group_id": "grp_17",
                    "owner_id": "emp_2",
                    "accountability_partner_id": "emp_3",
                    "title": "Book a skip-level 1:1 with the CFO",
                    "description": "Bring the three numbers we discussed.",
                    "due_on": "2026-09-28",
                    "due_at": "2026-09-28T23:59:59+02:00",
                    "time_zone": "Europe/Berlin",
                    "status": "open",
                    "progress": "on_track",
                    "overdue": False,
                    "progress_log": [],
                    "comments": [],
                    "drop_reason": None,
                    "drop_note": None,
                    "completed_at": None,
                    "version": 1,
                }
            ]
        }
    )

    id: str
    session_id: str
    group_id: str
    owner_id: str
    accountability_partner_id: str
    title: str
    description: str | None
    due_on: str
    due_at: datetime
    time_zone: str
    status: ActionStatus
    progress: Progress
    overdue: bool
    progress_log: list[ProgressOut]
    comments: list[CommentOut]
    drop_reason: str | None
    drop_note: str | None
    completed_at: datetime | None
    version: int

    @classmethod
    def of(cls, step: ActionStep, now: datetime) -> ActionStepOut:
        tz = ZoneInfo(step.time_zone)
        return cls(
            id=step.id,
            session_id=step.session_id,
            group_id=step.group_id,
            owner_id=step.owner_id,
            accountability_partner_id=step.accountability_partner_id,
            title=step.title,
            description=step.description,
            due_on=step.due_on,
            due_at=step.due_at.astimezone(tz),
            time_zone=step.time_zone,
            status=step.status,
            progress=step.progress,
            overdue=step.overdue(now),
            progress_log=[ProgressOut(**e.model_dump()) for e in step.progress_log],
            comments=[CommentOut(**c.model_dump()) for c in step.comments],
            drop_reason=step.drop.reason.value if step.drop else None,
            drop_note=step.drop.note if step.drop else None,
            completed_at=step.completed_at,
            version=step.version,
        )


class ActionStepPage(BaseModel):
    items: list[ActionStepOut]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; null on the last page."
    )
