"""A program's session guide: the peer-coaching method as timed steps, and who may read or edit it.

The method is the article's (seeds/peer-network-article.txt): the member in the hot seat explains
their challenge, the results they want and the obstacles; the peers ask questions first
(inquiry) and only then offer experience-based suggestions (advocacy); the hot seat reflects and
commits to action steps a peer holds them accountable to. Each step names the fields of the
conversation record (and of an action step) where what it produces is written down, in the
record endpoints' own words, so the guide and the record cannot drift apart.

Pure: no I/O. A program that never edited its guide has the built-in one for its format.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from roundtable_shared.auth.tokens import Principal, Role
from roundtable_shared.events.catalogue.enrollment import ProgramFormat
from roundtable_shared.events.envelope import EventData
from roundtable_shared.http.problems import Forbidden
from sessions.common import invalid

AGENDA_MAX = 4000
"""A session's agenda is at most this long (scheduling's bound): a guide must fit in it."""
SESSION_MAX_MINUTES = 480
"""A session lasts at most 8 hours (scheduling's bound): a guide with one hot seat fits in it."""

RECORD_FIELDS = frozenset(
    {
        "attendee_ids",
        "hot_seats.employee_id",
        "hot_seats.challenge",
        "hot_seats.desired_results",
        "hot_seats.obstacles",
        "hot_seats.helpful_questions",
        "hot_seats.suggestions",
        "hot_seats.reflection",
        "hot_seats.commitments",
        "shared_notes",
    }
)
"""Where a step's outcome goes in the conversation record (``/v1/sessions/{id}/record``), as
dotted paths of its fields; a unit test holds each to the record's schema."""
ACTION_STEP_FIELDS = frozenset(
    {"title", "description", "accountability_partner_id", "due_on", "due_by"}
)
"""Fields of an action step (``/v1/sessions/{id}/action-steps``) a commitment step fills in."""


class GuideStep(BaseModel):
    """One step of a conversation: what happens, for how long, and what the record keeps of it."""

    model_config = ConfigDict(frozen=True)

    key: str
    title: str
    minutes: int
    per_hot_seat: bool = False
    """Repeated for each member who takes the hot seat (its minutes are per hot seat)."""
    prompts: tuple[str, ...] = ()
    record_fields: tuple[str, ...] = ()
    action_step_fields: tuple[str, ...] = ()


class Guide(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str
    introduction: str = ""
    steps: tuple[GuideStep, ...]

    def minutes(self, hot_seats: int) -> int:
        """How long a conversation with this many hot seats takes."""
        return sum(s.minutes * (hot_seats if s.per_hot_seat else 1) for s in self.steps)


class ProgramGuide(BaseModel):
    """The guide of one program as stored: ``custom`` None means the built-in one."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    custom: Guide | None = None
    updated_by: str | None = None
    updated_at: AwareDatetime | None = None
    version: int = 0
    """0 until the guide is first edited (nothing stored yet)."""

    def document(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude={"version"}, mode="python")


class TemplateGuide(BaseModel):
    """A saved program template's guide: the one its program had when it was saved."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    program_id: str | None = None
    custom: Guide | None = None
    """None: the built-in guide of the format of each program made from it."""
    deleted: bool = False


@dataclass(frozen=True)
class Program:
    """What sessions knows of a program (a copy of enrollment's program events)."""

    program_id: str
    format: ProgramFormat = ProgramFormat.ROUNDTABLE
    sponsor_ids: frozenset[str] = frozenset()


# --- the built-in guides ----------------------------------------------------------------------------

_CHECK_IN = GuideStep(
    key="check_in",
    title="Check-in: the action steps since last time",
    minutes=15,
    prompts=(
        "Each member says in a sentence or two how their action steps went.",
        "Accountability partners ask what was done, what got in the way, and what is next.",
    ),
    record_fields=("attendee_ids",),
)
_HOT_SEAT_ROUND = (
    GuideStep(
        key="hot_seat",
        title="The hot seat: the challenge, the results wanted, the obstacles",
        minutes=5,
        per_hot_seat=True,
        prompts=(
            "The member in the hot seat explains their challenge.",
            "They describe the results they want to achieve.",
            "They name the obstacles in the way.",
        ),
        record_fields=(
            "hot_seats.employee_id",
            "hot_seats.challenge",
            "hot_seats.desired_results",
            "hot_seats.obstacles",
        ),
    ),
    GuideStep(
        key="inquiry",
        title="Inquiry: questions before advocacy",
        minutes=10,
        per_hot_seat=True,
        prompts=(
            "Peers ask clarifying and thought-provoking questions; no advice yet.",
            "What have you tried? What would success look like? What is in your control?",
        ),
        record_fields=("hot_seats.helpful_questions",),
    ),
    GuideStep(
        key="suggestions",
        title="Advocacy: suggestions from experience",
        minutes=8,
        per_hot_seat=True,
        prompts=(
            "Peers offer experience-based reflections and suggestions, not solutions.",
            "The hot seat listens actively, without getting defensive.",
        ),
        record_fields=("hot_seats.suggestions",),
    ),
    GuideStep(
        key="reflection",
        title="Reflection: what the hot seat takes away",
        minutes=2,
        per_hot_seat=True,
        prompts=("The hot seat says what they heard and what they will do with it.",),
        record_fields=("hot_seats.reflection",),
    ),
    GuideStep(
        key="commitments",
        title="Commitments: action steps with an accountability partner",
        minutes=5,
        per_hot_seat=True,
        prompts=(
            "The hot seat commits to one to three action steps, each with a due date.",
            "A peer becomes the accountability partner of each step.",
        ),
        record_fields=("hot_seats.commitments",),
        action_step_fields=("title", "accountability_partner_id", "due_on"),
    ),
)
_CLOSING = GuideStep(
    key="closing",
    title="Closing round: what each member takes away",
    minutes=15,
    prompts=(
        "Each member names one insight for their own work.",
        "Agree who takes the hot seat next time.",
    ),
    record_fields=("shared_notes",),
)

ROUNDTABLE_GUIDE = Guide(
    title="Roundtable peer-coaching guide",
    introduction=(
        "Peer coaching balances inquiry (relevant and provocative questions) and advocacy "
        "(experience-based reflections and suggestions). It is not giving advice or solving "
        "someone's problem: it helps them solve their own. 60 minutes with one hot seat, "
        "90 with two: the hot-seat steps repeat for each."
    ),
    steps=(_CHECK_IN, *_HOT_SEAT_ROUND, _CLOSING),
)

_PAIR_TIMINGS = {"hot_seat": 3, "inquiry": 7, "suggestions": 5, "reflection": 2, "commitments": 3}
PAIRS_GUIDE = Guide(
    title="Peer pair coaching guide",
    introduction=(
        "Two peers coach each other: each takes the hot seat in turn while the other asks "
        "questions first and offers suggestions second. About 45 minutes for both turns."
    ),
    steps=(
        _CHECK_IN.model_copy(update={"minutes": 5}),
        *(s.model_copy(update={"minutes": _PAIR_TIMINGS[s.key]}) for s in _HOT_SEAT_ROUND),
    ),
)

BUILT_IN = {ProgramFormat.ROUNDTABLE: ROUNDTABLE_GUIDE, ProgramFormat.PAIRS: PAIRS_GUIDE}


def built_in(program_format: ProgramFormat) -> Guide:
    return BUILT_IN[program_format]


def current(program_guide: ProgramGuide, program: Program) -> Guide:
    """The guide the program's sessions follow: its own, or the built-in one for its format."""
    return program_guide.custom or built_in(program.format)


# --- rules ------------------------------------------------------------------------------------------


def copied(program_id: str, custom: Guide, now: datetime) -> ProgramGuide:
    """A new program's guide, copied from the template or program it was made from."""
    return ProgramGuide(id=program_id, custom=custom, updated_by=None, updated_at=now)


def check_guide(guide: Guide) -> Guide:
    """422 naming the field when a guide cannot guide a session or names a field that is not
    one of the record's."""
    keys = [step.key for step in guide.steps]
    for n, step in enumerate(guide.steps):
        if keys.index(step.key) != n:
            raise invalid(f"steps.{n}.key", "each step's key once")
        _known(step.record_fields, RECORD_FIELDS, f"steps.{n}.record_fields", "record")
        _known(
            step.action_step_fields,
            ACTION_STEP_FIELDS,
            f"steps.{n}.action_step_fields",
            "action step",
        )
    if guide.minutes(hot_seats=1) > SESSION_MAX_MINUTES:
        raise invalid("steps", "with one hot seat the guide must fit in a session of 8 hours")
    if len(agenda(guide)) > AGENDA_MAX:
        raise invalid(
            "steps", f"the guide must fit in a session's agenda ({AGENDA_MAX} characters)"
        )
    return guide


def _known(names: Iterable[str], known: frozenset[str], field: str, what: str) -> None:
    for m, name in enumerate(names):
        if name not in known:
            raise invalid(f"{field}.{m}", f"not a field of the {what}: {', '.join(sorted(known))}")


def replace(
    program_guide: ProgramGuide, guide: Guide, by: str, now: datetime
) -> tuple[ProgramGuide, list[EventData]]:
    """The program's own guide instead of the one it had. No event: no other service needs it."""
    check_guide(guide)
    changed = program_guide.model_copy(
        update={"custom": guide, "updated_by": by, "updated_at": now}
    )
    return changed, []


def reset(
    program_guide: ProgramGuide, by: str, now: datetime
) -> tuple[ProgramGuide, list[EventData]] | None:
    """Back to the built-in guide; None when it already is."""
    if program_guide.custom is None:
        return None
    changed = program_guide.model_copy(update={"custom": None, "updated_by": by, "updated_at": now})
    return changed, []


def may_edit(principal: Principal) -> bool:
    return principal.has_role(Role.PROGRAM_ADMIN)


def require_editor(principal: Principal) -> None:
    if not may_edit(principal):
        raise Forbidden("only program admins edit a program's session guide")


def reads_as_owner(program: Program, principal: Principal) -> bool:
    """Program admins and the program's sponsors read its guide whether or not they take part
    (sponsors see what participants are asked to do; the guide holds no one's words)."""
    if may_edit(principal):
        return True
    return principal.has_role(Role.SPONSOR) and principal.employee_id in program.sponsor_ids


def require_reader(program: Program, principal: Principal, *, participant: bool) -> None:
    """Program admins, the program's sponsors and its participants read its guide."""
    if participant or reads_as_owner(program, principal):
        return
    raise Forbidden(
        "the session guide is for the program's participants, its sponsors and program admins"
    )


# --- the agenda a session carries --------------------------------------------------------------------


def agenda(guide: Guide) -> str:
    """The guide as a session's agenda: plain text, the steps numbered, with their timings and
    the record fields they fill (so who writes the record finds the step's words there)."""
    one, two = guide.minutes(hot_seats=1), guide.minutes(hot_seats=2)
    timing = f"{one} min" if one == two else f"{one} min with one hot seat, {two} with two"
    lines = [f"{guide.title} ({timing})"]
    if guide.introduction:
        lines.append(guide.introduction)
    for n, step in enumerate(guide.steps, start=1):
        each = ", per hot seat" if step.per_hot_seat else ""
        lines.append(f"{n}. {step.title} ({step.minutes} min{each})")
        lines += [f"   - {prompt}" for prompt in step.prompts]
        fields = [*step.record_fields, *(f"action_steps.{f}" for f in step.action_step_fields)]
        if fields:
            lines.append(f"   Record: {', '.join(fields)}")
    return "\n".join(lines)
