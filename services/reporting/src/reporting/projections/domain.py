"""Pure rules of the projections: which week an event counts in, and what each event adds.

Counters are kept per (program, ISO week, family); a family is a group of metrics that change
together (one document each, so the list of events applied to a document stays small). Every
effect has an *effect key*, usually a business id (``held:<session id>``), so an event republished
under a new event id still counts once.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from enum import StrEnum

# The largest bucket of the days-to-complete histogram; longer completions land in it.
MAX_COMPLETION_DAYS = 365
THREE_SESSIONS = 3


class Family(StrEnum):
    PARTICIPANTS = "participants"
    GROUPS = "groups"
    SESSIONS = "sessions"
    ACTIONS = "actions"
    FEEDBACK = "feedback"
    REMINDERS = "reminders"
    FUNNEL = "funnel"


class Stage(StrEnum):
    """The funnel, in order: every stage is a subset of the one before."""

    ENROLLED = "enrolled"
    MATCHED = "matched"
    FIRST_SESSION = "first_session"
    THREE_SESSIONS = "three_sessions"
    COMPLETED = "completed"


def iso_week(moment: datetime) -> str:
    """``2026-W05``: the ISO week of a moment, taken in UTC. Sorts as text."""
    utc = moment if moment.tzinfo is None else moment.astimezone(UTC)
    iso = utc.date().isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


def due_key(due_at: datetime) -> str:
    """The bucket of an open action step: its due instant in UTC, to the millisecond (what the
    database keeps of a time, here and in the sessions service).

    ``20260105T223000000Z`` (no ``.`` or ``:``, which stored field names may not hold) sorts as
    text in time order, so overdue at ``now`` is ``key < due_key(now rounded up)``: the sessions
    service's own rule (``due_at < now``), whatever time of day and zone the step is due in.
    """
    utc = due_at if due_at.tzinfo is None else due_at.astimezone(UTC)
    return f"{utc:%Y%m%dT%H%M%S}{utc.microsecond // 1000:03d}Z"


def overdue_at(key: str, now: datetime) -> bool:
    """Whether an open step in bucket ``key`` is overdue at ``now``.

    Buckets written before due instants were kept are due *days* (``2026-01-05``, UTC); a step
    in one is overdue once its day is past, as it was counted then (a rebuild rewrites them)."""
    utc = now if now.tzinfo is None else now.astimezone(UTC)
    if len(key) == len("2026-01-05") and key[4] == "-":
        return key < utc.date().isoformat()
    # a step due at a whole millisecond d is overdue at now iff d < now iff d < ceil_ms(now)
    return key < due_key(utc + timedelta(microseconds=999))


def completion_days(committed_at: datetime, completed_at: datetime) -> int:
    """Whole days from commitment to completion, in 0..MAX_COMPLETION_DAYS."""
    days = (completed_at - committed_at).total_seconds() // 86_400
    return int(min(max(days, 0), MAX_COMPLETION_DAYS))


def session_stages(sessions_attended: int) -> list[Stage]:
    """The funnel stages a number of attended sessions reaches."""
    stages = []
    if sessions_attended >= 1:
        stages.append(Stage.FIRST_SESSION)
    if sessions_attended >= THREE_SESSIONS:
        stages.append(Stage.THREE_SESSIONS)
    return stages


def completed_program(*, program_closed: bool, withdrawn: bool, sessions_attended: int) -> bool:
    """Completed the program: still in it when it closed, after three sessions or more."""
    return program_closed and not withdrawn and sessions_attended >= THREE_SESSIONS


def person_digest(employee_id: str) -> str:
    """A short digest standing for a person where only *distinct* people are counted."""
    return hashlib.sha256(employee_id.encode()).hexdigest()[:20]


def contributor_key(kind: str, program_id: str, week: str, person: str) -> str:
    """The effect key counting ``person`` once per program and week as a ``kind`` (rater,
    recommender, completer): the disclosure rule needs how many distinct people a week's
    average or median comes from. ``person`` is a ``person_digest``."""
    return f"{kind}:{program_id}:{week}:{person}"
