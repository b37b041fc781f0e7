"""What a program's own wording costs delivery: the hook's reads per pass, and rendering per
message, against the local MongoDB-wire server.

Run: ``uv run python -m bench.program_wording [--batch N] [--passes N]``

Starts the MongoDB-wire server (FerretDB on SQLite, or ``mongod``) in a temporary folder unless
``MONGODB_URI`` names a running one. A batch of ``--batch`` reminders of every kind, in one
program, is read ``--passes`` times by the delivery pass's hook (``ProgramWording.for_batch``):
first with no program wording stored (the common case: one read by ``_id``), then with a wording
for every kind and one broadcast (three reads). Then each message of the batch is composed with
the default wording, and composed and given the program's wording. Prints p50 and p99 of each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reminders.broadcasts.repository import BroadcastRepository
from reminders.delivery.messages import compose
from reminders.program_messages import variables
from reminders.program_messages.defaults import DEFAULTS
from reminders.program_messages.delivery import BatchWording, ProgramWording
from reminders.program_messages.repository import ProgramMessageRepository
from reminders.schedule.copies import SourceCopies
from reminders.schedule.domain import NoticeKind, kind_of
from roundtable_dev.local.servers import LocalServers
from roundtable_shared.storage.mongo import Database, Document, connect

KINDS = [*DEFAULTS, NoticeKind.BROADCAST]


def batch(size: int) -> list[Document]:
    return [
        {
            "_id": f"rem_{n}",
            "kind": str(KINDS[n % len(KINDS)]),
            "program_id": "prg_bench",
            "context": {**variables.SAMPLE_CONTEXT, "broadcast_id": "bc_bench"},
        }
        for n in range(size)
    ]


def quantiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49] * 1000:.2f} ms, p99 {cuts[98] * 1000:.2f} ms"


async def timed_reads(hook: ProgramWording, docs: list[Document], passes: int) -> list[float]:
    took = []
    for _ in range(passes):
        start = time.perf_counter()
        await hook.for_batch(docs)
        took.append(time.perf_counter() - start)
    return took


def compose_all(docs: list[Document], wording: BatchWording | None) -> float:
    start = time.perf_counter()
    for doc in docs:
        message = compose(
            kind_of(doc["kind"]),
            doc["context"],
            recipient_name="Alex Example",
            recipient_zone="Europe/Berlin",
            names=variables.SAMPLE_NAMES,
            frontend_url="https://roundtable.example",
            reminder_id=doc["_id"],
        )
        if wording is not None:
            wording.apply(
                message,
                doc,
                recipient_name="Alex Example",
                recipient_zone="Europe/Berlin",
                names=variables.SAMPLE_NAMES,
            )
    return (time.perf_counter() - start) / len(docs)


async def run(args: argparse.Namespace, uri: str) -> dict[str, Any]:
    client = connect(uri, app_name="bench-program-wording")
    db: Database = client[f"bench_program_wording_{os.getpid()}"]
    try:
        hook = ProgramWording(db)
        docs = batch(args.batch)
        await timed_reads(hook, docs, 5)  # warm the connection pool
        none = await timed_reads(hook, docs, args.passes)
        now = datetime.now(UTC)
        await SourceCopies(db).keep_copy("program:prg_bench", 1, {"name": "Bench Program"})
        for kind, wording in DEFAULTS.items():
            await ProgramMessageRepository(db).save(
                "prg_bench", str(kind), 0, wording, now=now, by="emp_bench"
            )
        await BroadcastRepository(db).create(
            {"_id": "bc_bench", "program_id": "prg_bench", "subject": "Hi", "body": "Hello"}
        )
        every = await timed_reads(hook, docs, args.passes)
        wording = await hook.for_batch(docs)
        default_each = [compose_all(docs, None) for _ in range(20)]
        worded_each = [compose_all(docs, wording) for _ in range(20)]
        return {
            "batch": args.batch,
            "hook_reads_no_wording": quantiles(none),
            "hook_reads_every_kind_worded": quantiles(every),
            "compose_default_per_message": f"{statistics.median(default_each) * 1e6:.0f} us",
            "compose_and_word_per_message": f"{statistics.median(worded_each) * 1e6:.0f} us",
            "machine": f"{platform.machine()} {os.cpu_count()} cpus",
            "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    finally:
        await client.drop_database(db.name)
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--passes", type=int, default=200)
    args = parser.parse_args()
    if os.environ.get("MONGODB_URI"):
        result = asyncio.run(run(args, os.environ["MONGODB_URI"]))
    else:
        with (
            tempfile.TemporaryDirectory(prefix="roundtable-wording-bench-") as folder,
            LocalServers(Path(folder)) as servers,
        ):
            print(f"servers: {servers.mongo.kind or 'external'}", flush=True)
            result = asyncio.run(run(args, servers.mongodb_uri))
    for key, value in result.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
