"""Claiming due reminders under a lease, and writing what became of them.

A worker finds due reminders through the due slots (see ``reminders.schedule.due_slots``) and
claims them by ``_id`` with conditional updates; the outcomes of a pass go in bulk writes, their
events in one document of ``OUTCOME_EVENTS`` for the relay. The one search of the schedule, the
sweep, files in a slot what the slots missed.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import UpdateOne

from reminders.schedule.domain import Status
from reminders.schedule.due_slots import DueSlots
from reminders.schedule.repository import REMINDERS
from roundtable_shared.events.envelope import Envelope
from roundtable_shared.faults import crash_point
from roundtable_shared.messaging.outbox import new_document_outbox
from roundtable_shared.storage.mongo import (
    BULK_STATEMENTS,
    IDS_PER_READ,
    Collection,
    Database,
    Document,
    in_bulks,
)

OUTCOME_EVENTS = "reminder_outcome_events"
"""The events of a pass's outcomes, one document per pass, deleted by the relay once published."""


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


class ClaimRepository:
    """The worker's side of the schedule: claims, outcomes, the sweep."""

    def __init__(self, db: Database) -> None:
        self.collection: Collection = db[REMINDERS]
        self.slots = DueSlots(db)
        self.outcome_events: Collection = db[OUTCOME_EVENTS]

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
            for slot, entries in (await self.slots.due_entries(now, lookback)).items()
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
            elif not self.slots.still_due_in(doc, slot, now):
                stale.setdefault(slot, {})[doc["_id"]] = at
        # One not found was noted before it is written (``add``): its write may be in flight, so
        # its entry stays. After a crash between the two, it outlives its reminder harmlessly, in
        # a slot soon older than any pass reads.
        for slot, entries in stale.items():
            await self.slots.drop_from_slot(slot, entries)
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
        await self.slots.note_due([(doc["_id"], doc.get("next_at") or now) for doc in missed], now)
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
            await self.slots.note_due(retries, min(at for _, at in retries))
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
