"""Enrolment questions a program admin asks, and the answers participants give. Pure.

A question's ``id`` is chosen by the admin and never changes meaning: answers and matching rules
refer to it, so relabelling a question or adding options keeps every answer and rule attached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

MAX_QUESTIONS = 30
MAX_OPTIONS = 30
SHORT_TEXT_LIMIT = 1000
"""The longest short-text answer any question may allow."""

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", examples=["function"])]
Label = Annotated[str, Field(min_length=1, max_length=300)]


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    label: Annotated[str, Field(min_length=1, max_length=200)]


class _Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug = Field(description="Stable: answers and matching rules refer to it.")
    label: Label
    help: str = Field("", max_length=1000)
    required: bool = False


class _Choice(_Question):
    options: list[Option] = Field(min_length=2, max_length=MAX_OPTIONS)

    @model_validator(mode="after")
    def _distinct_options(self) -> Self:
        ids = [o.id for o in self.options]
        if len(set(ids)) != len(ids):
            raise ValueError(f"question {self.id}: option ids must be distinct")
        return self

    def option_ids(self) -> set[str]:
        return {o.id for o in self.options}


class SingleChoice(_Choice):
    type: Literal["single_choice"] = "single_choice"


class MultipleChoice(_Choice):
    type: Literal["multiple_choice"] = "multiple_choice"
    max_choices: int | None = Field(None, ge=1, le=MAX_OPTIONS)


class Scale(_Question):
    type: Literal["scale"] = "scale"
    min: int = Field(1, ge=-100, le=100)
    max: int = Field(5, ge=-100, le=100)
    min_label: str = Field("", max_length=100)
    max_label: str = Field("", max_length=100)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min >= self.max:
            raise ValueError(f"question {self.id}: scale max must be above min")
        return self


class ShortText(_Question):
    type: Literal["short_text"] = "short_text"
    max_length: int = Field(200, ge=1, le=SHORT_TEXT_LIMIT)


Question = Annotated[SingleChoice | MultipleChoice | Scale | ShortText, Field(discriminator="type")]
Questions = Annotated[list[Question], Field(max_length=MAX_QUESTIONS)]

AnswerValue = (
    StrictInt
    | Annotated[StrictStr, Field(max_length=SHORT_TEXT_LIMIT)]
    | Annotated[list[Annotated[StrictStr, Field(max_length=40)]], Field(max_length=MAX_OPTIONS)]
)
"""An option id (single choice), option ids (multiple choice), a number (scale) or text."""
QuestionAnswers = Annotated[dict[Slug, AnswerValue], Field(max_length=MAX_QUESTIONS)]


def duplicate_ids(questions: Sequence[Question]) -> list[str]:
    """Question ids asked more than once (a program's ids must be distinct)."""
    ids = [q.id for q in questions]
    return sorted({i for i in ids if ids.count(i) > 1})


@dataclass(frozen=True)
class AnswerProblem:
    """What is wrong with the answer to one question (the 422 names the question)."""

    question_id: str
    message: str


def answer_problems(
    questions: Sequence[Question], given: Mapping[str, AnswerValue]
) -> list[AnswerProblem]:
    """Every way ``given`` breaks the program's questions (empty: the answers are valid)."""
    by_id = {q.id: q for q in questions}
    found = [
        AnswerProblem(qid, "the program asks no such question")
        for qid in sorted(given)
        if qid not in by_id
    ]
    for question in questions:
        value = given.get(question.id)
        if value is None or _blank(value):
            if question.required:
                found.append(AnswerProblem(question.id, "an answer is required"))
            continue
        message = _wrong(question, value)
        if message:
            found.append(AnswerProblem(question.id, message))
    return found


def _blank(value: AnswerValue | None) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _wrong(question: Question, value: AnswerValue) -> str | None:
    """Why ``value`` does not answer ``question`` (None: it does)."""
    match question:
        case SingleChoice():
            if not isinstance(value, str) or value not in question.option_ids():
                return f"one of the options {', '.join(sorted(question.option_ids()))}"
        case MultipleChoice():
            if not isinstance(value, list):
                return "a list of option ids"
            unknown = sorted(set(value) - question.option_ids())
            if unknown:
                return f"unknown option(s) {', '.join(unknown)}"
            if len(set(value)) != len(value):
                return "an option chosen twice"
            if question.max_choices is not None and len(value) > question.max_choices:
                return f"at most {question.max_choices} option(s)"
        case Scale():
            if isinstance(value, bool) or not isinstance(value, int):
                return f"a whole number from {question.min} to {question.max}"
            if not question.min <= value <= question.max:
                return f"out of range: from {question.min} to {question.max}"
        case ShortText():
            if not isinstance(value, str):
                return "text"
            if len(value) > question.max_length:
                return f"at most {question.max_length} characters"
    return None


def kept_answers(given: Mapping[str, AnswerValue]) -> dict[str, AnswerValue]:
    """The answers worth storing: blanks dropped, so an unanswered question is simply absent."""
    return {qid: value for qid, value in given.items() if not _blank(value)}


def without_retired(
    questions: Sequence[Question],
    given: Mapping[str, AnswerValue],
    previous: Mapping[str, AnswerValue],
) -> dict[str, AnswerValue]:
    """``given`` without the answers to questions the program no longer asks that the
    participant only sent back unchanged (an edit of answers read before the admin removed
    the question); a new answer to an unknown question stays, to be refused."""
    asked = {q.id for q in questions}
    return {
        qid: value for qid, value in given.items() if qid in asked or previous.get(qid) != value
    }
