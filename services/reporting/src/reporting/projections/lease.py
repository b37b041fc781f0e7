"""The projection writer's lease, as rules without I/O.

Several reporting processes serve the API; one of them, the holder of a lease stored in the
database, applies the events to the read models (a batch reads copies, changes them in memory
and writes them back, so two writers would lose each other's changes; see
``projections.batch``). The lease is one document with the holder and an expiry, taken when it
is free or expired and renewed by its holder, each by one conditional update; the holder renews
it every third of its duration and gives it up when it stops cleanly.

A holder counts on its lease only until two thirds of the duration after it *began* the renewal
that granted it (its own monotonic clock, so a slow answer only shortens the hold): the last
third is the margin for a batch in hand, a stalled process and the processes' clocks, before
another process may take an expired lease. A renewal that fails (the database did not answer)
keeps the hold until then; one that finds another holder ends it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

LEASE_ID = "projection-writer"


class NotTheWriter(RuntimeError):
    """A batch reached a process that may not apply it any more; it is delivered again."""


@dataclass(frozen=True)
class LeaseTerms:
    seconds: float

    def __post_init__(self) -> None:
        if self.seconds <= 0:
            raise ValueError("a lease lasts a positive number of seconds")

    @property
    def renew_every(self) -> float:
        return self.seconds / 3

    def expires_at(self, now: datetime) -> datetime:
        """The expiry written with a take or renewal begun at ``now`` (wall clock)."""
        return now + timedelta(seconds=self.seconds)

    def hold_until(self, attempted_at: float) -> float:
        """Until when (monotonic) a renewal begun at ``attempted_at`` lets its holder write."""
        return attempted_at + self.seconds * 2 / 3


class Change(Enum):
    GAINED = "gained"
    KEPT = "kept"
    LOST = "lost"
    NONE = "none"  # standing by, and still


@dataclass(frozen=True)
class Hold:
    """What a process knows of its own hold on the lease."""

    holding: bool = False
    until: float = 0.0  # monotonic

    def may_write(self, now: float) -> bool:
        return self.holding and now < self.until

    def after_attempt(
        self, terms: LeaseTerms, taken: bool | None, attempted_at: float, now: float
    ) -> tuple[Hold, Change]:
        """The hold after an attempt to take or renew the lease begun at ``attempted_at``:
        ``taken`` True (ours now), False (another process holds it) or None (no answer)."""
        if taken:
            hold = Hold(True, terms.hold_until(attempted_at))
            if not hold.may_write(now):  # the answer came too late to count on
                return Hold(), Change.LOST if self.holding else Change.NONE
            return hold, Change.KEPT if self.holding else Change.GAINED
        if taken is None and self.may_write(now):
            return self, Change.KEPT
        return Hold(), Change.LOST if self.holding else Change.NONE

    def at(self, now: float) -> tuple[Hold, Change]:
        """The hold at ``now`` with no new answer: lost once its time is up."""
        if self.holding and not self.may_write(now):
            return Hold(), Change.LOST
        return self, Change.KEPT if self.holding else Change.NONE
