"""HTTP shapes of breakdowns."""

from __future__ import annotations

from pydantic import BaseModel, Field

from reporting.breakdowns.domain import Breakdown


class CellOut(BaseModel):
    value: str = Field(
        description="The attribute value held by k people or more, '(not reported)', or "
        "'(other)': every value held by fewer than k people, pooled.",
        examples=["Finance"],
    )
    participants: int = Field(description="A multiple of k (nearest, halves up).", examples=[10])
    active: int = Field(examples=[10])
    matched: int = Field(examples=[10])
    first_session: int = Field(examples=[10])
    three_sessions: int = Field(examples=[5])


class BreakdownOut(BaseModel):
    program_id: str
    dimension: str = Field(examples=["department"])
    k: int = Field(
        description="Smallest number of people a cell holds; counts are multiples of it.",
        examples=[5],
    )
    cells: list[CellOut]

    @classmethod
    def of(cls, program_id: str, breakdown: Breakdown) -> BreakdownOut:
        cells = []
        for c in breakdown.cells:
            m = c.metrics
            cells.append(
                CellOut(
                    value=c.value,
                    participants=m.get("participants", 0),
                    active=m.get("active", 0),
                    matched=m.get("matched", 0),
                    first_session=m.get("first_session", 0),
                    three_sessions=m.get("three_sessions", 0),
                )
            )
        return cls(program_id=program_id, dimension=breakdown.dimension, k=breakdown.k, cells=cells)
