"""The variables a program's own wording may use, per kind of message (pure: no I/O).

Every value is plain text (or a whole number): a name, a title, a time already written out in the
recipient's time zone. No object reaches a template, so there is nothing to reach through. The
list is the contract documented in docs/program-messages.md; each variable has a made-up sample
that previews use, never a real person's data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reminders.schedule.domain import Kind, NoticeKind
from roundtable_shared.events.catalogue.reminders import ReminderKind


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    sample: str | int


PARTICIPANT_NAME = Variable(
    "participant_name", "The recipient's display name (empty when unknown).", "Alex Example"
)
PROGRAM_NAME = Variable("program_name", "The program's name.", "Sample Peer Program")
SESSION_TITLE = Variable("session_title", "The session's title.", "Roundtable 3: session 2")
SESSION_TIME = Variable(
    "session_time",
    "When the session starts, in the recipient's time zone.",
    "Tue 03 Mar 2026, 16:00 CET",
)
MINUTES_BEFORE = Variable(
    "minutes_before", "How many minutes before the start this reminder goes out.", 60
)
ACTION_TITLE = Variable(
    "action_title", "The action step's title (empty once its owner was erased).", "Ask for feedback"
)
DUE_TIME = Variable(
    "due_time",
    "When the action step is due, in the recipient's time zone.",
    "Fri 06 Mar 2026, 23:59 CET",
)
OWNER_NAME = Variable("owner_name", "The action step's owner.", "Sam Sample")
GROUP_NAME = Variable("group_name", "The peer group's name.", "Roundtable 3")
PEER_NAMES = Variable(
    "peer_names", "The other members of the group, comma-separated.", "Kim Demo, Lee Placeholder"
)
CADENCE_DAYS = Variable("cadence_days", "Days between the group's sessions.", 14)
SURVEY_NAME = Variable(
    "survey_name",
    "Which survey: the pre-program survey, the post-program survey or the group pulse.",
    "the post-program survey",
)
CLOSING_TIME = Variable(
    "closing_time",
    "When the survey stops taking answers, in the recipient's time zone.",
    "Fri 13 Mar 2026, 18:00 CET",
)

COMMON = (PARTICIPANT_NAME, PROGRAM_NAME)

VARIABLES: dict[Kind, tuple[Variable, ...]] = {
    ReminderKind.SESSION_UPCOMING: (*COMMON, SESSION_TITLE, SESSION_TIME, MINUTES_BEFORE),
    ReminderKind.SESSION_CANCELLED: (*COMMON, SESSION_TITLE, SESSION_TIME),
    ReminderKind.ACTION_DUE: (*COMMON, ACTION_TITLE, DUE_TIME),
    ReminderKind.ACTION_OVERDUE_OWNER: (*COMMON, ACTION_TITLE, DUE_TIME),
    ReminderKind.ACTION_OVERDUE: (*COMMON, OWNER_NAME, ACTION_TITLE, DUE_TIME),
    ReminderKind.PARTNER_THANKS: (*COMMON, OWNER_NAME, ACTION_TITLE),
    ReminderKind.GROUP_INTRODUCTION: (*COMMON, GROUP_NAME, PEER_NAMES),
    ReminderKind.SCHEDULE_NEXT_SESSION: (*COMMON, CADENCE_DAYS),
    ReminderKind.RECORD_ACTION_STEPS: COMMON,
    ReminderKind.WELCOME: COMMON,
    ReminderKind.WELCOME_BACK: COMMON,
    ReminderKind.SURVEY_NUDGE: (*COMMON, SURVEY_NAME, CLOSING_TIME),
    NoticeKind.BROADCAST: COMMON,
}
"""What each kind's subject and body may name. The digest is not editable: it is made of the
other kinds' messages."""

EDITABLE_KINDS: tuple[ReminderKind, ...] = tuple(ReminderKind)


def names_of(kind: Kind) -> frozenset[str]:
    return frozenset(variable.name for variable in VARIABLES[kind])


SAMPLE_NAMES = {
    "emp_sample_owner": "Sam Sample",
    "emp_sample_1": "Kim Demo",
    "emp_sample_2": "Lee Placeholder",
}
SAMPLE_RECIPIENT = "Alex Example"
SAMPLE_ZONE = "Europe/Berlin"
SAMPLE_CONTEXT: dict[str, Any] = {
    "title": "Roundtable 3: session 2",
    "starts_at": "2026-03-03T15:00:00+00:00",
    "due_at": "2026-03-06T22:59:00+00:00",
    "minutes_before": 60,
    "owner_id": "emp_sample_owner",
    "peer_ids": ["emp_sample_1", "emp_sample_2"],
    "group_name": "Roundtable 3",
    "cadence_days": 14,
    "survey_kind": "post_program",
    "closes_at": "2026-03-13T17:00:00+00:00",
}
"""The made-up reminder a preview renders: the same fields a real one's plan stores, with
nobody's data in them (the ids are not employees')."""


def values(
    kind: Kind,
    context: Mapping[str, Any],
    *,
    participant_name: str | None,
    program_name: str | None,
    names: Mapping[str, str],
    when: Callable[[str | None], str],
) -> dict[str, str | int]:
    """A reminder's variables, from what its plan stored (its context) and who it names. Only
    the kind's own are worked out (a time zone conversion is not free at hundreds a second)."""
    everything: dict[str, Callable[[], str | int]] = {
        PARTICIPANT_NAME.name: lambda: participant_name or "",
        PROGRAM_NAME.name: lambda: program_name or "your peer program",
        SESSION_TITLE.name: lambda: str(context.get("title") or "your session"),
        SESSION_TIME.name: lambda: when(context.get("starts_at")),
        MINUTES_BEFORE.name: lambda: int(context.get("minutes_before") or 0),
        ACTION_TITLE.name: lambda: str(context.get("title") or ""),
        DUE_TIME.name: lambda: when(context.get("due_at")),
        OWNER_NAME.name: lambda: names.get(str(context.get("owner_id", "")), "your peer"),
        GROUP_NAME.name: lambda: str(context.get("group_name") or "your group"),
        PEER_NAMES.name: lambda: ", ".join(
            names.get(p, "a peer") for p in context.get("peer_ids", [])
        ),
        CADENCE_DAYS.name: lambda: int(context.get("cadence_days") or 0),
        SURVEY_NAME.name: lambda: survey_name(context.get("survey_kind")),
        CLOSING_TIME.name: lambda: when(context.get("closes_at")),
    }
    return {variable.name: everything[variable.name]() for variable in VARIABLES[kind]}


SURVEY_NAMES = {
    "pre_program": "the pre-program survey",
    "post_program": "the post-program survey",
    "pulse": "your group's pulse survey",
}


def survey_name(survey_kind: object) -> str:
    return SURVEY_NAMES.get(str(survey_kind), "a survey")
