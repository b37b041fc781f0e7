"""HTTP contracts of surveys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from enrollment.questions.domain import AnswerValue, QuestionAnswers
from enrollment.surveys.domain import SurveyQuestion, SurveyStatus
from roundtable_shared.events.catalogue.enrollment import MAX_SURVEY_QUESTIONS, SurveyKind

OWN_QUESTION_EXAMPLE: Any = {
    "id": "format_fit",
    "label": "Did the monthly roundtable suit your calendar?",
    "type": "single_choice",
    "options": [{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}],
}


class SurveyOpening(BaseModel):
    """What a program admin opens: the kind, their own questions, when it closes."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "post_program",
                    "questions": [OWN_QUESTION_EXAMPLE],
                    "closes_at": "2026-07-10T17:00:00+02:00",
                },
                {"kind": "pulse", "closes_at": "2026-04-03T17:00:00+02:00"},
            ]
        },
    )

    kind: SurveyKind
    questions: list[SurveyQuestion] = Field(
        default_factory=list,
        max_length=MAX_SURVEY_QUESTIONS,
        description="Your own questions, after the built-in ones (not on a pulse). Ids starting "
        "`rt_` are Roundtable's.",
    )
    closes_at: AwareDatetime
    group_id: Annotated[str, Field(min_length=1, max_length=128)] | None = Field(
        None, description="A pulse for this group only; none: one pulse per active group."
    )

    @model_validator(mode="after")
    def _group_only_on_a_pulse(self) -> Self:
        if self.group_id is not None and self.kind is not SurveyKind.PULSE:
            raise ValueError("only a pulse names a group")
        return self


SURVEY_EXAMPLE: dict[str, Any] = {
    "survey_id": "7d0c1b1e-8a55-5f0e-9d51-3c2b1a0f9e88",
    "program_id": "3f7c8a52-5d4e-4c47-9a0e-0b2f0d5f1a11",
    "kind": "post_program",
    "group_id": None,
    "status": "open",
    "questions": [
        {
            "id": "rt_recommend",
            "type": "nps",
            "label": "How likely are you to recommend this program to a colleague?",
            "help": "0: not at all likely, 10: extremely likely.",
            "required": True,
        },
        OWN_QUESTION_EXAMPLE,
    ],
    "asked": 24,
    "responded": 17,
    "opened_at": "2026-06-30T09:00:00Z",
    "closes_at": "2026-07-10T15:00:00Z",
    "closed_at": None,
    "version": 1,
}
RESPONSE_EXAMPLE: dict[str, Any] = {
    "response_id": "rsp_5b1f0c2d9e8a7b6c5d4e3f2a",
    "survey_id": SURVEY_EXAMPLE["survey_id"],
    "answers": {"rt_recommend": 9, "format_fit": "yes"},
    "answered_at": "2026-07-01T12:30:00Z",
    "version": 2,
}


class SurveyAdminView(BaseModel):
    """A survey as its admins see it: counts, never anyone's answers."""

    model_config = ConfigDict(json_schema_extra={"examples": [SURVEY_EXAMPLE]})

    survey_id: str
    program_id: str
    kind: SurveyKind
    group_id: str | None
    status: SurveyStatus = Field(description="Closed once its close time passed, too.")
    questions: list[SurveyQuestion]
    asked: int = Field(description="How many people it asks (fixed at opening).")
    responded: int = Field(description="How many of them answered.")
    opened_at: datetime
    closes_at: datetime
    closed_at: datetime | None
    version: int


class OpenedSurveys(BaseModel):
    surveys: list[SurveyAdminView] = Field(description="One survey; a pulse: one per group.")


class ResponseEdit(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "answers": {
                        "rt_leadership_confidence": 4,
                        "rt_recommend": 9,
                        "rt_action_steps_done": "most",
                        "rt_keep_doing": "Bring a real challenge every month.",
                    }
                }
            ]
        },
    )

    answers: QuestionAnswers = Field(
        description="By question id: a number (scale, nps), an option id (single choice), a list "
        "of option ids (multiple choice) or text (short text)."
    )


class ResponseView(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [RESPONSE_EXAMPLE]})

    response_id: str
    survey_id: str
    answers: dict[str, AnswerValue]
    answered_at: datetime
    version: int


class MySurveyView(BaseModel):
    """An open survey that asks me, with my answers if I gave them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **{k: SURVEY_EXAMPLE[k] for k in ("survey_id", "program_id", "kind")},
                    **{k: SURVEY_EXAMPLE[k] for k in ("group_id", "questions", "closes_at")},
                    "response": RESPONSE_EXAMPLE,
                }
            ]
        }
    )

    survey_id: str
    program_id: str
    kind: SurveyKind
    group_id: str | None
    questions: list[SurveyQuestion]
    closes_at: datetime
    response: ResponseView | None = None
