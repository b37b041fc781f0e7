"""The reminder schedule in MongoDB: one document per reminder, plus small "due slots".

FerretDB answers a filter from an index only when it holds ``_id: <value>``; any other filter
reads the whole collection, whose size is every reminder ever planned. So the worker never
searches the schedule: each reminder id is also noted in the due slot of the second it falls due
(``reminder_due_slots``, ``_id: "due:2026-11-28T11:50:07"``, ``due: {reminder id: time}``),
written before the reminder itself whenever its due time is set. A worker reads the slots of the
last few minutes in one read by ``_id``, and claims the listed reminders by ``_id`` with
conditional updates (atomic, so exactly one worker wins each). Slots are a second wide so that
each stays small at hundreds of reminders a second: every pass reads the slots it claims from
and rewrites them as it settles their entries, at a cost that grows with their size. The
reminder stays the truth: a slot entry is only a hint, checked against the reminder, so a crash
between the two writes leaves at worst a stale entry, dropped when read. A slot entry stays
until its reminder is settled or moved to another slot, so a crashed worker's claim is found again
when its lease expires. A slow sweep (a search of the schedule every few minutes) files what the
slots missed: reminders planned before slots existed (or noted in the minute-wide slots of earlier
builds), entries lost to a crash, a backlog older than the slots a worker reads.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from reminders.schedule.domain import OPEN_STATUSES, Plan, Status
from roundtable_shared.events.envelope import Envelope
from roundtable_shared.faults import crash_point
from roundtable_shared.messaging.outbox import new_document_outbox, with_outbox
from roundtable_shared.storage.mongo import (
    BULK_STATEMENTS,
    IDS_PER_READ,
    Collection,
    Database,
    Document,
    Indexes,
    in_bulks,
)

REMINDERS = "reminders"
DUE_SLOTS = "reminder_due_slots"
OUTCOME_EVENTS = "reminder_outcome_events"
"""The events of a pass's outcomes, one document per pass, deleted by the relay once published."""
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


def due_slot(at: datetime) -> str:
    """The due slot of a time: its second in UTC."""
    return "due:" + at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def slot_of(next_at: datetime, now: datetime) -> str:
    """Where a reminder due at ``next_at`` is noted: its own second, or the current one when it
    is already due (its own second may be older than the slots workers read)."""
    return due_slot(max(next_at, now))


@dataclass(frozen=True)
class Claim:
    """A reminder a worker now holds, and the due slot it was found in."""

    slot: str
    noted_at: datetime
    """The time its slot entry said: the entry is dropped only if it still says so."""
    doc: Document


@dataclass(frozen=True)
class ClaimOutcome:
    """What became of a claimed reminder: the changes to its document, the events they raise."""

    doc: Document
    changes: dict[str, Any]
    events: Sequence[Envelope] = ()
    sent: int = 0
    """Channels this attempt reached (for the worker's counts)."""
    failed: int = 0


@dataclass(frozen=True)
class Finished:
    """Which outcomes were written, and the document holding their events (None: no events)."""

    written: set[str]
    events_batch: str | None


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
        self.slots: Collection = db[DUE_SLOTS]
        self.copies: Collection = db[COPIES]
        self.outcome_events: Collection = db[OUTCOME_EVENTS]

    # --- planning ---------------------------------------------------------------------------

    async def add(
        self, plans: Sequence[Plan], now: datetime, status: Status = Status.PENDING
    ) -> int:
        """Store new plans; ones already stored (a replayed event) are left as they are."""
        if not plans:
            return 0
        if status is Status.PENDING:
            await self.note_due([(plan.reminder_id, plan.due_at) for plan in plans], now)
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

    async def release(self, reminder_id: str, at: datetime | None) -> None:
        """A held reminder goes out ``at`` that time, or is dropped when ``at`` is None."""
        changes: dict[str, Any] = (
            {"status": str(Status.PENDING), "next_at": at}
            if at is not None
            else {"status": str(Status.CANCELLED), "cancel_reason": "missed_while_paused"}
        )
        if at is not None:
            await self.note_due([(reminder_id, at)], at)
        await self.collection.update_one(
            {"_id": reminder_id, "status": str(Status.HELD)}, {"$set": changes}
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
        self, doc: Document, digest_id: str, now: datetime, events: Sequence[Envelope]
    ) -> None:
        update = with_outbox(
            {
                "$set": {"status": str(Status.SENT), "sent_at": now, "sent_in": digest_id},
                "$inc": {"version": len(events)},
            },
            events,
        )
        await self.collection.update_one({"_id": doc["_id"]}, update)

    async def unbundle_leftovers(self, digest_id: str, now: datetime) -> int:
        """Reminders bundled for a digest that has gone (sent or failed) without them: due again
        now, so they join the next digest rather than wait for nothing."""
        selector = {"digest_id": digest_id, "status": str(Status.BUNDLED)}
        leftovers = await self.collection.find(selector, {"_id": 1}).to_list()
        if not leftovers:
            return 0
        await self.note_due([(doc["_id"], now) for doc in leftovers], now)
        result = await self.collection.update_many(
            selector, {"$set": {"status": str(Status.PENDING), "next_at": now}}
        )
        return result.modified_count

    async def scrub_recipient(self, employee_id: str) -> None:
        """Erasure: what was planned for this person keeps its ids and times, loses its text; what
        others are told of this person's action steps loses the steps' titles (the person's own
        words). Names are never stored here: messages look them up from the recipients copy when
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
        await self.copies.update_many(
            {"owner_id": employee_id, "title": {"$exists": True}}, {"$unset": {"title": ""}}
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

    async def note_due(self, entries: Iterable[tuple[str, datetime]], now: datetime) -> None:
        """Note reminders in the due slots of their times: one upsert per slot, in bulk writes.
        Called before the reminder's own write, so a crash in between leaves an extra entry,
        never a missing one."""
        by_slot: dict[str, dict[str, datetime]] = {}
        for reminder_id, at in entries:
            by_slot.setdefault(slot_of(at, now), {})[f"due.{reminder_id}"] = at
        for part in in_bulks(list(by_slot.items())):
            try:
                await self.slots.bulk_write(
                    [
                        UpdateOne({"_id": slot}, {"$set": notes}, upsert=True)
                        for slot, notes in part
                    ],
                    ordered=False,
                )
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if any(error.get("code") != 11000 for error in errors):
                    raise
                # Two writers created a slot at once; the other's insert won, ours is an update.
                for error in errors:
                    slot, notes = part[error["index"]]
                    await self.slots.update_one({"_id": slot}, {"$set": notes})

    async def due_entries(self, now: datetime, lookback: timedelta) -> dict[str, dict[str, Any]]:
        """The entries of the due slots from ``now - lookback`` to ``now``, read by ``_id``."""
        first = (now - lookback).replace(microsecond=0)
        seconds = int((now - first).total_seconds()) + 1
        slots = [due_slot(first + timedelta(seconds=n)) for n in range(seconds)]
        found: list[Document] = []
        for part in in_bulks(slots, IDS_PER_READ):  # a day's worth after an outage
            found += await self.slots.find({"_id": {"$in": list(part)}}).to_list()
        return {str(doc["_id"]): dict(doc.get("due") or {}) for doc in found}

    async def claim(
        self,
        now: datetime,
        worker: str,
        lease: timedelta,
        limit: int,
        *,
        lookback: timedelta,
        busy: dict[str, datetime],
    ) -> list[Claim]:
        """Claim up to ``limit`` due reminders (or ones whose lease expired) for ``worker``, found
        through the due slots. ``busy``: reminders this worker saw claimed by another, with the
        end of that lease; updated here, so it does not try them again before then. Entries of
        reminders that are settled, or due in another slot, are dropped from their slot.

        Claims go in bulk writes of conditional updates by ``_id`` (each atomic, so of two
        workers racing for a reminder exactly one matches), marked with this pass's token; one
        read by ``_id`` then tells which this pass won and what became of the others. On
        FerretDB a statement of a bulk write costs a quarter of a write of its own."""
        candidates = sorted(
            (at, reminder_id, slot)
            for slot, entries in (await self.due_entries(now, lookback)).items()
            for reminder_id, at in entries.items()
            if at <= now and busy.get(reminder_id, at) <= now
        )
        # Workers read the same slots: each tries the oldest in its own order, so two passes at
        # once mostly claim different reminders instead of losing the same races.
        oldest = candidates[: 2 * limit]
        random.shuffle(oldest)
        token = f"{worker}:{uuid.uuid4().hex}"
        tried: dict[str, tuple[datetime, str]] = {}
        won = 0
        for start in range(0, len(oldest), BULK_STATEMENTS):
            if won >= limit:
                break
            chunk = oldest[start : start + min(limit - won, BULK_STATEMENTS)]
            tried |= {rid: (at, slot) for at, rid, slot in chunk}
            ids = [rid for _, rid, _ in chunk]
            won += await self._claim_all(ids, now, worker, token, lease)
        if not tried:
            return []
        claimed: list[Claim] = []
        stale: dict[str, dict[str, datetime]] = {}
        found: list[Document] = []
        for part in in_bulks(list(tried), IDS_PER_READ):
            found += await self.collection.find({"_id": {"$in": part}}, {"outbox": 0}).to_list()
        for doc in found:
            at, slot = tried[doc["_id"]]
            if doc.get("claim_token") == token:
                claimed.append(Claim(slot, at, doc))
            elif doc.get("status") == str(Status.CLAIMED):
                busy[doc["_id"]] = doc.get("lease_until") or now
            elif not self.still_due_in(doc, slot, now):
                stale.setdefault(slot, {})[doc["_id"]] = at
        # One not found was noted before it is written (``add``): its write may be in flight, so
        # its entry stays. After a crash between the two, it outlives its reminder harmlessly, in
        # a slot soon older than any pass reads.
        for slot, entries in stale.items():
            await self.drop_from_slot(slot, entries)
        return sorted(claimed, key=lambda claim: claim.noted_at)

    async def _claim_all(
        self, reminder_ids: list[str], now: datetime, worker: str, token: str, lease: timedelta
    ) -> int:
        claim = {
            "$set": {
                "status": str(Status.CLAIMED),
                "lease_until": now + lease,
                "worker": worker,
                "claim_token": token,
            },
            "$inc": {"claim": 1},
        }
        result = await self.collection.bulk_write(
            [
                UpdateOne(
                    {
                        "_id": reminder_id,
                        "$or": [
                            {"status": str(Status.PENDING), "next_at": {"$lte": now}},
                            {"status": str(Status.CLAIMED), "lease_until": {"$lte": now}},
                        ],
                    },
                    claim,
                )
                for reminder_id in reminder_ids
            ],
            ordered=False,
        )
        return result.modified_count

    @staticmethod
    def still_due_in(state: Document | None, slot: str, now: datetime) -> bool:
        """Whether a reminder still belongs in ``slot``: open, and due within it (a claim in
        flight counts: its lease may expire and another worker must find it here)."""
        if state is None:
            return False
        status = state.get("status")
        if status == str(Status.CLAIMED):
            return True
        next_at = state.get("next_at")
        if status != str(Status.PENDING) or next_at is None:
            return False
        return next_at <= now or due_slot(next_at) == slot

    async def drop_from_slot(self, slot: str, entries: dict[str, datetime]) -> None:
        """Drop entries from a slot, each only if it still holds the time that was read: an entry
        noted again meanwhile (a reminder released at once after a pause) has a new time, stays.
        One write when none changed, which is nearly always."""
        if not entries:
            return
        unchanged = {f"due.{rid}": at for rid, at in entries.items()}
        unset = {f"due.{rid}": "" for rid in entries}
        result = await self.slots.update_one({"_id": slot, **unchanged}, {"$unset": unset})
        if result.matched_count == 0:
            for rid, at in entries.items():
                await self.slots.update_one(
                    {"_id": slot, f"due.{rid}": at}, {"$unset": {f"due.{rid}": ""}}
                )
        # An emptied slot goes; one that gained an entry meanwhile does not match and stays.
        await self.slots.delete_one({"_id": slot, "due": {}})

    async def sweep(self, now: datetime, overdue_by: timedelta, limit: int = 1000) -> int:
        """File in the current slot what is overdue by more than ``overdue_by`` (or whose lease
        ran out that long ago) and so was missed by the slots. The one search of the schedule,
        run every few minutes, off the due path."""
        before = now - overdue_by
        missed = await self.collection.find(
            {
                "$or": [
                    {"status": str(Status.PENDING), "next_at": {"$lte": before}},
                    {"status": str(Status.CLAIMED), "lease_until": {"$lte": before}},
                ]
            },
            {"_id": 1, "next_at": 1},
            limit=limit,
        ).to_list()
        await self.note_due([(doc["_id"], doc.get("next_at") or now) for doc in missed], now)
        return len(missed)

    async def finish(self, outcomes: Sequence[ClaimOutcome]) -> Finished:
        """Write the outcomes of claims, each only if its claim is still ours (a pause or a
        takeover bumps the claim number), in bulk writes; their events go before them, all in
        one document of ``OUTCOME_EVENTS`` for the relay.

        Events first: a crash between the two writes leaves events of outcomes not recorded,
        so their reminders are delivered again and raise the same events (their ids are
        deterministic), which JetStream and consumers drop. What the events say stays true: a
        message was sent, or an attempt failed. One document per pass, rather than each
        reminder's own outbox, spares the relay a read and a write per reminder."""
        if not outcomes:
            return Finished(set(), None)
        events = [event for outcome in outcomes for event in outcome.events]
        batch_id = None
        if events:
            batch_id = uuid.uuid4().hex
            await self.outcome_events.insert_one({"_id": batch_id, **new_document_outbox(events)})
            crash_point("reminders.outcome_events_saved")
        retries = [
            (outcome.doc["_id"], outcome.changes["next_at"])
            for outcome in outcomes
            if outcome.changes.get("status") == str(Status.PENDING)
            and outcome.changes.get("next_at")
        ]
        if retries:
            await self.note_due(retries, min(at for _, at in retries))
        writes = [
            UpdateOne(
                {"_id": outcome.doc["_id"], "claim": outcome.doc["claim"]},
                {"$set": outcome.changes, "$inc": {"version": len(outcome.events)}},
            )
            for outcome in outcomes
        ]
        matched = 0
        for part in in_bulks(writes):
            matched += (await self.collection.bulk_write(part, ordered=False)).matched_count
        ids = [outcome.doc["_id"] for outcome in outcomes]
        if matched == len(outcomes):
            return Finished(set(ids), batch_id)
        # Some claim was taken from us: the claim number only grows, so where it is still ours,
        # ours was the write.
        ours = {outcome.doc["_id"]: outcome.doc["claim"] for outcome in outcomes}
        now_held = await self.collection.find({"_id": {"$in": ids}}, {"claim": 1}).to_list()
        written = {doc["_id"] for doc in now_held if doc.get("claim") == ours[doc["_id"]]}
        return Finished(written, batch_id)

    # --- queries ----------------------------------------------------------------------------

    async def find(self, query: dict[str, Any], *, after: str | None, limit: int) -> list[Document]:
        if after:
            query = {**query, "_id": {"$gt": after}}
        return await self.collection.find(
            query, {"outbox": 0}, sort=[("_id", ASCENDING)], limit=limit
        ).to_list()

    async def retry(self, reminder_id: str, now: datetime) -> bool:
        await self.note_due([(reminder_id, now)], now)
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
