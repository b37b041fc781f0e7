"""The group schedule listing is a copy: losing a write of it never fails the session's write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo.errors import AutoReconnect

from roundtable_shared.storage.aggregates import AggregateStore
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
        AggregateStore(mongo_db[SESSIONS], source="/test"), UnreachableListing(mongo_db)
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


class ListingThatMustNotReadBack(ScheduleListing):
    async def refresh(self, session_id: str) -> None:
        raise AssertionError("the session was read back")


async def test_a_known_result_is_listed_without_a_read_and_never_over_a_later_one(
    mongo_db: Database,
) -> None:
    listing = ListingThatMustNotReadBack(mongo_db)
    store = ListedSessionStore(AggregateStore(mongo_db[SESSIONS], source="/test"), listing)
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    document = {"_id": "s-1", "group_id": "g-1", "starts_at": starts, "status": "scheduled"}
    await listing.rebuild("g-1")  # an empty listing of the group
    assert await store.insert(document, []) == 1
    moved = {**document, "starts_at": starts + timedelta(hours=1)}
    changes = {"$set": {"starts_at": moved["starts_at"]}}
    assert await store.update("s-1", 1, changes, [], result=moved) == 2

    async def listed() -> dict[str, object]:
        stored = await mongo_db["group_schedules"].find_one({"_id": "g-1"})
        assert stored is not None
        return dict(stored["sessions"]["s-1"])

    entry = await listed()
    assert entry["version"] == 2 and entry["starts_at"] == moved["starts_at"]
    # A slower writer of the earlier version comes last: the later entry stays.
    await listing.store_entry({**document, "version": 1})
    assert (await listed())["version"] == 2
    await listing.store_entry({**moved, "status": "cancelled", "version": 3})
    assert (await listed())["status"] == "cancelled"
