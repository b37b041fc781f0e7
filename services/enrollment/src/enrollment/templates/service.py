"""Template handlers: save a program as a template, list, read, delete; make a program from a
template, or clone a program, as a new draft."""

from __future__ import annotations

from pydantic import ValidationError

from enrollment.programs.repository import StoredProgram
from enrollment.programs.service import ProgramService, invalid_program
from enrollment.templates import domain
from enrollment.templates.domain import NewProgram, ProgramTemplate
from enrollment.templates.repository import TemplateRepository
from roundtable_shared.clock import Clock, utc_now
from roundtable_shared.events.catalogue.enrollment import ProgramOrigin
from roundtable_shared.http.idempotency import ensure_same_request, fingerprint
from roundtable_shared.http.problems import Conflict, NotFound
from roundtable_shared.storage.aggregates import AlreadyExists


class TemplateService:
    def __init__(
        self, templates: TemplateRepository, programs: ProgramService, *, clock: Clock = utc_now
    ) -> None:
        self.templates = templates
        self.programs = programs
        self.clock = clock

    async def save(
        self, template_id: str, name: str, from_program_id: str, by: str
    ) -> ProgramTemplate:
        source = (await self.programs.get(from_program_id)).program
        template, saved = domain.saved_from(
            source.program_id,
            source.settings,
            template_id=template_id,
            name=name,
            by=by,
            now=self.clock(),
        )
        request = {"name": name, "from_program_id": from_program_id}
        try:
            await self.templates.insert(template, [saved], fingerprint(request))
        except AlreadyExists:
            stored = await self.templates.load(template_id)
            if stored is None or stored.template is None:
                raise NotFound(f"template {template_id} was deleted") from None
            ensure_same_request(stored.request_fingerprint, request)
            return stored.template
        return template

    async def get(self, template_id: str, admin_id: str) -> ProgramTemplate:
        """A built-in template or one of the admin's own (404 for anyone else's)."""
        built_in = domain.BUILT_IN.get(template_id)
        if built_in is not None:
            return built_in
        stored = await self.templates.load(template_id)
        if (
            stored is None
            or stored.template is None
            or not domain.may_see(stored.template, admin_id)
        ):
            raise NotFound(f"no program template {template_id}")
        return stored.template

    async def page(self, admin_id: str, after: str | None, limit: int) -> list[ProgramTemplate]:
        """The built-in templates and the admin's own, one listing ordered by id."""
        built_in = [t for t in domain.BUILT_IN.values() if after is None or t.template_id > after]
        own = await self.templates.page(admin_id, after, limit)
        return sorted([*built_in, *own], key=lambda t: t.template_id)[:limit]

    async def delete(self, template_id: str, admin_id: str) -> None:
        """409 for a built-in template, 404 for one that is not the admin's own."""
        built_in = domain.BUILT_IN.get(template_id)
        if built_in is not None:
            try:
                domain.deletion(built_in, self.clock())
            except domain.BuiltInTemplate as exc:
                raise Conflict(str(exc)) from None
        stored = await self.templates.load(template_id)
        if (
            stored is None
            or stored.template is None
            or not domain.may_see(stored.template, admin_id)
        ):
            raise NotFound(f"no program template {template_id}")
        deleted = domain.deletion(stored.template, self.clock())
        # Saved once and only ever deleted after: a write in between was another deletion.
        if not await self.templates.delete(template_id, stored.version, [deleted]):
            raise NotFound(f"no program template {template_id}")

    async def create_program(
        self, template_id: str, admin_id: str, program_id: str, new: NewProgram
    ) -> StoredProgram:
        template = await self.get(template_id, admin_id)
        return await self._create(program_id, template.design, new, domain.origin(template))

    async def clone(self, source_id: str, program_id: str, new: NewProgram) -> StoredProgram:
        source = (await self.programs.get(source_id)).program
        design = domain.design_of(source.settings)
        return await self._create(program_id, design, new, domain.clone_origin(source_id))

    async def _create(
        self,
        program_id: str,
        design: domain.TemplateDesign,
        new: NewProgram,
        origin: ProgramOrigin,
    ) -> StoredProgram:
        try:
            settings = domain.program_settings(design, new)
        except ValidationError as exc:
            raise invalid_program(exc) from None
        return await self.programs.create(program_id, settings, copied_from=origin)
