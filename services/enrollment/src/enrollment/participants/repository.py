"""Participants (enrolments) in MongoDB, one document each with its outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import IndexModel, UpdateOne

from enrollment.participants.domain import (
    HOLDS_SEAT,
    EnrolmentRequest,
    Participant,
    ParticipantStatus,
)
from roundtable_shared.events.envelope import EventData
from roundtable_shared.messaging.outbox import with_outbox
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.bulk import bulk_write
from roundtable_shared.storage.mongo import Collection, Database, Document, Indexes, by_ids

PARTICIPANTS = "participants"
RETIRED = ("followed_directory",)
"""Collections earlier versions kept (copies of directory facts, per employee): dropped at start,
so nothing of a person stays in them after an erasure."""

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
    stored = ("outbox", "version", "idempotency_key", "request_fingerprint")
    fields = {k: v for k, v in document.items() if k not in stored}
    fields["participant_id"] = fields.pop("_id")
    return Participant.model_validate(fields)


class ParticipantRepository:
    def __init__(self, store: AggregateStore) -> None:
        """``store``: the ``participants`` collection's (``ServiceRuntime.aggregate_store``)."""
        self.store = store
        self.collection: Collection = store.collection

    async def load(self, participant_id: str) -> tuple[Participant, int, EnrolmentRequest] | None:
        document = await self.collection.find_one({"_id": participant_id}, {"outbox": 0})
        if document is None:
            return None
        request = EnrolmentRequest(
            document.get("idempotency_key"), document.get("request_fingerprint")
        )
        return from_document(document), int(document["version"]), request

    async def insert(
        self, participant: Participant, events: Sequence[EventData], request: EnrolmentRequest
    ) -> int:
        return await self.store.insert(
            {**to_document(participant), **_request_fields(request)}, events
        )

    async def save(
        self,
        participant: Participant,
        version: int,
        events: Sequence[EventData],
        request: EnrolmentRequest | None = None,
    ) -> int | None:
        """The participant as changed, if still at ``version``; ``request``: a new enrolment's
        (an enrolment made again after a withdrawal), kept with it."""
        document = to_document(participant)
        del document["_id"]
        if request is not None:
            document.update(_request_fields(request))
        return await self.store.update(
            participant.participant_id, version, {"$set": document}, events
        )

    async def save_many(
        self, changes: Sequence[tuple[Participant, int, Sequence[EventData]]]
    ) -> bool:
        """``save`` for many enrolments in one bulk write: each still a write conditional on its
        version, its events into its own outbox by the same update. True when every one was
        still at its version; False when some were not (which, a bulk write does not say: the
        caller applies those again on a fresh read, which changes nothing where this landed)."""
        if not changes:
            return True
        operations = []
        for participant, version, events in changes:
            document = to_document(participant)
            del document["_id"]
            bump = max(1, len(events))
            outbox = self.store.envelopes(participant.participant_id, version, events)
            update = with_outbox({"$set": document, "$inc": {"version": bump}}, outbox)
            operations.append(
                UpdateOne({"_id": participant.participant_id, "version": version}, update)
            )
        outcome = await bulk_write(self.collection, operations, ordered=False)
        # The relay reads these by _id; one whose write did not land holds nothing new for it.
        self.store.announce(*(p.participant_id for p, _, events in changes if events))
        return outcome.matched_count == len(operations)

    async def _find(self, query: dict[str, Any], limit: int = 0) -> list[tuple[Participant, int]]:
        cursor = self.collection.find(query, {"outbox": 0}).sort("_id", 1)
        if limit:
            cursor = cursor.limit(limit)
        return [(from_document(d), int(d["version"])) async for d in cursor]

    async def of_employee(self, employee_id: str) -> list[tuple[Participant, int]]:
        """Every enrolment of an employee, in any program (by the ``employee_id`` index)."""
        return await self._find({"employee_id": employee_id})

    async def of_employees(self, employee_ids: Sequence[str]) -> list[tuple[Participant, int]]:
        """Every enrolment of these employees, in one query (the ``employee_id`` index)."""
        if not employee_ids:
            return []
        return await self._find({"employee_id": {"$in": list(dict.fromkeys(employee_ids))}})

    async def of_program(self, program_id: str, limit: int = 0) -> list[tuple[Participant, int]]:
        return await self._find({"program_id": program_id}, limit)

    async def unassigned(self, program_id: str) -> list[tuple[Participant, int]]:
        """Enrolled participants of a program in no group (whom matching places)."""
        return await self._find(
            {
                "program_id": program_id,
                "status": ParticipantStatus.ENROLLED.value,
                "group_id": None,
            }
        )

    async def many(self, participant_ids: Sequence[str]) -> list[tuple[Participant, int]]:
        """The enrolments with these ids, by id; ids with no document are left out."""
        documents = await by_ids(self.collection, participant_ids, {"outbox": 0})
        return [(from_document(d), int(d["version"])) for d in documents]

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
        return await self._find(
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

    async def drop_retired(self) -> None:
        """Drop what earlier versions kept and this one no longer reads (at start; idempotent)."""
        database: Database = self.collection.database
        for name in RETIRED:
            await database.drop_collection(name)


def _request_fields(request: EnrolmentRequest) -> Document:
    return {"idempotency_key": request.idempotency_key, "request_fingerprint": request.fingerprint}
