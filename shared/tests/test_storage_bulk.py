"""Bulk writes and reads by many ids on the real MongoDB-wire server: the answers a service gets
are PyMongo's, whatever the server splits."""

from __future__ import annotations

import asyncio

import pytest
from pymongo import InsertOne, UpdateOne
from pymongo.errors import BulkWriteError

from roundtable_shared.storage.bulk import bulk_write, find_by_ids
from roundtable_shared.storage.mongo import Database


async def test_a_bulk_write_of_hundreds_of_updates_is_applied_whole(mongo_db: Database) -> None:
    """250 updates in one call: on the local server one ``bulk_write`` of 100 updates or more
    never answers, so this passes only if the helper splits them there."""
    counters = mongo_db["counters"]
    await counters.insert_many([{"_id": f"c{n}", "n": 0} for n in range(100)])
    updates = [
        UpdateOne({"_id": f"c{n}"}, {"$inc": {"n": 1}, "$set": {"seen": True}}, upsert=True)
        for n in range(250)
    ]
    outcome = await asyncio.wait_for(bulk_write(counters, updates), 30)
    assert (outcome.matched_count, outcome.modified_count, outcome.upserted_count) == (
        100,
        100,
        150,
    )
    stored = await counters.find({}, {"n": 1}).to_list()
    assert len(stored) == 250 and {doc["n"] for doc in stored} == {1}


async def test_an_ordered_bulk_write_stops_at_its_first_error_indexed_as_given(
    mongo_db: Database,
) -> None:
    people = mongo_db["people"]
    await people.insert_one({"_id": "p120"})
    inserts = [InsertOne({"_id": f"p{n}"}) for n in range(200)]
    with pytest.raises(BulkWriteError) as raised:
        await bulk_write(people, inserts, ordered=True)
    assert [e["index"] for e in raised.value.details["writeErrors"]] == [120]
    assert raised.value.details["nInserted"] == 120
    assert await people.count_documents({}) == 121  # nothing after the error


async def test_an_unordered_bulk_write_applies_the_rest_and_reports_every_error(
    mongo_db: Database,
) -> None:
    people = mongo_db["people"]
    await people.insert_many([{"_id": "p10"}, {"_id": "p160"}])
    inserts = [InsertOne({"_id": f"p{n}"}) for n in range(200)]
    with pytest.raises(BulkWriteError) as raised:
        await bulk_write(people, inserts, ordered=False)
    assert sorted(e["index"] for e in raised.value.details["writeErrors"]) == [10, 160]
    assert raised.value.details["nInserted"] == 198
    assert await people.count_documents({}) == 200


async def test_find_by_ids_reads_every_existing_id_of_a_long_list(mongo_db: Database) -> None:
    people = mongo_db["people"]
    await people.insert_many([{"_id": f"p{n}", "n": n} for n in range(0, 2400, 2)])
    wanted = [f"p{n}" for n in range(2400)] + ["p0", "p2"]  # repeats are asked once
    found = await find_by_ids(people, wanted, {"n": 1})
    assert sorted(doc["n"] for doc in found) == list(range(0, 2400, 2))
    assert await find_by_ids(people, []) == []
