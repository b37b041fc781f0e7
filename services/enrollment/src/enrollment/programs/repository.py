"""Programs in MongoDB: settings, status, seat counters and the outbox in one document."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pymongo import IndexModel

from enrollment.programs.domain import Program, ProgramSettings, SeatClaim, SeatCounter
from roundtable_shared.events.catalogue.enrollment import ProgramOrigin, ProgramStatus
from roundtable_shared.events.envelope import EventData
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Collection, Document, Indexes, increment

PROGRAMS = "programs"
INDEXES = Indexes(PROGRAMS, [IndexModel([("status", 1), ("_id", 1)])])


class StoredProgram(NamedTuple):
    """A program as stored: the aggregate, its version, the seats it holds (counted outside the
    versioned state) and the fingerprint of the request that created it."""

    program: Program
    version: int
    enrolled_count: int
    request_fingerprint: str | None


def stored(document: Document) -> StoredProgram:
    return StoredProgram(
        from_document(document),
        int(document["version"]),
        int(document.get("enrolled_count", 0)),
        document.get("request_fingerprint"),
    )


def from_document(document: Document) -> Program:
    return Program(
        program_id=document["_id"],
        settings=ProgramSettings.model_validate(document["settings"]),
        status=ProgramStatus(document["status"]),
        created_at=document["created_at"],
        copied_from=(
            ProgramOrigin.model_validate(document["copied_from"])
            if document.get("copied_from")
            else None
        ),
    )


def origin_field(program: Program) -> dict[str, Any]:
    """Stored only for a copy: the documents of programs created from scratch stay as they were."""
    if program.copied_from is None:
        return {}
    return {"copied_from": program.copied_from.model_dump(mode="json")}


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
                **origin_field(program),
            },
            events,
        )

    async def load(self, program_id: str) -> StoredProgram | None:
        document = await self.collection.find_one({"_id": program_id}, {"outbox": 0})
        return stored(document) if document is not None else None

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
    ) -> list[StoredProgram]:
        query: dict[str, Any] = {}
        if after:
            query["_id"] = {"$gt": after}
        if statuses is not None:
            query["status"] = {"$in": list(statuses)}
        cursor = self.collection.find(query, {"outbox": 0}).sort("_id", 1).limit(limit)
        return [stored(d) async for d in cursor]

    # Automatic matching once the enrolment window closes: claimed by one replica at a time.

    async def closed_unmatched(self, now: datetime) -> list[str]:
        """Open programs whose enrolment window has closed and that were not matched yet."""
        cursor = self.collection.find(
            {
                "status": ProgramStatus.OPEN.value,
                "auto_matched_at": None,
                "settings.enrolment_closes_at": {"$ne": None},
            },
            {"settings.enrolment_closes_at": 1},
        )
        return [
            str(document["_id"])
            async for document in cursor
            if datetime.fromisoformat(document["settings"]["enrolment_closes_at"]) <= now
        ]

    async def claim_auto_match(self, program_id: str, now: datetime) -> bool:
        """False when another replica claimed it first."""
        claim = await self.collection.update_one(
            {"_id": program_id, "auto_matched_at": None}, {"$set": {"auto_matched_at": now}}
        )
        return claim.modified_count == 1

    async def release_auto_match(self, program_id: str) -> None:
        await self.collection.update_one({"_id": program_id}, {"$set": {"auto_matched_at": None}})

    # Seats: counters outside the versioned state, so enrolments never conflict with edits.
    # Every change of them is one conditional update of the program's document, so replicas
    # of the service take and give back seats side by side without a lock between them.

    async def take_seat(self, program_id: str, capacity: int | None, claim: SeatClaim) -> bool:
        """One seat if the counter is under capacity, with the claim that says whose it is
        until their enrolment is saved (``settle``). A release of this enrolment's seat the
        counter still remembers (see ``release_seat``) is over: the seat is taken again."""
        query: dict[str, Any] = {"_id": program_id}
        if capacity is not None:
            query["enrolled_count"] = {"$lt": capacity}
        result = await self.collection.update_one(
            query,
            {
                "$inc": {"enrolled_count": 1, "seat_changes": 1},
                "$push": {"seat_claims": _claim_key(claim)},
                "$pull": {"seats_released": claim.participant_id},
            },
        )
        return result.modified_count == 1

    async def settle(self, program_id: str, claim: SeatClaim) -> None:
        """The enrolment holding the claimed seat is saved: the claim is no longer needed."""
        await self.collection.update_one(
            {"_id": program_id, "seat_claims": _claim_key(claim)},
            {"$pull": {"seat_claims": _claim_key(claim)}, "$inc": {"seat_changes": 1}},
        )

    async def give_back(self, program_id: str, claim: SeatClaim) -> None:
        """The claimed seat went to nobody (the enrolment was not saved): one seat back, once."""
        await self.collection.update_one(
            {"_id": program_id, "seat_claims": _claim_key(claim)},
            {
                "$pull": {"seat_claims": _claim_key(claim)},
                "$inc": {"enrolled_count": -1, "seat_changes": 1},
            },
        )

    async def release_seat(self, program_id: str, participant_id: str) -> None:
        """One seat back, once per withdrawal: the enrolment's id stays in ``seats_released``
        until ``released`` (after the withdrawal no longer asks for it), so a release run again
        after a crash in between frees nothing."""
        await self.collection.update_one(
            {"_id": program_id, "seats_released": {"$ne": participant_id}},
            {
                "$inc": {"enrolled_count": -1, "seat_changes": 1},
                "$push": {"seats_released": participant_id},
            },
        )

    async def release_seats(self, program_id: str, participant_ids: Sequence[str]) -> None:
        """``release_seat`` for several withdrawals of one program in one update (a cascade's
        batch); when one of them was released already (a batch run again after a crash), each
        is released on its own, which frees nothing twice."""
        if not participant_ids:
            return
        count = len(participant_ids)
        result = await self.collection.update_one(
            {"_id": program_id, "seats_released": {"$nin": list(participant_ids)}},
            {
                "$inc": {"enrolled_count": -count, "seat_changes": count},
                "$push": {"seats_released": {"$each": list(participant_ids)}},
            },
        )
        if result.modified_count == 0:
            for participant_id in participant_ids:
                await self.release_seat(program_id, participant_id)

    async def released_many(self, program_id: str, participant_ids: Sequence[str]) -> None:
        """``released`` for several withdrawals of one program in one update."""
        if not participant_ids:
            return
        await self.collection.update_one(
            {"_id": program_id},
            {
                "$pullAll": {"seats_released": list(participant_ids)},
                "$inc": {"seat_changes": len(participant_ids)},
            },
        )

    async def released(self, program_id: str, participant_id: str) -> None:
        await self.collection.update_one(
            {"_id": program_id, "seats_released": participant_id},
            {"$pull": {"seats_released": participant_id}, "$inc": {"seat_changes": 1}},
        )

    async def seats(self, program_id: str) -> SeatCounter | None:
        document = await self.collection.find_one(
            {"_id": program_id},
            {"enrolled_count": 1, "seat_changes": 1, "seat_claims": 1, "seats_released": 1},
        )
        if document is None:
            return None
        return SeatCounter(
            held=int(document.get("enrolled_count", 0)),
            changes=int(document.get("seat_changes", 0)),
            claims=tuple(_claim(key) for key in document.get("seat_claims") or []),
            released=tuple(document.get("seats_released") or []),
        )

    async def recount(self, program_id: str, seen: SeatCounter, holders: int) -> bool:
        """Set the counter to the enrolments holding a seat, and drop the (abandoned) claims,
        if the seats did not change since ``seen`` was read; False when they did."""
        result = await self.collection.update_one(
            {"_id": program_id, "seat_changes": seen.changes},
            {
                "$set": {"enrolled_count": holders, "seat_claims": []},
                "$inc": {"seat_changes": 1},
            },
        )
        return result.modified_count == 1

    async def next_waitlist_number(self, program_id: str) -> int:
        return await increment(self.collection, program_id, "waitlist_seq")


def _claim_key(claim: SeatClaim) -> str:
    """A claim as one string: pushed, matched and pulled as a whole, like any plain value."""
    return f"{claim.participant_id}|{claim.taken_at.astimezone(UTC).isoformat()}"


def _claim(key: str) -> SeatClaim:
    participant_id, _, taken_at = key.partition("|")
    return SeatClaim(participant_id, datetime.fromisoformat(taken_at))
