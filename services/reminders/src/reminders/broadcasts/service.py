"""Sending a broadcast: check the wording, choose the audience once, plan one notice per person.

Idempotent by the broadcast's id (from the Idempotency-Key): the broadcast document is written
first with the people chosen, then their notices (deterministic ids) and the mark ``planned``. A
retry, or a request after a crash between the two, plans the same people again, which stores
nothing new; the delivery worker sends each notice once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from reminders.broadcasts import domain
from reminders.broadcasts.repository import BroadcastRepository
from reminders.broadcasts.roster import Roster
from reminders.broadcasts.schemas import BroadcastIn, BroadcastOut
from reminders.program_messages.service import checked
from reminders.schedule.copies import SourceCopies
from reminders.schedule.domain import NoticeKind
from reminders.schedule.repository import ReminderRepository
from roundtable_shared.http.idempotency import ensure_same_request, fingerprint, new_resource_id
from roundtable_shared.http.problems import BadRequest, Conflict, NotFound
from roundtable_shared.storage.mongo import BULK_STATEMENTS, Document, in_bulks

Clock = Callable[[], datetime]


class BroadcastService:
    def __init__(
        self,
        broadcasts: BroadcastRepository,
        roster: Roster,
        reminders: ReminderRepository,
        copies: SourceCopies,
        *,
        clock: Clock,
        nudge: Callable[[], None],
    ) -> None:
        self.broadcasts = broadcasts
        self.roster = roster
        self.reminders = reminders
        self.copies = copies
        self.clock = clock
        self.nudge = nudge

    async def _known(self, program_id: str) -> None:
        if await self.copies.copy(f"program:{program_id}") is None:
            raise NotFound(f"no program {program_id}")

    async def send(
        self, program_id: str, body: BroadcastIn, idempotency_key: str | None, by: str
    ) -> tuple[BroadcastOut, bool]:
        """The broadcast, and whether this request created it (False: a retry)."""
        await self._known(program_id)
        if idempotency_key is None:
            # A broadcast reaches a whole program: a retry without a key could send it twice.
            raise BadRequest("send an Idempotency-Key header: a retried broadcast is sent once")
        checked(NoticeKind.BROADCAST, body.subject, body.body)
        payload = body.model_dump(mode="json")
        broadcast_id = new_resource_id(f"broadcast:{program_id}", by, idempotency_key)
        doc = await self.broadcasts.get(broadcast_id)
        created = doc is None
        if doc is None and await self.roster.is_closed(program_id):
            raise Conflict(f"program {program_id} is closed: its participants are not messaged")
        if doc is None:
            doc = await self.broadcasts.create(await self._new(broadcast_id, program_id, body, by))
        ensure_same_request(doc.get("fingerprint"), payload)
        if not doc.get("planned"):
            await self._plan(doc)
        return _out(doc), created

    async def read(self, program_id: str, broadcast_id: str) -> BroadcastOut:
        await self._known(program_id)
        doc = await self.broadcasts.get(broadcast_id)
        if doc is None or doc["program_id"] != program_id:
            raise NotFound(f"no broadcast {broadcast_id} in program {program_id}")
        return _out(doc)

    async def _new(
        self, broadcast_id: str, program_id: str, body: BroadcastIn, by: str
    ) -> Document:
        now = self.clock()
        roster = await self.roster.of_program(program_id, now)
        return {
            "_id": broadcast_id,
            "program_id": program_id,
            "subject": body.subject,
            "body": body.body,
            "audience": str(body.audience),
            "recipient_ids": domain.audience(body.audience, roster),
            "fingerprint": fingerprint(body.model_dump(mode="json")),
            "created_at": now,
            "created_by": by,
            "planned": False,
        }

    async def _plan(self, doc: Document) -> None:
        plans = domain.plans(doc["_id"], doc["program_id"], doc["recipient_ids"], doc["created_at"])
        now = self.clock()
        for part in in_bulks(plans, BULK_STATEMENTS):
            await self.reminders.add(part, now)
        await self.broadcasts.mark_planned(doc["_id"])
        if plans:
            self.nudge()


def _out(doc: dict[str, Any]) -> BroadcastOut:
    return BroadcastOut(
        broadcast_id=doc["_id"],
        program_id=doc["program_id"],
        subject=doc["subject"],
        body=doc["body"],
        audience=doc["audience"],
        recipients=len(doc["recipient_ids"]),
        created_at=doc["created_at"],
    )
