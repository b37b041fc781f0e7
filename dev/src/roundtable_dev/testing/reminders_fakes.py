"""In-memory fakes of the schedule's repositories (cosmicpython's FakeRepository: the same methods
over dicts), so the schedule handlers' rules are tested without NATS or a database. The stored
documents are the real ones (``plan_document``); the filters the handlers pass are read with
the few operators they use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from reminders.schedule.domain import OPEN_STATUSES, Plan, Status
from reminders.schedule.reminder import Transition
from reminders.schedule.repository import plan_document
from reminders.schedule.service import ScheduleService
from roundtable_shared.storage.mongo import Document


def _matches(doc: Document, selector: dict[str, Any]) -> bool:
    for name, wanted in selector.items():
        value = doc.get(name)
        if isinstance(wanted, dict):
            for op, operand in wanted.items():
                if op == "$lt" and not (value is not None and value < operand):
                    return False
                if op == "$ne" and value == operand:
                    return False
                if op == "$in" and value not in operand:
                    return False
                if op not in ("$lt", "$ne", "$in"):
                    raise NotImplementedError(op)
        elif value != wanted:
            return False
    return True


class FakeReminderRepository:
    """``ReminderRepository``'s planning side over a dict of reminder documents."""

    def __init__(self) -> None:
        self.docs: dict[str, Document] = {}

    async def add(
        self, plans: Sequence[Plan], now: datetime, status: Status = Status.PENDING
    ) -> int:
        new = [plan for plan in plans if plan.reminder_id not in self.docs]
        for plan in new:
            self.docs[plan.reminder_id] = plan_document(plan, now, status)
        return len(new)

    async def cancel(self, selector: dict[str, Any], reason: str) -> int:
        open_ = {"status": {"$in": [str(s) for s in OPEN_STATUSES]}}
        found = [d for d in self.docs.values() if _matches(d, {**selector, **open_})]
        for doc in found:
            doc |= {"status": str(Status.CANCELLED), "cancel_reason": reason}
        return len(found)

    async def hold(self, recipient_id: str, program_id: str, now: datetime) -> int:
        selector = {
            "recipient_id": recipient_id,
            "program_id": program_id,
            "status": {"$in": [str(Status.PENDING), str(Status.CLAIMED)]},
        }
        found = [d for d in self.docs.values() if _matches(d, selector)]
        for doc in found:
            doc |= {"status": str(Status.HELD), "held_at": now, "claim": doc["claim"] + 1}
        return len(found)

    async def held(self, recipient_id: str, program_id: str) -> list[Document]:
        selector = {"recipient_id": recipient_id, "program_id": program_id, "status": "held"}
        return [dict(d) for d in self.docs.values() if _matches(d, selector)]

    async def release(self, reminder_id: str, released: Transition) -> None:
        doc = self.docs.get(reminder_id)
        if doc is not None and doc["status"] == str(Status.HELD):
            doc |= released.changes

    async def get(self, reminder_id: str) -> Document | None:
        return self.docs.get(reminder_id)

    def where(self, **selector: Any) -> list[Document]:
        """For assertions: the stored reminders matching ``selector``."""
        return [d for d in self.docs.values() if _matches(d, selector)]


class FakeSourceCopies:
    """``SourceCopies`` over a dict: a copy is replaced only by a newer version."""

    def __init__(self) -> None:
        self.copies: dict[str, Document] = {}

    async def keep_copy(self, copy_id: str, version: int, fields: dict[str, Any]) -> bool:
        known = self.copies.get(copy_id)
        if known is not None and known["version"] >= version:
            return False
        self.copies[copy_id] = {**(known or {}), **fields, "_id": copy_id, "version": version}
        return True

    async def copy(self, copy_id: str) -> Document | None:
        return self.copies.get(copy_id)


@dataclass
class Clock:
    now: datetime = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Schedule:
    """A ScheduleService over fakes, with a clock the test moves and the nudges it gave."""

    service: ScheduleService
    reminders: FakeReminderRepository
    copies: FakeSourceCopies
    clock: Clock
    nudges: list[datetime] = field(default_factory=list)


STALE_AFTER = timedelta(hours=24)


def make_schedule() -> Schedule:
    reminders, copies, clock = FakeReminderRepository(), FakeSourceCopies(), Clock()
    nudges: list[datetime] = []

    def nudge() -> None:
        nudges.append(clock())

    service = ScheduleService(
        reminders,  # type: ignore[arg-type]  # the fake has the methods the service calls
        copies,  # type: ignore[arg-type]
        stale_after=STALE_AFTER,
        clock=clock,
        nudge=nudge,
    )
    return Schedule(service, reminders, copies, clock, nudges)
