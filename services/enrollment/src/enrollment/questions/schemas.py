"""HTTP contracts of enrolment questions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from enrollment.questions.domain import Questions

QUESTIONS_EXAMPLE: Any = [  # a JSON example for the OpenAPI
    {
        "id": "function",
        "label": "Which function do you work in?",
        "type": "single_choice",
        "required": True,
        "options": [
            {"id": "engineering", "label": "Engineering"},
            {"id": "sales", "label": "Sales"},
            {"id": "operations", "label": "Operations"},
        ],
    },
    {
        "id": "focus",
        "label": "What do you want to work on?",
        "type": "multiple_choice",
        "max_choices": 2,
        "options": [
            {"id": "delegation", "label": "Delegation"},
            {"id": "feedback", "label": "Feedback"},
            {"id": "hiring", "label": "Hiring"},
        ],
    },
    {
        "id": "experience",
        "label": "How experienced a manager are you?",
        "type": "scale",
        "min": 1,
        "max": 5,
        "min_label": "new",
        "max_label": "seasoned",
    },
    {
        "id": "hope",
        "label": "What would make this worth it?",
        "type": "short_text",
        "max_length": 300,
    },
]


class QuestionsEdit(BaseModel):
    """The program's whole question list (a question left out is removed)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"questions": QUESTIONS_EXAMPLE}]}
    )

    questions: Questions


class QuestionsView(BaseModel):
    program_id: str
    questions: Questions
    version: int

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "program_id": "3f7c8a52-5d4e-4c47-9a0e-0b2f0d5f1a11",
                    "questions": QUESTIONS_EXAMPLE,
                    "version": 3,
                }
            ]
        }
    )
