"""HTTP models of a program's session guide: what an admin sends, what readers get back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from sessions.guides.domain import (
    ACTION_STEP_FIELDS,
    RECORD_FIELDS,
    ROUNDTABLE_GUIDE,
    Guide,
    GuideStep,
    ProgramGuide,
    agenda,
)

Prompt = Annotated[str, Field(min_length=1, max_length=300)]
FieldName = Annotated[str, Field(min_length=1, max_length=64)]

_GUIDE_EXAMPLE: dict[str, Any] = ROUNDTABLE_GUIDE.model_dump(mode="json")


class GuideStepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,39}$", description="Names the step, once per guide."
    )
    title: str = Field(min_length=1, max_length=120)
    minutes: int = Field(ge=1, le=120)
    per_hot_seat: bool = Field(False, description="Repeated for each member in the hot seat.")
    prompts: list[Prompt] = Field(default_factory=list, max_length=10)
    record_fields: list[FieldName] = Field(
        default_factory=list,
        max_length=10,
        description="Fields of the conversation record this step fills: "
        + ", ".join(sorted(RECORD_FIELDS)),
    )
    action_step_fields: list[FieldName] = Field(
        default_factory=list,
        max_length=5,
        description="Fields of an action step this step fills: "
        + ", ".join(sorted(ACTION_STEP_FIELDS)),
    )

    def step(self) -> GuideStep:
        return GuideStep(
            **self.model_dump(exclude={"prompts", "record_fields", "action_step_fields"}),
            prompts=tuple(self.prompts),
            record_fields=tuple(self.record_fields),
            action_step_fields=tuple(self.action_step_fields),
        )


class GuideIn(BaseModel):
    """A program's own guide, replacing the one it has (If-Match required)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_GUIDE_EXAMPLE]})

    title: str = Field(min_length=1, max_length=200)
    introduction: str = Field("", max_length=1000)
    steps: list[GuideStepIn] = Field(min_length=1, max_length=20)

    def guide(self) -> Guide:
        return Guide(
            title=self.title,
            introduction=self.introduction,
            steps=tuple(s.step() for s in self.steps),
        )


class GuideStepOut(BaseModel):
    key: str
    title: str
    minutes: int
    per_hot_seat: bool
    prompts: list[str]
    record_fields: list[str]
    action_step_fields: list[str]


class GuideOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "program_id": "prg_2026_leadforward",
                    "built_in": True,
                    **_GUIDE_EXAMPLE,
                    "minutes_with_one_hot_seat": 60,
                    "minutes_with_two_hot_seats": 90,
                    "agenda": agenda(ROUNDTABLE_GUIDE)[:120] + "...",
                    "updated_by": None,
                    "updated_at": None,
                    "version": 0,
                }
            ]
        }
    )

    program_id: str
    built_in: bool = Field(description="True while the program follows the built-in guide.")
    title: str
    introduction: str
    steps: list[GuideStepOut]
    minutes_with_one_hot_seat: int
    minutes_with_two_hot_seats: int
    agenda: str = Field(description="What a session scheduled without an agenda carries.")
    updated_by: str | None
    updated_at: datetime | None
    version: int

    @classmethod
    def of(cls, program_guide: ProgramGuide, guide: Guide) -> GuideOut:
        return cls(
            program_id=program_guide.id,
            built_in=program_guide.custom is None,
            title=guide.title,
            introduction=guide.introduction,
            steps=[GuideStepOut.model_validate(s.model_dump()) for s in guide.steps],
            minutes_with_one_hot_seat=guide.minutes(hot_seats=1),
            minutes_with_two_hot_seats=guide.minutes(hot_seats=2),
            agenda=agenda(guide),
            updated_by=program_guide.updated_by,
            updated_at=program_guide.updated_at,
            version=program_guide.version,
        )
