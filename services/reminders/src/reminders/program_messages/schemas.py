"""HTTP models of a program's messages, with OpenAPI examples."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reminders.program_messages.domain import BODY_MAX, SUBJECT_MAX

_WORDING: dict[str, Any] = {
    "subject": "Coming up: {{ session_title }}",
    "body": "Hello from {{ program_name }}!\n\n{{ session_title }} starts {{ session_time }}.",
}


class WordingIn(BaseModel):
    """A kind's subject and body as templates (``{{ variable }}`` from the kind's list)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_WORDING]})

    subject: str = Field(min_length=1, max_length=SUBJECT_MAX)
    body: str = Field(
        min_length=1,
        max_length=BODY_MAX,
        description="Plain text; a blank line starts a new paragraph.",
    )


class PreviewIn(BaseModel):
    """What to preview: this wording, or (when both are left out) the kind's current one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_WORDING, {}]})

    subject: str | None = Field(default=None, min_length=1, max_length=SUBJECT_MAX)
    body: str | None = Field(default=None, min_length=1, max_length=BODY_MAX)


class VariableOut(BaseModel):
    name: str
    description: str
    sample: str | int = Field(description="What a preview shows for it (made up).")


class ProgramMessageOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "program_id": "prg_2026_leadforward",
                    "kind": "session_upcoming",
                    **_WORDING,
                    "customised": True,
                    "version": 2,
                    "variables": [
                        {
                            "name": "session_title",
                            "description": "The session's title.",
                            "sample": "Roundtable 3: session 2",
                        }
                    ],
                }
            ]
        }
    )

    program_id: str
    kind: str
    subject: str
    body: str
    customised: bool = Field(description="False: the service's default wording.")
    version: int = Field(description="Also the ETag; send it back in If-Match to edit or reset.")
    variables: list[VariableOut]


class PreviewOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject": "Coming up: Roundtable 3: session 2",
                    "paragraphs": ["Roundtable 3: session 2 starts Tue 03 Mar 2026, 16:00 CET."],
                    "text": "Hello Alex Example,\n\nRoundtable 3: session 2 starts ...",
                    "html": "<!doctype html>...",
                }
            ]
        }
    )

    subject: str
    paragraphs: list[str]
    text: str = Field(description="The email's plain-text part, for a made-up participant.")
    html: str = Field(description="The email's HTML part (everything in it escaped).")
