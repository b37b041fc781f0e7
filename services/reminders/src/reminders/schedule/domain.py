"""The reminder schedule's pure rules: which reminders an event plans, their ids, retry timing.

No I/O here: every function takes the time it needs as an argument, so tests control the clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from roundtable_shared.events.catalogue.enrollment import (
    Cadence,
    GroupFormed,
    ParticipantEnrolled,
    ParticipantResumed,
    ReminderSettings,
)
from roundtable_shared.events.catalogue.reminders import ReminderKind
from roundtable_shared.events.catalogue.sessions import (
    ActionCommitted,
    ActionCompleted,
    ActionUpdated,
    SessionCancelled,
    SessionCompleted,
    SessionRescheduled,
    SessionScheduled,
)


class Status(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    HELD = "held"
    """Not sent while the recipient's participation is paused; released when they resume."""
    BUNDLED = "bundled"
    """Fell due for a person who takes a daily digest: waits to go out in the next one."""


OPEN_STATUSES = (Status.PENDING, Status.CLAIMED, Status.HELD, Status.BUNDLED)
"""What is still to be sent, so what a cancellation stops."""


class NoticeKind(StrEnum):
    """Messages that are not reminders of their own. They are stored, held, retried and
    delivered like reminders, but publish no ``reminder.sent``/``reminder.failed``."""

    DIGEST = "digest"
    """One person's daily message bundling the reminders that fell due since the last one.

    A sponsor's "reminders sent" counts reminders, not envelopes: each reminder a digest carries
    publishes its own ``reminder.sent`` (with its own kind) when the digest reaches a channel, and
    the digest itself publishes nothing, so bundling changes how many emails a person gets but
    not how many reminders the program counts."""

    BROADCAST = "broadcast"
    """A program admin's message to a program's participants (``reminders.broadcasts``): one per
    person, delivered with their preferences and quiet hours, counted by no sponsor figure."""


Kind = ReminderKind | NoticeKind


def kind_of(value: str) -> Kind:
    if value in NoticeKind.__members__.values():
        return NoticeKind(value)
    return ReminderKind(value)


CADENCE_DAYS = {Cadence.WEEKLY: 7, Cadence.BIWEEKLY: 14, Cadence.MONTHLY: 30}


@dataclass(frozen=True)
class ProgramRules:
    """When a program's participants are reminded; defaults for a program we have not seen."""

    before_session_minutes: tuple[int, ...] = (1440, 60)
    before_action_due_hours: tuple[int, ...] = (48,)
    remind_on_due_day_hours_before: int = 8
    """"On the due date": due times are the end of the due day, so this is that day's morning."""
    overdue_days: int = 2
    notify_partner_when_overdue: bool = True
    record_actions_after_hours: int = 24
    cadence_days: int = 14
    grace_days: int = 3

    @classmethod
    def from_program(cls, settings: ReminderSettings, cadence: Cadence) -> ProgramRules:
        return cls(
            before_session_minutes=tuple(settings.before_session_minutes),
            before_action_due_hours=tuple(settings.before_action_due_hours),
            notify_partner_when_overdue=settings.notify_partner_when_overdue,
            overdue_days=settings.overdue_after_days,
            cadence_days=CADENCE_DAYS[cadence],
        )


@dataclass(frozen=True)
class Plan:
    """A reminder to be stored: one recipient, one time, one kind, about one thing."""

    key: str
    kind: Kind
    recipient_id: str
    program_id: str
    due_at: datetime
    session_id: str | None = None
    action_id: str | None = None
    group_id: str | None = None
    source_version: int = 1
    """Version of the session or action the plan was made from; older plans are superseded."""
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def reminder_id(self) -> str:
        return reminder_id(self.key)


def reminder_id(key: str) -> str:
    """Deterministic: replaying an event plans the same ids, so storing them twice is a no-op."""
    return "rem_" + hashlib.sha256(key.encode()).hexdigest()[:24]


ADVANCE_KINDS = (ReminderKind.SESSION_UPCOMING, ReminderKind.ACTION_DUE)
"""Reminders ahead of a moment (a session's start, an action step's due time): once their time
has passed, a later one says it better."""
ADVANCE_GRACE = timedelta(minutes=1)


def worth_sending(kind: Kind, due_at: datetime, now: datetime, stale_after: timedelta) -> bool:
    """A replayed old event must not spam people with the past, and a session planned in 3 hours
    gets its 1-hour reminder but not a late "24 hours before"."""
    return due_at >= now - stale_after and (
        kind not in ADVANCE_KINDS or due_at >= now - ADVANCE_GRACE
    )


def fresh(plans: Iterable[Plan], now: datetime, stale_after: timedelta) -> list[Plan]:
    """Plans still worth sending when they are planned (see ``worth_sending``), with one rule for
    a session's reminders and an action step's: when every advance reminder of a person about one
    thing is already past (a session planned 30 minutes ahead, a step committed on the afternoon
    it is due), the latest of them goes at once, as long as the moment it announces is still
    ahead; otherwise a later one says it better and the passed ones are dropped."""
    plans = list(plans)
    kept = {p.reminder_id for p in plans if worth_sending(p.kind, p.due_at, now, stale_after)}
    covered = {_subject(p) for p in plans if p.kind in ADVANCE_KINDS and p.reminder_id in kept}
    last: dict[tuple[Kind, str, str | None, str | None], Plan] = {}
    for plan in plans:
        subject = _subject(plan)
        if plan.kind not in ADVANCE_KINDS or plan.reminder_id in kept or subject in covered:
            continue
        moment = moment_of(plan)
        if moment is None or moment <= now or plan.due_at < now - stale_after:
            continue
        if subject not in last or plan.due_at > last[subject].due_at:
            last[subject] = plan
    kept |= {plan.reminder_id for plan in last.values()}
    return [plan for plan in plans if plan.reminder_id in kept]


def moment_of(plan: Plan) -> datetime | None:
    """What an advance reminder announces: the session's start, the action step's due time."""
    value = plan.context.get(
        "starts_at" if plan.kind is ReminderKind.SESSION_UPCOMING else "due_at"
    )
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _subject(plan: Plan) -> tuple[Kind, str, str | None, str | None]:
    return (plan.kind, plan.recipient_id, plan.session_id, plan.action_id)


def released_at(
    kind: Kind, due_at: datetime, now: datetime, stale_after: timedelta
) -> datetime | None:
    """When a reminder held during a pause goes out once the person resumes: at its own time if
    that is still ahead, at once if it is still worth saying, never if its moment has passed
    (the welcome-back message stands for what they missed)."""
    if due_at >= now:
        return due_at
    return now if worth_sending(kind, due_at, now, stale_after) else None


def retry_delay(attempts: int, base_seconds: float, max_seconds: float) -> timedelta:
    """Exponential backoff: base, 2*base, 4*base... capped. ``attempts`` made so far (>= 1)."""
    exponent = min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(base_seconds * 2**exponent, max_seconds))


# --- rules: events -> plans ----------------------------------------------------------------------


def welcome(data: ParticipantEnrolled) -> list[Plan]:
    return [
        Plan(
            key=f"welcome:{data.participant_id}",
            kind=ReminderKind.WELCOME,
            recipient_id=data.employee_id,
            program_id=data.program_id,
            due_at=data.enrolled_at,
            context={"participant_id": data.participant_id},
        )
    ]


def group_formed(data: GroupFormed, rules: ProgramRules) -> list[Plan]:
    member_ids = [member.employee_id for member in data.members]
    plans = []
    for member in data.members:
        others = [m for m in member_ids if m != member.employee_id]
        plans.append(
            Plan(
                key=f"intro:{data.group_id}:{member.employee_id}",
                kind=ReminderKind.GROUP_INTRODUCTION,
                recipient_id=member.employee_id,
                program_id=data.program_id,
                due_at=data.formed_at,
                group_id=data.group_id,
                context={"group_name": data.name, "peer_ids": others},
            )
        )
    plans += nudges(data.group_id, data.program_id, member_ids, data.formed_at, rules, "formed")
    return plans


def nudges(
    group_id: str,
    program_id: str,
    member_ids: Sequence[str],
    since: datetime,
    rules: ProgramRules,
    cause: str,
) -> list[Plan]:
    """A nudge to schedule the next session, if none is scheduled within cadence plus grace."""
    due = since + timedelta(days=rules.cadence_days + rules.grace_days)
    return [
        Plan(
            key=f"nudge:{group_id}:{cause}:{since.isoformat()}:{member_id}",
            kind=ReminderKind.SCHEDULE_NEXT_SESSION,
            recipient_id=member_id,
            program_id=program_id,
            due_at=due,
            group_id=group_id,
            context={"cadence_days": rules.cadence_days},
        )
        for member_id in member_ids
    ]


def session_upcoming(
    data: SessionScheduled | SessionRescheduled, version: int, rules: ProgramRules
) -> list[Plan]:
    """Each attendee, ``before_session_minutes`` before the start (all offsets: 24 h and 1 h)."""
    context = {
        "title": data.title,
        "starts_at": data.starts_at.isoformat(),
        "time_zone": data.time_zone,
        "join_url": data.join_url,
    }
    return [
        Plan(
            key=f"session:{data.session_id}:v{version}:{attendee}:{minutes}",
            kind=ReminderKind.SESSION_UPCOMING,
            recipient_id=attendee,
            program_id=data.program_id,
            due_at=data.starts_at - timedelta(minutes=minutes),
            session_id=data.session_id,
            group_id=data.group_id,
            source_version=version,
            context={**context, "minutes_before": minutes},
        )
        for attendee in data.attendee_ids
        for minutes in rules.before_session_minutes
    ]


def session_cancelled(
    data: SessionCancelled, attendee_ids: Sequence[str], title: str | None
) -> list[Plan]:
    return [
        Plan(
            key=f"session-cancelled:{data.session_id}:{attendee}",
            kind=ReminderKind.SESSION_CANCELLED,
            recipient_id=attendee,
            program_id=data.program_id,
            due_at=data.cancelled_at,
            session_id=data.session_id,
            group_id=data.group_id,
            context={"title": title, "starts_at": data.starts_at.isoformat()},
        )
        for attendee in attendee_ids
    ]


def session_completed(data: SessionCompleted, rules: ProgramRules) -> list[Plan]:
    """A prompt to record action steps a day after, cancelled by the attendee's first step; and
    the next nudge, in case the group does not schedule again."""
    prompts = [
        Plan(
            key=f"record:{data.session_id}:{attendee}",
            kind=ReminderKind.RECORD_ACTION_STEPS,
            recipient_id=attendee,
            program_id=data.program_id,
            due_at=data.ended_at + timedelta(hours=rules.record_actions_after_hours),
            session_id=data.session_id,
            group_id=data.group_id,
        )
        for attendee in data.attendee_ids
    ]
    return prompts + nudges(
        data.group_id,
        data.program_id,
        data.attendee_ids,
        data.ended_at,
        rules,
        f"after:{data.session_id}",
    )


def action_steps(
    data: ActionCommitted | ActionUpdated, version: int, rules: ProgramRules
) -> list[Plan]:
    """The owner before the due time and on the due day; overdue: the owner and the partner."""
    base: dict[str, Any] = {
        "program_id": data.program_id,
        "action_id": data.action_id,
        "session_id": data.session_id,
        "group_id": data.group_id,
        "source_version": version,
    }
    context = {
        "title": data.title,
        "due_at": data.due_at.isoformat(),
        "owner_id": data.owner_id,
        "partner_id": data.accountability_partner_id,
    }
    prefix = f"action:{data.action_id}:v{version}"
    offsets = sorted({*rules.before_action_due_hours, rules.remind_on_due_day_hours_before})
    plans = [
        Plan(
            key=f"{prefix}:due:{hours}",
            kind=ReminderKind.ACTION_DUE,
            recipient_id=data.owner_id,
            due_at=data.due_at - timedelta(hours=hours),
            context={**context, "hours_before": hours},
            **base,
        )
        for hours in offsets
    ]
    overdue_at = data.due_at + timedelta(days=rules.overdue_days)
    plans.append(
        Plan(
            key=f"{prefix}:overdue-owner",
            kind=ReminderKind.ACTION_OVERDUE_OWNER,
            recipient_id=data.owner_id,
            due_at=overdue_at,
            context={**context, "overdue_days": rules.overdue_days},
            **base,
        )
    )
    if rules.notify_partner_when_overdue:
        plans.append(
            Plan(
                key=f"{prefix}:overdue-partner",
                kind=ReminderKind.ACTION_OVERDUE,
                recipient_id=data.accountability_partner_id,
                due_at=overdue_at,
                context={**context, "overdue_days": rules.overdue_days},
                **base,
            )
        )
    return plans


def welcome_back(data: ParticipantResumed, version: int) -> list[Plan]:
    return [
        Plan(
            key=f"welcome-back:{data.participant_id}:v{version}",
            kind=ReminderKind.WELCOME_BACK,
            recipient_id=data.employee_id,
            program_id=data.program_id,
            due_at=data.resumed_at,
            context={"participant_id": data.participant_id},
        )
    ]


def partner_thanks(data: ActionCompleted, title: str | None) -> list[Plan]:
    """Thanks to the accountability partner. It names the owner and the step's title and nothing
    else: what the owner wrote about the step stays between them and the sessions service."""
    return [
        Plan(
            key=f"thanks:{data.action_id}",
            kind=ReminderKind.PARTNER_THANKS,
            recipient_id=data.accountability_partner_id,
            program_id=data.program_id,
            due_at=data.completed_at,
            action_id=data.action_id,
            session_id=data.session_id,
            group_id=data.group_id,
            context={"owner_id": data.owner_id, "title": title},
        )
    ]


def daily_digest(recipient_id: str, program_id: str, at: datetime) -> Plan:
    """The digest of ``recipient_id`` at ``at``: one per person and time, whoever plans it first
    (its id comes from both), so every reminder falling due before ``at`` joins the same one."""
    return Plan(
        key=f"digest:{recipient_id}:{at.astimezone(UTC).isoformat()}",
        kind=NoticeKind.DIGEST,
        recipient_id=recipient_id,
        program_id=program_id,
        due_at=at,
    )
