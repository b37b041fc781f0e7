"""A program's own wording of its messages follows it when it is made from a template or cloned.

Enrollment tells when a program admin saves a program as a template (that program's wordings
are kept under the template's id), when a template is deleted (the copy goes), and, in
``program.created``'s ``copied_from``, what a new program was made from: the template's kept
wordings, or the cloned program's current ones, become the new program's own. A built-in
template, or a source that never edited a kind, leaves that kind on the default. Every step is
idempotent (at-least-once delivery): the first copy stays.
"""

from __future__ import annotations

from reminders.program_messages.defaults import DEFAULTS
from reminders.program_messages.domain import Wording
from reminders.program_messages.repository import (
    ProgramMessageRepository,
    TemplateMessageRepository,
    wording_id,
)
from roundtable_shared.clock import Clock
from roundtable_shared.events.catalogue.enrollment import (
    OriginKind,
    ProgramOrigin,
    ProgramTemplateDeleted,
    ProgramTemplateSaved,
)


class TemplateNotHeardYet(Exception):
    """A program was made from a template whose save has not reached this service yet: the
    consumer redelivers the event (with backoff) until it has."""


class MessageCloning:
    def __init__(
        self,
        messages: ProgramMessageRepository,
        templates: TemplateMessageRepository,
        clock: Clock,
    ) -> None:
        self.messages = messages
        self.templates = templates
        self.clock = clock

    async def template_saved(self, data: ProgramTemplateSaved) -> None:
        wordings = await self._wordings_of_program(data.program_id)
        await self.templates.keep(data.template_id, data.program_id, wordings)

    async def template_deleted(self, data: ProgramTemplateDeleted) -> None:
        await self.templates.drop(data.template_id)

    async def program_created(self, program_id: str, origin: ProgramOrigin | None) -> None:
        if origin is None or origin.kind is OriginKind.BUILT_IN_TEMPLATE:
            return  # the default wording of every kind, as for any new program
        if origin.kind is OriginKind.PROGRAM:
            wordings = await self._wordings_of_program(origin.id)
        else:
            kept = await self.templates.get(origin.id)
            if kept is None:
                raise TemplateNotHeardYet(origin.id)
            wordings = kept
        if wordings:
            await self.messages.start_with(program_id, wordings, now=self.clock())

    async def _wordings_of_program(self, program_id: str) -> dict[str, Wording]:
        """The program's own wording of each kind it edited (kinds reset to the default have
        none), by kind."""
        ids = {wording_id(program_id, str(kind)): str(kind) for kind in DEFAULTS}
        found = await self.messages.get_many(ids)
        return {ids[stored_id]: wording for stored_id, wording in found.items()}
