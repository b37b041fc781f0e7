"""Enrolment question definitions and the answers held to them, pure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from enrollment.participants.domain import Answers, Participant, ParticipantStatus
from enrollment.programs.domain import ProgramSettings
from enrollment.questions.domain import (
    AnswerProblem,
    answer_problems,
    kept_answers,
    without_retired,
)

QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "language",
        "label": "Working language",
        "type": "single_choice",
        "required": True,
        "options": [{"id": "en", "label": "English"}, {"id": "de", "label": "German"}],
    },
    {
        "id": "focus",
        "label": "Focus",
        "type": "multiple_choice",
        "max_choices": 2,
        "options": [{"id": o, "label": o} for o in ("delegation", "feedback", "hiring")],
    },
    {"id": "experience", "label": "Experience", "type": "scale", "min": 1, "max": 5},
    {"id": "hope", "label": "Hope", "type": "short_text", "max_length": 10},
]


def settings(**changes: Any) -> ProgramSettings:
    return ProgramSettings.model_validate({"name": "P", "questions": QUESTIONS, **changes})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"language": "en"}, []),
        (
            {"language": "fr", "focus": ["x"], "experience": 6, "hope": "far too long"},
            [
                AnswerProblem("language", "one of the options de, en"),
                AnswerProblem("focus", "unknown option(s) x"),
                AnswerProblem("experience", "out of range: from 1 to 5"),
                AnswerProblem("hope", "at most 10 characters"),
            ],
        ),
        ({}, [AnswerProblem("language", "an answer is required")]),
        ({"language": "  "}, [AnswerProblem("language", "an answer is required")]),
        (
            {"language": "en", "focus": ["hiring", "hiring"]},
            [AnswerProblem("focus", "an option chosen twice")],
        ),
        (
            {"language": "en", "focus": ["hiring", "feedback", "delegation"]},
            [AnswerProblem("focus", "at most 2 option(s)")],
        ),
        (
            {"language": "en", "experience": "3"},
            [AnswerProblem("experience", "a whole number from 1 to 5")],
        ),
        (
            {"language": "en", "colour": "red"},
            [AnswerProblem("colour", "the program asks no such question")],
        ),
    ],
)
def test_answers_are_held_to_the_questions(
    given: dict[str, Any], expected: list[AnswerProblem]
) -> None:
    assert answer_problems(settings().questions, given) == expected


def test_blank_answers_are_not_kept() -> None:
    assert kept_answers({"language": "en", "focus": [], "hope": " "}) == {"language": "en"}


def test_an_answer_to_a_removed_question_sent_back_unchanged_is_dropped() -> None:
    previous = {"language": "en", "team_size": "large"}  # team_size removed since
    sent_back = {"language": "de", "team_size": "large"}
    assert without_retired(settings().questions, sent_back, previous) == {"language": "de"}
    changed = {"language": "de", "team_size": "small"}  # a new answer: refused later
    assert without_retired(settings().questions, changed, previous) == changed


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"questions": [*QUESTIONS, QUESTIONS[0]]}, "question ids must be distinct: language"),
        (
            {"matching": {"questions": [{"question_id": "nope", "match": "same"}]}},
            "matching rule on nope: no such question",
        ),
        (
            {"matching": {"questions": [{"question_id": "hope", "match": "same"}]}},
            "matching rule on hope: text is not matched on",
        ),
        (
            {"matching": {"questions": [{"question_id": "language", "match": "near"}]}},
            "matching rule on language: near needs a scale",
        ),
        (
            {
                "questions": [
                    {"id": "experience", "label": "E", "type": "scale", "min": 5, "max": 5}
                ]
            },
            "scale max must be above min",
        ),
    ],
)
def test_bad_definitions_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        settings(**changes)


def test_a_new_answer_set_is_a_new_version_and_erasure_drops_it() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    participant = Participant(
        participant_id="par_1",
        program_id="p",
        employee_id="e-1",
        status=ParticipantStatus.ENROLLED,
        answers=Answers(question_answers={"language": "en", "hope": "a promotion"}),
        updated_at=now,
    )
    assert participant.answers_version == 1
    same = participant.answers.model_copy()
    assert participant.replace_answers(same) is False
    assert participant.answers_version == 1
    assert participant.replace_answers(Answers(question_answers={"language": "de"})) is True
    assert participant.answers_version == 2
    assert participant.forget_answers() is True
    assert participant.answers.question_answers == {}
