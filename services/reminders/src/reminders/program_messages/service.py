"""Reading, editing, resetting and previewing a program's wording of its messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from reminders.delivery.messages import compose, email_html, email_text
from reminders.program_messages import variables
from reminders.program_messages.defaults import DEFAULTS
from reminders.program_messages.delivery import BatchWording
from reminders.program_messages.domain import Wording, WordingRefused, check, render
from reminders.program_messages.repository import ProgramMessageRepository, wording_id
from reminders.program_messages.schemas import (
    PreviewIn,
    PreviewOut,
    ProgramMessageOut,
    VariableOut,
    WordingIn,
)
from reminders.schedule.copies import SourceCopies
from reminders.schedule.domain import Kind
from roundtable_shared.events.catalogue.reminders import ReminderKind
from roundtable_shared.http.concurrency import stale_write
from roundtable_shared.http.problems import NotFound, Unprocessable

Clock = Callable[[], datetime]


def refused(kind: Kind, exc: WordingRefused) -> Unprocessable:
    errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    return Unprocessable(f"this wording cannot be used for {kind}: {exc}", errors=errors)


def checked(kind: Kind, subject: str, body: str) -> Wording:
    wording = Wording(subject=subject, body=body)
    try:
        check(kind, wording)
    except WordingRefused as exc:
        raise refused(kind, exc) from exc
    return wording


class ProgramMessagesService:
    def __init__(
        self,
        messages: ProgramMessageRepository,
        copies: SourceCopies,
        *,
        frontend_url: str,
        clock: Clock,
    ) -> None:
        self.messages = messages
        self.copies = copies
        self.frontend_url = frontend_url
        self.clock = clock

    async def program_name(self, program_id: str) -> str:
        """The program's name; 404 for a program this service has not heard of."""
        copy = await self.copies.copy(f"program:{program_id}")
        if copy is None:
            raise NotFound(f"no program {program_id}")
        return str(copy.get("name") or "")

    async def read_all(self, program_id: str) -> list[ProgramMessageOut]:
        """Every editable kind's current wording, in one read."""
        await self.program_name(program_id)
        kinds = list(DEFAULTS)
        stored = await self.messages.get_versions(
            [wording_id(program_id, str(kind)) for kind in kinds]
        )
        return [
            _out(program_id, kind, *stored.get(wording_id(program_id, str(kind)), (None, 0)))
            for kind in kinds
        ]

    async def read(self, program_id: str, kind: ReminderKind) -> ProgramMessageOut:
        await self.program_name(program_id)
        wording, version = await self.messages.get(program_id, str(kind))
        return _out(program_id, kind, wording, version)

    async def replace(
        self, program_id: str, kind: ReminderKind, expected_version: int, body: WordingIn, by: str
    ) -> ProgramMessageOut:
        await self.program_name(program_id)
        wording = checked(kind, body.subject, body.body)
        await self._save(program_id, kind, expected_version, wording, by)
        return _out(program_id, kind, wording, expected_version + 1)

    async def reset(
        self, program_id: str, kind: ReminderKind, expected_version: int, by: str
    ) -> ProgramMessageOut:
        await self.program_name(program_id)
        await self._save(program_id, kind, expected_version, None, by)
        return _out(program_id, kind, None, expected_version + 1)

    async def _save(
        self, program_id: str, kind: Kind, expected: int, wording: Wording | None, by: str
    ) -> None:
        saved = await self.messages.save(
            program_id, str(kind), expected, wording, now=self.clock(), by=by
        )
        if not saved:
            _, current = await self.messages.get(program_id, str(kind))
            raise stale_write(current)

    async def preview(self, program_id: str, kind: ReminderKind, body: PreviewIn) -> PreviewOut:
        """The message as a made-up participant would get it (nobody's data is in it)."""
        name = await self.program_name(program_id)
        if body.subject is not None or body.body is not None:
            if body.subject is None or body.body is None:
                raise Unprocessable("send both subject and body, or neither")
            wording = checked(kind, body.subject, body.body)
        else:
            stored, _ = await self.messages.get(program_id, str(kind))
            wording = stored or DEFAULTS[kind]
        return preview(kind, program_id, name, wording, self.frontend_url)


def preview(
    kind: Kind, program_id: str, program_name: str, wording: Wording, frontend_url: str
) -> PreviewOut:
    values = variables.values(
        kind,
        variables.SAMPLE_CONTEXT,
        participant_name=variables.SAMPLE_RECIPIENT,
        program_name=program_name,
        names=variables.SAMPLE_NAMES,
        when=lambda iso: iso or "",
    )
    try:
        render(kind, wording, values)  # refused wording is a 422, not a default message
    except WordingRefused as exc:
        raise refused(kind, exc) from exc
    default = compose(
        kind,
        variables.SAMPLE_CONTEXT,
        recipient_name=variables.SAMPLE_RECIPIENT,
        recipient_zone=variables.SAMPLE_ZONE,
        names=variables.SAMPLE_NAMES,
        frontend_url=frontend_url,
        reminder_id="rem_preview",
        session_id="ses_sample",
        action_id="act_sample",
        group_id="grp_sample",
    )
    doc = {
        "_id": "rem_preview",
        "kind": str(kind),
        "program_id": program_id,
        "context": {**variables.SAMPLE_CONTEXT, "broadcast_id": "preview"},
    }
    wordings = BatchWording(
        overrides={wording_id(program_id, str(kind)): wording},
        broadcasts={"preview": wording},
        program_names={program_id: program_name},
    )
    message = wordings.apply(
        default,
        doc,
        recipient_name=variables.SAMPLE_RECIPIENT,
        recipient_zone=variables.SAMPLE_ZONE,
        names=variables.SAMPLE_NAMES,
    )
    return PreviewOut(
        subject=message.subject,
        paragraphs=message.lines,
        text=email_text(message),
        html=email_html(message),
    )


def _out(
    program_id: str, kind: ReminderKind, wording: Wording | None, version: int
) -> ProgramMessageOut:
    shown = wording or DEFAULTS[kind]
    return ProgramMessageOut(
        program_id=program_id,
        kind=str(kind),
        subject=shown.subject,
        body=shown.body,
        customised=wording is not None,
        version=version,
        variables=[
            VariableOut(name=v.name, description=v.description, sample=v.sample)
            for v in variables.VARIABLES[kind]
        ],
    )
