"""HTTP contracts of matching: previews (proposals) and their groups with explanations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_EXPLANATION: dict[str, Any] = {
    "score": 0.71,
    "overlap_hours": 6.0,
    "components": [
        {"name": "similar_level", "value": 0.88, "weight": 2.0, "detail": "levels L4, L5"},
        {"name": "shared_interests", "value": 0.25, "weight": 1.0, "detail": "shared: feedback"},
        {
            "name": "different_departments",
            "value": 1.0,
            "weight": 1.0,
            "detail": "4 department(s) among 4",
        },
        {"name": "variety", "value": 0.333, "weight": 0.5, "detail": "2 location(s) among 4"},
        {
            "name": "meeting_preference",
            "value": 1.0,
            "weight": 1.0,
            "detail": "6 of 6 pair(s) can meet as both prefer",
        },
        {
            "name": "question:experience",
            "value": 0.75,
            "weight": 2.0,
            "detail": "How experienced a manager are you? (near); answered by 4 of 4",
        },
    ],
}


class ProposedMember(BaseModel):
    participant_id: str
    employee_id: str
    display_name: str


class ProposedGroup(BaseModel):
    members: list[ProposedMember]
    explanation: dict[str, Any] = Field(description="The score and what makes it up.")


class Unmatched(BaseModel):
    participant_id: str
    employee_id: str
    reason: str


class ProposalView(BaseModel):
    proposal_id: str
    program_id: str
    status: Literal["preview", "published"]
    created_at: datetime
    groups: list[ProposedGroup]
    unmatched: list[Unmatched]
    published_group_ids: list[str] = Field(default_factory=list)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "proposal_id": "prop_5b0d9f3c2a1e4d6f",
                    "program_id": "3f7c8a52-5d4e-4c47-9a0e-0b2f0d5f1a11",
                    "status": "preview",
                    "created_at": "2026-01-30T17:05:00Z",
                    "groups": [
                        {
                            "members": [
                                {
                                    "participant_id": "par_0c1d2e3f4a5b6c7d8e9f0a1b",
                                    "employee_id": "e-1001",
                                    "display_name": "Ada Lovelace",
                                }
                            ],
                            "explanation": _EXPLANATION,
                        }
                    ],
                    "unmatched": [
                        {
                            "participant_id": "par_9a8b7c6d5e4f3a2b1c0d9e8f",
                            "employee_id": "e-1002",
                            "reason": "every group is full; waits for the next round",
                        }
                    ],
                    "published_group_ids": [],
                }
            ]
        }
    )
