"""Probe of the MongoDB-wire server's costs that the reminder due path depends on.

Run: ``uv run python -m bench.reminders_probe [--total N]`` (starts FerretDB/mongod and NATS in a
temporary folder unless ``MONGODB_URI`` is set). Fills a ``reminders`` collection with ``--total``
documents shaped like the service's, plus a small side collection, then times the operations a
due path could be built from: reads by ``_id``/``$in``, ``_id`` ranges, updates by ``_id``,
``update_many`` by ``$in`` of 50, and inserts into a small collection.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import UpdateOne

from reminders.schedule.domain import Plan
from reminders.schedule.repository import plan_document
from roundtable_dev.local.servers import LocalServers
from roundtable_shared.events.catalogue.reminders import ReminderKind
from roundtable_shared.storage.mongo import connect


async def timed(label: str, make: Callable[[], Awaitable[Any]], repeat: int = 3) -> None:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        await make()
        best = min(best, time.perf_counter() - t0)
    print(f"{label:<60} {best * 1000:9.1f} ms", flush=True)


async def run(uri: str, total: int) -> None:
    client = connect(uri, app_name="probe")
    db = client[f"probe{os.getpid()}"]
    now = datetime.now(UTC)
    docs = [
        plan_document(
            Plan(
                key=f"p:{n}",
                kind=ReminderKind.WELCOME,
                recipient_id=f"emp_{n % 1000:05d}",
                program_id="prg",
                due_at=now + timedelta(seconds=n),
            ),
            now,
        )
        for n in range(total)
    ]
    ids = [d["_id"] for d in docs]
    for start in range(0, total, 5000):
        await db["reminders"].insert_many(docs[start : start + 5000], ordered=False)
    small = db["due"]
    await small.insert_many(
        [{"_id": f"b{n:06d}", "ids": ids[n * 10 : n * 10 + 10]} for n in range(1000)]
    )
    big = db["reminders"]
    print(f"collection of {total}", flush=True)
    mid = ids[total // 2]
    await timed("find_one by _id, 8th inserted (big)", lambda: big.find_one({"_id": ids[7]}))
    await timed("find_one by _id, middle one (big)", lambda: big.find_one({"_id": mid}))
    await timed(
        "update_one by _id, middle one (big)",
        lambda: big.update_one({"_id": mid}, {"$set": {"w": 1}}),
    )
    await timed(
        "find_one by _id + other field, 8th (big)",
        lambda: big.find_one({"_id": ids[7], "claim": 0}),
    )
    await timed(
        "update_one by _id + other field, 6th (big)",
        lambda: big.update_one({"_id": ids[5], "claim": 0}, {"$set": {"y": 1}}),
    )
    await timed(
        "bulk_write 50 update_one by _id, 201st-250th (big)",
        lambda: big.bulk_write(
            [UpdateOne({"_id": i}, {"$set": {"z": 1}}) for i in ids[200:250]], ordered=False
        ),
    )
    await timed("find _id $in 50 (big)", lambda: big.find({"_id": {"$in": ids[:50]}}).to_list())
    await timed(
        "find _id $gte/$lt (small, 1000 docs)",
        lambda: small.find({"_id": {"$gte": "b000100", "$lt": "b000110"}}).to_list(),
    )
    await timed(
        "find _id $gte/$lt (big)",
        lambda: big.find({"_id": {"$gte": ids[0], "$lt": ids[0] + "z"}}).to_list(),
    )
    await timed("find by field (big)", lambda: big.find({"key": "p:5"}).to_list())
    await timed("find_one by _id (small)", lambda: small.find_one({"_id": "b000007"}))
    await timed(
        "update_one by _id, 4th (big)",
        lambda: big.update_one({"_id": ids[3]}, {"$set": {"x": 1}}),
    )
    await timed(
        "update_one by _id (small)",
        lambda: small.update_one({"_id": "b000003"}, {"$set": {"x": 1}}),
    )
    await timed(
        "update_many _id $in 50 (big)",
        lambda: big.update_many({"_id": {"$in": ids[100:150]}}, {"$set": {"x": 2}}),
        repeat=1,
    )
    counter = iter(range(10**9))
    await timed(
        "insert_one (lease-like, new collection)",
        lambda: db["leases"].insert_one({"_id": f"l{next(counter)}", "w": "x", "at": now}),
        repeat=5,
    )
    await timed(
        "insert_many 50 (lease-like)",
        lambda: db["leases"].insert_many(
            [{"_id": f"l{next(counter)}", "w": "x", "at": now} for _ in range(50)]
        ),
        repeat=3,
    )
    await timed(
        "find leases _id $in 50",
        lambda: db["leases"].find({"_id": {"$in": [f"l{n}" for n in range(50)]}}).to_list(),
    )
    await client.drop_database(db.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=100_000)
    args = parser.parse_args()
    if os.environ.get("MONGODB_URI"):
        asyncio.run(run(os.environ["MONGODB_URI"], args.total))
        return
    with (
        tempfile.TemporaryDirectory(prefix="roundtable-reminders-probe-") as folder,
        LocalServers(Path(folder)) as servers,
    ):
        print(f"servers: {servers.mongo.kind or 'external'}", flush=True)
        asyncio.run(run(servers.mongodb_uri, args.total))


if __name__ == "__main__":
    main()
