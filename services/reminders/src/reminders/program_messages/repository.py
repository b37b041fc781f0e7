"""A program's own wording in MongoDB: one document per program and kind, versioned for If-Match.

A reset to the default keeps the document, without wording and one version on: the ETag goes on
growing, so an edit based on the wording before the reset is refused as stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from reminders.program_messages.domain import Wording
from roundtable_shared.storage.mongo import IDS_PER_READ, Collection, Database, in_bulks

PROGRAM_MESSAGES = "program_messages"
TEMPLATE_MESSAGES = "template_messages"


def wording_id(program_id: str, kind: str) -> str:
    return f"{program_id}:{kind}"


class ProgramMessageRepository:
    def __init__(self, db: Database) -> None:
        self.collection: Collection = db[PROGRAM_MESSAGES]

    async def get(self, program_id: str, kind: str) -> tuple[Wording | None, int]:
        """The program's wording of ``kind`` (None: the default) and its version (0: never
        edited)."""
        doc = await self.collection.find_one({"_id": wording_id(program_id, kind)})
        if not doc:
            return None, 0
        return _wording(doc), int(doc["version"])

    async def get_many(self, ids: Iterable[str]) -> dict[str, Wording]:
        """The wordings set under these ids (``wording_id``), in one read per 1,000."""
        found: dict[str, Wording] = {}
        for part in in_bulks(sorted(set(ids)), IDS_PER_READ):
            async for doc in self.collection.find({"_id": {"$in": part}}):
                wording = _wording(doc)
                if wording is not None:
                    found[str(doc["_id"])] = wording
        return found

    async def get_versions(self, ids: Iterable[str]) -> dict[str, tuple[Wording | None, int]]:
        """Each stored id's wording (None: reset to the default) and version."""
        found: dict[str, tuple[Wording | None, int]] = {}
        for part in in_bulks(sorted(set(ids)), IDS_PER_READ):
            async for doc in self.collection.find({"_id": {"$in": part}}):
                found[str(doc["_id"])] = (_wording(doc), int(doc["version"]))
        return found

    async def save(
        self,
        program_id: str,
        kind: str,
        expected_version: int,
        wording: Wording | None,
        *,
        now: datetime,
        by: str,
    ) -> bool:
        """Store the wording (None: back to the default). False when someone changed it since
        ``expected_version`` (a stale write)."""
        fields: dict[str, Any] = {
            "program_id": program_id,
            "kind": kind,
            "subject": wording.subject if wording else None,
            "body": wording.body if wording else None,
            "updated_at": now,
            "updated_by": by,
        }
        if expected_version == 0:
            try:
                await self.collection.insert_one(
                    {"_id": wording_id(program_id, kind), **fields, "version": 1}
                )
            except DuplicateKeyError:
                return False
            return True
        result = await self.collection.update_one(
            {"_id": wording_id(program_id, kind), "version": expected_version},
            {"$set": fields, "$inc": {"version": 1}},
        )
        return result.matched_count == 1

    async def start_with(
        self, program_id: str, wordings: dict[str, Wording], *, now: datetime
    ) -> None:
        """A new program's first wordings (copied from where it was made from), each kept only
        if the kind has none yet: a redelivery, or an admin who edited first, keeps theirs."""
        for kind, wording in sorted(wordings.items()):
            try:
                await self.collection.insert_one(
                    {
                        "_id": wording_id(program_id, kind),
                        "program_id": program_id,
                        "kind": kind,
                        "subject": wording.subject,
                        "body": wording.body,
                        "updated_at": now,
                        "updated_by": None,
                        "version": 1,
                    }
                )
            except DuplicateKeyError:
                continue


class TemplateMessageRepository:
    """The wordings a saved program template gives its programs (``_id``: the template id): a
    copy of its program's, taken once; a deleted template's is a tombstone without wordings."""

    def __init__(self, db: Database) -> None:
        self.collection: Collection = db[TEMPLATE_MESSAGES]

    async def keep(self, template_id: str, program_id: str, wordings: dict[str, Wording]) -> None:
        """The first copy stays: a redelivered save (or one after the deletion) changes nothing."""
        first = {
            "program_id": program_id,
            "wordings": {k: {"subject": w.subject, "body": w.body} for k, w in wordings.items()},
            "deleted": False,
        }
        await self.collection.update_one({"_id": template_id}, {"$setOnInsert": first}, upsert=True)

    async def drop(self, template_id: str) -> None:
        """Also when the save was not heard yet: the tombstone keeps a late one from copying."""
        await self.collection.update_one(
            {"_id": template_id}, {"$set": {"deleted": True, "wordings": {}}}, upsert=True
        )

    async def get(self, template_id: str) -> dict[str, Wording] | None:
        """The template's wordings by kind (empty once deleted); None: no save heard yet."""
        doc = await self.collection.find_one({"_id": template_id})
        if doc is None:
            return None
        return {
            str(kind): Wording(subject=str(w["subject"]), body=str(w["body"]))
            for kind, w in (doc.get("wordings") or {}).items()
        }


def _wording(doc: dict[str, Any]) -> Wording | None:
    if doc.get("subject") is None or doc.get("body") is None:
        return None
    return Wording(subject=str(doc["subject"]), body=str(doc["body"]))
