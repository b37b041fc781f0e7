"""Programs in MongoDB: settings, status, seat counters and the outbox in one document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import IndexModel, ReturnDocument

from enrollment.programs.domain import Program, ProgramSettings
from roundtable_shared.events.catalogue.enrollment import ProgramStatus
from roundtable_shared.events.envelope import EventData
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Collection, Document, Indexes

PROGRAMS = "programs"
INDEXES = Indexes(PROGRAMS, [IndexModel([("status", 1), ("_id", 1)])])


def from_document(document: Document) -> Program:
    return Program(
        program_id=document["_id"],
        settings=ProgramSettings.model_validate(document["settings"]),
        status=ProgramStatus(document["status"]),
        created_at=document["created_at"],
    )


class ProgramRepository:
    def __init__(self, store: AggregateStore) -> None:
        """``store``: the ``programs`` collection's (``ServiceRuntime.aggregate_store``)."""
        self.store = store
        self.collection: Collection = store.collection

    async def insert(self, program: Program, events: Sequence[EventData], fingerprint: str) -> int:
        return await self.store.insert(
            {
                "_id": program.program_id,
                "settings": program.settings.model_dump(mode="json"),
                "status": program.status.value,
                "created_at": program.created_at,
                "enrolled_count": 0,
                "waitlist_seq": 0,
                "request_fingerprint": fingerprint,
            },
            events,
        )

    async def load(self, program_id: str) -> tuple[Program, int, Document] | None:
        document = await self.collection.find_one({"_id": program_id}, {"outbox": 0})
        if document is None:
            return None
        return from_document(document), int(document["version"]), document

    async def save(self, program: Program, version: int, events: Sequence[EventData]) -> int | None:
        changes = {
            "$set": {
                "settings": program.settings.model_dump(mode="json"),
                "status": program.status.value,
            }
        }
        return await self.store.update(program.program_id, version, changes, events)

    async def page(
        self, after: str | None, limit: int, statuses: Sequence[str] | None = None
    ) -> list[tuple[Program, int, Document]]:
        query: dict[str, Any] = {}
        if after:
            query["_id"] = {"$gt": after}
        if statuses is not None:
            query["status"] = {"$in": list(statuses)}
        cursor = self.collection.find(query, {"outbox": 0}).sort("_id", 1).limit(limit)
        return [(from_document(d), int(d["version"]), d) async for d in cursor]

    # Seats: counters outside the versioned state, so enrolments never conflict with edits.

    async def take_seat(self, program_id: str, capacity: int | None, participant_id: str) -> bool:
        """One seat if the counter is under capacity. A release of this enrolment's seat the
        counter still remembers (see ``release_seat``) is over: the seat is taken again."""
        query: dict[str, Any] = {"_id": program_id}
        if capacity is not None:
            query["enrolled_count"] = {"$lt": capacity}
        result = await self.collection.update_one(
            query, {"$inc": {"enrolled_count": 1}, "$pull": {"seats_released": participant_id}}
        )
        return result.modified_count == 1

    async def release_seat(self, program_id: str, participant_id: str) -> None:
        """One seat back, once per withdrawal: the enrolment's id stays in ``seats_released``
        until ``released`` (after the withdrawal no longer asks for it), so a release run again
        after a crash in between frees nothing. One conditional update by ``_id``, where a
        count of the holders would read every enrolment on FerretDB."""
        await self.collection.update_one(
            {"_id": program_id, "seats_released": {"$ne": participant_id}},
            {"$inc": {"enrolled_count": -1}, "$push": {"seats_released": participant_id}},
        )

    async def seats_released(self, program_id: str) -> list[str]:
        document = await self.collection.find_one({"_id": program_id}, {"seats_released": 1})
        return list(document.get("seats_released") or []) if document else []

    async def released(self, program_id: str, participant_id: str) -> None:
        await self.collection.update_one(
            {"_id": program_id}, {"$pull": {"seats_released": participant_id}}
        )

    async def set_seats(self, program_id: str, holders: int) -> None:
        """The counter from a count of the enrolments holding a seat (and of the withdrawals
        whose seat is still to be released, which ``release_seat`` will take off)."""
        await self.collection.update_one({"_id": program_id}, {"$set": {"enrolled_count": holders}})

    async def next_waitlist_number(self, program_id: str) -> int:
        # No projection: FerretDB's findAndModify does not implement "fields".
        document = await self.collection.find_one_and_update(
            {"_id": program_id},
            {"$inc": {"waitlist_seq": 1}},
            return_document=ReturnDocument.AFTER,
        )
        return int(document["waitlist_seq"]) if document else 0
