"""The writer lease's rules: when a process may apply events, and what each answer changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reporting.projections.lease import Change, Hold, LeaseTerms

TERMS = LeaseTerms(15.0)


def test_renewed_every_third_and_written_to_expire_after_the_whole_duration() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert TERMS.renew_every == 5.0
    assert TERMS.expires_at(now) == now + timedelta(seconds=15)
    with pytest.raises(ValueError):
        LeaseTerms(0)


def test_a_standby_gains_the_lease_it_takes_and_writes_for_two_thirds_of_it() -> None:
    hold, change = Hold().after_attempt(TERMS, True, attempted_at=100.0, now=100.2)
    assert change is Change.GAINED
    assert hold.may_write(109.9)
    assert not hold.may_write(110.0)  # the last third is margin before another may take it


def test_a_renewal_keeps_the_hold_counted_from_when_it_began() -> None:
    hold, _ = Hold().after_attempt(TERMS, True, attempted_at=100.0, now=100.0)
    renewed, change = hold.after_attempt(TERMS, True, attempted_at=105.0, now=108.0)
    assert change is Change.KEPT
    assert renewed.until == 115.0  # from 105, not from the slow answer at 108


def test_finding_another_holder_ends_the_hold_at_once() -> None:
    hold, _ = Hold().after_attempt(TERMS, True, attempted_at=100.0, now=100.0)
    lost, change = hold.after_attempt(TERMS, False, attempted_at=105.0, now=105.1)
    assert change is Change.LOST
    assert not lost.may_write(105.1)
    standby, change = Hold().after_attempt(TERMS, False, attempted_at=105.0, now=105.1)
    assert (standby.holding, change) == (False, Change.NONE)


def test_no_answer_keeps_the_hold_only_until_its_time_is_up() -> None:
    hold, _ = Hold().after_attempt(TERMS, True, attempted_at=100.0, now=100.0)
    kept, change = hold.after_attempt(TERMS, None, attempted_at=105.0, now=106.0)
    assert (change, kept.may_write(106.0)) == (Change.KEPT, True)
    lost, change = kept.after_attempt(TERMS, None, attempted_at=110.0, now=111.0)
    assert (change, lost.holding) == (Change.LOST, False)
    never, change = Hold().after_attempt(TERMS, None, attempted_at=110.0, now=111.0)
    assert (change, never.holding) == (Change.NONE, False)


def test_an_answer_that_comes_after_the_hold_would_end_does_not_count() -> None:
    hold, change = Hold().after_attempt(TERMS, True, attempted_at=100.0, now=111.0)
    assert (change, hold.holding) == (Change.NONE, False)
    held, _ = Hold().after_attempt(TERMS, True, attempted_at=100.0, now=100.0)
    late, change = held.after_attempt(TERMS, True, attempted_at=105.0, now=116.0)
    assert (change, late.holding) == (Change.LOST, False)


def test_a_hold_runs_out_without_an_answer() -> None:
    hold, _ = Hold().after_attempt(TERMS, True, attempted_at=100.0, now=100.0)
    assert hold.at(109.0) == (hold, Change.KEPT)
    assert hold.at(110.0) == (Hold(), Change.LOST)
    assert Hold().at(110.0) == (Hold(), Change.NONE)
