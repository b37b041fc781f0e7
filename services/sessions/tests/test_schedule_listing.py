"""The group schedule listing is a copy: losing a write of it never fails the session's write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo.errors import AutoReconnect

from roundtable_shared.storage.mongo import Database
from sessions.scheduling.repository import SESSIONS, ListedSessionStore, ScheduleListing


class UnreachableListing(ScheduleListing):
    """The listing's database calls fail, as when the connection drops between two writes."""

    async def store_entry(self, document: dict[str, object]) -> None:
        raise AutoReconnect("connection lost")

    async def refresh(self, session_id: str) -> None:
        raise AutoReconnect("connection lost")


async def test_a_session_write_stands_when_its_listing_write_fails(mongo_db: Database) -> None:
    store = ListedSessionStore(
        mongo_db[SESSIONS], UnreachableListing(mongo_db), source="/test", nudge=lambda: None
    )
    starts = datetime.now(UTC) + timedelta(days=1)
    document = {"_id": "s-1", "group_id": "g-1", "starts_at": starts, "status": "scheduled"}
    assert await store.insert(document, []) == 1
    assert await store.update("s-1", 1, {"$set": {"status": "cancelled"}}, []) == 2
    stored = await mongo_db[SESSIONS].find_one({"_id": "s-1"})
    assert stored is not None and stored["status"] == "cancelled" and stored["version"] == 2
    # The next read of the listing builds it from the sessions, with the write in it.
    sessions = ScheduleListing(mongo_db)
    [entry] = await sessions.rebuild("g-1")
    assert entry["status"] == "cancelled"
