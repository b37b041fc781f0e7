"""HTTP models of scheduling: what a member sends to plan a session, and what they get back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from roundtable_shared.events.catalogue.sessions import SessionCancelReason
from sessions.scheduling.domain import Session, SessionStatus

TimeZone = Annotated[
    str,
    Field(min_length=1, max_length=64, description="IANA time zone", examples=["Europe/Berlin"]),
]
Url = Annotated[str, Field(max_length=2000, pattern=r"^https?://\S+$")]


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Roundtable 3: session 2",
                    "starts_at": "2026-09-14T16:00:00+02:00",
                    "time_zone": "Europe/Berlin",
                    "duration_minutes": 90,
                    "join_url": "https://meet.example.com/abc-defg",
                    "agenda": "Two hot seats; check-in on last session's action steps.",
                }
            ]
        },
    )

    title: str | None = Field(
        None, min_length=1, max_length=200, description="Defaults to the group's name."
    )
    starts_at: AwareDatetime = Field(description="RFC 3339 with offset.")
    time_zone: TimeZone
    duration_minutes: int | None = Field(None, ge=1, le=480, description="Or give ends_at.")
    ends_at: AwareDatetime | None = Field(None, description="Or give duration_minutes.")
    location: str | None = Field(None, max_length=500, examples=["Room 4.12"])
    join_url: Url | None = None
    agenda: str | None = Field(None, max_length=4000)

    @model_validator(mode="after")
    def _one_end(self) -> Self:
        if (self.duration_minutes is None) == (self.ends_at is None):
            raise ValueError("give exactly one of duration_minutes and ends_at")
        return self


class RescheduleRequest(BaseModel):
    """Only the fields to change; a new start keeps the duration unless an end is given."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"starts_at": "2026-09-21T16:00:00+02:00", "location": "Room 2.01"}]
        },
    )

    title: str | None = Field(None, min_length=1, max_length=200)
    starts_at: AwareDatetime | None = None
    time_zone: TimeZone | None = None
    duration_minutes: int | None = Field(None, ge=1, le=480)
    ends_at: AwareDatetime | None = None
    location: str | None = Field(None, max_length=500)
    join_url: Url | None = None
    agenda: str | None = Field(None, max_length=4000)

    @model_validator(mode="after")
    def _one_end(self) -> Self:
        if self.duration_minutes is not None and self.ends_at is not None:
            raise ValueError("give at most one of duration_minutes and ends_at")
        return self


class CancelRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"note": "Half the group is at the offsite."}]},
    )

    note: str | None = Field(None, max_length=1000, description="Why, for the group.")


class CancellationOut(BaseModel):
    reason: SessionCancelReason
    note: str | None
    cancelled_by: str | None
    cancelled_at: datetime


class SessionOut(BaseModel):
    """A session. Program admins who are not members get metadata only (content fields null)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5b0e0c1e-7d43-5f3e-9a55-0d7b3f3f0a11",
                    "group_id": "grp_17",
                    "program_id": "prg_2026_leadforward",
                    "title": "Roundtable 3: session 2",
                    "status": "scheduled",
                    "starts_at": "2026-09-14T16:00:00+02:00",
                    "ends_at": "2026-09-14T17:30:00+02:00",
                    "time_zone": "Europe/Berlin",
                    "location": None,
                    "join_url": "https://meet.example.com/abc-defg",
                    "agenda": "Two hot seats.",
                    "invited_ids": ["emp_1", "emp_2", "emp_3"],
                    "scheduled_by": "emp_1",
                    "cancellation": None,
                    "attendee_ids": None,
                    "action_step_count": None,
                    "version": 1,
                }
            ]
        }
    )

    id: str
    group_id: str
    program_id: str
    title: str
    status: SessionStatus
    starts_at: datetime = Field(description="In the session's time zone.")
    ends_at: datetime
    time_zone: str
    location: str | None
    join_url: str | None
    agenda: str | None
    invited_ids: list[str]
    scheduled_by: str | None
    cancellation: CancellationOut | None
    attendee_ids: list[str] | None = Field(None, description="Who attended, once held.")
    action_step_count: int | None = Field(None, description="Action steps committed, once held.")
    version: int

    @classmethod
    def of(
        cls,
        session: Session,
        *,
        member: bool,
        attendee_ids: list[str] | None = None,
        action_step_count: int | None = None,
    ) -> SessionOut:
        tz = ZoneInfo(session.time_zone)
        c = session.cancellation
        return cls(
            id=session.id,
            group_id=session.group_id,
            program_id=session.program_id,
            title=session.title,
            status=session.status,
            starts_at=session.starts_at.astimezone(tz),
            ends_at=session.ends_at.astimezone(tz),
            time_zone=session.time_zone,
            location=session.location if member else None,
            join_url=session.join_url if member else None,
            agenda=session.agenda if member else None,
            invited_ids=session.invited_ids,
            scheduled_by=session.scheduled_by,
            cancellation=(
                CancellationOut(
                    reason=c.reason,
                    note=c.note if member else None,
                    cancelled_by=c.by,
                    cancelled_at=c.at.astimezone(tz),
                )
                if c
                else None
            ),
            attendee_ids=attendee_ids,
            action_step_count=action_step_count,
            version=session.version,
        )


class SessionPage(BaseModel):
    items: list[SessionOut]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; null on the last page."
    )


class CalendarFeedOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "http://127.0.0.1:8002/v1/calendar-feeds/Zp3...Qk.ics",
                    "note": "Keep it private: anyone with this URL sees your session times.",
                }
            ]
        }
    )

    url: str
    note: str = "Keep it private: anyone with this URL sees your session times."
