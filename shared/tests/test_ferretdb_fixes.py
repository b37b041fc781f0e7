"""The local MongoDB-wire server keeps what the services rely on: single-document atomicity
across connections, and lookups by ``_id`` (one id or a batch) that do not read the whole
collection.

Against FerretDB these prove the source fixes of ``roundtable_dev.local.ferretdb_fixes``; the
upstream 1.24.2 binary fails the first two (measured: 100 of 400 increments kept, 98 of 100
version checks with several winners), and a build without the ``$in`` pushdown fails the test
that a batch read by ids uses the index. Against ``mongod`` they hold as they should.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from roundtable_dev.local import ferretdb_fixes
from roundtable_dev.testing.servers import ServerUrls
from roundtable_shared.storage.mongo import Database, is_ferretdb

CONNECTIONS = 4


async def _clients(uri: str) -> list[AsyncMongoClient[dict[str, Any]]]:
    # Separate clients, one connection each: what separate service replicas look like.
    return [AsyncMongoClient(uri, maxPoolSize=1) for _ in range(CONNECTIONS)]


async def test_increments_from_several_connections_are_all_kept(
    servers: ServerUrls, namespace: str
) -> None:
    clients = await _clients(servers.mongodb_uri)
    name = namespace.replace(".", "_") + "atomic"
    collections = [client[name]["counters"] for client in clients]
    try:
        await collections[0].insert_one({"_id": "sessions-held", "count": 0})

        async def increment(collection: Any) -> None:
            for _ in range(50):
                await collection.update_one({"_id": "sessions-held"}, {"$inc": {"count": 1}})

        await asyncio.gather(*(increment(c) for c in collections))
        document = await collections[0].find_one({"_id": "sessions-held"})
        assert document is not None
        assert document["count"] == 50 * CONNECTIONS
    finally:
        await clients[0].drop_database(name)
        for client in clients:
            await client.close()


async def test_a_version_check_has_exactly_one_winner(servers: ServerUrls, namespace: str) -> None:
    clients = await _clients(servers.mongodb_uri)
    name = namespace.replace(".", "_") + "versions"
    collections = [client[name]["action_steps"] for client in clients]
    try:
        winners_per_race = []
        for race in range(30):
            await collections[0].insert_one({"_id": f"step-{race}", "version": 0})
            results = await asyncio.gather(
                *(
                    c.update_one({"_id": f"step-{race}", "version": 0}, {"$inc": {"version": 1}})
                    for c in collections
                )
            )
            winners_per_race.append(sum(result.modified_count for result in results))
        assert winners_per_race == [1] * 30
    finally:
        await clients[0].drop_database(name)
        for client in clients:
            await client.close()


async def test_a_lookup_by_id_with_other_conditions_uses_the_id(mongo_db: Database) -> None:
    if not await is_ferretdb(mongo_db):
        pytest.skip("filterPushdown is FerretDB's explain field; mongod plans by its index")
    collection = mongo_db["participants"]
    await collection.insert_many([{"_id": f"p{i}", "version": i % 3} for i in range(20)])
    plan = await mongo_db.command(
        "explain", {"find": "participants", "filter": {"_id": "p7", "version": 1}}
    )
    assert plan["filterPushdown"] is True
    assert "USING INDEX" in " ".join(plan["queryPlanner"]["Plan"])  # not a table scan
    found = await collection.find_one({"_id": "p7", "version": 1})
    missed = await collection.find_one({"_id": "p7", "version": 2})
    assert found == {"_id": "p7", "version": 1}
    assert missed is None  # the rest of the filter still applies


async def test_a_batch_read_by_ids_returns_exactly_the_matches(mongo_db: Database) -> None:
    collection = mongo_db["participants"]
    oids = [ObjectId() for _ in range(3)]
    await collection.insert_many(
        [{"_id": f"p{i}", "version": i % 3} for i in range(20)]
        + [{"_id": oid, "version": i % 3} for i, oid in enumerate(oids)]
    )

    async def ids(query: dict[str, Any]) -> list[Any]:
        return [d["_id"] for d in await collection.find(query).to_list()]

    wanted = ["p1", "p2", "p4", oids[0], oids[1], "absent", ObjectId()]
    assert sorted(map(str, await ids({"_id": {"$in": wanted}}))) == sorted(
        ["p1", "p2", "p4", str(oids[0]), str(oids[1])]
    )
    # The rest of the filter still applies to what the ids return.
    assert sorted(map(str, await ids({"_id": {"$in": wanted}, "version": 1}))) == sorted(
        ["p1", "p4", str(oids[1])]
    )
    assert await ids({"_id": {"$in": []}}) == []
    assert await ids({"_id": {"$in": []}, "version": 1}) == []
    # Conditions that are not pushed down still select the same documents.
    assert sorted(await ids({"_id": {"$in": ["p1", 7, "p3"]}})) == ["p1", "p3"]
    assert await ids({"_id": {"$in": ["p1", "p3"], "$ne": "p1"}}) == ["p3"]
    many = [f"p{i}" for i in range(1_500)]  # beyond what one statement is given
    assert len(await ids({"_id": {"$in": many}})) == 20
    # Writes find their documents the same way.
    updated = await collection.update_many(
        {"_id": {"$in": ["p5", oids[2], "absent"]}}, {"$inc": {"version": 10}}
    )
    assert updated.modified_count == 2
    assert sorted(map(str, await ids({"version": {"$gte": 10}}))) == sorted(["p5", str(oids[2])])


async def test_a_batch_read_by_ids_uses_the_id_index(mongo_db: Database) -> None:
    if not await is_ferretdb(mongo_db):
        pytest.skip("filterPushdown is FerretDB's explain field; mongod plans by its index")
    collection = mongo_db["participants"]
    oid = ObjectId()
    await collection.insert_many(
        [{"_id": f"p{i}", "version": i % 3} for i in range(20)] + [{"_id": oid}]
    )

    async def explain(query: dict[str, Any]) -> dict[str, Any]:
        return await mongo_db.command("explain", {"find": "participants", "filter": query})

    plan = await explain({"_id": {"$in": ["p7", oid, "p9"]}, "version": 1})
    assert plan["filterPushdown"] is True
    assert "USING INDEX" in " ".join(plan["queryPlanner"]["Plan"])  # not a table scan
    assert (await explain({"_id": {"$in": []}}))["filterPushdown"] is True
    # Only strings and ObjectIDs, and nothing beside $in, are pushed down.
    assert (await explain({"_id": {"$in": ["p7", 7]}}))["filterPushdown"] is False
    assert (await explain({"_id": {"$in": ["p7"], "$ne": "p8"}}))["filterPushdown"] is False
    many = [f"p{i}" for i in range(1_500)]  # SQLite bounds the parameters of a statement
    assert (await explain({"_id": {"$in": many[:1_000]}}))["filterPushdown"] is True
    assert (await explain({"_id": {"$in": many}}))["filterPushdown"] is False


async def test_a_document_of_many_fields_keeps_each_field_once_and_in_order(
    mongo_db: Database,
) -> None:
    """Decoding sets each field in turn; the fix skips the search for a field not yet there, so
    what must still hold is that a field set again is replaced, not repeated."""
    collection = mongo_db["slots"]
    fields = {f"r{n:05d}": n for n in range(5_000)}
    await collection.insert_one({"_id": "wide", "due": fields})
    await collection.update_one(
        {"_id": "wide"}, {"$set": {"due.r00007": -7, "due.r04999": -1, "due.new": 1}}
    )
    await collection.update_one({"_id": "wide"}, {"$unset": {"due.r00008": ""}})

    found = await collection.find_one({"_id": "wide"})

    assert found is not None
    expected = {**fields, "r00007": -7, "r04999": -1, "new": 1}
    del expected["r00008"]
    assert list(found["due"].items()) == list(expected.items())


def test_an_unexpected_source_fails_the_build_loudly(tmp_path: Path) -> None:
    for edit in ferretdb_fixes.EDITS:
        file = tmp_path / edit.path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text("// some other FerretDB\n")
    with pytest.raises(RuntimeError, match="differs"):
        ferretdb_fixes.apply(tmp_path)


def test_the_fixes_apply_to_matching_source(tmp_path: Path) -> None:
    for edit in ferretdb_fixes.EDITS:
        file = tmp_path / edit.path
        file.parent.mkdir(parents=True, exist_ok=True)
        before = file.read_text() if file.exists() else ""
        file.write_text(before + edit.old * edit.count)
    ferretdb_fixes.apply(tmp_path)
    for edit in ferretdb_fixes.EDITS:
        assert edit.new in (tmp_path / edit.path).read_text()
    for path in ferretdb_fixes.NEW_FILES:
        package = Path(path).parent.name  # a Go file's package is named after its folder
        assert (tmp_path / path).read_text().startswith(f"package {package}\n")
