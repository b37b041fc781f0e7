"""Program handlers: create, edit, move through the life cycle."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import ValidationError

from enrollment.programs import domain
from enrollment.programs.domain import Program, ProgramSettings
from enrollment.programs.repository import ProgramRepository, StoredProgram
from roundtable_shared.clock import Clock, utc_now
from roundtable_shared.events.catalogue.enrollment import (
    ProgramClosed,
    ProgramOpened,
    ProgramOrigin,
    ProgramStarted,
)
from roundtable_shared.events.envelope import EventData
from roundtable_shared.faults import crash_point
from roundtable_shared.http.concurrency import stale_write
from roundtable_shared.http.idempotency import ensure_same_request, fingerprint
from roundtable_shared.http.problems import Conflict, NotFound, Unprocessable
from roundtable_shared.storage.aggregates import AlreadyExists


def invalid_program(exc: ValidationError) -> Unprocessable:
    """A 422 naming each offending setting."""
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
        for e in exc.errors()
    ]
    return Unprocessable(f"invalid program: {errors[0]['message']}", errors=errors)


class ProgramService:
    def __init__(
        self,
        programs: ProgramRepository,
        *,
        clock: Clock = utc_now,
        on_closed: Sequence[Callable[[str], Awaitable[None]]] = (),
    ) -> None:
        """``on_closed``: what follows a program's close (its surveys close), given its id."""
        self.programs = programs
        self.clock = clock
        self.on_closed = list(on_closed)

    async def create(
        self,
        program_id: str,
        settings: ProgramSettings,
        copied_from: ProgramOrigin | None = None,
    ) -> StoredProgram:
        """A new draft; ``copied_from`` the template or program it copies (a retry with the
        same Idempotency-Key must name the same one)."""
        program = Program(
            program_id=program_id,
            settings=settings,
            created_at=self.clock(),
            copied_from=copied_from,
        )
        request = settings.model_dump(mode="json")
        if copied_from is not None:
            request["copied_from"] = copied_from.model_dump(mode="json")
        try:
            await self.programs.insert(
                program, [domain.created_event(program)], fingerprint(request)
            )
        except AlreadyExists:
            existing = await self.get(program_id)
            ensure_same_request(existing.request_fingerprint, request)
            return existing
        return await self.get(program_id)

    async def get(self, program_id: str) -> StoredProgram:
        loaded = await self.programs.load(program_id)
        if loaded is None:
            raise NotFound(f"no program {program_id}")
        return loaded

    async def edit(
        self, program_id: str, expected_version: int, patch: dict[str, Any]
    ) -> StoredProgram:
        program, version, *_ = await self.get(program_id)
        if version != expected_version:
            raise stale_write(version)
        if program.status not in domain.EDITABLE:
            raise Conflict(f"a {program.status.value} program can no longer be edited")
        merged = {**program.settings.model_dump(), **patch}
        try:
            program.settings = ProgramSettings.model_validate(merged)
        except ValidationError as exc:
            raise invalid_program(exc) from None
        events = [domain.updated_event(program, self.clock())]
        if await self.programs.save(program, version, events) is None:
            raise stale_write((await self.get(program_id))[1])
        return await self.get(program_id)

    async def transition(
        self, program_id: str, action: str, expected_version: int | None
    ) -> StoredProgram:
        program, version, *_ = await self.get(program_id)
        if expected_version is not None and expected_version != version:
            raise stale_write(version)
        try:
            program.status = domain.transition(program, action)
        except domain.TransitionRefused as exc:
            raise Conflict(str(exc)) from None
        now = self.clock()
        event: EventData
        if action == "open":
            event = ProgramOpened(
                program_id=program_id,
                opened_at=now,
                enrolment_closes_at=program.settings.enrolment_closes_at,
            )
        elif action == "start":
            event = ProgramStarted(program_id=program_id, started_at=now)
        else:
            event = ProgramClosed(program_id=program_id, closed_at=now)
        if await self.programs.save(program, version, [event]) is None:
            raise stale_write((await self.get(program_id))[1])
        if action == "close":
            crash_point("enrollment.program.closed")  # what follows is finished by its pass
            for follow in self.on_closed:
                await follow(program_id)
        return await self.get(program_id)
