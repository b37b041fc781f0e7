"""The reminder schedule in MongoDB: one document per reminder, indexed by status and time.

FerretDB has no transactions and updates a document by reading and rewriting it, so two processes
racing on one document could both "win" a conditional update. Claims therefore take a lease by
inserting ``leases/{reminder id}#{claim number}`` first: the unique ``_id`` lets exactly one worker
own each claim number; only the owner then writes the reminder.

Workers do not search the schedule for due reminders: FerretDB 1.24 (SQLite) reads the whole
collection for any filter other than an exact ``_id`` (``$in`` and ranges included), 13 s at 100,000
reminders. Each time a reminder gets a time (planned, retried, held, retried by an admin) its id and
time are first written to the small *due index* (``reminder_due``): insert-only documents
``{minute}#{slot}`` of up to 500 entries, which workers read by exact ``_id`` (see ``DueReader``).
The reminder document stays the truth: an entry only says "look at this reminder then".
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import BulkWriteError, DuplicateKeyError

from reminders.schedule.domain import OPEN_STATUSES, Plan, Status
from roundtable_shared.events.envelope import Envelope
from roundtable_shared.messaging.outbox import with_outbox
from roundtable_shared.storage.mongo import Collection, Database, Document, Indexes

REMINDERS = "reminders"
LEASES = "reminder_leases"
DUE = "reminder_due"
"""The due index: ``{YYYYmmddTHHMM}#{slot:05d}`` -> ``entries: [{id, at}]``, insert-only."""
DUE_SLOT_SIZE = 500
DUE_RECENT_MINUTES = 2
"""Buckets behind the current minute a worker keeps looking into for late-written slots."""
COPIES = "source_copies"
"""Version-guarded copies of sessions, actions and programs (what later events need)."""

# One declaration per index: FerretDB 1.24 panics ("slice bounds out of range") when one
# createIndexes call names several indexes of which some already exist, i.e. on every restart.
REMINDER_INDEXES = [
    Indexes(REMINDERS, [IndexModel(keys)])
    for keys in (
        [("status", ASCENDING), ("next_at", ASCENDING)],
        [("status", ASCENDING), ("lease_until", ASCENDING)],
        [("recipient_id", ASCENDING), ("status", ASCENDING)],
        [("session_id", ASCENDING)],
        [("action_id", ASCENDING)],
        [("group_id", ASCENDING)],
        [("program_id", ASCENDING), ("status", ASCENDING)],
    )
]
LEASE_INDEXES = Indexes(LEASES, [IndexModel([("reminder_id", ASCENDING)])])


def due_bucket(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M")


def plan_document(plan: Plan, now: datetime) -> Document:
    return {
        "_id": plan.reminder_id,
        "key": plan.key,
        "kind": str(plan.kind),
        "recipient_id": plan.recipient_id,
        "program_id": plan.program_id,
        "session_id": plan.session_id,
        "action_id": plan.action_id,
        "group_id": plan.group_id,
        "source_version": plan.source_version,
        "due_at": plan.due_at.astimezone(UTC),
        "next_at": plan.due_at.astimezone(UTC),
        "status": str(Status.PENDING),
        "claim": 0,
        "attempts": 0,
        "channels": {},
        "context": plan.context,
        "created_at": now,
        "version": 0,
        "outbox": [],
        "outbox_pending": False,
        "outbox_rev": 0,
    }


class ReminderRepository:
    def __init__(self, db: Database) -> None:
        self.collection: Collection = db[REMINDERS]
        self.leases: Collection = db[LEASES]
        self.copies: Collection = db[COPIES]
        self.due: Collection = db[DUE]
        self._slot_hint: dict[str, int] = {}

    # --- the due index ----------------------------------------------------------------------

    async def index_due(self, items: Sequence[tuple[str, datetime]], now: datetime) -> None:
        """Note that each reminder is to be looked at, at its time. A time already past goes into
        the current minute's bucket, which workers are still reading."""
        buckets: dict[str, list[Document]] = {}
        for reminder_id, at in items:
            at = at.astimezone(UTC)
            buckets.setdefault(due_bucket(max(at, now)), []).append({"id": reminder_id, "at": at})
        for bucket, entries in sorted(buckets.items()):
            for start in range(0, len(entries), DUE_SLOT_SIZE):
                await self._insert_slot(bucket, entries[start : start + DUE_SLOT_SIZE])

    async def _insert_slot(self, bucket: str, entries: list[Document]) -> None:
        # Slots are dense (#0, #1, ...): the first free number wins by the unique _id, so
        # readers can probe them in order, and several writers never overwrite each other.
        slot = self._slot_hint.get(bucket, 0)
        while True:
            try:
                await self.due.insert_one({"_id": f"{bucket}#{slot:05d}", "entries": entries})
                break
            except DuplicateKeyError:
                slot += 1
        if len(self._slot_hint) > 10_000:
            self._slot_hint.clear()
        self._slot_hint[bucket] = slot + 1

    def due_reader(self, lookback: timedelta) -> DueReader:
        return DueReader(self.due, lookback)

    async def look_up(self, reminder_ids: Sequence[str]) -> list[Document]:
        """Reminders by id, one exact-_id read each (FerretDB scans the collection for ``$in``)."""
        found = await asyncio.gather(
            *(self.collection.find_one({"_id": rid}, {"outbox": 0}) for rid in reminder_ids)
        )
        return [doc for doc in found if doc is not None]

    # --- planning ---------------------------------------------------------------------------

    async def add(self, plans: Sequence[Plan], now: datetime) -> int:
        """Store new plans; ones already stored (a replayed event) are left as they are."""
        if not plans:
            return 0
        # The index first: an entry without its reminder is skipped, a reminder without its entry
        # would never be seen. A replayed event writes the entries again, which is harmless.
        await self.index_due([(plan.reminder_id, plan.due_at) for plan in plans], now)
        try:
            result = await self.collection.insert_many(
                [plan_document(plan, now) for plan in plans], ordered=False
            )
            return len(result.inserted_ids)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(error.get("code") != 11000 for error in errors):
                raise
            return int(exc.details.get("nInserted", 0))

    async def cancel(self, selector: dict[str, Any], reason: str) -> int:
        """Cancel what is still to be sent; sent and failed reminders stay as history."""
        result = await self.collection.update_many(
            {**selector, "status": {"$in": [str(s) for s in OPEN_STATUSES]}},
            {"$set": {"status": str(Status.CANCELLED), "cancel_reason": reason}},
        )
        return result.modified_count

    async def scrub_recipient(self, employee_id: str) -> None:
        """Erasure: what was planned for this person keeps its ids and times, loses its text."""
        await self.collection.update_many(
            {"recipient_id": employee_id}, {"$set": {"context": {}, "erased": True}}
        )

    async def get(self, reminder_id: str) -> Document | None:
        return await self.collection.find_one({"_id": reminder_id})

    # --- copies of sessions, actions, programs ----------------------------------------------

    async def keep_copy(self, copy_id: str, version: int, fields: dict[str, Any]) -> bool:
        """True when this version is newer than the copy we had (so the event is not stale)."""
        try:
            result = await self.copies.update_one(
                {"_id": copy_id, "version": {"$lt": version}},
                {"$set": {**fields, "version": version}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return result.modified_count == 1 or result.upserted_id is not None

    async def copy(self, copy_id: str) -> Document | None:
        return await self.copies.find_one({"_id": copy_id})

    # --- claiming ---------------------------------------------------------------------------

    async def claim(
        self, now: datetime, worker: str, lease: timedelta, limit: int
    ) -> list[Document]:
        """Claim up to ``limit`` due reminders (or ones whose lease expired) for ``worker``, found
        by searching the schedule. Workers use ``claim_due`` (the due index) instead; this search
        reads the whole collection on FerretDB."""
        candidates = await self.collection.find(
            {
                "$or": [
                    {"status": str(Status.PENDING), "next_at": {"$lte": now}},
                    {"status": str(Status.CLAIMED), "lease_until": {"$lte": now}},
                ]
            },
            {"outbox": 0},
            sort=[("next_at", ASCENDING)],
            limit=limit,
        ).to_list()
        return await self.claim_candidates(candidates, now, worker, lease)

    async def claim_due(
        self, reader: DueReader, now: datetime, worker: str, lease: timedelta, limit: int
    ) -> list[Document]:
        """Claim up to ``limit`` reminders the due index says are due (or whose lease expired)."""
        await reader.poll(now)
        candidates: list[Document] = []
        while len(candidates) < limit:
            ids = reader.take(now, limit - len(candidates))
            if not ids:
                break
            docs = {doc["_id"]: doc for doc in await self.look_up(ids)}
            for rid in ids:
                doc = docs.get(rid)
                if doc is None:
                    reader.missing(rid, now)  # its entry was written before the reminder
                    continue
                status = doc.get("status")
                next_at = doc.get("next_at")
                lease_until = doc.get("lease_until")
                if status == str(Status.PENDING) and next_at is not None:
                    if next_at <= now:
                        candidates.append(doc)
                    # else: rescheduled; its new time has its own entry
                elif status == str(Status.CLAIMED) and lease_until is not None:
                    if lease_until <= now:
                        candidates.append(doc)
                    else:
                        reader.later(rid, lease_until)  # held by a live (or not yet dead) claim
        return await self.claim_candidates(candidates, now, worker, lease)

    async def claim_candidates(
        self, candidates: list[Document], now: datetime, worker: str, lease: timedelta
    ) -> list[Document]:
        if not candidates:
            return []
        lease_docs = [
            {
                "_id": f"{doc['_id']}#{doc.get('claim', 0) + 1}",
                "reminder_id": doc["_id"],
                "worker": worker,
                "claimed_at": now,
            }
            for doc in candidates
        ]
        lost: set[str] = set()
        try:
            await self.leases.insert_many(lease_docs, ordered=False)
        except BulkWriteError as exc:
            for error in exc.details.get("writeErrors", []):
                if error.get("code") != 11000:
                    raise
                lost.add(lease_docs[error["index"]]["_id"])
        until = now + lease
        claimed = []
        for doc, lease_doc in zip(candidates, lease_docs, strict=True):
            if lease_doc["_id"] in lost:
                continue  # another worker took this claim number first
            number = doc.get("claim", 0) + 1
            await self.collection.update_one(
                {"_id": doc["_id"]},
                {
                    "$set": {
                        "status": str(Status.CLAIMED),
                        "claim": number,
                        "lease_until": until,
                        "worker": worker,
                    }
                },
            )
            claimed.append({**doc, "claim": number, "lease_until": until, "worker": worker})
        return claimed

    async def finish(
        self, doc: Document, changes: dict[str, Any], events: Sequence[Envelope]
    ) -> bool:
        """Write the outcome of a claim with its events, if the claim is still ours."""
        if changes.get("status") == str(Status.PENDING) and "next_at" in changes:
            await self.index_due([(doc["_id"], changes["next_at"])], datetime.now(UTC))
        update = with_outbox({"$set": changes, "$inc": {"version": len(events)}}, events)
        result = await self.collection.update_one(
            {"_id": doc["_id"], "claim": doc["claim"]}, update
        )
        return result.matched_count == 1

    # --- queries ----------------------------------------------------------------------------

    async def find(self, query: dict[str, Any], *, after: str | None, limit: int) -> list[Document]:
        if after:
            query = {**query, "_id": {"$gt": after}}
        return await self.collection.find(
            query, {"outbox": 0}, sort=[("_id", ASCENDING)], limit=limit
        ).to_list()

    async def retry(self, reminder_id: str, now: datetime) -> bool:
        await self.index_due([(reminder_id, now)], now)
        result = await self.collection.update_one(
            {"_id": reminder_id, "status": str(Status.FAILED)},
            {"$set": {"status": str(Status.PENDING), "next_at": now, "attempts": 0}},
        )
        return result.modified_count == 1

    async def stats(self, program_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        async for row in await self.collection.aggregate(
            [
                {"$match": {"program_id": program_id}},
                {"$group": {"_id": "$status", "count": {"$sum": 1}}},
            ]
        ):
            counts[str(row["_id"])] = int(row["count"])
        return counts


class DueReader:
    """One worker's reading of the due index: the slots it has read and the reminders it still has
    to look at (by time). Slots never change once written, so each is read once; the current
    minute and the ``DUE_RECENT_MINUTES`` before it are probed for new slots on every pass. A new
    reader (a worker starting, perhaps after a crash) first reads ``lookback`` of buckets, so
    claims a dead worker left behind are found again."""

    def __init__(self, due: Collection, lookback: timedelta) -> None:
        self.due = due
        self.lookback = lookback
        self.next_slot: dict[str, int] = {}
        self.waiting: list[tuple[datetime, str]] = []
        """A heap of (when to look, reminder id); an id may appear more than once."""
        self.started = False
        self._missing: dict[str, int] = {}

    async def poll(self, now: datetime) -> None:
        if not self.started:
            first, last = due_bucket(now - self.lookback), due_bucket(now)
            # One range read at start: a scan of the (small) index on FerretDB.
            async for doc in self.due.find({"_id": {"$gte": first, "$lt": last + "~"}}):
                bucket, number = str(doc["_id"]).split("#")
                self._add(doc)
                self.next_slot[bucket] = max(self.next_slot.get(bucket, 0), int(number) + 1)
            self.started = True
        for minutes in range(DUE_RECENT_MINUTES, -1, -1):
            bucket = due_bucket(now - timedelta(minutes=minutes))
            while True:
                slot = self.next_slot.get(bucket, 0)
                found = await self.due.find_one({"_id": f"{bucket}#{slot:05d}"})
                if found is None:
                    break
                self._add(found)
                self.next_slot[bucket] = slot + 1
        if len(self.next_slot) > 4 * 24 * 60:
            oldest = due_bucket(now - self.lookback - timedelta(hours=1))
            self.next_slot = {b: n for b, n in self.next_slot.items() if b >= oldest}

    def _add(self, doc: Document) -> None:
        for entry in doc.get("entries", []):
            heapq.heappush(self.waiting, (entry["at"], entry["id"]))

    def take(self, now: datetime, limit: int) -> list[str]:
        """Up to ``limit`` distinct reminder ids whose time has come."""
        ids: dict[str, None] = {}
        while self.waiting and self.waiting[0][0] <= now and len(ids) < limit:
            ids[heapq.heappop(self.waiting)[1]] = None
        return list(ids)

    def later(self, reminder_id: str, at: datetime) -> None:
        heapq.heappush(self.waiting, (at, reminder_id))

    def missing(self, reminder_id: str, now: datetime) -> None:
        """An entry whose reminder is not stored (yet): look again shortly, for a while only."""
        tries = self._missing.get(reminder_id, 0) + 1
        if tries <= 20:
            self._missing[reminder_id] = tries
            self.later(reminder_id, now + timedelta(seconds=0.5 * tries))
        else:
            self._missing.pop(reminder_id, None)
