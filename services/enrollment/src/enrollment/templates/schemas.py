"""HTTP contracts of program templates."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from enrollment.programs.domain import Id
from enrollment.templates.domain import TemplateDesign, TemplateName


class TemplateSave(BaseModel):
    """Save one of your programs as a template."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Our new-manager roundtables", "from_program_id": "prg_2026"}]
        },
    )

    name: TemplateName
    from_program_id: Id


class TemplateView(BaseModel):
    template_id: str
    name: str
    built_in: bool = Field(description="Roundtable's own: read-only, listed for every admin.")
    from_program_id: str | None = Field(None, description="The program it was saved from.")
    saved_at: datetime | None = None
    design: TemplateDesign = Field(
        description="What a program made from it gets: settings, questions, matching rules."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "template_id": "builtin-peer-pairs",
                    "name": "Peer pairs",
                    "built_in": True,
                    "from_program_id": None,
                    "saved_at": None,
                    "design": {
                        "format": "pairs",
                        "group_size_min": 2,
                        "group_size_max": 2,
                        "cadence": "biweekly",
                        "session_duration_minutes": 45,
                    },
                }
            ]
        }
    )
