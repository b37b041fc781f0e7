"""Reads by many ids and counters read back, on a real MongoDB-wire server."""

from __future__ import annotations

import asyncio

from roundtable_shared.storage.mongo import IDS_PER_READ, Database, by_ids, increment


async def test_reads_by_many_ids_come_back_in_order_and_skip_the_missing(
    mongo_db: Database,
) -> None:
    collection = mongo_db["people"]
    total = IDS_PER_READ + 200  # more than one read's worth
    await collection.insert_many([{"_id": f"p{n:05d}", "n": n} for n in range(total)])
    wanted = [f"p{n:05d}" for n in range(total - 1, -1, -2)] + ["p99999", "p00001"]

    found = await by_ids(collection, wanted, {"n": 1})

    expected = sorted({f"p{n:05d}" for n in range(1, total, 2)})
    assert [d["_id"] for d in found] == expected
    assert all(d["n"] == int(d["_id"][1:]) for d in found)
    assert await by_ids(collection, []) == []


async def test_a_counter_incremented_side_by_side_hands_out_each_number_once(
    mongo_db: Database,
) -> None:
    collection = mongo_db["counters"]
    await collection.insert_one({"_id": "c", "seq": 0})
    numbers = await asyncio.gather(*(increment(collection, "c", "seq") for _ in range(20)))
    assert sorted(numbers) == list(range(1, 21))
    assert await increment(collection, "missing", "seq") == 0
