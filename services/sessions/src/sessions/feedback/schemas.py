"""HTTP models of feedback."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from sessions.feedback.domain import Feedback


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"rating": 5, "recommend_score": 9, "comment": "The questions round was great."}
            ]
        },
    )

    rating: int = Field(ge=1, le=5, description="How valuable the session was.")
    recommend_score: int | None = Field(None, ge=0, le=10, description="Would you recommend it?")
    comment: str | None = Field(
        None, max_length=2000, description="Seen by you alone; never leaves this service."
    )


class FeedbackOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "fbk_20d1",
                    "session_id": "ses_81a0",
                    "rating": 5,
                    "recommend_score": 9,
                    "comment": "The questions round was great.",
                    "submitted_at": "2026-09-14T18:00:00Z",
                }
            ]
        }
    )

    id: str
    session_id: str
    rating: int
    recommend_score: int | None
    comment: str | None
    submitted_at: datetime

    @classmethod
    def of(cls, feedback: Feedback) -> FeedbackOut:
        return cls(
            id=feedback.id,
            session_id=feedback.session_id,
            rating=feedback.rating,
            recommend_score=feedback.recommend_score,
            comment=feedback.comment,
            submitted_at=feedback.submitted_at,
        )


class FeedbackSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"session_id": "ses_81a0", "responses": 3}]}
    )

    session_id: str
    responses: int = Field(description="How many rated the session; never their ratings.")
