"""Program templates: what a program's owner set up, to start the next program from. Pure.

A template holds a program's design: its format and group sizes, cadence, session length, time
zone, capacity, reminder timings, who may enrol (by level, department, location, tenure), its
enrolment questions and the matching rules on them. It never holds what belongs to one run of a
program or names people: the name, the dates, the sponsors, the eligibility allow-list, and
nothing of any enrolment (participants, their answers, groups).

The built-in templates are the article's two formats (seeds/peer-network-article.txt): peer
roundtables of new managers around the hot seat, and peer pairs. Their guide in the sessions
service is the built-in one of their format; a saved template's guide and messages are copied
by the sessions and reminders services from the program it was saved from.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from enrollment.programs.domain import (
    DEFAULT_REMINDERS,
    Eligibility,
    GroupSize,
    Id,
    MatchingRules,
    ProgramSettings,
    QuestionMatch,
    QuestionRule,
    Weights,
)
from enrollment.questions.domain import Questions, Scale
from roundtable_shared.bounded import MAX_SPONSORS, Seats, SessionMinutes
from roundtable_shared.events.catalogue.enrollment import (
    ROUNDTABLE_MIN,
    Cadence,
    OriginKind,
    ProgramFormat,
    ProgramOrigin,
    ProgramTemplateDeleted,
    ProgramTemplateSaved,
    ReminderSettings,
    TimeZoneName,
)

TemplateName = Annotated[
    str, Field(min_length=1, max_length=200, examples=["Our new-manager roundtables"])
]


class TemplateDesign(BaseModel):
    """The settings, questions and matching rules a template gives every program made from it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field("", max_length=5000)
    format: ProgramFormat = ProgramFormat.ROUNDTABLE
    group_size_min: GroupSize = ROUNDTABLE_MIN
    group_size_max: GroupSize = 6
    eligibility: Eligibility = Field(
        default_factory=Eligibility, description="Levels, departments, locations, tenure."
    )
    capacity: Seats | None = None
    cadence: Cadence = Cadence.BIWEEKLY
    session_duration_minutes: SessionMinutes = 60
    time_zone: TimeZoneName = "UTC"
    reminders: ReminderSettings = DEFAULT_REMINDERS
    matching: MatchingRules = Field(default_factory=MatchingRules)
    questions: Questions = Field(default_factory=list)


DESIGN_FIELDS = frozenset(TemplateDesign.model_fields)
NEVER_COPIED = frozenset(
    {
        "name",
        "sponsor_ids",
        "enrolment_opens_at",
        "enrolment_closes_at",
        "starts_on",
        "ends_on",
        "eligibility.allow_list",
    }
)
"""What a template or a clone never takes from its program: one run's name and dates, and
every field that names people. Enrolments (and so answers) are never part of a program's
settings at all."""


class NewProgram(BaseModel):
    """What the admin gives a program made from a template or a clone: its name and dates."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "New-manager roundtables, autumn 2026",
                    "sponsor_ids": ["e-0042"],
                    "enrolment_opens_at": "2026-09-01T09:00:00+02:00",
                    "enrolment_closes_at": "2026-09-15T17:00:00+02:00",
                    "starts_on": "2026-09-21",
                    "ends_on": "2027-03-31",
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    sponsor_ids: list[Id] = Field(default_factory=list, max_length=MAX_SPONSORS)
    enrolment_opens_at: AwareDatetime | None = None
    enrolment_closes_at: AwareDatetime | None = None
    starts_on: date | None = None
    ends_on: date | None = None


class ProgramTemplate(BaseModel):
    """A built-in template, or one a program admin saved from one of their programs."""

    model_config = ConfigDict(frozen=True)

    template_id: str
    name: TemplateName
    built_in: bool = False
    owner_id: str | None = Field(None, description="The admin who saved it (none: built in).")
    from_program_id: str | None = None
    saved_at: datetime | None = None
    design: TemplateDesign


# --- the cloning rules ------------------------------------------------------------------------------


def design_of(settings: ProgramSettings) -> TemplateDesign:
    """The part of a program's settings a template keeps (and a clone copies)."""
    kept: dict[str, Any] = settings.model_dump(include=set(DESIGN_FIELDS))
    kept["eligibility"]["allow_list"] = []
    return TemplateDesign.model_validate(kept)


def program_settings(design: TemplateDesign, new: NewProgram) -> ProgramSettings:
    """The settings of a new program from a design and what the admin gave it. Raises pydantic's
    ``ValidationError`` when the two do not make a valid program (e.g. enrolment closing before
    it opens), naming the field."""
    return ProgramSettings.model_validate({**design.model_dump(), **new.model_dump()})


def saved_from(
    program_id: str,
    settings: ProgramSettings,
    *,
    template_id: str,
    name: str,
    by: str,
    now: datetime,
) -> tuple[ProgramTemplate, ProgramTemplateSaved]:
    template = ProgramTemplate(
        template_id=template_id,
        name=name,
        owner_id=by,
        from_program_id=program_id,
        saved_at=now,
        design=design_of(settings),
    )
    return template, ProgramTemplateSaved(
        template_id=template_id, program_id=program_id, saved_at=now
    )


class BuiltInTemplate(Exception):
    """Built-in templates are read-only."""


def may_see(template: ProgramTemplate, admin_id: str) -> bool:
    """Every program admin sees the built-in templates, and the ones they saved themselves."""
    return template.built_in or template.owner_id == admin_id


def deletion(template: ProgramTemplate, now: datetime) -> ProgramTemplateDeleted:
    if template.built_in or template.from_program_id is None:
        raise BuiltInTemplate(f"{template.name} is built in and cannot be deleted")
    return ProgramTemplateDeleted(
        template_id=template.template_id, program_id=template.from_program_id, deleted_at=now
    )


def origin(template: ProgramTemplate) -> ProgramOrigin:
    kind = OriginKind.BUILT_IN_TEMPLATE if template.built_in else OriginKind.TEMPLATE
    return ProgramOrigin(kind=kind, id=template.template_id)


def clone_origin(program_id: str) -> ProgramOrigin:
    return ProgramOrigin(kind=OriginKind.PROGRAM, id=program_id)


# --- the built-in templates ----------------------------------------------------------------------

_EXPERIENCE = Scale(
    id="management_experience",
    label="How long have you been managing people?",
    help="1: not yet, or just started; 5: more than two years.",
    min=1,
    max=5,
    min_label="Just started",
    max_label="More than two years",
    required=True,
)

NEW_MANAGER_ROUNDTABLES = ProgramTemplate(
    template_id="builtin-new-manager-roundtables",
    name="New-manager roundtables",
    built_in=True,
    design=TemplateDesign(
        description=(
            "Roundtables of five to eight new people managers at a similar stage, meeting "
            "monthly. Each conversation follows the hot seat: one member explains a challenge, "
            "the results they want and the obstacles; the peers ask questions before they offer "
            "suggestions; the hot seat commits to action steps a peer holds them accountable to."
        ),
        format=ProgramFormat.ROUNDTABLE,
        group_size_min=5,
        group_size_max=8,
        cadence=Cadence.MONTHLY,
        session_duration_minutes=90,
        reminders=ReminderSettings(before_session_minutes=[1440, 60], before_action_due_hours=[48]),
        matching=MatchingRules(
            weights=Weights(similar_level=2.0),
            questions=[
                QuestionRule(question_id=_EXPERIENCE.id, match=QuestionMatch.NEAR, weight=2.0)
            ],
        ),
        questions=[_EXPERIENCE],
    ),
)

PEER_PAIRS = ProgramTemplate(
    template_id="builtin-peer-pairs",
    name="Peer pairs",
    built_in=True,
    design=TemplateDesign(
        description=(
            "Two peers at the same level coach each other every two weeks: each takes the hot "
            "seat in turn while the other asks questions first and offers suggestions second, "
            "and each is the other's accountability partner."
        ),
        format=ProgramFormat.PAIRS,
        group_size_min=2,
        group_size_max=2,
        cadence=Cadence.BIWEEKLY,
        session_duration_minutes=45,
        reminders=ReminderSettings(before_session_minutes=[1440, 60], before_action_due_hours=[48]),
    ),
)

BUILT_IN: dict[str, ProgramTemplate] = {
    t.template_id: t for t in (NEW_MANAGER_ROUNDTABLES, PEER_PAIRS)
}
