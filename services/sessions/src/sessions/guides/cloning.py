"""A program's guide follows it when it is made from a template or cloned from a program.

Enrollment tells when a program admin saves a program as a template (the guide that program has
then is kept under the template's id), when a template is deleted (its copy goes), and, in
``program.created``'s ``copied_from``, what a new program was made from: the template's kept
guide, or the cloned program's current one, becomes the new program's own. A built-in template,
or a source that never edited its guide, leaves the new program on the built-in guide of its
format. Every step is idempotent (at-least-once delivery): the first copy stays.
"""

from __future__ import annotations

from roundtable_shared.clock import Clock
from roundtable_shared.events.catalogue.enrollment import (
    OriginKind,
    ProgramOrigin,
    ProgramTemplateDeleted,
    ProgramTemplateSaved,
)
from sessions.guides import domain
from sessions.guides.domain import Guide, ProgramGuide
from sessions.guides.repository import GuideRepository, TemplateGuideRepository


class TemplateNotHeardYet(Exception):
    """A program was made from a template whose save has not reached this service yet: the
    consumer redelivers the event (with backoff) until it has."""


class GuideCloning:
    def __init__(
        self, guides: GuideRepository, templates: TemplateGuideRepository, clock: Clock
    ) -> None:
        self.guides = guides
        self.templates = templates
        self.clock = clock

    async def template_saved(self, data: ProgramTemplateSaved) -> None:
        source = await self.guides.get(data.program_id)
        await self.templates.keep(data.template_id, data.program_id, source.custom)

    async def template_deleted(self, data: ProgramTemplateDeleted) -> None:
        await self.templates.drop(data.template_id)

    async def program_created(self, program_id: str, origin: ProgramOrigin | None) -> None:
        custom = await self._guide_of(origin) if origin is not None else None
        if custom is None:
            return  # the built-in guide of the program's format, as for any new program
        start = domain.copied(program_id, custom, self.clock())
        # Insert-only: a redelivery, or an admin who edited the new guide first, keeps theirs.
        await self.guides.save(ProgramGuide(id=program_id), start, [])

    async def _guide_of(self, origin: ProgramOrigin) -> Guide | None:
        if origin.kind is OriginKind.PROGRAM:
            return (await self.guides.get(origin.id)).custom
        if origin.kind is OriginKind.BUILT_IN_TEMPLATE:
            return None  # the built-in guide of the format (the hot seat for roundtables)
        kept = await self.templates.get(origin.id)
        if kept is None:
            raise TemplateNotHeardYet(origin.id)
        return kept.custom
