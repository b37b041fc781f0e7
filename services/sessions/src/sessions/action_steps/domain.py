"""Action steps: what a member commits to in a session, and the peer who holds them to it."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from roundtable_shared.events.catalogue.sessions import (
    ActionCommitted,
    ActionCompleted,
    ActionDropped,
    ActionDropReason,
    ActionUpdated,
)
from roundtable_shared.events.envelope import EventData
from roundtable_shared.http.problems import Conflict, Forbidden
from sessions.common import as_utc, invalid
from sessions.membership.domain import Group

ERASED = "[erased]"


class ActionStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    DROPPED = "dropped"


class Progress(StrEnum):
    NOT_STARTED = "not_started"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BLOCKED = "blocked"


class ProgressEntry(BaseModel):
    at: AwareDatetime
    progress: Progress
    note: str | None = None


class Comment(BaseModel):
    comment_id: str
    author_id: str
    text: str
    at: AwareDatetime


class Drop(BaseModel):
    reason: ActionDropReason
    note: str | None = None
    at: AwareDatetime


class ActionStep(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(alias="_id")
    session_id: str
    group_id: str
    program_id: str
    owner_id: str
    accountability_partner_id: str
    title: str
    description: str | None = None
    due_on: str = Field(description="ISO date, the owner's day")
    due_at: AwareDatetime = Field(description="End of the due day in time_zone, in UTC")
    time_zone: str
    status: ActionStatus = ActionStatus.OPEN
    progress: Progress = Progress.NOT_STARTED
    progress_log: list[ProgressEntry] = Field(default_factory=list)
    comments: list[Comment] = Field(default_factory=list)
    created_by: str
    created_at: AwareDatetime
    completed_at: AwareDatetime | None = None
    drop: Drop | None = None
    request_fingerprint: str | None = None
    version: int = 0

    def document(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude={"version"})

    def overdue(self, now: datetime) -> bool:
        return self.status is ActionStatus.OPEN and self.due_at < now


class HeldSession(BaseModel):
    """What committing needs to know of the session it happens in."""

    session_id: str
    group_id: str
    program_id: str
    held: bool
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    attendee_ids: list[str]
    time_zone: str


END_OF_DAY = time(23, 59, 59)


def due_at(due_on: date, time_zone: str, due_by: time | None = None) -> datetime:
    """The due moment: ``due_by`` (the end of the day by default) on the due day, owner's zone."""
    return as_utc(datetime.combine(due_on, due_by or END_OF_DAY, ZoneInfo(time_zone)))


def may_see(step: ActionStep, session: HeldSession, group: Group, employee_id: str) -> bool:
    """A step is part of its session's conversation: its owner and accountability partner see
    it, and the members who were in the group when the session was held; not who joined later
    (unless the owner makes them the partner)."""
    if not group.is_member(employee_id):
        return False
    return employee_id in (step.owner_id, step.accountability_partner_id) or group.present_during(
        employee_id, session.starts_at, session.ends_at
    )


def require_visible(step: ActionStep, session: HeldSession, group: Group, by: str) -> None:
    group.require_member(by)
    if not may_see(step, session, group, by):
        raise Forbidden("this action step was committed in a session held before you joined")


def _check_people(group: Group, owner_id: str, partner_id: str) -> None:
    if not group.is_member(owner_id):
        raise invalid("owner_id", "the owner must be a member of the group")
    if partner_id == owner_id:
        raise invalid("accountability_partner_id", "the partner must be another member")
    if not group.is_member(partner_id):
        raise invalid(
            "accountability_partner_id", "the accountability partner must be a member of the group"
        )


def _check_due(due: datetime, session: HeldSession) -> None:
    if due < session.starts_at:
        raise invalid("due_on", "an action step cannot be due before the session it was made in")


def commit(
    action_id: str,
    session: HeldSession,
    group: Group,
    by: str,
    *,
    owner_id: str,
    partner_id: str,
    title: str,
    description: str | None,
    due_on: date,
    due_by: time | None = None,
    owner_time_zone: str | None,
    now: datetime,
    fingerprint: str | None,
) -> tuple[ActionStep, list[EventData]]:
    group.require_member(by)
    if owner_id != by:
        # The step is attributed to its owner (reminders, reports, the partner's follow-up):
        # nobody commits words to someone else's name.
        raise Forbidden("only the owner commits an action step: commit your own")
    if not group.present_during(by, session.starts_at, session.ends_at):
        raise Forbidden("action steps are committed in a session you were part of")
    if not session.held:
        raise Conflict("action steps are committed in a held (recorded) session")
    _check_people(group, owner_id, partner_id)
    tz = owner_time_zone or session.time_zone
    due = due_at(due_on, tz, due_by)
    _check_due(due, session)
    step = ActionStep(
        id=action_id,
        session_id=session.session_id,
        group_id=session.group_id,
        program_id=session.program_id,
        owner_id=owner_id,
        accountability_partner_id=partner_id,
        title=title,
        description=description,
        due_on=due_on.isoformat(),
        due_at=due,
        time_zone=tz,
        created_by=by,
        created_at=now,
        request_fingerprint=fingerprint,
    )
    event = ActionCommitted(**_step_fields(step), committed_at=now)
    return step, [event]


def _step_fields(step: ActionStep) -> dict[str, Any]:
    return {
        "action_id": step.id,
        "session_id": step.session_id,
        "group_id": step.group_id,
        "program_id": step.program_id,
        "owner_id": step.owner_id,
        "accountability_partner_id": step.accountability_partner_id,
        "title": step.title,
        "due_at": step.due_at,
    }


def _owner_open(step: ActionStep, by: str) -> None:
    if by != step.owner_id:
        raise Forbidden("only the owner of an action step changes it")
    if step.status is not ActionStatus.OPEN:
        raise Conflict(f"the action step is {step.status.value}")


def edit(
    step: ActionStep,
    session: HeldSession,
    group: Group,
    by: str,
    changes: dict[str, Any],
    now: datetime,
) -> tuple[ActionStep, list[EventData]]:
    """The step with the owner's edits (the same step when there are none); an event when
    what others rely on changed (title, partner, due time)."""
    _owner_open(step, by)
    fields: dict[str, Any] = {}
    if "title" in changes:
        fields["title"] = changes["title"]
    if "description" in changes:
        fields["description"] = changes["description"]
    if "accountability_partner_id" in changes:
        _check_people(group, step.owner_id, changes["accountability_partner_id"])
        fields["accountability_partner_id"] = changes["accountability_partner_id"]
    if changes.get("due_on") is not None or changes.get("due_by") is not None:
        local = step.due_at.astimezone(ZoneInfo(step.time_zone))
        due_on: date = changes.get("due_on") or local.date()
        due = due_at(due_on, step.time_zone, changes.get("due_by") or local.time())
        _check_due(due, session)
        fields["due_on"] = due_on.isoformat()
        fields["due_at"] = due
    if not fields:
        return step, []
    updated = step.model_copy(update=fields)
    events: list[EventData] = []
    if any(k in fields for k in ("title", "accountability_partner_id", "due_at")):
        events.append(ActionUpdated(**_step_fields(updated), updated_at=now))
    return updated, events


def report_progress(
    step: ActionStep, by: str, progress: Progress, note: str | None, now: datetime
) -> ActionStep:
    _owner_open(step, by)
    entry = ProgressEntry(at=now, progress=progress, note=note)
    return step.model_copy(
        update={"progress": progress, "progress_log": [*step.progress_log, entry]}
    )


def complete(step: ActionStep, by: str, now: datetime) -> tuple[ActionStep, list[EventData]]:
    _owner_open(step, by)
    event = ActionCompleted(
        action_id=step.id,
        session_id=step.session_id,
        group_id=step.group_id,
        program_id=step.program_id,
        owner_id=step.owner_id,
        accountability_partner_id=step.accountability_partner_id,
        completed_at=now,
    )
    completed = step.model_copy(update={"status": ActionStatus.COMPLETED, "completed_at": now})
    return completed, [event]


def drop(
    step: ActionStep, reason: ActionDropReason, note: str | None, now: datetime
) -> tuple[ActionStep, list[EventData]]:
    if step.status is not ActionStatus.OPEN:
        raise Conflict(f"the action step is {step.status.value}")
    event = ActionDropped(
        action_id=step.id,
        session_id=step.session_id,
        group_id=step.group_id,
        program_id=step.program_id,
        owner_id=step.owner_id,
        reason=reason,
        dropped_at=now,
    )
    record = Drop(reason=reason, note=note, at=now)
    dropped = step.model_copy(update={"status": ActionStatus.DROPPED, "drop": record})
    return dropped, [event]


def comment(step: ActionStep, by: str, text: str, now: datetime) -> ActionStep:
    if by not in (step.owner_id, step.accountability_partner_id):
        raise Forbidden("only the owner and the accountability partner comment on a step")
    entry = Comment(comment_id=str(uuid.uuid4()), author_id=by, text=text, at=now)
    return step.model_copy(update={"comments": [*step.comments, entry]})


def scrubbed(step: ActionStep, employee_id: str) -> ActionStep | None:
    """Erasure: the owner's words go (title, description, progress notes); anyone's comments go."""
    fields: dict[str, Any] = {}
    if step.owner_id == employee_id:
        if step.title != ERASED or step.description is not None:
            fields["title"] = ERASED
            fields["description"] = None
        if any(e.note is not None for e in step.progress_log):
            fields["progress_log"] = [
                e.model_copy(update={"note": None}) for e in step.progress_log
            ]
        if step.drop is not None and step.drop.note is not None:
            fields["drop"] = step.drop.model_copy(update={"note": None})
    kept = [c for c in step.comments if c.author_id != employee_id]
    if len(kept) != len(step.comments):
        fields["comments"] = kept
    return step.model_copy(update=fields) if fields else None
