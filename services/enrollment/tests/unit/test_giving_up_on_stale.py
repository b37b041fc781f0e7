"""A change that keeps finding its aggregate changed by someone else is retried on a fresh read a
bounded number of times (``until_saved``), then given up with ``StillStale`` (a 409 over HTTP, a
redelivery for a consumer): nothing of it is written, nothing is recorded as done, and the
redelivery (or the pass at start) applies it once."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from enrollment.participants.domain import ParticipantStatus, participant_id
from roundtable_shared.events.catalogue.enrollment import (
    EmploymentStatus,
    GroupChanged,
    ParticipantPaused,
    ParticipantWithdrawn,
    WithdrawReason,
)
from roundtable_shared.http.problems import Conflict
from roundtable_shared.storage.retry import ATTEMPTS, StillStale

P = "p-1"
ALWAYS = 1_000
"""A rival writer that wins every race."""


def but_version(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in copy.deepcopy(document).items() if k != "version"}


async def test_following_a_leave_that_keeps_losing_writes_nothing_and_lands_on_redelivery(
    fakes: Any,
) -> None:
    await fakes.hire("e-a")
    await fakes.open_program(P)
    await fakes.enrol(P, "e-a")
    pid = participant_id(P, "e-a")
    await fakes.hr_change("e-a", EmploymentStatus.ON_LEAVE)
    before = but_version(fakes.participant_store.documents[pid])
    fakes.participant_store.rivals = ALWAYS

    with pytest.raises(StillStale) as gave_up:
        await fakes.participants.follow_directory("e-a")

    assert gave_up.value.attempts == ATTEMPTS
    assert ALWAYS - fakes.participant_store.rivals == ATTEMPTS  # one conditional write each
    assert but_version(fakes.participant_store.documents[pid]) == before
    assert fakes.participant_store.raised(ParticipantPaused) == []

    fakes.participant_store.rivals = 0
    await fakes.participants.follow_directory("e-a")  # the consumer's redelivery
    assert fakes.status_of(pid) is ParticipantStatus.PAUSED
    assert len(fakes.participant_store.raised(ParticipantPaused)) == 1


async def test_a_withdrawal_that_keeps_losing_keeps_the_seat_and_the_enrolment(
    fakes: Any,
) -> None:
    for employee in ("e-a", "e-b"):
        await fakes.hire(employee)
    await fakes.open_program(P, capacity=1)
    await fakes.enrol(P, "e-a")
    await fakes.enrol(P, "e-b")  # waitlisted
    a, b = participant_id(P, "e-a"), participant_id(P, "e-b")
    fakes.participant_store.rivals = ALWAYS

    with pytest.raises(StillStale):
        await fakes.participants.withdraw(a, WithdrawReason.SELF)

    fakes.participant_store.rivals = 0
    assert fakes.status_of(a) is ParticipantStatus.ENROLLED
    assert fakes.status_of(b) is ParticipantStatus.WAITLISTED
    assert await fakes.seats_held(P) == 1
    assert fakes.participant_store.raised(ParticipantWithdrawn) == []

    await fakes.participants.withdraw(a, WithdrawReason.SELF)  # the client's retry
    assert fakes.status_of(b) is ParticipantStatus.ENROLLED
    assert len(fakes.participant_store.raised(ParticipantWithdrawn)) == 1


async def test_a_group_that_keeps_changing_leaves_the_withdrawal_unfinished_until_start(
    fakes: Any,
) -> None:
    await fakes.open_program(P)
    for employee in ("e-a", "e-b", "e-c", "e-d"):
        await fakes.hire(employee)
        await fakes.enrol(P, employee)
    proposal = await fakes.matching.preview(P)
    (group_id,) = (await fakes.matching.publish(P, proposal.proposal_id)).published_group_ids
    a = participant_id(P, "e-a")
    group_before = but_version(fakes.group_store.documents[group_id])
    fakes.group_store.rivals = ALWAYS

    with pytest.raises(StillStale):
        await fakes.participants.withdraw(a, WithdrawReason.SELF)

    fakes.group_store.rivals = 0
    assert but_version(fakes.group_store.documents[group_id]) == group_before
    assert fakes.group_store.raised(GroupChanged) == []
    # The withdrawal is saved, and still says its group is to follow: not recorded as done.
    withdrawn = fakes.participant(a)
    assert (withdrawn.status, withdrawn.leaving_group_id) == (
        ParticipantStatus.WITHDRAWN,
        group_id,
    )
    assert await fakes.seats_held(P) == 3  # 4 enrolled; the seat followed before the group

    await fakes.participants.finish_cascades()  # at the next start

    group, _ = await fakes.groups.get(group_id)
    assert sorted(m.employee_id for m in group.members) == ["e-b", "e-c", "e-d"]
    assert len(fakes.group_store.raised(GroupChanged)) == 1
    done = fakes.participant(a)
    assert (done.leaving_group_id, done.seat_to_release) == (None, False)
    seats = await fakes.repositories.programs.seats(P)
    assert (seats.held, seats.released) == (3, ())  # given back once, and no longer pending


async def test_an_hr_change_that_keeps_losing_is_a_conflict_and_is_not_remembered(
    fakes: Any,
) -> None:
    await fakes.hire("e-a", department="Sales")
    before = but_version(fakes.employee_store.documents["e-a"])
    fakes.employee_store.rivals = ALWAYS

    with pytest.raises(Conflict):
        await fakes.hr_change("e-a", department="Engineering")

    fakes.employee_store.rivals = 0
    stored = fakes.employee_store.documents["e-a"]
    assert but_version(stored) == before
    assert stored["hr_event_ids"] == ["hr-1"]  # the hire's only: a retry is no duplicate


async def three_to_place(fakes: Any) -> str:
    await fakes.open_program(P)
    for employee in ("e-a", "e-b", "e-c"):
        await fakes.hire(employee)
        await fakes.enrol(P, employee)
    return str((await fakes.matching.preview(P)).proposal_id)


async def test_a_publish_that_finds_an_enrolment_changed_places_it_on_a_fresh_read(
    fakes: Any,
) -> None:
    proposal_id = await three_to_place(fakes)
    fakes.participant_store.rivals = 1  # an HR update of one of them lands meanwhile

    (group_id,) = (await fakes.matching.publish(P, proposal_id)).published_group_ids

    placed = [fakes.participant(participant_id(P, e)).group_id for e in ("e-a", "e-b", "e-c")]
    assert placed == [group_id, group_id, group_id]
    assert await fakes.matching.unassigned(P) == []


async def test_a_publish_that_keeps_losing_is_not_published_and_its_retry_finishes_it(
    fakes: Any,
) -> None:
    proposal_id = await three_to_place(fakes)
    fakes.participant_store.rivals = ALWAYS

    with pytest.raises(StillStale):
        await fakes.matching.publish(P, proposal_id)

    fakes.participant_store.rivals = 0
    assert (await fakes.matching.get_proposal(P, proposal_id)).status == "preview"
    published = await fakes.matching.publish(P, proposal_id)  # the admin's retry
    (group_id,) = published.published_group_ids
    assert published.status == "published"
    placed = [fakes.participant(participant_id(P, e)).group_id for e in ("e-a", "e-b", "e-c")]
    assert placed == [group_id, group_id, group_id]
    assert list(fakes.group_store.documents) == [group_id]
