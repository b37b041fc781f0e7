"""Sessions as a group plans them: schedule, reschedule, cancel. Pure rules and the events raised."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from roundtable_shared.events.catalogue.enrollment import ROUNDTABLE_MAX
from roundtable_shared.events.catalogue.sessions import (
    SessionCancelled,
    SessionCancelReason,
    SessionRescheduled,
    SessionScheduled,
)
from roundtable_shared.events.envelope import EventData
from roundtable_shared.http.problems import Conflict
from sessions.common import as_utc, invalid, zone
from sessions.membership.domain import Group

MAX_DURATION = timedelta(hours=8)


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    HELD = "held"


class Cancellation(BaseModel):
    reason: SessionCancelReason
    note: str | None = None
    by: str | None = None
    at: AwareDatetime


class Plan(BaseModel):
    """What a member decides when planning a session; validated by ``check_plan``."""

    title: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    time_zone: str
    location: str | None = None
    join_url: str | None = None
    agenda: str | None = None


class Session(BaseModel):
    """A session's schedule as stored (the recorded conversation lives beside it, see conversations)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(alias="_id")
    group_id: str
    program_id: str
    title: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    time_zone: str
    location: str | None = None
    join_url: str | None = None
    agenda: str | None = None
    status: SessionStatus = SessionStatus.SCHEDULED
    invited_ids: list[str]
    scheduled_by: str | None = None
    scheduled_at: AwareDatetime
    cancellation: Cancellation | None = None
    request_fingerprint: str | None = None
    version: int = 0

    def document(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude={"version"})

    def plan(self) -> Plan:
        """The session's plan as it stands."""
        return Plan.model_validate(self.model_dump(include=set(Plan.model_fields)))


def content_visible(session: Session, group: Group, employee_id: str) -> bool:
    """Whether a member sees what the group wrote about a session (agenda, place, link, a
    cancellation's note) or only that it was there (its time, title and status): those who were
    members at some moment of its planned time see it; who joined after it, only that it was.
    A session still to come is seen by every current member (they are members during it)."""
    return group.present_during(employee_id, session.starts_at, session.ends_at)


def changed(session: Session, changes: dict[str, Any]) -> dict[str, Any]:
    """The session's document as a write of ``changes`` (``$set`` of top-level fields only)
    leaves it, but its version."""
    if not changes.keys() <= {"$set"} or any("." in k for k in changes.get("$set", {})):
        raise ValueError(f"not a $set of whole fields: {sorted(changes)}")
    return {**session.document(), **changes.get("$set", {})}


def after_change(session: Session, changes: dict[str, Any], version: int) -> Session:
    """The session as a successful write of ``changes`` (``$set`` only) left it."""
    return Session.model_validate({**changed(session, changes), "version": version})


def check_plan(plan: Plan, now: datetime) -> Plan:
    zone(plan.time_zone)
    if plan.ends_at <= plan.starts_at:
        raise invalid("ends_at", "the session must end after it starts")
    if plan.ends_at - plan.starts_at > MAX_DURATION:
        raise invalid("ends_at", "a session lasts at most 8 hours")
    if plan.starts_at <= now:
        raise invalid("starts_at", "a session cannot be scheduled in the past")
    return plan.model_copy(
        update={"starts_at": as_utc(plan.starts_at), "ends_at": as_utc(plan.ends_at)}
    )


def schedule(
    session_id: str, group: Group, by: str, plan: Plan, now: datetime, fingerprint: str | None
) -> tuple[Session, list[EventData]]:
    group.require_member(by)
    group.require_active()
    plan = check_plan(plan, now)
    session = Session(
        id=session_id,
        group_id=group.group_id,
        program_id=group.program_id,
        invited_ids=group.member_ids[:ROUNDTABLE_MAX],
        scheduled_by=by,
        scheduled_at=now,
        request_fingerprint=fingerprint,
        **plan.model_dump(),
    )
    event = SessionScheduled(
        session_id=session.id,
        group_id=session.group_id,
        program_id=session.program_id,
        title=session.title,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        time_zone=session.time_zone,
        attendee_ids=session.invited_ids,
        join_url=session.join_url,
        scheduled_by=by,
    )
    return session, [event]


def _require_scheduled(session: Session) -> None:
    if session.status is not SessionStatus.SCHEDULED:
        raise Conflict(f"the session is {session.status.value}; only a scheduled one can change")


def reschedule(
    session: Session, group: Group, by: str, plan: Plan, now: datetime
) -> tuple[dict[str, Any], list[EventData]]:
    group.require_member(by)
    group.require_active()
    _require_scheduled(session)
    plan = check_plan(plan, now)
    invited = group.member_ids[:ROUNDTABLE_MAX]
    changes = {"$set": {**plan.model_dump(), "invited_ids": invited}}
    return changes, [_rescheduled(session, plan, invited)]


def _rescheduled(session: Session, plan: Plan, invited: list[str]) -> SessionRescheduled:
    """The event telling the session's new plan and invitees (``previous_starts_at``: the start
    it had before this change)."""
    return SessionRescheduled(
        session_id=session.id,
        group_id=session.group_id,
        program_id=session.program_id,
        title=plan.title,
        starts_at=plan.starts_at,
        ends_at=plan.ends_at,
        time_zone=plan.time_zone,
        attendee_ids=invited,
        join_url=plan.join_url,
        previous_starts_at=session.starts_at,
    )


def reinvite(
    session: Session, group: Group, now: datetime
) -> tuple[dict[str, Any], list[EventData]] | None:
    """A future session's invitees follow the group: a joiner is invited, a leaver is not.

    None when there is nothing to change: the session was held, cancelled or has started, or its
    invitees already are the group's members (so a repeated or late event changes nothing), or
    nobody is left to invite (the group will be dissolved; its dissolution cancels the session).
    """
    if session.status is not SessionStatus.SCHEDULED or session.starts_at <= now:
        return None
    invited = group.member_ids[:ROUNDTABLE_MAX]
    if not invited or invited == session.invited_ids:
        return None
    changes = {"$set": {"invited_ids": invited}}
    # The catalogue's way of telling reminders "same session, new people": a rescheduled event
    # carries the whole schedule and its attendees; the start does not move.
    return changes, [_rescheduled(session, session.plan(), invited)]


def cancel(
    session: Session,
    reason: SessionCancelReason,
    by: str | None,
    note: str | None,
    now: datetime,
) -> tuple[dict[str, Any], list[EventData]]:
    _require_scheduled(session)
    cancellation = Cancellation(reason=reason, note=note, by=by, at=now)
    changes = {
        "$set": {
            "status": SessionStatus.CANCELLED.value,
            "cancellation": cancellation.model_dump(),
        }
    }
    event = SessionCancelled(
        session_id=session.id,
        group_id=session.group_id,
        program_id=session.program_id,
        starts_at=session.starts_at,
        reason=reason,
        cancelled_by=by,
        cancelled_at=now,
    )
    return changes, [event]
