"""Recipients: the copy of the employee directory this service keeps (name, email, time zone).

Built from ``employee.*`` events with ``upsert_if_newer``, so it is idempotent and order-tolerant.
An erased person keeps only their id and ``erased: true``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pymongo import IndexModel

from roundtable_shared.storage.bulk import find_by_ids
from roundtable_shared.storage.mongo import Collection, Database, Indexes, upsert_if_newer

RECIPIENTS = "recipients"
RECIPIENT_INDEXES = Indexes(RECIPIENTS, [IndexModel([("erased", 1)])])


@dataclass(frozen=True)
class Recipient:
    employee_id: str
    display_name: str | None
    email: str | None
    time_zone: str | None
    active: bool
    erased: bool

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Recipient:
        return cls(
            employee_id=str(doc["_id"]),
            display_name=doc.get("display_name"),
            email=doc.get("email"),
            time_zone=doc.get("time_zone"),
            active=doc.get("employment_status", "active") != "terminated",
            erased=bool(doc.get("erased", False)),
        )


def names_of(recipients: dict[str, Recipient]) -> dict[str, str]:
    """The names messages may use: an erased person has none."""
    return {
        employee_id: recipient.display_name
        for employee_id, recipient in recipients.items()
        if recipient.display_name and not recipient.erased
    }


class RecipientRepository:
    def __init__(self, db: Database) -> None:
        self.collection: Collection = db[RECIPIENTS]

    async def get(self, employee_id: str) -> Recipient | None:
        doc = await self.collection.find_one({"_id": employee_id})
        return Recipient.from_document(doc) if doc else None

    async def get_many(self, employee_ids: Iterable[str]) -> dict[str, Recipient]:
        """The recipients of these ids that are known, read by ``_id``."""
        docs = await find_by_ids(self.collection, sorted(set(employee_ids)))
        return {str(doc["_id"]): Recipient.from_document(doc) for doc in docs}

    async def names(self, employee_ids: list[str]) -> dict[str, str]:
        return names_of(await self.get_many(employee_ids))

    async def upsert(self, employee_id: str, version: int, fields: dict[str, Any]) -> bool:
        return await upsert_if_newer(self.collection, employee_id, version, fields)

    async def erase(self, employee_id: str, version: int) -> None:
        # An erasure wins over any later-arriving older snapshot: the version guard drops those,
        # and the huge version keeps a replayed upsert from ever resurrecting the person.
        await upsert_if_newer(
            self.collection,
            employee_id,
            max(version, 2**62),
            {"erased": True, "display_name": None, "email": None, "time_zone": None},
        )
