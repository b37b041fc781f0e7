"""Storage helpers on a real MongoDB-wire server: aggregates with outbox, versioned copies, apply_once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo import IndexModel
from pymongo.errors import DuplicateKeyError

from roundtable_shared.events.catalogue.sessions import ActionCompleted
from roundtable_shared.messaging.inbox import apply_once
from roundtable_shared.storage.aggregates import AggregateStore, AlreadyExists
from roundtable_shared.storage.mongo import (
    Database,
    Indexes,
    apply_indexes,
    is_ferretdb,
    upsert_if_newer,
)


def completed(action_id: str) -> ActionCompleted:
    return ActionCompleted(
        action_id=action_id,
        session_id="s",
        group_id="g",
        program_id="p",
        owner_id="o",
        accountability_partner_id="q",
        completed_at=datetime.now(UTC),
    )


async def test_aggregate_changes_and_their_events_are_one_write(mongo_db: Database) -> None:
    nudges: list[int] = []
    store = AggregateStore(
        mongo_db["actions"], source="/roundtable/sessions", nudge=lambda: nudges.append(1)
    )
    assert await store.insert({"_id": "a-1", "status": "open"}, []) == 1
    with pytest.raises(AlreadyExists):
        await store.insert({"_id": "a-1", "status": "open"}, [])

    new_version = await store.update(
        "a-1", 1, {"$set": {"status": "done"}}, [completed("a-1"), completed("a-1")]
    )
    assert new_version == 3
    doc = await mongo_db["actions"].find_one({"_id": "a-1"})
    assert doc is not None
    assert doc["status"] == "done" and doc["outbox_pending"] is True
    assert [e["aggregateversion"] for e in doc["outbox"]] == [2, 3]
    assert nudges == [1]

    # A writer still holding version 1 loses, and nothing of its change is written.
    assert await store.update("a-1", 1, {"$set": {"status": "open"}}, [completed("a-1")]) is None
    after = await mongo_db["actions"].find_one({"_id": "a-1"})
    assert after is not None and after["status"] == "done" and len(after["outbox"]) == 2


async def test_versioned_copies_ignore_stale_and_repeated_events(mongo_db: Database) -> None:
    copies = mongo_db["employees"]
    assert await upsert_if_newer(copies, "e-1", 2, {"name": "Ada L."})
    assert not await upsert_if_newer(copies, "e-1", 2, {"name": "Ada L."})
    assert not await upsert_if_newer(copies, "e-1", 1, {"name": "Ada"})  # late and older
    assert await upsert_if_newer(copies, "e-1", 3, {"name": "Ada Lovelace"})
    doc = await copies.find_one({"_id": "e-1"})
    assert doc == {"_id": "e-1", "name": "Ada Lovelace", "version": 3}


async def test_apply_once_counts_each_event_once(mongo_db: Database) -> None:
    counters = mongo_db["counters"]
    for event_id in ("ev-1", "ev-2", "ev-1", "ev-2", "ev-3"):
        await apply_once(counters, "week-48", event_id, {"$inc": {"held": 1}})
    doc = await counters.find_one({"_id": "week-48"})
    assert doc is not None and doc["held"] == 3


async def test_every_declared_index_is_made(mongo_db: Database) -> None:
    declared = [
        Indexes("people", [IndexModel([("email", 1)], unique=True)]),
        Indexes("people", [IndexModel([("status", 1), ("due_at", 1)])]),
        Indexes(
            "people", [IndexModel([("pending", 1)], partialFilterExpression={"pending": True})]
        ),
    ]
    await apply_indexes(mongo_db, declared)
    await apply_indexes(mongo_db, declared)  # a restart: nothing changes, nothing fails

    keys = [dict(index["key"]) for index in (await mongo_db["people"].index_information()).values()]
    assert {"email": 1} in keys
    assert {"status": 1, "due_at": 1} in keys  # the local FerretDB reads it too
    assert {"pending": 1} in keys  # partial on MongoDB, over every document on FerretDB
    await mongo_db["people"].insert_one({"_id": "p-1", "email": "ada@example.com"})
    with pytest.raises(DuplicateKeyError):
        await mongo_db["people"].insert_one({"_id": "p-2", "email": "ada@example.com"})


async def test_a_partial_unique_index_fails_on_ferretdb_rather_than_widening(
    mongo_db: Database,
) -> None:
    if not await is_ferretdb(mongo_db):
        pytest.skip("MongoDB makes partial indexes")
    scoped = IndexModel([("email", 1)], unique=True, partialFilterExpression={"active": True})
    with pytest.raises(ValueError, match="partial unique"):
        await apply_indexes(mongo_db, [Indexes("people", [scoped])])
