"""When a full program's seat counter may be corrected by a count of the holders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from enrollment.programs.domain import SeatClaim, SeatCounter

NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
GRACE = timedelta(seconds=60)


def counter(*claims: SeatClaim) -> SeatCounter:
    return SeatCounter(held=3, changes=7, claims=claims, released=())


def test_a_counter_without_claims_is_exact() -> None:
    assert not counter().worth_recounting(NOW, GRACE)


def test_only_claims_older_than_the_grace_make_a_count_worth_it() -> None:
    young = SeatClaim("par_young", NOW - timedelta(seconds=5))
    old = SeatClaim("par_old", NOW - timedelta(seconds=61))
    edge = SeatClaim("par_edge", NOW - GRACE)
    assert counter(old).worth_recounting(NOW, GRACE)
    assert not counter(young).worth_recounting(NOW, GRACE)
    # An enrolment still on its way would be missed by the count: wait for it.
    assert not counter(old, young).worth_recounting(NOW, GRACE)
    assert not counter(edge).worth_recounting(NOW, GRACE)
