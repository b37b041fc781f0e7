"""MongoDB adapter of the programs' guides, and of sessions' copy of enrollment's programs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import IndexModel

from roundtable_shared.events.catalogue.enrollment import ProgramFormat
from roundtable_shared.events.envelope import EventData
from roundtable_shared.storage.aggregates import AggregateStore, AlreadyExists
from roundtable_shared.storage.mongo import Database, Indexes, upsert_if_newer
from sessions.common import update_between
from sessions.guides.domain import Guide, Program, ProgramGuide, TemplateGuide
from sessions.membership.repository import GROUPS

GUIDES = "guides"
TEMPLATE_GUIDES = "template_guides"
PROGRAMS = "programs"
PARTICIPANTS = "program_participants"
INDEXES = [
    Indexes(PARTICIPANTS, [IndexModel([("employee_id", 1), ("program_id", 1)])]),
    # Whether a program has peer groups here (a program known before its copy was kept).
    Indexes(GROUPS, [IndexModel([("program_id", 1)])]),
]


class GuideRepository:
    """One document per program that edited its guide (``_id``: the program id)."""

    def __init__(self, db: Database, store: AggregateStore) -> None:
        self.collection = db[GUIDES]
        self.store = store

    async def get(self, program_id: str) -> ProgramGuide:
        """The stored guide, or an unsaved one (version 0: the built-in guide)."""
        document = await self.collection.find_one({"_id": program_id})
        if document is None:
            return ProgramGuide(id=program_id)
        return ProgramGuide.model_validate(document)

    async def save(
        self, before: ProgramGuide, after: ProgramGuide, events: Sequence[EventData]
    ) -> ProgramGuide | None:
        """``after`` if the guide is still at ``before``'s version; None when someone else
        changed it first."""
        if before.version == 0:
            try:
                version = await self.store.insert(after.document(), events)
            except AlreadyExists:
                return None
        else:
            changes = update_between(before.document(), after.document())
            found = await self.store.update(before.id, before.version, changes, events)
            if found is None:
                return None
            version = found
        return after.model_copy(update={"version": version})


class TemplateGuideRepository:
    """The guide a saved program template gives its programs (``_id``: the template id): a copy
    of its program's, taken once; a deleted template's is a tombstone without a guide."""

    def __init__(self, db: Database) -> None:
        self.collection = db[TEMPLATE_GUIDES]

    async def keep(self, template_id: str, program_id: str, custom: Guide | None) -> None:
        """The first copy stays: a redelivered save (or one after the deletion) changes nothing."""
        first = {
            "program_id": program_id,
            "custom": custom.model_dump(mode="json") if custom else None,
            "deleted": False,
        }
        await self.collection.update_one({"_id": template_id}, {"$setOnInsert": first}, upsert=True)

    async def drop(self, template_id: str) -> None:
        """Also when the save was not heard yet: the tombstone keeps a late one from copying."""
        await self.collection.update_one(
            {"_id": template_id}, {"$set": {"deleted": True, "custom": None}}, upsert=True
        )

    async def get(self, template_id: str) -> TemplateGuide | None:
        """None: no save of this template heard yet."""
        document = await self.collection.find_one({"_id": template_id})
        return TemplateGuide.model_validate(document) if document is not None else None


class ProgramRepository:
    """Copies of enrollment's programs (the format and who sponsors it) and of its enrolments
    (who takes part), version-guarded."""

    def __init__(self, db: Database) -> None:
        self.collection = db[PROGRAMS]
        self.participants = db[PARTICIPANTS]
        self.groups = db[GROUPS]

    async def store(
        self, program_id: str, version: int, *, format: ProgramFormat, sponsor_ids: list[str]
    ) -> bool:
        fields = {"format": format.value, "sponsor_ids": sponsor_ids}
        return await upsert_if_newer(self.collection, program_id, version, fields)

    async def store_participant(
        self,
        participant_id: str,
        version: int,
        *,
        program_id: str,
        employee_id: str,
        enrolled: bool,
    ) -> bool:
        """Whether an enrolment is current (enrolled) or over (withdrawn), version-guarded."""
        fields = {"program_id": program_id, "employee_id": employee_id, "enrolled": enrolled}
        return await upsert_if_newer(self.participants, participant_id, version, fields)

    async def is_participant(self, program_id: str, employee_id: str) -> bool:
        found = await self.participants.find_one(
            {"employee_id": employee_id, "program_id": program_id, "enrolled": True}, {"_id": 1}
        )
        return found is not None

    async def get(self, program_id: str) -> Program | None:
        document: dict[str, Any] | None = await self.collection.find_one({"_id": program_id})
        if document is not None:
            return Program(
                program_id=program_id,
                format=ProgramFormat(document["format"]),
                sponsor_ids=frozenset(document.get("sponsor_ids", [])),
            )
        # A program whose events came before sessions kept programs is known by its groups.
        if await self.groups.find_one({"program_id": program_id}, {"_id": 1}) is not None:
            return Program(program_id=program_id)
        return None
