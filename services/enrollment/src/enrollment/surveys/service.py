"""Survey handlers: admins open, list and close; participants read and answer their own;
surveys close at their time and with their program; erasure forgets a person's answers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from enrollment.groups.domain import GroupStatus
from enrollment.groups.repository import GroupRepository
from enrollment.participants.domain import ACTIVE, HOLDS_SEAT, participant_id
from enrollment.participants.repository import ParticipantRepository
from enrollment.programs.repository import ProgramRepository
from enrollment.questions.domain import AnswerValue
from enrollment.surveys import domain
from enrollment.surveys.domain import CloseReason, Survey, SurveyRefused, SurveyResponse
from enrollment.surveys.repository import ResponseRepository, SurveyRepository
from enrollment.surveys.schemas import SurveyOpening
from roundtable_shared.clock import Clock, utc_now
from roundtable_shared.events.catalogue.enrollment import ProgramStatus, SurveyKind
from roundtable_shared.http.concurrency import stale_write
from roundtable_shared.http.idempotency import ensure_same_request, fingerprint
from roundtable_shared.http.problems import Conflict, NotFound, Unprocessable
from roundtable_shared.storage.aggregates import AlreadyExists
from roundtable_shared.storage.retry import until_saved

log = structlog.get_logger(__name__)

LONGEST_OPEN = timedelta(days=366)
SURVEYED = {ProgramStatus.OPEN, ProgramStatus.RUNNING}
"""A draft has nobody to ask; a closed program asks nothing more."""


class SurveyService:
    def __init__(
        self,
        surveys: SurveyRepository,
        responses: ResponseRepository,
        programs: ProgramRepository,
        participants: ParticipantRepository,
        groups: GroupRepository,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.surveys = surveys
        self.responses = responses
        self.programs = programs
        self.participants = participants
        self.groups = groups
        self.clock = clock

    # --- admins ----------------------------------------------------------------------------------

    async def open(
        self, program_id: str, opening: SurveyOpening, survey_id: str
    ) -> list[tuple[Survey, int]]:
        """One survey (a pulse: one per active group of the program, or for the group named),
        asking the people taking part now. A retry with the same id answers what was opened."""
        loaded = await self.programs.load(program_id)
        if loaded is None:
            raise NotFound(f"no program {program_id}")
        status = loaded.program.status
        if status not in SURVEYED:
            raise Conflict(f"a {status.value} program has no one to survey")
        now = self.clock()
        if not now < opening.closes_at <= now + LONGEST_OPEN:
            raise Unprocessable(
                "closes_at must be in the future, within a year",
                errors=[{"field": "closes_at", "message": "not in the next 366 days"}],
            )
        try:
            questions = domain.survey_questions(opening.kind, opening.questions)
        except SurveyRefused as exc:
            field = f"questions.{exc.question_id}" if exc.question_id else "questions"
            named = f"question {exc.question_id}: " if exc.question_id else ""
            raise Unprocessable(
                f"{named}{exc}", errors=[{"field": field, "message": str(exc)}]
            ) from None
        request = opening.model_dump(mode="json")
        surveys = [
            Survey(
                survey_id=(
                    survey_id
                    if group_id is None
                    else domain.survey_id_for_group(survey_id, group_id)
                ),
                program_id=program_id,
                kind=opening.kind,
                group_id=group_id,
                questions=questions,
                asked=asked,
                opened_at=now,
                closes_at=opening.closes_at,
            )
            for group_id, asked in await self._audiences(program_id, opening)
        ]
        # Checked for all before any is written, so a refused pulse opens none; the unique
        # slot still decides between two admins opening at the same moment.
        taken = {
            domain.open_slot(s): s.survey_id
            for s, _ in await self.surveys.open_of_program(program_id)
        }
        for survey in surveys:
            if taken.get(domain.open_slot(survey), survey.survey_id) != survey.survey_id:
                raise _slot_taken(survey)
        return [await self._insert(survey, request) for survey in surveys]

    async def _audiences(
        self, program_id: str, opening: SurveyOpening
    ) -> list[tuple[str | None, list[str]]]:
        """Who each survey asks: the participants holding a seat; a pulse: each group's
        members. 409 when nobody would be asked."""
        if opening.kind is not SurveyKind.PULSE:
            enrolled = await self.participants.of_program(program_id)
            asked = sorted({p.employee_id for p, _ in enrolled if p.status in HOLDS_SEAT})
            if not asked:
                raise Conflict("the program has no participants to ask yet")
            return [(None, asked)]
        if opening.group_id is not None:
            found = await self.groups.load(opening.group_id)
            if found is None or found[0].program_id != program_id:
                raise NotFound(f"no group {opening.group_id} in program {program_id}")
            if found[0].status is not GroupStatus.ACTIVE:
                raise Conflict(f"group {opening.group_id} is dissolved")
            groups = [found[0]]
        else:
            groups = [
                g
                for g, _ in await self.groups.of_program(program_id)
                if g.status is GroupStatus.ACTIVE
            ]
            if not groups:
                raise Conflict("the program has no active groups to pulse yet")
        return [(g.group_id, sorted({m.employee_id for m in g.members})) for g in groups]

    async def _insert(self, survey: Survey, request: object) -> tuple[Survey, int]:
        """The survey opened; a retry of the request answers the survey it opened; 409 while
        one of the same kind (a pulse: for the same group) is open."""
        try:
            version = await self.surveys.insert(survey, [survey.opened()], fingerprint(request))
            return survey, version
        except AlreadyExists:
            existing = await self.surveys.load(survey.survey_id)
        if existing is None:  # not this id: the slot is taken
            raise _slot_taken(survey)
        found, version, made_by = existing
        ensure_same_request(made_by, request)
        return found, version

    async def get(self, program_id: str, survey_id: str) -> tuple[Survey, int]:
        loaded = await self.surveys.load(survey_id)
        if loaded is None or loaded[0].program_id != program_id:
            raise NotFound(f"no survey {survey_id} in program {program_id}")
        return loaded[0], loaded[1]

    async def of_program(
        self, program_id: str, after: str | None, limit: int
    ) -> list[tuple[Survey, int, int]]:
        """(survey, version, how many answered): counts only, never anyone's answers."""
        if await self.programs.load(program_id) is None:
            raise NotFound(f"no program {program_id}")
        found = await self.surveys.of_program(program_id, after, limit)
        return [(s, v, await self.responses.count_of(s.survey_id)) for s, v in found]

    async def responded(self, survey_id: str) -> int:
        return await self.responses.count_of(survey_id)

    async def close(self, program_id: str, survey_id: str) -> tuple[Survey, int]:
        """The admin closes it; closing a closed survey changes nothing."""
        await self.get(program_id, survey_id)
        return await self._close(survey_id, CloseReason.ADMIN)

    async def _close(self, survey_id: str, reason: CloseReason) -> tuple[Survey, int]:
        async def attempt() -> tuple[Survey, int] | None:
            loaded = await self.surveys.load(survey_id)
            if loaded is None:
                raise NotFound(f"no survey {survey_id}")
            survey, version, _ = loaded
            events = survey.close(self.clock(), reason)
            if not events:
                return survey, version
            saved = await self.surveys.save(survey, version, events)
            return None if saved is None else (survey, saved)

        return await until_saved(attempt, what="the survey")

    async def close_for_program(self, program_id: str) -> None:
        """The program closed: so do its surveys. A failure is left to the closing pass (the
        program's close is saved already: its answer must not say otherwise)."""
        try:
            for survey, _ in await self.surveys.open_of_program(program_id):
                await self._close(survey.survey_id, CloseReason.PROGRAM_CLOSED)
        except Exception:
            log.exception("surveys of a closed program left to the closing pass")

    async def close_due(self) -> int:
        """Close every survey past its close time or of a closed program; how many closed."""
        now, closed = self.clock(), 0
        program_closed: dict[str, bool] = {}
        for survey, _ in await self.surveys.all_open():
            if survey.program_id not in program_closed:
                loaded = await self.programs.load(survey.program_id)
                program_closed[survey.program_id] = (
                    loaded is None or loaded.program.status is ProgramStatus.CLOSED
                )
            if survey.due(now):
                reason = CloseReason.DUE
            elif program_closed[survey.program_id]:
                reason = CloseReason.PROGRAM_CLOSED
            else:
                continue
            await self._close(survey.survey_id, reason)
            closed += 1
        return closed

    async def close_due_every(self, seconds: float) -> None:
        """The background pass: several replicas may run it (a close is a conditional write)."""
        while True:
            try:
                await self.close_due()
            except Exception:
                log.exception("closing due surveys failed; retrying")
            await asyncio.sleep(seconds)

    # --- participants ----------------------------------------------------------------------------

    async def mine(
        self, employee_id: str
    ) -> list[tuple[Survey, tuple[SurveyResponse, int] | None]]:
        """The open surveys that ask me while my enrolment is active, with my answers."""
        now = self.clock()
        candidates = [s for s, _ in await self.surveys.open_asking(employee_id) if s.is_open(now)]
        enrolments = await self.participants.many(
            [participant_id(s.program_id, employee_id) for s in candidates]
        )
        active = {p.program_id for p, _ in enrolments if p.status in ACTIVE}
        asking = [s for s in candidates if s.program_id in active]
        answered = {
            r.survey_id: (r, v)
            for r, v in await self.responses.many(
                [domain.response_id(s.survey_id, employee_id) for s in asking]
            )
        }
        return [(s, answered.get(s.survey_id)) for s in asking]

    async def answer(
        self,
        employee_id: str,
        survey_id: str,
        answers: dict[str, AnswerValue],
        expected_version: int | None,
    ) -> tuple[SurveyResponse, int, bool]:
        """(response, version, created). 404 unless the survey asks me and my enrolment is
        active; 409 once it closed; 422 naming the question; 412 on a stale If-Match."""
        survey = await self._asking(employee_id, survey_id)
        problems = survey.problems(answers)
        if problems:
            errors = [{"field": f"answers.{p.question_id}", "message": p.message} for p in problems]
            first = problems[0]
            raise Unprocessable(f"question {first.question_id}: {first.message}", errors=errors)
        rid = domain.response_id(survey_id, employee_id)

        async def attempt() -> tuple[SurveyResponse, int, bool] | None:
            now = self.clock()
            loaded = await self.responses.load(rid)
            if loaded is None:
                response = SurveyResponse(
                    response_id=rid,
                    survey_id=survey_id,
                    program_id=survey.program_id,
                    employee_id=employee_id,
                    answers={},
                    first_answered_at=now,
                    answered_at=now,
                )
                response.replace(answers, now)
                try:
                    version = await self.responses.insert(response, [response.answered(survey)])
                except AlreadyExists:
                    return None  # answered meanwhile (a double click): change that one
                return response, version, True
            response, version = loaded
            if expected_version is not None and expected_version != version:
                raise stale_write(version)
            if not response.replace(answers, now):
                return response, version, False
            saved = await self.responses.save(response, version, [response.answered(survey)])
            return None if saved is None else (response, saved, False)

        return await until_saved(attempt, what="the response")

    async def _asking(self, employee_id: str, survey_id: str) -> Survey:
        """The survey, if it asks this person now; 409 when it no longer takes answers."""
        loaded = await self.surveys.load(survey_id)
        if loaded is None or not loaded[0].asks(employee_id):
            raise NotFound(f"no survey {survey_id} for you")
        survey = loaded[0]
        enrolment = await self.participants.load(participant_id(survey.program_id, employee_id))
        if enrolment is None or enrolment[0].status not in ACTIVE:
            raise NotFound(f"no survey {survey_id} for you")  # withdrawn: no longer asked
        program = await self.programs.load(survey.program_id)
        if not survey.is_open(self.clock()) or (
            program is None or program.program.status is ProgramStatus.CLOSED
        ):
            raise Conflict("this survey is closed")
        return survey

    # --- erasure ---------------------------------------------------------------------------------

    async def forget_responses(self, employee_id: str) -> None:
        """An erased person's answers go (their words included); each response stays counted.
        No event: ``employee.erased`` tells the other services. Repeating it writes nothing."""
        for response, version in await self.responses.of_employee(employee_id):
            first: tuple[SurveyResponse, int] | None = (response, version)

            async def attempt(rid: str = response.response_id) -> bool | None:
                nonlocal first
                current = first or await self.responses.load(rid)
                first = None
                if current is None:
                    return True
                found, at = current
                if not found.forget():
                    return True
                return None if await self.responses.save(found, at, []) is None else True

            await until_saved(attempt, what="the survey response")


def _slot_taken(survey: Survey) -> Conflict:
    where = f" for group {survey.group_id}" if survey.group_id else ""
    return Conflict(f"a {survey.kind.value} survey{where} is open already; close it first")
