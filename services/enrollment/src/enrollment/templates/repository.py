"""Saved program templates in MongoDB: one document each, with its outbox.

A deleted template stays as a tombstone without its design: the document carries the
``program_template.deleted`` event out through the outbox, and an Idempotency-Key retry of the
save that made it still finds it (and is not saved again).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from pymongo import IndexModel

from enrollment.templates.domain import ProgramTemplate, TemplateDesign
from roundtable_shared.events.envelope import EventData
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Collection, Document, Indexes

PROGRAM_TEMPLATES = "program_templates"
INDEXES = Indexes(PROGRAM_TEMPLATES, [IndexModel([("owner_id", 1), ("deleted", 1), ("_id", 1)])])


class StoredTemplate(NamedTuple):
    template: ProgramTemplate | None
    """None once deleted."""
    version: int
    request_fingerprint: str | None


def _template(document: Document) -> ProgramTemplate:
    return ProgramTemplate(
        template_id=document["_id"],
        name=document["name"],
        owner_id=document["owner_id"],
        from_program_id=document["from_program_id"],
        saved_at=document["saved_at"],
        design=TemplateDesign.model_validate(document["design"]),
    )


class TemplateRepository:
    def __init__(self, store: AggregateStore) -> None:
        """``store``: the ``program_templates`` collection's (``ServiceRuntime.aggregate_store``)."""
        self.store = store
        self.collection: Collection = store.collection

    async def insert(
        self, template: ProgramTemplate, events: Sequence[EventData], fingerprint: str
    ) -> int:
        """Raises ``AlreadyExists`` when the id is taken (a retried save)."""
        return await self.store.insert(
            {
                "_id": template.template_id,
                "name": template.name,
                "owner_id": template.owner_id,
                "from_program_id": template.from_program_id,
                "saved_at": template.saved_at,
                "design": template.design.model_dump(mode="json"),
                "deleted": False,
                "request_fingerprint": fingerprint,
            },
            events,
        )

    async def load(self, template_id: str) -> StoredTemplate | None:
        document = await self.collection.find_one({"_id": template_id}, {"outbox": 0})
        if document is None:
            return None
        template = None if document.get("deleted") else _template(document)
        return StoredTemplate(
            template, int(document["version"]), document.get("request_fingerprint")
        )

    async def delete(self, template_id: str, version: int, events: Sequence[EventData]) -> bool:
        """The tombstone, if the template is still at ``version``."""
        changes: dict[str, Any] = {"$set": {"deleted": True, "design": None}}
        return await self.store.update(template_id, version, changes, events) is not None

    async def page(self, owner_id: str, after: str | None, limit: int) -> list[ProgramTemplate]:
        """The owner's templates by id, after ``after``."""
        query: dict[str, Any] = {"owner_id": owner_id, "deleted": False}
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self.collection.find(query, {"outbox": 0}).sort("_id", 1).limit(limit)
        return [_template(document) async for document in cursor]
