"""The reminder schedule in MongoDB: one document per reminder. What the schedule's handlers
write (plans, cancellations, holds, digests) and what the admin API reads.

The worker's side (claims and outcomes) is in ``reminders.schedule.claims``, the copies of other
services' data in ``reminders.schedule.copies``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import BulkWriteError

from reminders.schedule.domain import OPEN_STATUSES, Plan, Status
from reminders.schedule.reminder import Transition
from roundtable_shared.events.envelope import Envelope
from roundtable_shared.messaging.outbox import with_outbox
from roundtable_shared.storage.mongo import Collection, Database, Document, Indexes

REMINDERS = "reminders"

REMINDER_INDEXES = Indexes(
    REMINDERS,
    [
        IndexModel([("status", ASCENDING), ("next_at", ASCENDING)]),  # what is due
        IndexModel([("status", ASCENDING), ("lease_until", ASCENDING)]),  # claims run out
        IndexModel([("recipient_id", ASCENDING), ("status", ASCENDING)]),
        IndexModel([("session_id", ASCENDING)]),
        IndexModel([("action_id", ASCENDING)]),
        IndexModel([("group_id", ASCENDING)]),
        IndexModel([("program_id", ASCENDING), ("status", ASCENDING)]),
    ],
)


def plan_document(plan: Plan, now: datetime, status: Status = Status.PENDING) -> Document:
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
        "status": str(status),
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

    # --- planning ---------------------------------------------------------------------------

    async def add(
        self, plans: Sequence[Plan], now: datetime, status: Status = Status.PENDING
    ) -> int:
        """Store new plans; ones already stored (a replayed event) are left as they are."""
        if not plans:
            return 0
        try:
            result = await self.collection.insert_many(
                [plan_document(plan, now, status) for plan in plans], ordered=False
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

    async def hold(self, recipient_id: str, program_id: str, now: datetime) -> int:
        """Hold what is still to be sent to a paused participant. A claim in flight is held too:
        the new claim number voids it, so its worker cannot set it pending again (a retry, quiet
        hours) while the person is paused; if it did send, the resend after resumption carries
        the same idempotency key."""
        result = await self.collection.update_many(
            {
                "recipient_id": recipient_id,
                "program_id": program_id,
                "status": {"$in": [str(Status.PENDING), str(Status.CLAIMED)]},
            },
            {"$set": {"status": str(Status.HELD), "held_at": now}, "$inc": {"claim": 1}},
        )
        return result.modified_count

    async def held(self, recipient_id: str, program_id: str) -> list[Document]:
        return await self.collection.find(
            {"recipient_id": recipient_id, "program_id": program_id, "status": str(Status.HELD)},
            {"outbox": 0},
        ).to_list()

    async def release(self, reminder_id: str, released: Transition) -> None:
        """A held reminder after the pause (``Reminder.release``): due again at its time, or
        dropped; only if it is still held."""
        await self.collection.update_one(
            {"_id": reminder_id, "status": str(Status.HELD)}, {"$set": released.changes}
        )

    # --- daily digests ----------------------------------------------------------------------

    async def waiting_for_digest(self, recipient_id: str) -> list[Document]:
        """Everything bundled for this person, whichever digest it was first meant for (one that
        failed for good left its reminders waiting for the next)."""
        return await self.collection.find(
            {"recipient_id": recipient_id, "status": str(Status.BUNDLED)},
            {"outbox": 0},
            sort=[("due_at", ASCENDING)],
        ).to_list()

    async def fix_bundle(self, digest_id: str, reminder_ids: list[str]) -> None:
        """What a digest contains is decided once: a resend after a crash repeats the same
        message under the same idempotency key, instead of a different one."""
        await self.collection.update_one({"_id": digest_id}, {"$set": {"bundle": reminder_ids}})

    async def sent_in_digest(
        self, doc: Document, sent: Transition, events: Sequence[Envelope]
    ) -> None:
        """A bundled reminder went out in its digest (``Reminder.sent_in_digest``), with its
        events in its own outbox."""
        update = with_outbox({"$set": sent.changes, "$inc": {"version": len(events)}}, events)
        await self.collection.update_one({"_id": doc["_id"]}, update)

    async def unbundle_leftovers(self, digest_id: str, now: datetime) -> int:
        """Reminders bundled for a digest that has gone (sent or failed) without them: due again
        now, so they join the next digest rather than wait for nothing."""
        result = await self.collection.update_many(
            {"digest_id": digest_id, "status": str(Status.BUNDLED)},
            {"$set": {"status": str(Status.PENDING), "next_at": now}},
        )
        return result.modified_count

    async def scrub_recipient(self, employee_id: str) -> None:
        """Erasure: what was planned for this person keeps its ids and times, loses its text; what
        others are told of this person's action steps loses the steps' titles (the person's own
        words; their copies go in ``SourceCopies.scrub_titles``). Names are never stored here: messages look them up from the recipients copy when
        they are sent, and an erased recipient has none. Ids stay: they are pseudonyms the counts
        are kept by. These filters read the whole collection, which an erasure (rare) can afford.
        """
        await self.collection.update_many(
            {"recipient_id": employee_id}, {"$set": {"context": {}, "erased": True}}
        )
        await self.collection.update_many(
            {"context.owner_id": employee_id, "context.title": {"$exists": True}},
            {"$unset": {"context.title": ""}},
        )

    async def get(self, reminder_id: str) -> Document | None:
        return await self.collection.find_one({"_id": reminder_id})

    # --- queries ----------------------------------------------------------------------------

    async def find(self, query: dict[str, Any], *, after: str | None, limit: int) -> list[Document]:
        if after:
            query = {**query, "_id": {"$gt": after}}
        return await self.collection.find(
            query, {"outbox": 0}, sort=[("_id", ASCENDING)], limit=limit
        ).to_list()

    async def retry(self, reminder_id: str, now: datetime) -> bool:
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
