"""When a full program's seat counter may be corrected by a count of the holders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from enrollment.programs.domain import SeatClaim, SeatCounter

NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
GRACE = timedelta(seconds=60)


def counter(*claims: SeatClaim) -> SeatCounter:
    return SeatCounter(held=3, changes=7, claims=claims, released=())


def test_a_count_waits_while_an_enrolment_may_be_on_its_way() -> None:
    young = SeatClaim("par_young", NOW - timedelta(seconds=5))
    old = SeatClaim("par_old", NOW - timedelta(seconds=61))
    edge = SeatClaim("par_edge", NOW - GRACE)
    assert counter().may_recount(NOW, GRACE)
    assert counter(old).may_recount(NOW, GRACE)
    assert not counter(young).may_recount(NOW, GRACE)
    # The count would miss the young claim's enrolment, not yet saved: wait for it.
    assert not counter(old, young).may_recount(NOW, GRACE)
    assert not counter(edge).may_recount(NOW, GRACE)


def test_a_count_that_agrees_with_a_counter_without_claims_writes_nothing() -> None:
    old = SeatClaim("par_old", NOW - timedelta(seconds=61))
    assert not counter().corrected_by(3)
    assert counter().corrected_by(2)
    assert counter(old).corrected_by(3)  # the abandoned claim still has to go
