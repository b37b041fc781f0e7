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
ERASED = "[erased]"
WORDS = ("title", "location", "join_url", "agenda")
"""A session's fields a member writes: their words, erased with them."""


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
    written_by: dict[str, str] | None = None
    """Who wrote each of the ``WORDS`` set (field -> employee id); None on sessions scheduled
    before it was kept, whose words are taken as their scheduler's."""
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
    session_id: str,
    group: Group,
    by: str,
    plan: Plan,
    now: datetime,
    fingerprint: str | None,
    guide_agenda: str | None = None,
) -> tuple[Session, list[EventData]]:
    """A new session of the group; without an agenda of its own it carries ``guide_agenda``
    (the program's session guide as it is now: a copy, so later edits of the guide leave it)."""
    group.require_member(by)
    group.require_active()
    plan = check_plan(plan, now)
    written = {
        name: by
        for name in WORDS
        # A title left to its default (the group's name) is nobody's words.
        if getattr(plan, name) is not None and not (name == "title" and plan.title == group.name)
    }
    if plan.agenda is None and guide_agenda is not None:
        # After ``written``: the guide's text is nobody's words, so no erasure takes it away.
        plan = plan.model_copy(update={"agenda": guide_agenda})
    session = Session(
        id=session_id,
        group_id=group.group_id,
        program_id=group.program_id,
        invited_ids=group.member_ids[:ROUNDTABLE_MAX],
        scheduled_by=by,
        written_by=written,
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
        title_by=written.get("title"),
        join_url_by=written.get("join_url"),
        scheduled_by=by,
    )
    return session, [event]


def authors(session: Session) -> dict[str, str]:
    """Who wrote each of the session's words."""
    if session.written_by is not None:
        return dict(session.written_by)
    by = session.scheduled_by
    return {n: by for n in WORDS if by is not None and getattr(session, n) is not None}


def _authors_after(session: Session, plan: Plan, by: str) -> dict[str, str]:
    written = authors(session)
    for name in WORDS:
        new = getattr(plan, name)
        if new == getattr(session, name):
            continue
        if new is None:
            written.pop(name, None)
        else:
            written[name] = by
    return written


def _require_scheduled(session: Session) -> None:
    if session.status is not SessionStatus.SCHEDULED:
        raise Conflict(f"the session is {session.status.value}; only a scheduled one can change")


def reschedule(
    session: Session, group: Group, by: str, plan: Plan, now: datetime
) -> tuple[Session, list[EventData]]:
    """The session with the new plan, today's members invited, and the event telling it."""
    group.require_member(by)
    group.require_active()
    _require_scheduled(session)
    plan = check_plan(plan, now)
    invited = group.member_ids[:ROUNDTABLE_MAX]
    written = _authors_after(session, plan, by)
    moved = session.model_copy(
        update={**plan.model_dump(), "invited_ids": invited, "written_by": written}
    )
    return moved, [_rescheduled(session, plan, invited, written)]


def _rescheduled(
    session: Session, plan: Plan, invited: list[str], written: dict[str, str]
) -> SessionRescheduled:
    """The event telling the session's plan, its invitees and who wrote its title and link
    (``previous_starts_at``: the start it had before this change)."""
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
        title_by=written.get("title"),
        join_url_by=written.get("join_url"),
        previous_starts_at=session.starts_at,
    )


def reinvite(
    session: Session, group: Group, now: datetime
) -> tuple[Session, list[EventData]] | None:
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
    reinvited = session.model_copy(update={"invited_ids": invited})
    # The catalogue's way of telling reminders "same session, new people": a rescheduled event
    # carries the whole schedule and its attendees; the start does not move.
    return reinvited, [_unmoved(reinvited)]


def _unmoved(session: Session) -> SessionRescheduled:
    """The whole schedule of a session whose start does not move (new people, erased words)."""
    return _rescheduled(session, session.plan(), session.invited_ids, authors(session))


def erase_words(
    session: Session, employee_id: str, now: datetime
) -> tuple[Session, list[EventData]] | None:
    """The session without what this person wrote (title, place, link, agenda, cancellation
    note), or None when nothing of theirs is in it. An upcoming session's new schedule goes to
    reminders, whose copy held the words."""
    written = authors(session)
    mine = [name for name, by in written.items() if by == employee_id]
    cancellation = session.cancellation
    note_mine = (
        cancellation is not None
        and cancellation.by == employee_id
        and cancellation.note is not None
    )
    if not mine and not note_mine:
        return None
    fields: dict[str, Any] = {name: ERASED if name == "title" else None for name in mine}
    fields["written_by"] = {n: by for n, by in written.items() if by != employee_id}
    if cancellation is not None and note_mine:
        fields["cancellation"] = cancellation.model_copy(update={"note": None})
    erased = session.model_copy(update=fields)
    if session.status is not SessionStatus.SCHEDULED or session.starts_at <= now:
        return erased, []
    return erased, [_unmoved(erased)]


def cancel(
    session: Session,
    reason: SessionCancelReason,
    by: str | None,
    note: str | None,
    now: datetime,
) -> tuple[Session, list[EventData]]:
    _require_scheduled(session)
    cancellation = Cancellation(reason=reason, note=note, by=by, at=now)
    cancelled = session.model_copy(
        update={"status": SessionStatus.CANCELLED, "cancellation": cancellation}
    )
    event = SessionCancelled(
        session_id=session.id,
        group_id=session.group_id,
        program_id=session.program_id,
        starts_at=session.starts_at,
        reason=reason,
        cancelled_by=by,
        cancelled_at=now,
    )
    return cancelled, [event]
