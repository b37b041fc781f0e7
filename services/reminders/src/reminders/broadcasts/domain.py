"""A program admin's broadcast: who it reaches and the messages it plans (pure: no I/O).

A broadcast is one message to the participants of a program, or to those of one status, planned
as one notice per person (``NoticeKind.BROADCAST``) that reminders' normal delivery sends with the
person's channels, quiet hours, snooze, daily digest and pause. Its id comes from the request's
Idempotency-Key, and each notice's id from the broadcast's id and the person: a retried request,
or a crash half way through planning, plans nobody twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from reminders.schedule.domain import NoticeKind, Plan


class AudienceStatus(StrEnum):
    """Which of a program's participants a broadcast reaches. Every one of them is an active
    participant: enrolled, neither withdrawn nor paused (a pause asks for no messages)."""

    EVERYONE = "everyone"
    UNMATCHED = "unmatched"
    """In no peer group of the program yet."""
    NO_SESSION_THIS_MONTH = "no_session_this_month"
    """Expected at no session of the program that starts in the current calendar month (UTC),
    scheduled or held; cancelled sessions do not count."""


class ParticipantStatus(StrEnum):
    ENROLLED = "enrolled"
    PAUSED = "paused"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class ProgramRoster:
    """What reminders knows of a program's participants, built from enrollment's and sessions'
    events (``reminders.broadcasts.roster``)."""

    active: frozenset[str]
    """Employee ids of participants enrolled and not paused."""
    grouped: frozenset[str]
    """Employee ids in a peer group of the program that is not dissolved."""
    met_this_month: frozenset[str]
    """Employee ids expected at (or present at) a session starting this month."""


def month_of(now: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) ``now`` falls in: its first instant, and the next month's."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = start.replace(year=start.year + 1, month=1) if start.month == 12 else None
    return start, following or start.replace(month=start.month + 1)


def audience(status: AudienceStatus, roster: ProgramRoster) -> list[str]:
    """The employee ids a broadcast to ``status`` reaches, each once, in a stable order."""
    if status is AudienceStatus.UNMATCHED:
        chosen = roster.active - roster.grouped
    elif status is AudienceStatus.NO_SESSION_THIS_MONTH:
        chosen = roster.active - roster.met_this_month
    else:
        chosen = roster.active
    return sorted(chosen)


def plans(
    broadcast_id: str, program_id: str, recipients: Iterable[str], at: datetime
) -> list[Plan]:
    """One notice per recipient, due ``at``; ids derived from the broadcast and the person."""
    return [
        Plan(
            key=f"broadcast:{broadcast_id}:{employee_id}",
            kind=NoticeKind.BROADCAST,
            recipient_id=employee_id,
            program_id=program_id,
            due_at=at,
            context={"broadcast_id": broadcast_id},
        )
        for employee_id in dict.fromkeys(recipients)
    ]
