"""Programs as reporting keeps them, and who may see their aggregates. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from roundtable_shared.auth.tokens import Principal, Role

CADENCE_DAYS = {"weekly": 7, "biweekly": 14, "monthly": 31}


class ProgramCopy(BaseModel):
    program_id: str = Field(examples=["prg_2026_leadforward"])
    name: str = Field(examples=["LEADForward Roundtables 2026"])
    status: str = Field(examples=["running"])
    cadence: str | None = Field(default=None, examples=["biweekly"])
    sponsor_ids: list[str] = Field(default_factory=list, exclude=True)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ProgramCopy:
        return cls(
            program_id=str(doc["_id"]),
            name=str(doc.get("name") or doc["_id"]),
            status=str(doc.get("status") or "unknown"),
            cadence=doc.get("cadence"),
            sponsor_ids=list(doc.get("sponsor_ids") or []),
        )

    @property
    def cadence_days(self) -> int:
        return CADENCE_DAYS.get(self.cadence or "", 14)


def sees_all(principal: Principal) -> bool:
    return principal.has_role(Role.PROGRAM_ADMIN)


def may_see(principal: Principal, program: ProgramCopy) -> bool:
    """Program admins see every program; a sponsor the programs naming them as sponsor."""
    if sees_all(principal):
        return True
    return principal.has_role(Role.SPONSOR) and principal.employee_id in program.sponsor_ids
