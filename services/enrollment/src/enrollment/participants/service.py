"""Enrolment handlers: eligibility, enrol (or waitlist), edit, withdraw, pause and resume."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date

from enrollment.clock import utcnow
from enrollment.directory.domain import Employee
from enrollment.directory.repository import EmployeeRepository
from enrollment.participants.domain import (
    ACTIVE,
    HOLDS_SEAT,
    Answers,
    DirectoryFacts,
    Participant,
    ParticipantStatus,
    participant_id,
)
from enrollment.participants.repository import ParticipantRepository, drop_retired
from enrollment.programs import domain as programs
from enrollment.programs.domain import EmployeeFacts, Program
from enrollment.programs.repository import ProgramRepository
from roundtable_shared.events.catalogue.enrollment import (
    ParticipantEnrolled,
    ParticipantUpdated,
    ParticipantWaitlisted,
    ParticipantWithdrawn,
    ProgramStatus,
    ReportingAttributes,
    WithdrawReason,
)
from roundtable_shared.events.envelope import EventData
from roundtable_shared.faults import crash_point
from roundtable_shared.http.concurrency import stale_write
from roundtable_shared.http.idempotency import ensure_same_request, fingerprint
from roundtable_shared.http.problems import Conflict, Forbidden, NotFound
from roundtable_shared.storage.aggregates import AlreadyExists
from roundtable_shared.storage.mongo import Document
from roundtable_shared.storage.retry import until_saved

LeftGroup = Callable[[Participant, WithdrawReason], Awaitable[None]]
Forget = Callable[[str], Awaitable[None]]
Decide = Callable[[Participant, int], list[EventData] | None]
"""Changes a participant as read (at a version) and answers the events of the change; None:
nothing to write."""


async def change_participant(
    participants: ParticipantRepository,
    participant_id: str,
    decide: Decide,
    *,
    loaded: tuple[Participant, int] | None = None,
) -> tuple[Participant, int] | None:
    """Read, decide, conditional write; again on a fresh read while someone else wrote first
    (``until_saved``: ``StillStale`` when it gives up, never a change reported as written).
    ``loaded``: the caller's fresh copy, for the first attempt. None: no such participant."""
    first = loaded

    async def attempt() -> tuple[tuple[Participant, int] | None] | None:
        nonlocal first
        current, first = first, None
        if current is None:
            found = await participants.load(participant_id)
            if found is None:
                return (None,)
            current = found[0], found[1]
        participant, version = current
        events = decide(participant, version)
        if events is None:
            return ((participant, version),)
        saved = await participants.save(participant, version, events)
        return None if saved is None else ((participant, saved),)

    (outcome,) = await until_saved(attempt, what="the enrolment")
    return outcome


def facts(employee: Employee | None) -> EmployeeFacts | None:
    if employee is None or employee.erased:
        return None
    profile = employee.profile
    hired = profile.get("hire_date")
    return EmployeeFacts(
        employee_id=employee.employee_id,
        status=employee.employment_status,
        level=profile.get("level"),
        department=profile.get("department"),
        location=profile.get("location"),
        hire_date=date.fromisoformat(hired) if hired else None,
    )


def directory_facts(employee: Employee) -> DirectoryFacts:
    back_on = employee.profile.get("leave_expected_return_on")
    return DirectoryFacts(
        employment_status=employee.employment_status,
        reporting_attributes=attributes(employee),
        leave_expected_return_on=date.fromisoformat(back_on) if back_on else None,
    )


def attributes(employee: Employee | None) -> ReportingAttributes | None:
    if employee is None or employee.erased:
        return None
    p = employee.profile
    return ReportingAttributes(
        department=p.get("department"), level=p.get("level"), location=p.get("location")
    )


class SeatLock:
    """A program's seats: enrolments taking one hold it shared, side by side (each seat is a
    conditional update); a count of the holders, a release and a promotion hold it exclusively.
    A waiting exclusive holder keeps new shared ones out, so enrolments cannot starve it."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0

    @asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._exclusive and not self._waiting)
            self._shared += 1
        try:
            yield
        finally:
            async with self._changed:
                self._shared -= 1
                self._changed.notify_all()

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        async with self._changed:
            self._waiting += 1
            try:
                await self._changed.wait_for(lambda: not self._exclusive and not self._shared)
            finally:
                self._waiting -= 1
                self._changed.notify_all()  # a cancelled wait lets the shared ones in again
            self._exclusive = True
        try:
            yield
        finally:
            async with self._changed:
                self._exclusive = False
                self._changed.notify_all()


class ParticipantService:
    def __init__(
        self,
        participants: ParticipantRepository,
        programs: ProgramRepository,
        employees: EmployeeRepository,
    ) -> None:
        self.participants = participants
        self.programs = programs
        self.employees = employees
        self.on_left_group: LeftGroup | None = None  # set by the wiring (groups)
        self.on_erased: list[Forget] = []  # set by the wiring: previews, groups forget the name
        # Seats change under their program's lock: the service runs as one process (FerretDB),
        # so with the lock held exclusively no seat is half taken and a count of the holders is
        # exact. The counter is kept by conditional updates, so enrolments take seats side by
        # side (shared); a count only corrects it (after a crash) when it says the program is
        # full, since on FerretDB a count reads every enrolment.
        self._seat_locks: defaultdict[str, SeatLock] = defaultdict(SeatLock)

    def seats(self, program_id: str) -> SeatLock:
        return self._seat_locks[program_id]

    async def recount_seats(self, program_id: str) -> None:
        """Set the seat counter from the enrolments holding one (hold ``seats(program_id)`` exclusively)."""
        released = await self.programs.seats_released(program_id)
        holders = await self.participants.seat_holders(program_id, released)
        await self.programs.set_seats(program_id, holders)

    # --- reads -----------------------------------------------------------------------------------

    async def eligibility(self, employee_id: str) -> list[tuple[Program, list[str]]]:
        employee = await self.employees.get(employee_id)
        today = utcnow().date()
        found = await self.programs.page(None, 500, [ProgramStatus.OPEN.value])
        return [
            (program, programs.ineligibility_reasons(program, facts(employee), today))
            for program, _, _ in found
        ]

    async def get(self, pid: str) -> tuple[Participant, int]:
        loaded = await self.participants.load(pid)
        if loaded is None:
            raise NotFound(f"no participant {pid}")
        return loaded[0], loaded[1]

    async def position(self, participant: Participant) -> int | None:
        if participant.status is not ParticipantStatus.WAITLISTED:
            return None
        return await self.participants.waitlist_position(
            participant.program_id, participant.waitlist_number or 0
        )

    # --- enrol -----------------------------------------------------------------------------------

    async def enrol(
        self, program_id: str, employee_id: str, answers: Answers, idempotency_key: str | None
    ) -> tuple[Participant, int, bool]:
        """(participant, version, created); 403 ineligible, 409 already enrolled or closed."""
        loaded = await self.programs.load(program_id)
        if loaded is None or loaded[0].status is ProgramStatus.DRAFT:
            raise NotFound(f"no program {program_id}")
        program = loaded[0]
        pid = participant_id(program_id, employee_id)
        request = {"key": idempotency_key, **answers.model_dump(mode="json")}
        existing = await self.participants.load(pid)
        if existing and existing[0].status in ACTIVE:
            if idempotency_key and existing[2].get("idempotency_key") == idempotency_key:
                ensure_same_request(existing[2].get("request_fingerprint"), request)
                return existing[0], existing[1], False
            raise Conflict("you are already enrolled in this program", participant_id=pid)
        now = utcnow()
        closed = programs.enrolment_window_reason(program, now)
        if closed:
            raise Conflict(closed)
        employee = await self.employees.get(employee_id)
        reasons = programs.ineligibility_reasons(program, facts(employee), now.date())
        if reasons:
            raise Forbidden("you are not eligible: " + "; ".join(reasons), reasons=reasons)
        if answers.time_zone is None and employee is not None:
            answers = answers.model_copy(update={"time_zone": employee.profile.get("time_zone")})
        participant = Participant(
            participant_id=pid,
            program_id=program_id,
            employee_id=employee_id,
            status=ParticipantStatus.ENROLLED,
            answers=answers,
            reporting_attributes=attributes(employee) if answers.consent_to_reporting else None,
            enrolled_at=now,
            updated_at=now,
        )
        extra = {"idempotency_key": idempotency_key, "request_fingerprint": fingerprint(request)}
        seats, capacity = self.seats(program_id), program.settings.capacity
        try:
            async with seats.shared():
                seated = await self.programs.take_seat(program_id, capacity, pid)
                crash_point("enrollment.enrolment.seat_taken")
                if seated:
                    return await self._save_enrolment(participant, existing, True, extra)
            async with seats.exclusive():
                # Full, says the counter; a crash between taking a seat and saving the enrolment
                # leaves it too high, so count the holders before sending anyone to the waitlist.
                await self.recount_seats(program_id)
                seated = await self.programs.take_seat(program_id, capacity, pid)
                return await self._save_enrolment(participant, existing, seated, extra)
        except AlreadyExists:
            async with seats.exclusive():
                await self.recount_seats(program_id)  # a seat it took is nobody's
            raise Conflict("you are already enrolled in this program", participant_id=pid) from None

    async def _save_enrolment(
        self,
        participant: Participant,
        existing: tuple[Participant, int, Document] | None,
        seated: bool,
        extra: Document,
    ) -> tuple[Participant, int, bool]:
        """Enrolled or waitlisted (hold the program's seats); AlreadyExists when enrolled
        meanwhile."""
        program_id, pid, now = (
            participant.program_id,
            participant.participant_id,
            participant.updated_at,
        )
        events: list[EventData]
        if seated:
            events = [ParticipantEnrolled(**participant.consent_fields(), enrolled_at=now)]
        else:
            number = await self.programs.next_waitlist_number(program_id)
            participant.status = ParticipantStatus.WAITLISTED
            participant.waitlist_number = number
            participant.enrolled_at = None
            position = await self.participants.waitlist_position(program_id, number)
            events = [
                ParticipantWaitlisted(**participant.ids(), position=position, waitlisted_at=now)
            ]
        if existing is None:
            version = await self.participants.insert(participant, events, extra)
        else:
            saved = await self.participants.save(participant, existing[1], events, extra)
            if saved is None:
                raise AlreadyExists(pid)
            version = saved
        return participant, version, True

    # --- edit ------------------------------------------------------------------------------------

    async def edit(
        self, pid: str, employee_id: str, expected_version: int, answers: Answers
    ) -> tuple[Participant, int]:
        participant, version = await self.get(pid)
        if participant.employee_id != employee_id:
            raise Forbidden("you may only edit your own enrolment")
        if version != expected_version:
            raise stale_write(version)
        if participant.status not in ACTIVE:
            raise Conflict("a withdrawn enrolment cannot be edited; enrol again")
        consent_before = (
            participant.answers.consent_to_reporting,
            participant.reporting_attributes,
        )
        participant.answers = answers
        if answers.consent_to_reporting:
            participant.reporting_attributes = attributes(
                await self.employees.get(participant.employee_id)
            )
        else:
            participant.reporting_attributes = None
        now = utcnow()
        participant.updated_at = now
        events: list[EventData] = []
        if (answers.consent_to_reporting, participant.reporting_attributes) != consent_before:
            events.append(ParticipantUpdated(**participant.consent_fields(), updated_at=now))
        saved = await self.participants.save(participant, version, events)
        if saved is None:
            raise stale_write((await self.get(pid))[1])
        return participant, saved

    # --- withdraw, pause, resume -----------------------------------------------------------------

    async def withdraw(
        self,
        pid: str,
        reason: WithdrawReason,
        expected_version: int | None = None,
        loaded: tuple[Participant, int] | None = None,
    ) -> tuple[Participant, int]:
        """Withdraw, then let the seat and the group follow.

        The withdrawal is saved first, with its event and what is still to follow (the group to
        change, the seat to give away); ``finish_withdrawal`` does those and clears them. Each
        step can run again, so a crash in between is finished on restart, once."""
        recorded = False

        def decide(participant: Participant, version: int) -> list[EventData] | None:
            nonlocal recorded
            if expected_version is not None and version != expected_version:
                raise stale_write(version)
            recorded = participant.status is not ParticipantStatus.WITHDRAWN
            if not recorded:
                return None  # withdrawn before: what is still to follow is finished below
            group_id = participant.group_id
            participant.seat_to_release = participant.status in HOLDS_SEAT
            participant.leaving_group_id = group_id
            participant.status = ParticipantStatus.WITHDRAWN
            participant.withdrawn_reason = reason
            participant.group_id = None
            participant.paused_reason = participant.resume_expected_on = None
            now = participant.updated_at = utcnow()
            if reason is WithdrawReason.ERASED:
                participant.forget_answers()
            return [
                ParticipantWithdrawn(
                    **participant.ids(), group_id=group_id, reason=reason, withdrawn_at=now
                )
            ]

        # The caller's copy first (the cascade just read it); a conflict reads it again.
        saved = await change_participant(self.participants, pid, decide, loaded=loaded)
        if saved is None:
            raise NotFound(f"no participant {pid}")
        if recorded:
            crash_point("enrollment.withdrawal.recorded")
        return await self.finish_withdrawal(*saved)

    async def finish_withdrawal(
        self, participant: Participant, version: int
    ) -> tuple[Participant, int]:
        """The seat and the group of a saved withdrawal; a no-op once they followed."""
        program_id, pid = participant.program_id, participant.participant_id
        seat_released = participant.seat_to_release
        if seat_released:
            async with self.seats(program_id).exclusive():
                await self.programs.release_seat(program_id, pid)
                await self.promote_from_waitlist(program_id)
            crash_point("enrollment.withdrawal.seat_released")
        if participant.leaving_group_id and self.on_left_group:
            left = participant.model_copy(update={"group_id": participant.leaving_group_id})
            await self.on_left_group(left, participant.withdrawn_reason or WithdrawReason.ADMIN)
            crash_point("enrollment.withdrawal.left_group")

        def followed(unfinished: Participant, _: int) -> list[EventData] | None:
            if not unfinished.withdrawal_unfinished:
                return None
            unfinished.seat_to_release, unfinished.leaving_group_id = False, None
            return []

        done = await change_participant(
            self.participants, pid, followed, loaded=(participant, version)
        )
        if done is None:
            raise NotFound(f"no participant {pid}")
        participant, version = done
        if seat_released:
            # Only now that no restart would release it again (a crash before this leaves an
            # id that no later release of this enrolment is held back by: enrolling again
            # takes it out).
            await self.programs.released(program_id, pid)
        return participant, version

    async def promote_from_waitlist(self, program_id: str) -> None:
        """Give free seats to the waitlist, first in line first (hold ``seats(program_id)`` exclusively)."""
        loaded = await self.programs.load(program_id)
        if loaded is None or loaded[0].status not in (ProgramStatus.OPEN, ProgramStatus.RUNNING):
            return
        capacity = loaded[0].settings.capacity
        # Finding the first in line is a scan on FerretDB: not when nobody was ever waitlisted
        # or the counter leaves no seat to give.
        if not loaded[2].get("waitlist_seq"):
            return
        if capacity is not None and int(loaded[2].get("enrolled_count", 0)) >= capacity:
            return
        while True:
            first = await self.participants.first_waitlisted(program_id)
            if first is None or not await self.programs.take_seat(
                program_id, capacity, first[0].participant_id
            ):
                return
            participant, version = first
            participant.status = ParticipantStatus.ENROLLED
            participant.waitlist_number = None
            now = participant.enrolled_at = participant.updated_at = utcnow()
            event = ParticipantEnrolled(
                **participant.consent_fields(), enrolled_at=now, from_waitlist=True
            )
            if await self.participants.save(participant, version, [event]) is not None:
                return
            await self.recount_seats(program_id)  # changed meanwhile: try again

    async def follow_directory(self, employee_id: str) -> bool:
        """An HR change of an employee: their enrolments follow what changed (a leave pauses,
        its end resumes, new reporting attributes reach consenting participants).

        Acts on the directory as it is now, so a late or repeated event changes nothing. True
        when the employee has enrolments, which were looked at."""
        employee = await self.employees.get(employee_id)
        if employee is None or employee.erased:
            return False
        enrolments = await self.enrolments_of(employee_id)
        now_facts, at = directory_facts(employee), utcnow()
        for participant, version in enrolments:
            # Gives up with StillStale (the consumer's delivery fails and comes back) rather
            # than go on as if the change had been followed.
            await change_participant(
                self.participants,
                participant.participant_id,
                lambda enrolment, _: enrolment.follow_directory(now_facts, at) or None,
                loaded=(participant, version),
            )
        return bool(enrolments)

    async def enrolments_of(self, employee_id: str) -> list[tuple[Participant, int]]:
        """Every enrolment of an employee, in any program."""
        return await self.participants.of_employee(employee_id)

    async def withdraw_everywhere(self, employee_id: str, reason: WithdrawReason) -> None:
        """Withdraw from every program (finishing withdrawals a crash interrupted), then clear
        the employee's mark that the cascade is due."""
        for participant, version in await self.enrolments_of(employee_id):
            if participant.status in ACTIVE:
                await self.withdraw(
                    participant.participant_id, reason, loaded=(participant, version)
                )
                crash_point("enrollment.cascade.program_done")
                continue
            if reason is WithdrawReason.ERASED:
                # Withdrawn earlier (a termination, say): the answers are still theirs to lose.
                participant, version = await self.forget_answers(participant, version)
            if participant.withdrawal_unfinished:
                await self.finish_withdrawal(participant, version)
            crash_point("enrollment.cascade.program_done")
        if reason is WithdrawReason.ERASED:
            for forget in self.on_erased:
                await forget(employee_id)  # before the mark goes: a crash repeats it
        await self.employees.cascade_done(employee_id, reason)

    async def forget_answers(
        self, participant: Participant, version: int
    ) -> tuple[Participant, int]:
        """Erase what a withdrawn enrolment's person wrote; no write when nothing is left.
        No event: ``employee.erased`` tells the other services already."""

        def forget(enrolment: Participant, _: int) -> list[EventData] | None:
            if not enrolment.forget_answers():
                return None
            enrolment.updated_at = utcnow()
            return []

        forgotten = await change_participant(
            self.participants, participant.participant_id, forget, loaded=(participant, version)
        )
        return forgotten or (participant, version)

    async def finish_cascades(self) -> None:
        """At start: what a crash left half done. Withdrawals saved without their group and
        seat following, and terminations or erasures whose withdrawals had not all run."""
        await drop_retired(self.participants.collection.database)
        for participant, version in await self.participants.unfinished_withdrawals():
            await self.finish_withdrawal(participant, version)
        for employee_id, reason in await self.employees.cascades_due():
            await self.withdraw_everywhere(employee_id, reason)
