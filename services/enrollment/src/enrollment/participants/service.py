"""Enrolment handlers: eligibility, enrol (or waitlist), edit, withdraw, pause and resume."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta

from enrollment.directory.domain import Employee
from enrollment.directory.repository import EmployeeRepository
from enrollment.participants.domain import (
    ACTIVE,
    Answers,
    DirectoryFacts,
    DirectoryNews,
    EnrolmentRequest,
    Participant,
    ParticipantStatus,
    follow_news,
    participant_id,
)
from enrollment.participants.repository import ParticipantRepository
from enrollment.programs import domain as programs
from enrollment.programs.domain import EmployeeFacts, Program, SeatClaim
from enrollment.programs.repository import ProgramRepository
from enrollment.questions.domain import answer_problems, kept_answers, without_retired
from roundtable_shared.clock import Clock, utc_now
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
from roundtable_shared.http.problems import Conflict, Forbidden, NotFound, Unprocessable
from roundtable_shared.storage.aggregates import AlreadyExists
from roundtable_shared.storage.retry import StillStale, until_saved

LeftGroup = Callable[[Participant, WithdrawReason], Awaitable[None]]
Forget = Callable[[str], Awaitable[None]]
SEAT_CLAIM_GRACE = timedelta(seconds=60)
"""Far longer than an enrolment takes from its seat to its save (an HTTP request's time)."""
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


def checked_answers(program: Program, answers: Answers) -> Answers:
    """The answers, held to the program's questions: 422 naming each question answered wrong
    (or left unanswered while required); blank answers are dropped."""
    problems = answer_problems(program.settings.questions, answers.question_answers)
    if problems:
        errors = [
            {"field": f"question_answers.{p.question_id}", "message": p.message} for p in problems
        ]
        first = problems[0]
        raise Unprocessable(f"question {first.question_id}: {first.message}", errors=errors)
    return answers.model_copy(update={"question_answers": kept_answers(answers.question_answers)})


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


class ParticipantService:
    def __init__(
        self,
        participants: ParticipantRepository,
        programs: ProgramRepository,
        employees: EmployeeRepository,
        *,
        on_left_group: LeftGroup | None = None,
        on_erased: Sequence[Forget] = (),
        clock: Clock = utc_now,
        seat_claim_grace: timedelta = SEAT_CLAIM_GRACE,
    ) -> None:
        """``on_left_group``: what a withdrawal's group does (groups); ``on_erased``: who else
        forgets an erased person (keys first, then previews and groups); ``seat_claim_grace``:
        how long a seat taken for an enrolment not yet saved counts as on its way."""
        self.participants = participants
        self.programs = programs
        self.employees = employees
        self.on_left_group = on_left_group
        self.on_erased = list(on_erased)
        self.clock = clock
        self.seat_claim_grace = seat_claim_grace

    async def _take_seat(self, program_id: str, capacity: int | None, claim: SeatClaim) -> bool:
        """A seat if one is free. Full, says the counter: unless an enrolment is on its way
        (a young claim), count the holders, correct the counter (a crash between a seat and its
        enrolment leaves it too high) and try once more."""
        if await self.programs.take_seat(program_id, capacity, claim):
            return True
        seen = await self.programs.seats(program_id)
        if seen is None or not seen.may_recount(self.clock(), self.seat_claim_grace):
            return False
        holders = await self.participants.seat_holders(program_id, seen.released)
        if not seen.corrected_by(holders):
            return False  # the counter is right: the program is full
        if not await self.programs.recount(program_id, seen, holders):
            return False  # the seats changed meanwhile: the counter is being kept by others
        return await self.programs.take_seat(program_id, capacity, claim)

    # --- reads -----------------------------------------------------------------------------------

    async def eligibility(self, employee_id: str) -> list[tuple[Program, list[str]]]:
        employee = await self.employees.get(employee_id)
        today = self.clock().date()
        found = await self.programs.page(None, 500, [ProgramStatus.OPEN.value])
        return [
            (program, programs.ineligibility_reasons(program, facts(employee), today))
            for program, *_ in found
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
        if loaded is None or loaded.program.status is ProgramStatus.DRAFT:
            raise NotFound(f"no program {program_id}")
        program = loaded.program
        pid = participant_id(program_id, employee_id)
        request = {"key": idempotency_key, **answers.model_dump(mode="json")}
        existing = await self.participants.load(pid)
        if existing and existing[0].status in ACTIVE:
            if idempotency_key and existing[2].idempotency_key == idempotency_key:
                ensure_same_request(existing[2].fingerprint, request)
                return existing[0], existing[1], False
            raise Conflict("you are already enrolled in this program", participant_id=pid)
        now = self.clock()
        closed = programs.enrolment_window_reason(program, now)
        if closed:
            raise Conflict(closed)
        employee = await self.employees.get(employee_id)
        reasons = programs.ineligibility_reasons(program, facts(employee), now.date())
        if reasons:
            raise Forbidden("you are not eligible: " + "; ".join(reasons), reasons=reasons)
        answers = checked_answers(program, answers)
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
        made_by = EnrolmentRequest(idempotency_key, fingerprint(request))
        claim = SeatClaim(pid, now)
        seated = await self._take_seat(program_id, program.settings.capacity, claim)
        crash_point("enrollment.enrolment.seat_taken")
        try:
            saved = await self._save_enrolment(participant, existing, seated, made_by)
        except AlreadyExists:
            if seated:
                await self.programs.give_back(program_id, claim)  # nobody's seat
            raise Conflict("you are already enrolled in this program", participant_id=pid) from None
        if seated:
            await self.programs.settle(program_id, claim)
        else:
            # A seat given back while this enrolment took its place in line goes to the line.
            await self.promote_from_waitlist(program_id)
        return saved

    async def _save_enrolment(
        self,
        participant: Participant,
        existing: tuple[Participant, int, EnrolmentRequest] | None,
        seated: bool,
        made_by: EnrolmentRequest,
    ) -> tuple[Participant, int, bool]:
        """Enrolled (``seated``: a seat is claimed for it) or waitlisted; AlreadyExists when
        enrolled meanwhile."""
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
            version = await self.participants.insert(participant, events, made_by)
        else:
            saved = await self.participants.save(participant, existing[1], events, made_by)
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
        answers = await self._held_to_questions(participant, answers)
        consent_before = (
            participant.answers.consent_to_reporting,
            participant.reporting_attributes,
        )
        participant.replace_answers(answers)
        if answers.consent_to_reporting:
            participant.reporting_attributes = attributes(
                await self.employees.get(participant.employee_id)
            )
        else:
            participant.reporting_attributes = None
        now = self.clock()
        participant.updated_at = now
        events: list[EventData] = []
        if (answers.consent_to_reporting, participant.reporting_attributes) != consent_before:
            events.append(ParticipantUpdated(**participant.consent_fields(), updated_at=now))
        saved = await self.participants.save(participant, version, events)
        if saved is None:
            raise stale_write((await self.get(pid))[1])
        return participant, saved

    async def _held_to_questions(self, participant: Participant, answers: Answers) -> Answers:
        """An edit's answers to the program's questions: checked while the program is open;
        once it runs (its groups formed on them, its questions fixed) they may only be sent
        back as they are (409), while the other answers (hours, time zone) still change."""
        loaded = await self.programs.load(participant.program_id)
        if loaded is None:
            raise NotFound(f"no program {participant.program_id}")
        stored = participant.answers.question_answers
        if loaded.program.status is not ProgramStatus.OPEN:
            if kept_answers(answers.question_answers) != stored:
                raise Conflict("answers to the program's questions change only while it is open")
            return answers.model_copy(update={"question_answers": stored})
        given = without_retired(loaded.program.settings.questions, answers.question_answers, stored)
        return checked_answers(
            loaded.program, answers.model_copy(update={"question_answers": given})
        )

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
            events = participant.withdraw(reason, self.clock())
            recorded = bool(events)
            # Withdrawn before: what is still to follow is finished below.
            return events or None

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

    async def promote_from_waitlist(self, program_id: str) -> bool:
        """Give a free seat to the waitlist, first in line first. True when someone got it."""
        loaded = await self.programs.load(program_id)
        if loaded is None or loaded.program.status not in (
            ProgramStatus.OPEN,
            ProgramStatus.RUNNING,
        ):
            return False
        capacity = loaded.program.settings.capacity
        seats = await self.programs.seats(program_id)
        if seats is None or (capacity is not None and seats.held >= capacity):
            return False

        async def attempt() -> bool | None:
            first = await self.participants.first_waitlisted(program_id)
            if first is None:
                return False  # nobody waiting
            participant, version = first
            now = self.clock()
            claim = SeatClaim(participant.participant_id, now)
            if not await self.programs.take_seat(program_id, capacity, claim):
                return False  # no seat left: another replica gave it to someone
            crash_point("enrollment.promotion.seat_taken")
            participant.status = ParticipantStatus.ENROLLED
            participant.waitlist_number = None
            participant.enrolled_at = participant.updated_at = now
            event = ParticipantEnrolled(
                **participant.consent_fields(), enrolled_at=now, from_waitlist=True
            )
            if await self.participants.save(participant, version, [event]) is None:
                await self.programs.give_back(program_id, claim)  # changed meanwhile: again
                return None
            await self.programs.settle(program_id, claim)
            return True

        return await until_saved(attempt, what="the waitlist")

    async def follow_directory(self, employee_id: str) -> bool:
        """An HR change of an employee: their enrolments follow what changed (a leave pauses,
        its end resumes, new reporting attributes reach consenting participants).

        Acts on the directory as it is now, so a late or repeated event changes nothing. True
        when the employee has enrolments, which were looked at."""
        employee = await self.employees.get(employee_id)
        if employee is None or employee.erased:
            return False
        enrolments = await self.enrolments_of(employee_id)
        now_facts, at = directory_facts(employee), self.clock()
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

    async def follow_directory_batch(
        self, news: Sequence[tuple[str, str, DirectoryNews | WithdrawReason]]
    ) -> dict[str, Exception]:
        """A fetched batch of directory events, ``(event id, employee id, what it says)`` in
        stream order, applied together: what ``follow_directory`` and ``withdraw_everywhere``
        would do one event after another, with the batch's employees and enrolments read in
        one query each and the changed enrolments written in one bulk write. Answers the
        events not applied (every event of an employee one of whose changes could not be
        written, so they come back together), with why; the rest are done.

        An erasure (``WithdrawReason.ERASED``) takes its employee's events one by one: it is
        rare, and forgets the person in other aggregates too."""
        heard: dict[str, list[tuple[str, DirectoryNews | WithdrawReason]]] = {}
        for event_id, employee_id, what in news:
            heard.setdefault(employee_id, []).append((event_id, what))
        alone = {
            e for e, items in heard.items() if any(w is WithdrawReason.ERASED for _, w in items)
        }
        together = {
            e: [_as_news(w) for _, w in items] for e, items in heard.items() if e not in alone
        }
        failed = await self._follow_together(together) if together else {}
        for employee_id in sorted(alone):
            try:
                for _, what in heard[employee_id]:
                    await self._follow_one(employee_id, what)
            except Exception as exc:
                failed[employee_id] = exc
        return {
            event_id: failed[employee_id]
            for employee_id, items in heard.items()
            if employee_id in failed
            for event_id, _ in items
        }

    async def _follow_one(self, employee_id: str, what: DirectoryNews | WithdrawReason) -> None:
        if what is DirectoryNews.CHANGED:
            await self.follow_directory(employee_id)
        else:
            reason = what if isinstance(what, WithdrawReason) else WithdrawReason.TERMINATED
            await self.withdraw_everywhere(employee_id, reason)

    async def _follow_together(self, news: dict[str, list[DirectoryNews]]) -> dict[str, Exception]:
        """The batch path of ``follow_directory_batch``: the employees who failed, with why."""
        ids = sorted(news)
        employees = await self.employees.many(ids)
        enrolments = await self.participants.of_employees(ids)
        now = self.clock()
        facts = {
            employee_id: directory_facts(employee)
            for employee_id, (employee, _) in employees.items()
            if not employee.erased
        }

        def decide(participant: Participant) -> list[EventData]:
            employee_id = participant.employee_id
            return follow_news(participant, news[employee_id], facts.get(employee_id), now)

        writes = [(p, v, events) for p, v in enrolments if (events := decide(p))]
        current = {p.participant_id: (p, v) for p, v in enrolments}
        all_saved = await self.participants.save_many(writes)
        if any(isinstance(e, ParticipantWithdrawn) for *_, events in writes for e in events):
            crash_point("enrollment.withdrawal.recorded")
        crash_point("enrollment.cascade.batch_written")
        for participant, version, events in writes:
            current[participant.participant_id] = (participant, version + len(events))
        failed: dict[str, Exception] = {}
        if not all_saved:
            # Some lost a race, and a bulk write does not say which: each is applied again on
            # a fresh read (until_saved), where the news changes nothing if its write landed.
            for participant, _, _ in writes:
                pid = participant.participant_id
                try:
                    saved = await change_participant(
                        self.participants, pid, lambda p, _: decide(p) or None
                    )
                except StillStale as exc:
                    failed[participant.employee_id] = exc
                    continue
                if saved is not None:
                    current[pid] = saved
        terminated = [
            employee_id
            for employee_id in ids
            if employee_id not in failed and DirectoryNews.TERMINATED in news[employee_id]
        ]
        if terminated:
            failed |= await self._finish_terminations(terminated, current)
        return failed

    async def _finish_terminations(
        self, employee_ids: list[str], current: dict[str, tuple[Participant, int]]
    ) -> dict[str, Exception]:
        """What ``withdraw_everywhere`` does after the withdrawals, for the batch's terminated
        employees together: their seats and groups follow, then their marks that the cascade is
        due go. The employees who failed (all of them: a redelivery finishes them, once)."""
        terminated = set(employee_ids)
        unfinished = [
            (participant, version)
            for participant, version in sorted(current.values(), key=lambda c: c[0].participant_id)
            if participant.employee_id in terminated and participant.withdrawal_unfinished
        ]
        try:
            await self.finish_withdrawals(unfinished)
            crash_point("enrollment.cascade.program_done")
            await self.employees.cascades_done(sorted(terminated), WithdrawReason.TERMINATED)
        except Exception as exc:
            return dict.fromkeys(terminated, exc)
        return {}

    async def finish_withdrawals(self, withdrawals: Sequence[tuple[Participant, int]]) -> None:
        """``finish_withdrawal`` for many saved withdrawals, step by step together: the seats
        of each program given back in one update (and to the waitlist), each group told, the
        withdrawals cleared in one bulk write, the releases forgotten in one update a program.
        Each step can run again, so a crash in between is finished on restart, once."""
        seats: dict[str, list[str]] = {}
        for participant, _ in withdrawals:
            if participant.seat_to_release:
                seats.setdefault(participant.program_id, []).append(participant.participant_id)
        for program_id, released in seats.items():
            await self.programs.release_seats(program_id, released)
            for _ in released:
                if not await self.promote_from_waitlist(program_id):
                    break
            crash_point("enrollment.withdrawal.seat_released")
        for participant, _ in withdrawals:
            if participant.leaving_group_id and self.on_left_group:
                left = participant.model_copy(update={"group_id": participant.leaving_group_id})
                await self.on_left_group(left, participant.withdrawn_reason or WithdrawReason.ADMIN)
                crash_point("enrollment.withdrawal.left_group")
        cleared: list[tuple[Participant, int, Sequence[EventData]]] = []
        for participant, version in withdrawals:
            done = participant.model_copy(
                update={"seat_to_release": False, "leaving_group_id": None}
            )
            cleared.append((done, version, []))
        if not await self.participants.save_many(cleared):

            def followed(unfinished: Participant, _: int) -> list[EventData] | None:
                if not unfinished.withdrawal_unfinished:
                    return None  # cleared by the bulk write (or by someone else)
                unfinished.seat_to_release, unfinished.leaving_group_id = False, None
                return []

            for participant, _ in withdrawals:
                await change_participant(self.participants, participant.participant_id, followed)
        for program_id, released in seats.items():
            # Only now that no restart would release them again (see finish_withdrawal).
            await self.programs.released_many(program_id, released)

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
            enrolment.updated_at = self.clock()
            return []

        forgotten = await change_participant(
            self.participants, participant.participant_id, forget, loaded=(participant, version)
        )
        return forgotten or (participant, version)

    async def drop_retired_copies(self) -> None:
        """At start: what earlier versions copied of the directory (department, level,
        location per employee) and no longer read goes, so no erasure has to find it."""
        await self.participants.drop_retired()

    async def finish_cascades(self) -> None:
        """At start: what a crash left half done. Withdrawals saved without their group and
        seat following, and terminations or erasures whose withdrawals had not all run."""
        for participant, version in await self.participants.unfinished_withdrawals():
            await self.finish_withdrawal(participant, version)
        for employee_id, reason in await self.employees.cascades_due():
            await self.withdraw_everywhere(employee_id, reason)


def _as_news(what: DirectoryNews | WithdrawReason) -> DirectoryNews:
    return what if isinstance(what, DirectoryNews) else DirectoryNews.TERMINATED
