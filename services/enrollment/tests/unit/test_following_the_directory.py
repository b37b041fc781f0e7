"""What an enrolment does when HR changes its employee, through the handlers over the fakes:
a leave pauses and its end resumes, a termination or an erasure withdraws everywhere (and frees
the seat for the line), new reporting attributes reach consenting participants only."""

from __future__ import annotations

from datetime import date
from typing import Any

from enrollment.participants.domain import Answers, ParticipantStatus, participant_id
from roundtable_shared.events.catalogue.enrollment import (
    EmploymentStatus,
    ParticipantPaused,
    ParticipantResumed,
    ParticipantUpdated,
    ParticipantWithdrawn,
    PauseReason,
    WithdrawReason,
)

P, Q = "p-1", "p-2"
A = participant_id(P, "e-a")


async def enrolled(fakes: Any, *employees: str, **answers: Any) -> None:
    for employee in employees:
        await fakes.hire(employee, department="Sales", level="L4", location="Oslo")
    await fakes.open_program(P)
    for employee in employees:
        await fakes.enrol(P, employee, **answers)


async def test_a_leave_pauses_and_its_end_resumes_once_each(fakes: Any) -> None:
    await enrolled(fakes, "e-a")
    fakes.clock.advance(days=1)
    leave_at = fakes.clock()
    await fakes.hr_change(
        "e-a", EmploymentStatus.ON_LEAVE, leave_expected_return_on=date(2026, 10, 1)
    )

    assert await fakes.participants.follow_directory("e-a") is True
    paused = fakes.participant(A)
    assert (paused.status, paused.paused_reason, paused.resume_expected_on) == (
        ParticipantStatus.PAUSED,
        PauseReason.ON_LEAVE,
        date(2026, 10, 1),
    )
    version = fakes.participant_store.documents[A]["version"]
    await fakes.participants.follow_directory("e-a")  # the event again: nothing more
    assert fakes.participant_store.documents[A]["version"] == version
    (event,) = fakes.participant_store.raised(ParticipantPaused)
    assert (event.reason, event.paused_at, event.resume_expected_on) == (
        PauseReason.ON_LEAVE,
        leave_at,
        date(2026, 10, 1),
    )
    assert await fakes.seats_held(P) == 1  # a pause keeps the seat

    fakes.clock.advance(days=20)
    await fakes.hr_change("e-a", EmploymentStatus.ACTIVE)
    await fakes.participants.follow_directory("e-a")
    await fakes.participants.follow_directory("e-a")

    back = fakes.participant(A)
    assert (back.status, back.paused_reason, back.resume_expected_on) == (
        ParticipantStatus.ENROLLED,
        None,
        None,
    )
    (resumed,) = fakes.participant_store.raised(ParticipantResumed)
    assert resumed.resumed_at == fakes.clock()


async def test_a_leave_leaves_a_waitlisted_enrolment_in_line(fakes: Any) -> None:
    await fakes.hire("e-a")
    await fakes.hire("e-b")
    await fakes.open_program(P, capacity=1)
    await fakes.enrol(P, "e-a")
    await fakes.enrol(P, "e-b")
    await fakes.hr_change("e-b", EmploymentStatus.ON_LEAVE)

    await fakes.participants.follow_directory("e-b")

    assert fakes.status_of(participant_id(P, "e-b")) is ParticipantStatus.WAITLISTED
    assert fakes.participant_store.raised(ParticipantPaused) == []


async def test_a_termination_withdraws_from_every_program_and_the_line_moves_up(
    fakes: Any,
) -> None:
    for employee in ("e-a", "e-b"):
        await fakes.hire(employee)
    await fakes.open_program(P, capacity=1)
    await fakes.open_program(Q)
    await fakes.enrol(P, "e-a")
    await fakes.enrol(P, "e-b")  # waitlisted behind e-a
    await fakes.enrol(Q, "e-a")
    fakes.clock.advance(days=1)
    await fakes.hr_change("e-a", EmploymentStatus.TERMINATED)
    employee = await fakes.repositories.employees.get("e-a")
    assert employee.cascade_due is WithdrawReason.TERMINATED

    # What the directory cascade consumer runs on ``employee.offboarded``.
    await fakes.participants.withdraw_everywhere("e-a", WithdrawReason.TERMINATED)

    for program in (P, Q):
        withdrawn = fakes.participant(participant_id(program, "e-a"))
        assert (withdrawn.status, withdrawn.withdrawn_reason) == (
            ParticipantStatus.WITHDRAWN,
            WithdrawReason.TERMINATED,
        )
    assert fakes.status_of(participant_id(P, "e-b")) is ParticipantStatus.ENROLLED
    assert (await fakes.seats_held(P), await fakes.seats_held(Q)) == (1, 0)
    assert (await fakes.repositories.employees.get("e-a")).cascade_due is None
    events = fakes.participant_store.raised(ParticipantWithdrawn)
    assert sorted(e.program_id for e in events) == [P, Q]

    await fakes.participants.withdraw_everywhere("e-a", WithdrawReason.TERMINATED)  # redelivery
    assert len(fakes.participant_store.raised(ParticipantWithdrawn)) == 2


async def test_a_termination_whose_cascade_never_ran_is_finished_at_start(fakes: Any) -> None:
    await fakes.hire("e-a")
    await fakes.open_program(P)
    await fakes.enrol(P, "e-a")
    await fakes.hr_change("e-a", EmploymentStatus.TERMINATED)  # the process died here

    await fakes.participants.finish_cascades()

    assert fakes.status_of(A) is ParticipantStatus.WITHDRAWN
    assert (await fakes.repositories.employees.get("e-a")).cascade_due is None
    assert await fakes.seats_held(P) == 0


async def test_an_erasure_withdraws_forgets_the_answers_and_shreds_first(fakes: Any) -> None:
    await enrolled(fakes, "e-a", goals=["delegate"], consent_to_reporting=True)
    await fakes.directory.erase("e-a")

    await fakes.participants.withdraw_everywhere("e-a", WithdrawReason.ERASED)

    gone = fakes.participant(A)
    assert (gone.status, gone.withdrawn_reason) == (
        ParticipantStatus.WITHDRAWN,
        WithdrawReason.ERASED,
    )
    assert (gone.answers, gone.reporting_attributes) == (Answers(), None)
    assert fakes.shredded == ["e-a"]
    assert (await fakes.repositories.employees.get("e-a")).cascade_due is None


async def test_new_reporting_attributes_reach_consenting_participants_only(fakes: Any) -> None:
    await enrolled(fakes, "e-a", consent_to_reporting=True)
    await fakes.hire("e-b", department="Sales", level="L4", location="Oslo")
    await fakes.enrol(P, "e-b")
    fakes.clock.advance(days=1)
    await fakes.hr_change("e-a", department="Engineering")
    await fakes.hr_change("e-b", department="Engineering")

    await fakes.participants.follow_directory("e-a")
    await fakes.participants.follow_directory("e-b")

    consenting = fakes.participant(A).reporting_attributes
    assert consenting is not None
    assert consenting.model_dump() == {
        "department": "Engineering",
        "level": "L4",
        "location": "Oslo",
    }
    assert fakes.participant(participant_id(P, "e-b")).reporting_attributes is None
    (event,) = fakes.participant_store.raised(ParticipantUpdated)
    assert (event.employee_id, event.reporting_attributes, event.updated_at) == (
        "e-a",
        consenting,
        fakes.clock(),
    )
