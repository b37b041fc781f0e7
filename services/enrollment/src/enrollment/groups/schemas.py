"""HTTP contracts of peer groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from enrollment.groups.domain import GroupStatus, RefillStatus
from roundtable_shared.events.catalogue.enrollment import GroupMember


class RefillView(BaseModel):
    refill_id: str
    participant_ids: list[str] = Field(description="Who would join the group.")
    status: RefillStatus
    stale: bool = Field(description="The group changed since: accepting it is a 409.")
    proposed_at: datetime
    decided_at: datetime | None = None


class GroupView(BaseModel):
    group_id: str
    program_id: str
    name: str
    status: GroupStatus
    members: list[GroupMember]
    explanation: dict[str, Any]
    formed_at: datetime
    refill_candidates: list[str] | None = Field(
        None, description="Admins only: participants proposed to refill the group."
    )
    refill: RefillView | None = Field(
        None, description="Admins only: the proposal to refill the group, to accept or decline."
    )
    version: int

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "group_id": "grp_3c9d0e1f2a3b4c5d6e7f",
                    "program_id": "3f7c8a52-5d4e-4c47-9a0e-0b2f0d5f1a11",
                    "name": "Roundtable 3",
                    "status": "active",
                    "members": [
                        {
                            "employee_id": "e-1001",
                            "participant_id": "par_0c1d2e3f4a5b6c7d8e9f0a1b",
                            "display_name": "Ada Lovelace",
                        }
                    ],
                    "explanation": {"score": 0.71, "overlap_hours": 6.0, "components": []},
                    "formed_at": "2026-02-01T09:00:00Z",
                    "refill_candidates": ["par_9a8b7c6d5e4f3a2b1c0d9e8f"],
                    "refill": {
                        "refill_id": "ref_4d5e6f7a8b9c0d1e",
                        "participant_ids": ["par_9a8b7c6d5e4f3a2b1c0d9e8f"],
                        "status": "proposed",
                        "stale": False,
                        "proposed_at": "2026-03-02T10:00:00Z",
                        "decided_at": None,
                    },
                    "version": 3,
                }
            ]
        }
    )


class MoveRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"participant_id": "par_0c1d2e3f4a5b6c7d8e9f0a1b"}]},
    )

    participant_id: str = Field(min_length=1, max_length=128)


class SwapRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "participant_id": "par_0c1d2e3f4a5b6c7d8e9f0a1b",
                    "with_participant_id": "par_9a8b7c6d5e4f3a2b1c0d9e8f",
                }
            ]
        },
    )

    participant_id: str = Field(min_length=1, max_length=128, description="A member of this group.")
    with_participant_id: str = Field(
        min_length=1, max_length=128, description="A member of another group of the program."
    )
