"""HTTP models of the admin API, with OpenAPI examples."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ReminderOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reminder_id": "rem_5d2c0e8a4b7f1a9c3e6d0b2a",
                    "kind": "action_due",
                    "status": "failed",
                    "recipient_id": "emp_4711",
                    "program_id": "prg_2026_leadforward",
                    "session_id": "ses_81a0",
                    "action_id": "act_5c3e",
                    "group_id": "grp_17",
                    "due_at": "2026-03-02T08:00:00+00:00",
                    "next_at": "2026-03-02T08:00:00+00:00",
                    "attempts": 6,
                    "channels": {
                        "email": {"status": "failed", "reason": "rejected", "code": "451"}
                    },
                }
            ]
        }
    )

    reminder_id: str
    kind: str
    status: str
    recipient_id: str
    program_id: str
    session_id: str | None = None
    action_id: str | None = None
    group_id: str | None = None
    due_at: datetime
    next_at: datetime
    attempts: int
    channels: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Outcome per channel: status, reason, code, time."
    )

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> ReminderOut:
        return cls(reminder_id=doc["_id"], **{k: v for k, v in doc.items() if k != "_id"})


class DeliveryStats(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "program_id": "prg_2026_leadforward",
                    "by_status": {"pending": 120, "sent": 940, "failed": 3, "cancelled": 41},
                }
            ]
        }
    )

    program_id: str
    by_status: dict[str, int]
