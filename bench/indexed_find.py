"""A find by an indexed field over a large collection, and what the index costs each write.

Run: ``uv run python -m bench.indexed_find [--total 100000]`` (starts the local MongoDB-wire
server in a temporary folder unless ``MONGODB_URI`` is set). Fills two collections with
``--total`` participant-shaped documents (20 per peer group): ``indexed`` with the indexes
``apply_indexes`` makes (``group_id``; ``program_id, status, waitlist_number``; ``joined_at``),
``plain`` with none but ``_id``'s. Prints latency p50/p99 and the server's CPU of finds by
indexed fields (equality, ``$in``, a compound equality, a date range), of a find by the same
field on ``plain`` (a full scan), and of an upsert by ``_id`` that changes indexed fields, on
both collections, so the difference is the indexes' upkeep.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import IndexModel

from roundtable_dev.local.servers import MongoWireServer
from roundtable_shared.storage.mongo import Collection, Indexes, apply_indexes, connect

PER_GROUP = 20
GROUPS_PER_PROGRAM = 50
INDEXES = [
    Indexes("indexed", [IndexModel([("group_id", 1)])]),
    Indexes("indexed", [IndexModel([("program_id", 1), ("status", 1), ("waitlist_number", 1)])]),
    Indexes("indexed", [IndexModel([("joined_at", 1)])]),
]
JOINED = datetime(2026, 1, 1, tzinfo=UTC)


def participant(n: int) -> dict[str, Any]:
    group = n // PER_GROUP
    return {
        "_id": f"par_{n:07d}",
        "employee_id": f"emp_{n:07d}",
        "program_id": f"prg_{group // GROUPS_PER_PROGRAM:05d}",
        "group_id": f"grp_{group:06d}",
        "status": "matched" if n % 7 else "waitlisted",
        "waitlist_number": n % 7,
        "joined_at": JOINED + timedelta(seconds=n),
        "version": 1,
    }


def group_id(i: int, total: int) -> str:
    return f"grp_{(i * 7919) % (total // PER_GROUP):06d}"  # spread over the collection


def server_cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def latencies(count: int, op: Callable[[int], Awaitable[Any]]) -> list[float]:
    taken = []
    for i in range(count):
        t0 = time.perf_counter()
        await op(i)
        taken.append((time.perf_counter() - t0) * 1000)
    return taken


def report(label: str, taken: list[float], cpu_ms: float) -> None:
    ordered = sorted(taken)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print(
        f"{label:<52} p50 {statistics.median(ordered):8.2f} ms  p99 {p99:8.2f} ms"
        f"  server CPU {cpu_ms:7.2f} ms/op  (n={len(taken)})",
        flush=True,
    )


async def measure(
    label: str, count: int, op: Callable[[int], Awaitable[Any]], pid: int | None
) -> None:
    """Latency of ``count`` sequential calls, and the server's CPU per call (load-independent)."""
    cpu = server_cpu_seconds(pid)
    taken = await latencies(count, op)
    report(label, taken, (server_cpu_seconds(pid) - cpu) * 1000 / count)


async def fill(collection: Collection, total: int) -> float:
    t0 = time.perf_counter()
    for start in range(0, total, 5_000):
        batch = [participant(n) for n in range(start, min(total, start + 5_000))]
        await collection.insert_many(batch, ordered=False)
    return time.perf_counter() - t0


async def upserts(collection: Collection, count: int, total: int, pid: int | None) -> None:
    async def upsert(i: int) -> None:
        n = (i * 104_729) % total
        moved = {**participant(n), "group_id": group_id(i, total), "status": "withdrawn"}
        del moved["_id"]
        await collection.update_one({"_id": f"par_{n:07d}"}, {"$set": moved}, upsert=True)

    await measure(f"upsert by _id changing indexed fields ({collection.name})", count, upsert, pid)


async def run(uri: str, total: int, lookups: int, scans: int, writes: int, pid: int | None) -> None:
    client = connect(uri, app_name="bench-indexed-find")
    db = client[f"indexedfind{os.getpid()}"]
    indexed, plain = db["indexed"], db["plain"]
    try:
        await apply_indexes(db, INDEXES)
        print(f"fill indexed: {await fill(indexed, total):.1f} s for {total} documents")
        print(f"fill plain:   {await fill(plain, total):.1f} s for {total} documents", flush=True)

        async def by_group(i: int) -> None:
            found = await indexed.find({"group_id": group_id(i, total)}).to_list()
            assert len(found) == PER_GROUP, len(found)

        async def by_groups(i: int) -> None:
            wanted = [group_id(i * 5 + k, total) for k in range(5)]
            found = await indexed.find({"group_id": {"$in": wanted}}).to_list()
            assert len(found) == 5 * PER_GROUP, len(found)

        async def waitlist(i: int) -> None:
            program = f"prg_{(i * 31) % (total // PER_GROUP // GROUPS_PER_PROGRAM):05d}"
            query = {"program_id": program, "status": "waitlisted"}
            await indexed.find(query).sort("waitlist_number", 1).to_list()

        async def joined(i: int) -> None:
            start = JOINED + timedelta(seconds=(i * 7919) % (total - PER_GROUP))
            window = {"$gte": start, "$lt": start + timedelta(seconds=PER_GROUP)}
            found = await indexed.find({"joined_at": window}).to_list()
            assert len(found) == PER_GROUP, len(found)

        async def scanned(i: int) -> None:
            await plain.find({"group_id": group_id(i, total)}).to_list()

        await measure("find({group_id: g}) -> 20 documents", lookups, by_group, pid)
        await measure("find({group_id: {$in: 5 groups}}) -> 100", lookups, by_groups, pid)
        await measure("find({program_id, status}).sort(waitlist_number)", lookups, waitlist, pid)
        await measure("find({joined_at: {$gte, $lt}}) -> 20 (a range)", lookups, joined, pid)
        await measure("find({group_id: g}) on plain (no index: a scan)", scans, scanned, pid)
        await upserts(indexed, writes, total, pid)
        await upserts(plain, writes, total, pid)
    finally:
        await client.drop_database(db.name)
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--scans", type=int, default=1)
    parser.add_argument("--writes", type=int, default=500)
    args = parser.parse_args()
    counts = (args.total, args.lookups, args.scans, args.writes)
    if os.environ.get("MONGODB_URI"):
        asyncio.run(run(os.environ["MONGODB_URI"], *counts, pid=None))
        return
    with tempfile.TemporaryDirectory(prefix="roundtable-indexed-find-") as folder:
        server = MongoWireServer(Path(folder)).start()
        try:
            print(f"server: {server.kind}", flush=True)
            pid = server.managed.process.pid if server.managed else None
            asyncio.run(run(server.url, *counts, pid=pid))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
