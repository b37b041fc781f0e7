"""Guide handlers: load, ask the domain, save; and the agenda a new session carries."""

from __future__ import annotations

from roundtable_shared.auth.tokens import Principal
from roundtable_shared.clock import Clock
from roundtable_shared.events.catalogue.enrollment import (
    ParticipantEnrolled,
    ParticipantWithdrawn,
    ProgramCreated,
    ProgramUpdated,
)
from roundtable_shared.events.envelope import EventData
from roundtable_shared.http.concurrency import stale_write
from roundtable_shared.http.problems import NotFound
from sessions.guides import domain
from sessions.guides.domain import Guide, Program, ProgramGuide
from sessions.guides.repository import GuideRepository, ProgramRepository
from sessions.membership.repository import GroupRepository


class GuideService:
    def __init__(
        self,
        guides: GuideRepository,
        programs: ProgramRepository,
        groups: GroupRepository,
        clock: Clock,
    ) -> None:
        self.guides = guides
        self.programs = programs
        self.groups = groups
        self.clock = clock

    async def program(self, program_id: str) -> Program:
        program = await self.programs.get(program_id)
        if program is None:
            raise NotFound(f"no program {program_id!r}")
        return program

    async def read(self, program_id: str, principal: Principal) -> tuple[ProgramGuide, Guide]:
        program = await self.program(program_id)
        if not domain.reads_as_owner(program, principal):  # no enrolment to look up for them
            participant = await self._takes_part(program_id, principal.employee_id)
            domain.require_reader(program, principal, participant=participant)
        program_guide = await self.guides.get(program_id)
        return program_guide, domain.current(program_guide, program)

    async def replace(
        self, program_id: str, guide: Guide, principal: Principal, version: int
    ) -> tuple[ProgramGuide, Guide]:
        domain.require_editor(principal)
        await self.program(program_id)
        before = await self._at(program_id, version)
        after, events = domain.replace(before, guide, principal.employee_id, self.clock())
        return await self._save(before, after, events), guide

    async def reset(
        self, program_id: str, principal: Principal, version: int
    ) -> tuple[ProgramGuide, Guide]:
        domain.require_editor(principal)
        program = await self.program(program_id)
        before = await self._at(program_id, version)
        decision = domain.reset(before, principal.employee_id, self.clock())
        saved = before if decision is None else await self._save(before, *decision)
        return saved, domain.current(saved, program)

    async def agenda_for(self, program_id: str) -> str:
        """The program's guide as a new session's agenda (a copy: later edits of the guide do
        not rewrite it); the built-in roundtable guide for a program not known here yet."""
        program = await self.programs.get(program_id) or Program(program_id=program_id)
        return domain.agenda(domain.current(await self.guides.get(program_id), program))

    async def program_changed(self, version: int, data: ProgramCreated | ProgramUpdated) -> None:
        await self.programs.store(
            data.program_id, version, format=data.format, sponsor_ids=data.sponsor_ids
        )

    async def participant_changed(
        self, version: int, data: ParticipantEnrolled | ParticipantWithdrawn
    ) -> None:
        await self.programs.store_participant(
            data.participant_id,
            version,
            program_id=data.program_id,
            employee_id=data.employee_id,
            enrolled=isinstance(data, ParticipantEnrolled),
        )

    async def _takes_part(self, program_id: str, employee_id: str) -> bool:
        """Enrolled in the program, or a member of one of its peer groups (an enrolment from
        before sessions kept them is known by the group)."""
        if await self.programs.is_participant(program_id, employee_id):
            return True
        return any(g.program_id == program_id for g in await self.groups.groups_of(employee_id))

    async def _at(self, program_id: str, version: int) -> ProgramGuide:
        """The guide, when it is still at the version the editor read (412 otherwise)."""
        program_guide = await self.guides.get(program_id)
        if program_guide.version != version:
            raise stale_write(program_guide.version)
        return program_guide

    async def _save(
        self, before: ProgramGuide, after: ProgramGuide, events: list[EventData]
    ) -> ProgramGuide:
        # No retry: the editor's If-Match is the version; a write between our read and ours
        # makes theirs stale, which they hear as 412.
        saved = await self.guides.save(before, after, events)
        if saved is None:
            raise stale_write((await self.guides.get(before.id)).version)
        return saved
