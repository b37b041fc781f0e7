"""Surveys a program admin opens and the responses participants give. Pure.

Built-in questions have stable ids beginning ``rt_`` (reserved: an owner's question cannot take
one), so reporting compares programs, and pre with post, question by question. The pre-program
and post-program surveys share the same scale questions (the change is what a sponsor funds).
Answers are checked with the enrolment questions' rules (``questions.domain``); an NPS question
is checked as the 0 to 10 scale it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from enrollment.questions.domain import (
    AnswerProblem,
    AnswerValue,
    Label,
    MultipleChoice,
    Option,
    Question,
    Scale,
    ShortText,
    SingleChoice,
    Slug,
    answer_problems,
    kept_answers,
)
from roundtable_shared.events.catalogue.enrollment import (
    MAX_SURVEY_QUESTIONS,
    SurveyAnswered,
    SurveyClosed,
    SurveyKind,
    SurveyOpened,
    SurveyQuestionKind,
    SurveyQuestionOutline,
)
from roundtable_shared.events.envelope import EventData

BUILT_IN_PREFIX = "rt_"
NPS_MIN, NPS_MAX = 0, 10
SCALE_LIMITS = (0, 10)
"""A survey's scales stay within 0 to 10 (what the event's outline carries)."""


class Nps(BaseModel):
    """Net Promoter Score: 0 to 10; reporting counts promoters (9-10) minus detractors (0-6)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["nps"] = "nps"
    id: Slug
    label: Label
    help: str = Field("", max_length=1000)
    required: bool = True


SurveyQuestion = Annotated[
    SingleChoice | MultipleChoice | Scale | ShortText | Nps, Field(discriminator="type")
]


# --- built-in questions (ids never change meaning) ----------------------------------------------


def _scale(qid: str, label: str, low: str, high: str) -> Scale:
    return Scale(id=qid, label=label, min=1, max=5, min_label=low, max_label=high, required=True)


CONFIDENCE = _scale(
    "rt_leadership_confidence",
    "How confident are you handling a leadership challenge?",
    "not at all",
    "fully",
)
CLARITY = _scale(
    "rt_next_steps_clarity",
    "How clear are you on your next steps toward your professional goals?",
    "not at all",
    "very clear",
)
PEOPLE_TO_THINK_WITH = _scale(
    "rt_people_to_think_with",
    "How much do you have peers to think a challenge through with?",
    "nobody",
    "several",
)
NOT_ALONE = _scale(
    "rt_challenges_shared",
    "How much do you feel others face challenges like yours?",
    "I am alone in them",
    "many do",
)
PRE_AND_POST = (CONFIDENCE, CLARITY, PEOPLE_TO_THINK_WITH, NOT_ALONE)
"""Asked before and after: the change per question is the program's outcome."""

CHALLENGE_TO_BRING = ShortText(
    id="rt_challenge_to_bring",
    label="What leadership challenge would you bring to your first hot seat?",
    max_length=500,
)
RECOMMEND = Nps(
    id="rt_recommend",
    label="How likely are you to recommend this program to a colleague?",
    help="0: not at all likely, 10: extremely likely.",
)
ACTION_STEPS = SingleChoice(
    id="rt_action_steps_done",
    label="How many of the action steps you committed to did you complete?",
    required=True,
    options=[
        Option(id="none", label="None"),
        Option(id="some", label="Some"),
        Option(id="most", label="Most"),
        Option(id="all", label="All"),
    ],
)
KEEP_DOING = ShortText(
    id="rt_keep_doing", label="What will you keep doing after the program?", max_length=500
)
SESSIONS_USEFUL = _scale(
    "rt_sessions_useful", "How useful are your sessions with your group?", "not at all", "very"
)
GROUP_TRUST = _scale(
    "rt_group_trust",
    "How much do you trust your group with a real challenge?",
    "not at all",
    "completely",
)
INQUIRY_FIRST = _scale(
    "rt_inquiry_before_advice",
    "How often do your peers ask questions before they offer suggestions?",
    "rarely",
    "always",
)

BUILT_IN: dict[SurveyKind, tuple[SurveyQuestion, ...]] = {
    SurveyKind.PRE_PROGRAM: (*PRE_AND_POST, CHALLENGE_TO_BRING),
    SurveyKind.POST_PROGRAM: (*PRE_AND_POST, RECOMMEND, ACTION_STEPS, KEEP_DOING),
    SurveyKind.PULSE: (SESSIONS_USEFUL, GROUP_TRUST, INQUIRY_FIRST),
}
OWNER_QUESTIONS_ALLOWED = {SurveyKind.PRE_PROGRAM, SurveyKind.POST_PROGRAM}
"""A pulse is short and the same everywhere: built-in questions only."""


class SurveyRefused(Exception):
    """The survey cannot be opened as asked (a 422 naming why)."""

    def __init__(self, message: str, question_id: str | None = None) -> None:
        super().__init__(message)
        self.question_id = question_id


def survey_questions(kind: SurveyKind, own: Sequence[SurveyQuestion]) -> list[SurveyQuestion]:
    """The built-in questions of ``kind`` followed by the owner's; SurveyRefused when the
    owner's questions break a rule (a reserved or repeated id, a scale outside 0 to 10, too
    many, or any on a pulse)."""
    if own and kind not in OWNER_QUESTIONS_ALLOWED:
        raise SurveyRefused("a pulse asks only its built-in questions")
    built_in = list(BUILT_IN[kind])
    seen = {q.id for q in built_in}
    for question in own:
        if question.id.startswith(BUILT_IN_PREFIX):
            raise SurveyRefused(f"ids starting {BUILT_IN_PREFIX} are Roundtable's", question.id)
        if question.id in seen:
            raise SurveyRefused("asked twice", question.id)
        seen.add(question.id)
        if isinstance(question, Scale) and not (
            SCALE_LIMITS[0] <= question.min and question.max <= SCALE_LIMITS[1]
        ):
            raise SurveyRefused("a survey's scale runs within 0 to 10", question.id)
    if len(built_in) + len(own) > MAX_SURVEY_QUESTIONS:
        raise SurveyRefused(
            f"at most {MAX_SURVEY_QUESTIONS - len(built_in)} questions of your own on this survey"
        )
    return [*built_in, *own]


# --- surveys -------------------------------------------------------------------------------------


class SurveyStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CloseReason(StrEnum):
    DUE = "due"
    """Its ``closes_at`` passed."""
    ADMIN = "admin"
    PROGRAM_CLOSED = "program_closed"


class Survey(BaseModel):
    survey_id: str
    program_id: str
    kind: SurveyKind
    group_id: str | None = None
    questions: list[SurveyQuestion]
    asked: list[str]
    """The employee ids asked, fixed at opening (a withdrawal stops them being asked: the
    enrolment is checked when they read or answer)."""
    opened_at: datetime
    closes_at: datetime
    status: SurveyStatus = SurveyStatus.OPEN
    closed_at: datetime | None = None
    close_reason: CloseReason | None = None

    def is_open(self, now: datetime) -> bool:
        """Taking answers: not closed, and its close time not reached (checked on every read,
        so a survey past due is closed before the background pass records it)."""
        return self.status is SurveyStatus.OPEN and now < self.closes_at

    def due(self, now: datetime) -> bool:
        return self.status is SurveyStatus.OPEN and self.closes_at <= now

    def asks(self, employee_id: str) -> bool:
        return employee_id in self.asked

    def close(self, now: datetime, reason: CloseReason) -> list[EventData]:
        """Stop taking answers; no event when it was closed already (a repeat, another
        replica's pass). A survey past due closed at its close time, whenever it is recorded."""
        if self.status is SurveyStatus.CLOSED:
            return []
        self.status = SurveyStatus.CLOSED
        self.closed_at = min(now, self.closes_at)
        self.close_reason = reason
        return [
            SurveyClosed(
                survey_id=self.survey_id, program_id=self.program_id, closed_at=self.closed_at
            )
        ]

    def opened(self) -> SurveyOpened:
        return SurveyOpened(
            survey_id=self.survey_id,
            program_id=self.program_id,
            kind=self.kind,
            group_id=self.group_id,
            questions=[outline(q) for q in self.questions],
            asked=len(self.asked),
            opened_at=self.opened_at,
            closes_at=self.closes_at,
        )

    def problems(self, given: Mapping[str, AnswerValue]) -> list[AnswerProblem]:
        """Every way ``given`` breaks this survey's questions (empty: the answers are valid)."""
        return answer_problems([checkable(q) for q in self.questions], given)


def outline(question: SurveyQuestion) -> SurveyQuestionOutline:
    """What consumers need to count a question's answers (never the answers)."""
    built_in = question.id.startswith(BUILT_IN_PREFIX)
    common = {"question_id": question.id, "label": question.label, "built_in": built_in}
    match question:
        case Nps():
            return SurveyQuestionOutline(
                **common, kind=SurveyQuestionKind.NPS, scale_min=NPS_MIN, scale_max=NPS_MAX
            )
        case Scale():
            return SurveyQuestionOutline(
                **common,
                kind=SurveyQuestionKind.SCALE,
                scale_min=question.min,
                scale_max=question.max,
            )
        case SingleChoice() | MultipleChoice():
            kind = SurveyQuestionKind(question.type)
            return SurveyQuestionOutline(
                **common, kind=kind, option_ids=[o.id for o in question.options]
            )
        case ShortText():
            return SurveyQuestionOutline(**common, kind=SurveyQuestionKind.SHORT_TEXT)


def checkable(question: SurveyQuestion) -> Question:
    """The question as the enrolment questions' checks know it (an NPS is a 0 to 10 scale)."""
    if isinstance(question, Nps):
        return Scale(
            id=question.id, label=question.label, required=question.required, min=0, max=10
        )
    return question


def open_slot(survey: Survey) -> str:
    """What only one open survey of a program may hold: a kind (a pulse: a kind and a group).
    Two pre-program surveys at once would split the answers that pre and post compare. A closed
    survey holds a slot of its own (its id), so the slot is free for the next one."""
    if survey.status is SurveyStatus.CLOSED:
        return survey.survey_id
    return f"{survey.program_id}|{survey.kind.value}|{survey.group_id or ''}"


def survey_id_for_group(survey_id: str, group_id: str) -> str:
    """A pulse opened for every group: one survey each, its id derived from the request's."""
    return "srv_" + hashlib.sha256(f"{survey_id}\x1f{group_id}".encode()).hexdigest()[:24]


# --- responses -----------------------------------------------------------------------------------


def response_id(survey_id: str, employee_id: str) -> str:
    """One response per person and survey: the id says so, and the unique _id enforces it."""
    digest = hashlib.sha256(f"{survey_id}\x1f{employee_id}".encode()).hexdigest()
    return f"rsp_{digest[:24]}"


class SurveyResponse(BaseModel):
    response_id: str
    survey_id: str
    program_id: str
    employee_id: str
    answers: dict[str, AnswerValue]
    first_answered_at: datetime
    answered_at: datetime
    erased: bool = False
    """The person was erased: their answers are gone, the response is still counted."""

    def replace(self, answers: Mapping[str, AnswerValue], now: datetime) -> bool:
        """The new answers (blanks dropped); False when they are the ones given (no write, no
        event: a retried request changes nothing)."""
        kept = kept_answers(answers)
        if kept == self.answers:
            return False
        self.answers = kept
        self.answered_at = now
        return True

    def answered(self, survey: Survey) -> SurveyAnswered:
        """The event of these answers: numbers and option ids only, never text."""
        scores: dict[str, int] = {}
        choices: dict[str, list[str]] = {}
        for question in survey.questions:
            value = self.answers.get(question.id)
            if value is None:
                continue
            match question:
                case Nps() | Scale() if isinstance(value, int):
                    scores[question.id] = value
                case SingleChoice() if isinstance(value, str):
                    choices[question.id] = [value]
                case MultipleChoice() if isinstance(value, list):
                    choices[question.id] = list(value)
        return SurveyAnswered(
            survey_id=survey.survey_id,
            response_id=self.response_id,
            program_id=survey.program_id,
            kind=survey.kind,
            group_id=survey.group_id,
            employee_id=self.employee_id,
            scores=scores,
            choices=choices,
            answered_at=self.answered_at,
        )

    def forget(self) -> bool:
        """Erasure: the answers (words and numbers) go, the response stays counted; False when
        there was nothing left to forget, so a repeated erasure writes nothing."""
        if self.erased and not self.answers:
            return False
        self.answers = {}
        self.erased = True
        return True
