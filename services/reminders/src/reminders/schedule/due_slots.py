"""The due slots: where the worker finds what is due, without searching the schedule.

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

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from reminders.schedule.domain import Status
from roundtable_shared.storage.mongo import IDS_PER_READ, Collection, Database, Document, in_bulks

DUE_SLOTS = "reminder_due_slots"


def due_slot(at: datetime) -> str:
    """The due slot of a time: its second in UTC."""
    return "due:" + at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def slot_of(next_at: datetime, now: datetime) -> str:
    """Where a reminder due at ``next_at`` is noted: its own second, or the current one when it
    is already due (its own second may be older than the slots workers read)."""
    return due_slot(max(next_at, now))


class DueSlots:
    """Notes of which reminder falls due in which second (hints, checked against the reminder)."""

    def __init__(self, db: Database) -> None:
        self.slots: Collection = db[DUE_SLOTS]

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
