"""HTTP contracts of enrolments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from enrollment.participants.domain import Answers, ParticipantStatus
from roundtable_shared.events.catalogue.enrollment import PauseReason, WithdrawReason

ANSWERS_EXAMPLE: dict[str, Any] = {
    "goals": ["Delegate more", "Give better feedback"],
    "topics": ["delegation", "feedback", "hiring"],
    "challenges": "My team grew from 3 to 9 people this quarter.",
    "availability": {"working_hours_start": "08:30", "working_hours_end": "16:30"},
    "time_zone": "Europe/Berlin",
    "meeting_preference": "remote",
    "consent_to_reporting": True,
    "question_answers": {"function": "engineering", "focus": ["feedback"], "experience": 2},
}


class EnrolmentRequest(Answers):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ANSWERS_EXAMPLE]})


class ParticipantView(BaseModel):
    participant_id: str
    program_id: str
    employee_id: str
    status: ParticipantStatus
    waitlist_position: int | None = Field(None, description="1 is next in line.")
    group_id: str | None = None
    answers: Answers
    answers_version: int = Field(
        description="1 at enrolment, one more per edit of the answers (only the current set is "
        "kept)."
    )
    enrolled_at: datetime | None = None
    updated_at: datetime
    paused_reason: PauseReason | None = Field(
        None, description="Why the enrolment is paused (`on_leave`: HR says so; resumed on return)."
    )
    resume_expected_on: date | None = Field(None, description="When HR expects them back.")
    withdrawal_reason: WithdrawReason | None = Field(
        None,
        description="Why a withdrawn enrolment was withdrawn: `self`, `admin`, `terminated` (HR "
        "says they left) or `erased`; null while the enrolment is active.",
    )
    version: int

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "participant_id": "par_0c1d2e3f4a5b6c7d8e9f0a1b",
                    "program_id": "3f7c8a52-5d4e-4c47-9a0e-0b2f0d5f1a11",
                    "employee_id": "e-1001",
                    "status": "waitlisted",
                    "waitlist_position": 3,
                    "group_id": None,
                    "answers": ANSWERS_EXAMPLE,
                    "answers_version": 1,
                    "enrolled_at": None,
                    "updated_at": "2026-01-07T10:00:00Z",
                    "paused_reason": None,
                    "resume_expected_on": None,
                    "withdrawal_reason": None,
                    "version": 1,
                }
            ]
        }
    )


class WithdrawRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: WithdrawReason | None = Field(
        None, description="Admins may say why; an employee's own withdrawal is `self`."
    )
