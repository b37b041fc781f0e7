"""The retry-on-stale helper on a real MongoDB-wire server: racing writers, and the give-up."""

from __future__ import annotations

import asyncio

import pytest

from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Database
from roundtable_shared.storage.retry import StillStale, until_saved


async def add_one(store: AggregateStore, counter_id: str) -> int | None:
    document = await store.collection.find_one({"_id": counter_id})
    assert document is not None
    return await store.update(counter_id, document["version"], {"$inc": {"count": 1}}, [])


async def test_racing_writers_all_land_once_each(mongo_db: Database) -> None:
    store = AggregateStore(mongo_db["counters"], source="/roundtable/test")
    await store.insert({"_id": "c-1", "count": 0}, [])

    writers = [until_saved(lambda: add_one(store, "c-1"), attempts=50) for _ in range(8)]
    versions = await asyncio.gather(*writers)

    document = await mongo_db["counters"].find_one({"_id": "c-1"})
    assert document is not None and document["count"] == 8
    assert sorted(versions) == list(range(2, 10))


async def test_giving_up_raises_and_writes_nothing(mongo_db: Database) -> None:
    store = AggregateStore(mongo_db["counters"], source="/roundtable/test")
    await store.insert({"_id": "c-2", "count": 0}, [])
    tries = 0

    async def always_overtaken() -> int | None:
        # Someone else writes between our read and our write, every time.
        nonlocal tries
        tries += 1
        document = await store.collection.find_one({"_id": "c-2"})
        assert document is not None
        await store.update("c-2", document["version"], {"$set": {"by": "other"}}, [])
        return await store.update("c-2", document["version"], {"$inc": {"count": 1}}, [])

    with pytest.raises(StillStale, match="the counter kept changing during 3 attempts"):
        await until_saved(always_overtaken, what="the counter", attempts=3, max_wait=0)

    document = await mongo_db["counters"].find_one({"_id": "c-2"})
    assert document is not None and document["count"] == 0 and tries == 3
