"""A rebuild of the read models and how far it got: pure, no I/O.

A rebuild fills the next generation from every producer's stream, swaps it in once each stream
is replayed to the end it had at the start, then goes on replaying for a short while so what
the live consumers applied to the old generation meanwhile reaches the new one too.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Phase(StrEnum):
    REPLAYING = "replaying"
    """Filling the new generation; readers still see the old one."""
    SWAPPED = "swapped"
    """The new generation is live; the replay catches what the old one took meanwhile."""
    DONE = "done"
    FAILED = "failed"


class StreamProgress(BaseModel):
    """One producer's stream in a rebuild."""

    end_at_start: int = Field(0, description="The stream's last sequence when the rebuild began.")
    position: int = Field(0, description="Stream sequence of the last message replayed.")
    events_applied: int = Field(0, description="Events this rebuild applied from the stream.")

    @property
    def caught_up(self) -> bool:
        return self.position >= self.end_at_start


class RebuildProgress(BaseModel):
    rebuild_id: str = Field(description="The generation being built, e.g. g2.", examples=["g2"])
    phase: Phase
    started_at: datetime
    finished_at: datetime | None = None
    replaced_generation: str = Field(description="The generation live when the rebuild began.")
    streams: dict[str, StreamProgress]
    pruned_generations: list[str] = Field(
        default_factory=list, description="Generations dropped once the rebuild was done."
    )
    error: str | None = Field(None, description="Why the rebuild failed, if it did.")

    @property
    def running(self) -> bool:
        return self.phase in (Phase.REPLAYING, Phase.SWAPPED)
