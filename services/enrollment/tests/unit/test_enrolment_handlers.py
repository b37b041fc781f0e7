"""Enrolment's rules through the handlers, over the in-memory fakes: seats, the waitlist and its
promotion on a withdrawal, a retried request, a closed program, eligibility."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from enrollment.participants.domain import Answers, ParticipantStatus, participant_id
from enrollment.programs.domain import ProgramSettings, SeatClaim
from roundtable_shared.events.catalogue.enrollment import (
    ParticipantEnrolled,
    ParticipantUpdated,
    ParticipantWaitlisted,
    ParticipantWithdrawn,
    WithdrawReason,
)
from roundtable_shared.http.problems import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    Unprocessable,
)

P = "p-1"


async def three_hired(fakes: Any) -> None:
    for employee in ("e-a", "e-b", "e-c"):
        await fakes.hire(employee)


async def test_seats_go_first_come_and_the_rest_wait_in_line(fakes: Any) -> None:
    await three_hired(fakes)
    await fakes.open_program(P, capacity=2)

    first = await fakes.enrol(P, "e-a")
    second = await fakes.enrol(P, "e-b")
    third = await fakes.enrol(P, "e-c")

    assert [p.status for p, *_ in (first, second, third)] == [
        ParticipantStatus.ENROLLED,
        ParticipantStatus.ENROLLED,
        ParticipantStatus.WAITLISTED,
    ]
    assert [created for *_, created in (first, second, third)] == [True, True, True]
    assert third[0].waitlist_number == 1
    assert third[0].enrolled_at is None
    assert await fakes.participants.position(third[0]) == 1
    assert await fakes.seats_held(P) == 2
    enrolled = fakes.participant_store.raised(ParticipantEnrolled)
    assert [e.employee_id for e in enrolled] == ["e-a", "e-b"]
    (waitlisted,) = fakes.participant_store.raised(ParticipantWaitlisted)
    assert (waitlisted.employee_id, waitlisted.position) == ("e-c", 1)
    # Every claim settled: the enrolments hold the seats now, nothing is on its way.
    seats = await fakes.repositories.programs.seats(P)
    assert (seats.claims, seats.released) == ((), ())


async def test_a_withdrawal_gives_its_seat_to_the_first_in_line(fakes: Any) -> None:
    await three_hired(fakes)
    await fakes.hire("e-d")
    await fakes.open_program(P, capacity=2)
    for employee in ("e-a", "e-b", "e-c", "e-d"):
        await fakes.enrol(P, employee)
    fakes.clock.advance(hours=1)
    leaving, c, d = (participant_id(P, e) for e in ("e-a", "e-c", "e-d"))

    withdrawn, _ = await fakes.participants.withdraw(leaving, WithdrawReason.SELF)

    assert withdrawn.status is ParticipantStatus.WITHDRAWN
    assert withdrawn.withdrawn_reason is WithdrawReason.SELF
    assert withdrawn.withdrawal_unfinished is False
    assert fakes.status_of(c) is ParticipantStatus.ENROLLED
    promoted = fakes.participant(c)
    assert (promoted.waitlist_number, promoted.enrolled_at) == (None, fakes.clock())
    assert fakes.status_of(d) is ParticipantStatus.WAITLISTED
    assert await fakes.participants.position(fakes.participant(d)) == 1
    assert await fakes.seats_held(P) == 2
    seats = await fakes.repositories.programs.seats(P)
    assert (seats.claims, seats.released) == ((), ())
    (from_line,) = [
        e for e in fakes.participant_store.raised(ParticipantEnrolled) if e.from_waitlist
    ]
    assert from_line.employee_id == "e-c"
    (event,) = fakes.participant_store.raised(ParticipantWithdrawn)
    assert (event.employee_id, event.reason, event.group_id) == ("e-a", WithdrawReason.SELF, None)


async def test_withdrawing_again_changes_nothing(fakes: Any) -> None:
    await three_hired(fakes)
    await fakes.open_program(P, capacity=1)
    await fakes.enrol(P, "e-a")
    await fakes.enrol(P, "e-b")
    pid = participant_id(P, "e-a")
    _, version = await fakes.participants.withdraw(pid, WithdrawReason.SELF)

    again, version_again = await fakes.participants.withdraw(pid, WithdrawReason.ADMIN)

    assert (again.withdrawn_reason, version_again) == (WithdrawReason.SELF, version)
    assert len(fakes.participant_store.raised(ParticipantWithdrawn)) == 1
    assert await fakes.seats_held(P) == 1  # e-b's, taken once from the one seat e-a gave back


async def test_a_retried_enrolment_answers_the_first_and_takes_no_second_seat(fakes: Any) -> None:
    await three_hired(fakes)
    await fakes.open_program(P, capacity=5)
    participant, version, first_created = await fakes.enrol(P, "e-a", key="k-1", goals=["delegate"])

    again = await fakes.enrol(P, "e-a", key="k-1", goals=["delegate"])

    assert (first_created, again) == (True, (participant, version, False))
    assert await fakes.seats_held(P) == 1
    assert len(fakes.participant_store.raised(ParticipantEnrolled)) == 1
    with pytest.raises(Unprocessable):  # the same key for another request
        await fakes.enrol(P, "e-a", key="k-1", goals=["coach"])
    with pytest.raises(Conflict):  # another request: already enrolled
        await fakes.enrol(P, "e-a", key="k-2")
    assert await fakes.seats_held(P) == 1


async def test_enrolling_again_after_a_withdrawal_reuses_the_enrolment(fakes: Any) -> None:
    await three_hired(fakes)
    await fakes.open_program(P, capacity=5)
    pid = participant_id(P, "e-a")
    await fakes.enrol(P, "e-a")
    await fakes.participants.withdraw(pid, WithdrawReason.SELF)

    participant, version, created = await fakes.enrol(P, "e-a", key="k-2")

    assert (participant.status, created) == (ParticipantStatus.ENROLLED, True)
    # insert (1 event), withdrawal (1 event), withdrawal finished (no event), enrolment (1)
    assert version == 4
    assert list(fakes.participant_store.documents) == [pid]
    assert fakes.participant_store.documents[pid]["idempotency_key"] == "k-2"
    assert await fakes.seats_held(P) == 1


async def test_a_program_not_open_takes_no_enrolment_and_writes_nothing(fakes: Any) -> None:
    await three_hired(fakes)
    await fakes.programs.create("p-draft", ProgramSettings(name="p-draft"))
    await fakes.open_program("p-closed")
    await fakes.programs.transition("p-closed", "close", None)
    closes = fakes.clock() - timedelta(minutes=1)
    await fakes.open_program("p-late", enrolment_closes_at=closes)

    with pytest.raises(NotFound):
        await fakes.enrol("p-draft", "e-a")
    with pytest.raises(Conflict, match="the program is closed, not open for enrolment"):
        await fakes.enrol("p-closed", "e-a")
    with pytest.raises(Conflict, match="enrolment has closed"):
        await fakes.enrol("p-late", "e-a")

    assert fakes.participant_store.documents == {}
    for program in ("p-draft", "p-closed", "p-late"):
        assert await fakes.seats_held(program) == 0


async def test_who_may_not_enrol_is_told_why_and_nothing_is_written(fakes: Any) -> None:
    await fakes.hire("e-a", department="Sales")
    await fakes.open_program(P, eligibility={"departments": ["Engineering"]})

    with pytest.raises(Forbidden) as refused:
        await fakes.enrol(P, "e-a")
    with pytest.raises(Forbidden):
        await fakes.enrol(P, "e-unknown")  # not in the directory

    assert "open to departments Engineering" in str(refused.value)
    assert fakes.participant_store.documents == {}
    assert await fakes.seats_held(P) == 0


async def test_reporting_attributes_go_only_with_consent(fakes: Any) -> None:
    await fakes.hire("e-a", department="Sales", level="L4", location="Oslo")
    await fakes.hire("e-b", department="Sales", level="L4", location="Oslo")
    await fakes.open_program(P)

    consenting, *_ = await fakes.enrol(P, "e-a", consent_to_reporting=True)
    private, *_ = await fakes.enrol(P, "e-b")

    assert consenting.reporting_attributes is not None
    assert consenting.reporting_attributes.model_dump() == {
        "department": "Sales",
        "level": "L4",
        "location": "Oslo",
    }
    assert private.reporting_attributes is None
    shared, withheld = fakes.participant_store.raised(ParticipantEnrolled)
    assert shared.reporting_attributes == consenting.reporting_attributes
    assert withheld.reporting_attributes is None


async def test_a_seat_claimed_by_a_change_that_died_is_counted_back_for_the_next(
    fakes: Any,
) -> None:
    await three_hired(fakes)
    await fakes.open_program(P, capacity=1)
    # A crash between taking the seat and saving the enrolment, two minutes ago (grace: 60 s).
    dead = SeatClaim("par-dead", fakes.clock() - timedelta(minutes=2))
    assert await fakes.repositories.programs.take_seat(P, 1, dead)

    participant, *_ = await fakes.enrol(P, "e-a")

    assert participant.status is ParticipantStatus.ENROLLED
    seats = await fakes.repositories.programs.seats(P)
    assert (seats.held, seats.claims) == (1, ())


async def test_a_young_claim_is_an_enrolment_on_its_way_and_keeps_its_seat(fakes: Any) -> None:
    await three_hired(fakes)
    await fakes.open_program(P, capacity=1)
    on_its_way = SeatClaim("par-other", fakes.clock() - timedelta(seconds=10))
    assert await fakes.repositories.programs.take_seat(P, 1, on_its_way)

    participant, *_ = await fakes.enrol(P, "e-a")

    assert (participant.status, participant.waitlist_number) == (ParticipantStatus.WAITLISTED, 1)
    seats = await fakes.repositories.programs.seats(P)
    assert (seats.held, seats.claims) == (1, (on_its_way,))


async def test_only_the_participant_edits_their_answers_at_the_version_they_read(
    fakes: Any,
) -> None:
    await fakes.hire("e-a", department="Sales", level="L4", location="Oslo")
    await fakes.open_program(P)
    participant, version, _ = await fakes.enrol(P, "e-a")
    pid = participant.participant_id
    consenting = Answers(goals=["coach"], consent_to_reporting=True)

    with pytest.raises(Forbidden):
        await fakes.participants.edit(pid, "e-b", version, consenting)
    with pytest.raises(PreconditionFailed):
        await fakes.participants.edit(pid, "e-a", version + 1, consenting)
    edited, new_version = await fakes.participants.edit(pid, "e-a", version, consenting)

    assert (edited.answers.goals, new_version) == (["coach"], version + 1)
    (updated,) = fakes.participant_store.raised(ParticipantUpdated)
    assert updated.reporting_attributes is not None
    assert updated.reporting_attributes.department == "Sales"
    await fakes.participants.edit(pid, "e-a", new_version, consenting)
    assert len(fakes.participant_store.raised(ParticipantUpdated)) == 1  # consent unchanged
    _, latest = await fakes.participants.withdraw(pid, WithdrawReason.SELF)
    with pytest.raises(Conflict):
        await fakes.participants.edit(pid, "e-a", latest, consenting)


async def test_groups_are_formed_once_when_enrolment_closes(fakes: Any) -> None:
    await fakes.open_program(P, enrolment_closes_at=fakes.clock() + timedelta(hours=1))
    for employee in ("e-a", "e-b", "e-c"):
        await fakes.hire(employee)
        await fakes.enrol(P, employee)

    assert await fakes.matching.match_closed_programs() == 0  # still open for enrolment
    fakes.clock.advance(hours=2)
    assert await fakes.matching.match_closed_programs() == 1
    assert await fakes.matching.match_closed_programs() == 0  # matched already

    (group,) = await fakes.repositories.groups.of_program(P)
    assert sorted(m.employee_id for m in group[0].members) == ["e-a", "e-b", "e-c"]
