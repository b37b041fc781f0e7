"""HTTP shapes of breakdowns."""

from __future__ import annotations

from pydantic import BaseModel, Field

from reporting.breakdowns.domain import Breakdown


class CellOut(BaseModel):
    value: str = Field(
        description="The attribute value, or '(not reported)'.", examples=["Finance"]
    )
    suppressed: bool
    suppression: str | None = Field(
        description="Why hidden: below_k, complementary, program_below_k.", examples=[None]
    )
    participants: int | None = Field(description="Null when suppressed.", examples=[12])
    active: int | None = Field(examples=[11])
    matched: int | None = Field(examples=[11])
    first_session: int | None = Field(examples=[10])
    three_sessions: int | None = Field(examples=[7])


class BreakdownOut(BaseModel):
    program_id: str
    dimension: str = Field(examples=["department"])
    k: int = Field(description="Smallest number of people a visible cell holds.", examples=[5])
    cells: list[CellOut]

    @classmethod
    def of(cls, program_id: str, breakdown: Breakdown) -> BreakdownOut:
        cells = []
        for c in breakdown.cells:
            m = c.metrics
            cells.append(
                CellOut(
                    value=c.value,
                    suppressed=c.suppressed,
                    suppression=c.reason,
                    participants=m.get("participants"),
                    active=m.get("active"),
                    matched=m.get("matched"),
                    first_session=m.get("first_session"),
                    three_sessions=m.get("three_sessions"),
                )
            )
        return cls(program_id=program_id, dimension=breakdown.dimension, k=breakdown.k, cells=cells)
