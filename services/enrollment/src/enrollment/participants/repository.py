"""Participants (enrolments) in MongoDB, one document each with its outbox."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pymongo import IndexModel, UpdateOne

from enrollment.participants.domain import (
    HOLDS_SEAT,
    DirectoryFacts,
    Participant,
    ParticipantStatus,
)
from roundtable_shared.events.envelope import EventData
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Collection, Database, Document, Indexes

PARTICIPANTS = "participants"
FOLLOWED_DIRECTORY = "followed_directory"
BATCH = 50  # FerretDB hangs on bulk writes of 100 statements or more
INDEXES = Indexes(
    PARTICIPANTS,
    [
        IndexModel([("employee_id", 1), ("program_id", 1)]),
        IndexModel([("program_id", 1), ("status", 1), ("waitlist_number", 1)]),
        IndexModel([("group_id", 1)]),
    ],
)


def to_document(participant: Participant) -> Document:
    document = participant.model_dump(mode="python")
    document["_id"] = document.pop("participant_id")
    document["status"] = participant.status.value
    document["answers"] = participant.answers.model_dump(mode="json")
    document["paused_reason"] = (
        participant.paused_reason.value if participant.paused_reason else None
    )
    reason = participant.withdrawn_reason
    document["withdrawn_reason"] = reason.value if reason else None
    resume = participant.resume_expected_on
    document["resume_expected_on"] = resume.isoformat() if resume else None  # BSON has no dates
    if participant.reporting_attributes is not None:
        document["reporting_attributes"] = participant.reporting_attributes.model_dump()
    return document


def from_document(document: Document) -> Participant:
    fields = {k: v for k, v in document.items() if k not in ("outbox", "version")}
    fields["participant_id"] = fields.pop("_id")
    return Participant.model_validate(fields)


class ParticipantRepository:
    def __init__(
        self,
        db: Database,
        *,
        source: str,
        nudge: Callable[[], None] | None = None,
        pending: Callable[[str, Any], None] | None = None,
    ) -> None:
        self.collection: Collection = db[PARTICIPANTS]
        self.store = AggregateStore(
            self.collection, source=source, nudge=nudge or (lambda: None), pending=pending
        )

    async def load(self, participant_id: str) -> tuple[Participant, int, Document] | None:
        document = await self.collection.find_one({"_id": participant_id}, {"outbox": 0})
        if document is None:
            return None
        return from_document(document), int(document["version"]), document

    async def insert(
        self, participant: Participant, events: Sequence[EventData], extra: Document
    ) -> int:
        return await self.store.insert({**to_document(participant), **extra}, events)

    async def save(
        self,
        participant: Participant,
        version: int,
        events: Sequence[EventData],
        extra: Document | None = None,
    ) -> int | None:
        document = to_document(participant)
        del document["_id"]
        return await self.store.update(
            participant.participant_id, version, {"$set": {**document, **(extra or {})}}, events
        )

    async def find(self, query: dict[str, Any], limit: int = 0) -> list[tuple[Participant, int]]:
        cursor = self.collection.find(query, {"outbox": 0}).sort("_id", 1)
        if limit:
            cursor = cursor.limit(limit)
        return [(from_document(d), int(d["version"])) async for d in cursor]

    async def of_employee(self, employee_id: str) -> list[tuple[Participant, int]]:
        return await self.find({"employee_id": employee_id})

    async def employee_ids(self) -> set[str]:
        """Everyone who ever enrolled (one scan, at start)."""
        cursor = self.collection.find({}, {"employee_id": 1, "_id": 0})
        return {str(d["employee_id"]) async for d in cursor}

    async def seat_holders(self, program_id: str) -> int:
        return await self.collection.count_documents(
            {"program_id": program_id, "status": {"$in": [s.value for s in HOLDS_SEAT]}}
        )

    async def unfinished_withdrawals(self) -> list[tuple[Participant, int]]:
        """Withdrawals a crash interrupted before their group and seat followed (at start)."""
        return await self.find(
            {"$or": [{"seat_to_release": True}, {"leaving_group_id": {"$ne": None}}]}
        )

    async def waitlist_position(self, program_id: str, number: int) -> int:
        ahead = await self.collection.count_documents(
            {
                "program_id": program_id,
                "status": ParticipantStatus.WAITLISTED.value,
                "waitlist_number": {"$lt": number},
            }
        )
        return ahead + 1

    async def first_waitlisted(self, program_id: str) -> tuple[Participant, int] | None:
        found = (
            await self.collection.find(
                {"program_id": program_id, "status": ParticipantStatus.WAITLISTED.value},
                {"outbox": 0},
            )
            .sort("waitlist_number", 1)
            .limit(1)
            .to_list()
        )
        return (from_document(found[0]), int(found[0]["version"])) if found else None


class FollowedDirectory:
    """Per employee who ever enrolled, the directory facts their enrolments last followed.

    One small document by ``_id``, so deciding whether an HR change concerns the enrolments
    costs no scan of the participants (on FerretDB any other filter reads the whole
    collection). No document: the employee never enrolled, and no HR change concerns them.
    """

    def __init__(self, db: Database) -> None:
        self.collection: Collection = db[FOLLOWED_DIRECTORY]

    async def load(self, employee_id: str) -> DirectoryFacts | None:
        document = await self.collection.find_one({"_id": employee_id})
        if document is None:
            return None
        return DirectoryFacts.model_validate(document.get("facts") or {})

    async def enrolling(self, employee_id: str) -> None:
        """Before an enrolment is saved (so a crash in between leaves only a harmless
        document): the next HR change of this employee is looked at, whatever it is."""
        await self.collection.update_one(
            {"_id": employee_id}, {"$setOnInsert": {"facts": {}}}, upsert=True
        )

    async def followed(self, employee_id: str, facts: DirectoryFacts) -> None:
        await self.collection.update_one(
            {"_id": employee_id},
            {"$set": {"facts": facts.model_dump(mode="json")}},
            upsert=True,
        )

    async def add_missing(self, employee_ids: set[str]) -> int:
        """Documents for enrolments saved before this collection existed (at start); returns
        how many were added."""
        known = {str(d["_id"]) async for d in self.collection.find({}, {"_id": 1})}
        missing = sorted(employee_ids - known)
        for start in range(0, len(missing), BATCH):
            await self.collection.bulk_write(
                [
                    UpdateOne({"_id": eid}, {"$setOnInsert": {"facts": {}}}, upsert=True)
                    for eid in missing[start : start + BATCH]
                ],
                ordered=False,
            )
        return len(missing)
