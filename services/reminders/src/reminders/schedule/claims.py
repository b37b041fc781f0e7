"""Claiming due reminders under a lease, and writing what became of them.

A worker finds due reminders by a query on the schedule's indexed fields (pending and due, or
claimed with the lease run out; ``REMINDER_INDEXES`` serve both), and claims them by ``_id`` with
conditional updates; the outcomes of a pass go in bulk writes, their events in one document of
``OUTCOME_EVENTS`` for the relay.
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
from reminders.schedule.repository import REMINDERS
from roundtable_shared.events.envelope import Envelope
from roundtable_shared.faults import crash_point
from roundtable_shared.messaging.outbox import new_document_outbox
from roundtable_shared.storage.bulk import bulk_write, find_by_ids
from roundtable_shared.storage.mongo import Collection, Database, Document

OUTCOME_EVENTS = "reminder_outcome_events"
"""The events of a pass's outcomes, one document per pass, deleted by the relay once published."""


def due_now(now: datetime) -> dict[str, Any]:
    """Reminders waiting to be sent whose time has come (index ``status, next_at``)."""
    return {"status": str(Status.PENDING), "next_at": {"$lte": now}}


def lease_ran_out(now: datetime) -> dict[str, Any]:
    """Reminders a worker claimed and did not settle before its lease ran out: it crashed or
    stalled, so another takes them over (index ``status, lease_until``)."""
    return {"status": str(Status.CLAIMED), "lease_until": {"$lte": now}}


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
    """The worker's side of the schedule: claims and outcomes."""

    def __init__(self, db: Database) -> None:
        self.collection: Collection = db[REMINDERS]
        self.outcome_events: Collection = db[OUTCOME_EVENTS]

    async def claim(
        self, now: datetime, worker: str, lease: timedelta, limit: int
    ) -> list[Document]:
        """Claim up to ``limit`` due reminders (or ones whose lease ran out) for ``worker``;
        returns the claimed documents, the longest due first.

        Claims are conditional updates by ``_id`` (each atomic, so of two workers racing for a
        reminder exactly one matches), marked with this pass's token; one read by ``_id`` then
        tells which this pass won."""
        candidates = await self._candidates(now, 2 * limit)
        # Workers find the same reminders: each tries them in its own order, so two
        # passes at once mostly claim different reminders instead of losing the same races.
        random.shuffle(candidates)
        token = f"{worker}:{uuid.uuid4().hex}"
        tried: list[str] = []
        won = 0
        while won < limit and len(tried) < len(candidates):
            chunk = candidates[len(tried) : len(tried) + limit - won]
            tried += chunk
            won += await self._claim_all(chunk, now, worker, token, lease)
        if not tried:
            return []
        found = await find_by_ids(self.collection, tried, {"outbox": 0})
        claimed = [doc for doc in found if doc.get("claim_token") == token]
        return sorted(claimed, key=lambda doc: doc.get("next_at") or now)

    async def _candidates(self, now: datetime, limit: int) -> list[str]:
        """The ids of up to ``limit`` due reminders, and of as many whose lease ran out.

        Unsorted: a pass then reads at most ``limit`` of them however many wait (a sort would
        read every due reminder first, thousands after an outage). What is claimed leaves the
        set, so the next pass takes the next ones and every due reminder is reached; a batch
        is delivered in the order of its due times (``claim``)."""
        ids: list[str] = []
        for query in (due_now(now), lease_ran_out(now)):
            ids += [
                str(doc["_id"])
                async for doc in self.collection.find(query, {"_id": 1}, limit=limit)
            ]
        return ids

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
        outcome = await bulk_write(
            self.collection,
            [
                UpdateOne(
                    {"_id": reminder_id, "$or": [due_now(now), lease_ran_out(now)]},
                    claim,
                )
                for reminder_id in reminder_ids
            ],
            ordered=False,
        )
        return outcome.modified_count

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
        writes = [
            UpdateOne(
                {"_id": outcome.doc["_id"], "claim": outcome.doc["claim"]},
                {"$set": outcome.changes, "$inc": {"version": len(outcome.events)}},
            )
            for outcome in outcomes
        ]
        matched = (await bulk_write(self.collection, writes, ordered=False)).matched_count
        ids = [outcome.doc["_id"] for outcome in outcomes]
        if matched == len(outcomes):
            return Finished(set(ids), batch_id)
        # Some claim was taken from us: the claim number only grows, so where it is still ours,
        # ours was the write.
        ours = {outcome.doc["_id"]: outcome.doc["claim"] for outcome in outcomes}
        now_held = await find_by_ids(self.collection, ids, {"claim": 1})
        written = {doc["_id"] for doc in now_held if doc.get("claim") == ours[doc["_id"]]}
        return Finished(written, batch_id)
