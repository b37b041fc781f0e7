"""Participants (enrolments) in MongoDB, one document each with its outbox."""

from __future__ import annotations

from collections.abc import Sequence
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
from roundtable_shared.storage.mongo import Collection, Database, Document, Indexes, in_bulks

PARTICIPANTS = "participants"
FOLLOWED_DIRECTORY = "followed_directory"

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
    def __init__(self, store: AggregateStore) -> None:
        """``store``: the ``participants`` collection's (``ServiceRuntime.aggregate_store``)."""
        self.store = store
        self.collection: Collection = store.collection

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
        """A scan on FerretDB: the service reads an employee's enrolments with ``many`` and the
        ids ``FollowedDirectory`` lists; this stays for the listing of one's own enrolments."""
        return await self.find({"employee_id": employee_id})

    async def many(self, participant_ids: Sequence[str]) -> list[tuple[Participant, int]]:
        """By ``_id`` one at a time: on FerretDB only a filter naming one ``_id`` uses the
        index (``$in`` reads the whole collection). Ids with no document are left out."""
        found = []
        for pid in sorted(set(participant_ids)):
            loaded = await self.load(pid)
            if loaded is not None:
                found.append((loaded[0], loaded[1]))
        return found

    async def ids_by_employee(self) -> dict[str, set[str]]:
        """Every enrolment's id, by employee (one scan, at start)."""
        by_employee: dict[str, set[str]] = {}
        async for d in self.collection.find({}, {"employee_id": 1}):
            by_employee.setdefault(str(d["employee_id"]), set()).add(str(d["_id"]))
        return by_employee

    async def seat_holders(self, program_id: str, released: Sequence[str] = ()) -> int:
        """Enrolments holding a seat, and withdrawals whose seat is still to be given back
        (not among the ``released`` ones): a release after a crash still counts on it."""
        holding = {"status": {"$in": [s.value for s in HOLDS_SEAT]}}
        unreleased = {"seat_to_release": True, "_id": {"$nin": list(released)}}
        return await self.collection.count_documents(
            {"program_id": program_id, "$or": [holding, unreleased]}
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
    """Per employee who ever enrolled, the directory facts their enrolments last followed and
    the ids of those enrolments.

    One small document by ``_id``, so deciding whether an HR change concerns the enrolments, and
    finding them, costs no scan of the participants (on FerretDB any other filter reads the
    whole collection). No document: the employee never enrolled, and no HR change concerns them.
    """

    def __init__(self, db: Database) -> None:
        self.collection: Collection = db[FOLLOWED_DIRECTORY]

    async def load(self, employee_id: str) -> DirectoryFacts | None:
        document = await self.collection.find_one({"_id": employee_id})
        if document is None:
            return None
        return DirectoryFacts.model_validate(document.get("facts") or {})

    async def enrolling(self, employee_id: str, participant_id: str) -> None:
        """Before an enrolment is saved (so a crash in between leaves only an id with no
        enrolment, which readers skip): the next HR change of this employee is looked at,
        whatever it is, and a termination finds the enrolment."""
        await self.collection.update_one(
            {"_id": employee_id},
            {"$setOnInsert": {"facts": {}}, "$addToSet": {"participant_ids": participant_id}},
            upsert=True,
        )

    async def participant_ids(self, employee_id: str) -> list[str]:
        document = await self.collection.find_one({"_id": employee_id}, {"participant_ids": 1})
        return list(document.get("participant_ids") or []) if document else []

    async def followed(self, employee_id: str, facts: DirectoryFacts) -> None:
        await self.collection.update_one(
            {"_id": employee_id},
            {"$set": {"facts": facts.model_dump(mode="json")}},
            upsert=True,
        )

    async def forget_facts(self, employee_id: str) -> None:
        """Erasure: the directory attributes kept here go; the enrolment ids (opaque) stay, so a
        repeated erasure still finds the enrolments."""
        await self.collection.update_one({"_id": employee_id}, {"$set": {"facts": {}}})

    async def add_missing(self, by_employee: dict[str, set[str]]) -> int:
        """Documents and enrolment ids for enrolments saved before they were kept here (at
        start); returns for how many employees something was added."""
        known = {
            str(d["_id"]): set(d.get("participant_ids") or [])
            async for d in self.collection.find({}, {"participant_ids": 1})
        }
        missing = sorted(e for e, ids in by_employee.items() if not ids <= known.get(e, set()))
        for part in in_bulks(missing):
            await self.collection.bulk_write(
                [
                    UpdateOne(
                        {"_id": eid},
                        {
                            "$setOnInsert": {"facts": {}},
                            "$addToSet": {"participant_ids": {"$each": sorted(by_employee[eid])}},
                        },
                        upsert=True,
                    )
                    for eid in part
                ],
                ordered=False,
            )
        return len(missing)
