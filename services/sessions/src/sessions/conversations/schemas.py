"""HTTP models of the recorded conversation and private notes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from sessions.conversations.domain import Record, Revision

Text = Annotated[str, Field(min_length=1, max_length=4000)]
Short = Annotated[str, Field(min_length=1, max_length=1000)]
EmployeeId = Annotated[str, Field(min_length=1, max_length=128)]

_RECORD_EXAMPLE: dict[str, Any] = {
    "attendee_ids": ["emp_1", "emp_2", "emp_3"],
    "started_at": "2026-09-14T16:05:00+02:00",
    "ended_at": "2026-09-14T17:30:00+02:00",
    "hot_seats": [
        {
            "employee_id": "emp_2",
            "challenge": "My peer in Sales keeps escalating around me.",
            "desired_results": "One agreed escalation path by the quarter's end.",
            "obstacles": ["We have never met one to one"],
            "helpful_questions": ["What does she need from you that she is not getting?"],
            "suggestions": [{"by": "emp_3", "text": "Invite her to co-own the next review."}],
            "reflection": "I have been defending instead of asking.",
        }
    ],
    "shared_notes": [{"text": "Next time: start with a check-in round."}],
}


class SuggestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: EmployeeId = Field(description="The attendee who offered it.")
    text: Text


class HotSeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    employee_id: EmployeeId = Field(description="The attendee in the hot seat.")
    challenge: Text
    desired_results: Text | None = None
    obstacles: list[Short] = Field(default_factory=list, max_length=20)
    helpful_questions: list[Short] = Field(default_factory=list, max_length=50)
    suggestions: list[SuggestionIn] = Field(default_factory=list, max_length=50)
    reflection: Text | None = None


class SharedNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note_id: str | None = Field(None, description="Keep an existing note (and its author).")
    text: Text


class RecordRequest(BaseModel):
    """The held session. Commitments are created as action steps of the session afterwards."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_RECORD_EXAMPLE]})

    attendee_ids: list[EmployeeId] = Field(min_length=1, max_length=8)
    started_at: AwareDatetime | None = Field(None, description="Defaults to the planned start.")
    ended_at: AwareDatetime | None = Field(None, description="Defaults to the planned end.")
    hot_seats: list[HotSeatIn] = Field(default_factory=list, max_length=8)
    shared_notes: list[SharedNoteIn] = Field(default_factory=list, max_length=100)


class HotSeatOut(BaseModel):
    employee_id: str
    challenge: str
    desired_results: str | None
    obstacles: list[str]
    helpful_questions: list[str]
    suggestions: list[SuggestionIn]
    reflection: str | None
    commitments: list[str] = Field(description="Ids of the action steps they committed to.")


class SharedNoteOut(BaseModel):
    note_id: str
    author_id: str
    text: str
    written_at: datetime


class RecordOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_RECORD_EXAMPLE,
                    "session_id": "ses_81a0",
                    "hot_seats": [{**_RECORD_EXAMPLE["hot_seats"][0], "commitments": ["act_5c3e"]}],
                    "shared_notes": [
                        {
                            "note_id": "0d1c",
                            "author_id": "emp_1",
                            "text": "Next time: start with a check-in round.",
                            "written_at": "2026-09-14T17:31:00Z",
                        }
                    ],
                    "recorded_by": "emp_1",
                    "recorded_at": "2026-09-14T17:31:00Z",
                    "edited_by": None,
                    "edited_at": None,
                    "version": 3,
                }
            ]
        }
    )

    session_id: str
    attendee_ids: list[str]
    started_at: datetime
    ended_at: datetime
    hot_seats: list[HotSeatOut]
    shared_notes: list[SharedNoteOut]
    recorded_by: str
    recorded_at: datetime
    edited_by: str | None
    edited_at: datetime | None
    version: int

    @classmethod
    def of(
        cls, session_id: str, record: Record, version: int, commitments: dict[str, list[str]]
    ) -> RecordOut:
        return cls(
            session_id=session_id,
            attendee_ids=record.attendee_ids,
            started_at=record.started_at,
            ended_at=record.ended_at,
            hot_seats=[
                HotSeatOut(
                    **seat.model_dump(exclude={"suggestions"}),
                    suggestions=[SuggestionIn(**s.model_dump()) for s in seat.suggestions],
                    commitments=commitments.get(seat.employee_id, []),
                )
                for seat in record.hot_seats
            ],
            shared_notes=[SharedNoteOut(**n.model_dump()) for n in record.shared_notes],
            recorded_by=record.recorded_by,
            recorded_at=record.recorded_at,
            edited_by=record.edited_by,
            edited_at=record.edited_at,
            version=version,
        )


class RevisionOut(BaseModel):
    version: int
    replaced_by: str
    replaced_at: datetime
    record: dict[str, Any]

    @classmethod
    def of(cls, revision: Revision) -> RevisionOut:
        return cls(
            version=revision.version,
            replaced_by=revision.replaced_by,
            replaced_at=revision.replaced_at,
            record=revision.record.model_dump(mode="json"),
        )


class PrivateNoteIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "Ask Sam about the budget thing, privately."}]},
    )
    text: Text


class PrivateNoteOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "9a2f",
                    "session_id": "ses_81a0",
                    "text": "Ask Sam about the budget thing, privately.",
                    "created_at": "2026-09-14T17:40:00Z",
                    "updated_at": "2026-09-14T17:40:00Z",
                    "version": 1,
                }
            ]
        }
    )

    id: str
    session_id: str
    text: str
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, document: dict[str, Any]) -> PrivateNoteOut:
        return cls(
            id=document["_id"],
            session_id=document["session_id"],
            text=document["text"],
            created_at=document["created_at"],
            updated_at=document["updated_at"],
            version=document["version"],
        )


class SharingOut(BaseModel):
    """Whether members who joined after the session read its conversation, and who agreed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_id": "ses_81a0",
                    "shared_with_later_members": False,
                    "agreed": ["emp_1", "emp_2"],
                    "waiting_for": ["emp_3"],
                    "version": 5,
                }
            ]
        }
    )

    session_id: str
    shared_with_later_members: bool = Field(
        description="True once everyone in waiting_for has agreed: then members who joined "
        "the group after the session read its record and history too."
    )
    agreed: list[str] = Field(description="Who agreed to share it (employee ids).")
    waiting_for: list[str] = Field(
        description="Whose agreement is still missing: every member who was there and still "
        "is, and everyone the record holds the presence or words of."
    )
    version: int
