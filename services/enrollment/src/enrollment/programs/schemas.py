"""HTTP contracts of programs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model

from enrollment.programs.domain import ProgramSettings
from enrollment.questions.domain import Questions
from roundtable_shared.events.catalogue.enrollment import ProgramOrigin, ProgramStatus

PROGRAM_EXAMPLE: dict[str, Any] = {
    "name": "LEADForward Roundtables 2026",
    "description": "Peer roundtables for new people managers.",
    "sponsor_ids": ["e-0042"],
    "format": "roundtable",
    "group_size_min": 4,
    "group_size_max": 6,
    "eligibility": {
        "levels": ["L4", "L5"],
        "departments": [],
        "locations": [],
        "min_tenure_days": 90,
        "allow_list": ["e-2001"],
    },
    "capacity": 120,
    "enrolment_opens_at": "2026-01-05T09:00:00+01:00",
    "enrolment_closes_at": "2026-01-30T17:00:00+01:00",
    "cadence": "biweekly",
    "session_duration_minutes": 90,
    "time_zone": "Europe/Berlin",
    "starts_on": "2026-02-02",
    "ends_on": "2026-06-30",
    "matching": {
        "separate_manager_and_report": True,
        "separate_skip_level": True,
        "separate_same_manager": True,
        "min_overlap_hours": 2,
        "working_hours_start": "09:00",
        "working_hours_end": "17:00",
        "weights": {
            "similar_level": 2,
            "shared_interests": 1,
            "different_departments": 1,
            "variety": 0.5,
            "meeting_preference": 1,
        },
        "questions": [{"question_id": "experience", "match": "near", "weight": 2}],
        "leftover": "triad",
    },
    "questions": [
        {
            "id": "experience",
            "label": "How experienced a manager are you?",
            "type": "scale",
            "min": 1,
            "max": 5,
            "required": True,
        }
    ],
}


class ProgramCreate(ProgramSettings):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [PROGRAM_EXAMPLE]})


_PATCH_FIELDS: dict[str, Any] = {
    # The field's constraints (its range, its length) travel with its type: a patch is held to
    # the same bounds as a create, and the schema shows them.
    name: (
        Optional[Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation],  # noqa: UP045
        Field(None, description=info.description),
    )
    for name, info in ProgramSettings.model_fields.items()
}
ProgramPatch: type[BaseModel] = create_model(  # every setting, all optional: a merge patch
    "ProgramPatch",
    __config__=ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"capacity": 150, "description": "Now with 150 seats."}]},
    ),
    **_PATCH_FIELDS,
)


class ProgramView(ProgramSettings):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "program_id": "3f7c8a52-5d4e-4c47-9a0e-0b2f0d5f1a11",
                    "status": "open",
                    "created_at": "2026-01-02T10:00:00Z",
                    "enrolled_count": 37,
                    "waitlisted_count": 0,
                    "version": 2,
                    **PROGRAM_EXAMPLE,
                }
            ]
        },
    )

    program_id: str
    status: ProgramStatus
    created_at: datetime
    enrolled_count: int = Field(0, description="Participants holding a seat.")
    version: int
    copied_from: ProgramOrigin | None = Field(
        None, description="The template or program this one was created from, if any."
    )


class EligibilityView(BaseModel):
    program_id: str
    name: str
    status: ProgramStatus
    eligible: bool
    reasons: list[str] = Field(description="Why not, when not eligible (empty otherwise).")
    questions: Questions = Field(
        default_factory=list, description="What enrolling asks (answered in `question_answers`)."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "program_id": "3f7c8a52-5d4e-4c47-9a0e-0b2f0d5f1a11",
                    "name": "LEADForward Roundtables 2026",
                    "status": "open",
                    "eligible": False,
                    "reasons": ["open to levels L4, L5"],
                    "questions": [
                        {
                            "id": "experience",
                            "label": "How experienced a manager are you?",
                            "type": "scale",
                            "min": 1,
                            "max": 5,
                            "required": True,
                        }
                    ],
                }
            ]
        }
    )
