"""HTTP models of broadcasts, with OpenAPI examples."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reminders.broadcasts.domain import AudienceStatus
from reminders.program_messages.domain import BODY_MAX, SUBJECT_MAX

_IN: dict[str, Any] = {
    "subject": "{{ program_name }}: our mid-program check-in",
    "body": "Hello {{ participant_name }},\n\nHow is your group doing? Reply to your program team.",
    "audience": "no_session_this_month",
}


class BroadcastIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_IN]})

    subject: str = Field(min_length=1, max_length=SUBJECT_MAX)
    body: str = Field(
        min_length=1,
        max_length=BODY_MAX,
        description="Plain text; may use participant_name and program_name.",
    )
    audience: AudienceStatus = Field(
        default=AudienceStatus.EVERYONE,
        description=(
            "everyone: every active participant (enrolled, not paused); unmatched: those in no "
            "peer group yet; no_session_this_month: those expected at no session (scheduled or "
            "held, not cancelled) starting in the current calendar month, UTC."
        ),
    )


class BroadcastOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_IN,
                    "broadcast_id": "0f8c7a52-31d4-5c1e-9a57-3e7c1b2f9d10",
                    "program_id": "prg_2026_leadforward",
                    "recipients": 42,
                    "created_at": "2026-03-02T08:00:00+00:00",
                }
            ]
        }
    )

    broadcast_id: str
    program_id: str
    subject: str
    body: str
    audience: AudienceStatus
    recipients: int = Field(description="People it was planned for, one message each.")
    created_at: datetime
