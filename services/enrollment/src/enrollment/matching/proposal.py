"""A match proposal: the groups a preview found, as an admin saw them before publishing. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ProposedMember(BaseModel):
    participant_id: str
    employee_id: str
    display_name: str


class ProposedGroup(BaseModel):
    members: list[ProposedMember]
    explanation: dict[str, Any]


class Unplaced(BaseModel):
    participant_id: str
    employee_id: str
    reason: str


class Proposal(BaseModel):
    proposal_id: str
    program_id: str
    status: Literal["preview", "published"] = "preview"
    created_at: datetime
    groups: list[ProposedGroup]
    unmatched: list[Unplaced]
    published_group_ids: list[str] = Field(default_factory=list)

    def participant_ids(self) -> set[str]:
        return {m.participant_id for g in self.groups for m in g.members}

    def forget_name(self, employee_id: str, placeholder: str) -> bool:
        """An erased employee stays in the preview as ``placeholder`` only, so its counts stay
        right; False when no name was left to replace."""
        changed = False
        for group in self.groups:
            for index, member in enumerate(group.members):
                if member.employee_id == employee_id and member.display_name != placeholder:
                    group.members[index] = member.model_copy(update={"display_name": placeholder})
                    changed = True
        return changed

    def published(self, group_ids: list[str]) -> None:
        self.status = "published"
        self.published_group_ids = list(group_ids)
