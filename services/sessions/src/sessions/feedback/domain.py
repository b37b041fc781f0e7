"""Feedback: each attendee rates a held session once, 1 to 5, with an optional private comment."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from roundtable_shared.events.catalogue.sessions import FeedbackSubmitted
from roundtable_shared.events.envelope import EventData
from roundtable_shared.http.problems import Conflict, Forbidden

_NAMESPACE = uuid.UUID("3f6d8f57-84a4-4c55-9a0b-5b8c0f1d2e61")


def feedback_id(session_id: str, employee_id: str) -> str:
    """One feedback per attendee and session: the id is the pair's, so a second one collides."""
    return str(uuid.uuid5(_NAMESPACE, f"{session_id}\x1f{employee_id}"))


class RatedSession(BaseModel):
    session_id: str
    group_id: str
    program_id: str
    held: bool
    attendee_ids: list[str]


class Feedback(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(alias="_id")
    session_id: str
    group_id: str
    program_id: str
    employee_id: str
    rating: int
    recommend_score: int | None = None
    comment: str | None = None
    submitted_at: AwareDatetime
    request_fingerprint: str
    version: int = 0

    def document(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude={"version"})


def submit(
    session: RatedSession,
    by: str,
    *,
    rating: int,
    recommend_score: int | None,
    comment: str | None,
    now: datetime,
    fingerprint: str,
) -> tuple[Feedback, list[EventData]]:
    if not session.held:
        raise Conflict("only a held session can be rated")
    if by not in session.attendee_ids:
        raise Forbidden("only the session's attendees rate it")
    feedback = Feedback(
        id=feedback_id(session.session_id, by),
        session_id=session.session_id,
        group_id=session.group_id,
        program_id=session.program_id,
        employee_id=by,
        rating=rating,
        recommend_score=recommend_score,
        comment=comment,
        submitted_at=now,
        request_fingerprint=fingerprint,
    )
    event = FeedbackSubmitted(
        session_id=session.session_id,
        group_id=session.group_id,
        program_id=session.program_id,
        feedback_id=feedback.id,
        employee_id=by,
        rating=rating,
        recommend_score=recommend_score,
        submitted_at=now,
    )
    return feedback, [event]
