"""Reminder delivery benchmark: 100,000 reminders scheduled in the real database, a slice of them
coming due during the run, delivered by the service's worker to a local SMTP sink.

Run: ``uv run python -m bench.reminders_delivery [--total N] [--due N] [--window S] [--workers W]``

Starts nats-server and the MongoDB-wire server (FerretDB on SQLite, or ``mongod``) in a temporary
folder unless ``NATS_URL`` and ``MONGODB_URI`` name running ones. ``--total`` reminders are
inserted through the service's repository; ``--due`` of
them fall due at times spread evenly over ``--window`` seconds, starting ``--lead`` seconds after
scheduling began (so ``--lead`` must exceed the time scheduling takes), the rest days ahead.
``--workers`` delivery workers (the service's ``DeliveryWorker``, each in a process of its own, as replicas
are) deliver to an aiosmtpd sink in a process of its own, which notes when each message arrives.
Prints p50, p99 and max of (arrival - due time), the delivery rate, and the CPU time each process
(workers, sink, database server) spent per delivered reminder; stops after ``--max-seconds``.
With ``--relay`` each worker process is the service's worker replica (``python -m
reminders.worker``): its outbox relay publishes the ``reminder.sent`` events to NATS as well, and
the run prints how many were still unpublished when the last reminder arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import os
import platform
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from bench.sessions_http import cpu_seconds
from reminders.app import bootstrap, build_runtime
from reminders.delivery.worker import DeliveryWorker
from reminders.people.repository import RecipientRepository
from reminders.preferences.repository import PreferencesRepository
from reminders.schedule.domain import Plan
from reminders.schedule.repository import REMINDER_INDEXES, REMINDERS, ReminderRepository
from reminders.settings import RemindersSettings
from roundtable_dev.local.servers import LocalServers, free_port
from roundtable_shared.events.catalogue.reminders import ReminderKind
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.storage.mongo import apply_indexes, connect


class Sink:
    """The local SMTP sink: notes when each reminder's message arrives (first copy only)."""

    def __init__(self, log: Any) -> None:
        self.log = log

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        at = time.time()
        for line in (envelope.original_content or b"").split(b"\n"):
            if line.startswith(b"X-Roundtable-Reminder:"):
                key = line.split(b":", 1)[1].strip().decode()
                self.log.write(f"{key.rsplit('.', 1)[0]} {at}\n")
                self.log.flush()
                break
        return "250 OK"


def serve_sink(port: int, log_path: str, stop: Any) -> None:
    """In a process of its own, as a real mail server would be: in the benchmark's process it
    would compete with the worker for the interpreter lock and slow every SMTP round trip."""
    with open(log_path, "a") as log:
        controller = Controller(Sink(log), hostname="127.0.0.1", port=port)
        controller.start()
        stop.wait()
        controller.stop()


def arrivals(log_path: Path) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in log_path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:  # a line being written is read whole next time
            found.setdefault(parts[0], float(parts[1]))
    return found


def run_worker(
    settings: RemindersSettings, name: str, stop: Any, profile: str | None, relay: bool
) -> None:
    """One delivery worker in a process of its own, until ``stop`` is set. With ``relay``, the
    service's worker replica as ``python -m reminders.worker`` runs it: with its outbox relay
    publishing ``reminder.sent`` to NATS. With ``profile``, its cProfile statistics are written
    to that folder."""

    async def work() -> None:
        runtime: ServiceRuntime | None = None
        if relay:
            runtime = build_runtime(settings)
            worker = bootstrap(runtime, settings).worker
            await runtime.start()
        else:
            db = connect(settings.mongodb_uri, app_name=name)[settings.database_name]
            worker = DeliveryWorker(
                settings,
                ReminderRepository(db),
                RecipientRepository(db),
                PreferencesRepository(db),
                name=name,
            )
        task = asyncio.create_task(worker.run())
        while not stop.is_set():
            await asyncio.sleep(0.2)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.close()
        if runtime is not None:
            await runtime.stop()
        else:
            await worker.reminders.collection.database.client.close()

    if not profile:
        asyncio.run(work())
        return
    profiler = cProfile.Profile()
    profiler.runcall(asyncio.run, work())
    profiler.dump_stats(Path(profile) / f"{name}.pstats")


async def run(
    args: argparse.Namespace, mongodb_uri: str, nats_url: str, server_pids: dict[str, int]
) -> dict[str, Any]:
    smtp_port = free_port()
    log_path = Path(tempfile.mkdtemp(prefix="reminders-sink-")) / "arrivals.log"
    log_path.touch()
    stop = multiprocessing.Event()
    sink = multiprocessing.Process(target=serve_sink, args=(smtp_port, str(log_path), stop))
    sink.start()
    await asyncio.sleep(1.0)  # the sink listening
    settings = RemindersSettings(
        mongodb_uri=mongodb_uri,
        nats_url=nats_url,
        namespace=f"bench{os.getpid()}.",
        smtp_port=smtp_port,
        worker_batch_size=args.batch,
        worker_concurrency=args.concurrency,
        worker_poll_seconds=0.05,
        lease_seconds=60,
    )
    client = connect(mongodb_uri, app_name="bench")
    db = client[settings.database_name]
    await apply_indexes(db, [REMINDER_INDEXES])
    people = [f"emp_{n:05d}" for n in range(1000)]
    await db["recipients"].insert_many(
        [
            {"_id": p, "display_name": p, "email": f"{p}@example.com", "time_zone": "UTC"}
            for p in people
        ]
    )
    started = datetime.now(UTC)
    first_due = started + timedelta(seconds=args.lead)
    due_ids: dict[str, datetime] = {}
    t0 = time.perf_counter()
    # Through the service's repository, as the schedule's handlers write them.
    repository = ReminderRepository(db)
    batch: list[Plan] = []
    # Due ones spread evenly through the collection (insertion order), unless --due-first: on
    # FerretDB a read or update by _id scans until it finds the document, so the first-inserted
    # are cheap to reach and would flatter the figures.
    step = 1 if args.due_first else max(args.total // max(args.due, 1), 1)
    for n in range(args.total):
        is_due = n % step == 0 and n // step < args.due
        if is_due:
            k = n // step
            due_at = first_due + timedelta(seconds=args.window * k / max(args.due, 1))
        else:
            # Days ahead, on whole minutes, as reminders cluster (24 h and 1 h before sessions
            # that start on the quarter-hour, on action steps' due days): 50 or so a minute.
            due_at = started.replace(second=0, microsecond=0) + timedelta(days=2, minutes=n // 50)
        plan = Plan(
            key=f"bench:{n}",
            kind=ReminderKind.WELCOME,
            recipient_id=people[n % len(people)],
            program_id="prg_bench",
            due_at=due_at,
        )
        if is_due:
            due_ids[plan.reminder_id] = due_at
        batch.append(plan)
        if len(batch) == 5000:
            await repository.add(batch, started)
            batch = []
    if batch:
        await repository.add(batch, started)
    scheduled_in = time.perf_counter() - t0
    print(f"scheduled {args.total} reminders in {scheduled_in:.1f} s", flush=True)

    context = multiprocessing.get_context("spawn")  # a fresh interpreter, as a replica has
    worker_stop = context.Event()
    workers = [
        context.Process(
            target=run_worker,
            args=(settings, f"bench-{n}", worker_stop, args.profile, args.relay),
        )
        for n in range(args.workers)
    ]
    for worker in workers:
        worker.start()
    assert sink.pid is not None
    processes = {"sink": sink.pid, **server_pids}
    for n, worker in enumerate(workers):
        assert worker.pid is not None
        processes[f"worker {n}"] = worker.pid
    # CPU time is what a reminder costs whatever else the machine runs: delays are not. Counted
    # from the first due time, so the workers' start (imports, the relay's first sweep) is not.
    await asyncio.sleep(max(0.0, first_due.timestamp() - time.time()))
    cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    deadline = time.time() + args.lead + args.window + args.max_seconds
    while time.time() < deadline and len(arrivals(log_path)) < args.due:
        await asyncio.sleep(0.5)
    cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in processes.items()}
    worker_stop.set()
    for worker in workers:
        worker.join(timeout=30)
    stop.set()
    sink.join(timeout=10)
    arrived = arrivals(log_path)
    shutil.rmtree(log_path.parent, ignore_errors=True)
    delays = sorted(
        arrived[rid] - due.timestamp() for rid, due in due_ids.items() if rid in arrived
    )
    times = sorted(arrived.values())
    span = (times[-1] - times[0]) if len(times) > 1 else 0.0
    unpublished = (
        await db[REMINDERS].count_documents({"outbox_pending": True}) if args.relay else None
    )
    await client.drop_database(settings.database_name)
    result = {
        "total": args.total,
        "due": args.due,
        "delivered": len(arrived),
        "scheduled_seconds": round(scheduled_in, 1),
        "p50_delay_s": round(statistics.median(delays), 3) if delays else None,
        "p99_delay_s": round(delays[int(0.99 * (len(delays) - 1))], 3) if delays else None,
        "max_delay_s": round(delays[-1], 3) if delays else None,
        "rate_per_s": round(len(times) / span, 1) if span else None,
        "workers": args.workers,
        "reminder_events_unpublished_at_end": unpublished,
        "cpu_ms_per_reminder": ", ".join(
            f"{name} {seconds / max(len(arrived), 1) * 1000:.2f}" for name, seconds in cpu.items()
        ),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=5_000)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--lead", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument(
        "--relay", action="store_true", help="workers publish reminder.sent through their relay"
    )
    parser.add_argument("--profile", help="write each worker's cProfile statistics here")
    parser.add_argument("--due-first", action="store_true", help="insert the due ones first")
    args = parser.parse_args()
    if os.environ.get("MONGODB_URI") and os.environ.get("NATS_URL"):
        result = asyncio.run(run(args, os.environ["MONGODB_URI"], os.environ["NATS_URL"], {}))
    else:
        with (
            tempfile.TemporaryDirectory(prefix="roundtable-reminders-bench-") as folder,
            LocalServers(Path(folder)) as servers,
        ):
            print(f"servers: {servers.mongo.kind or 'external'}", flush=True)
            managed = servers.mongo.managed
            pids = {servers.mongo.kind or "database": managed.process.pid} if managed else {}
            result = asyncio.run(run(args, servers.mongodb_uri, servers.nats_url, pids))
    for key, value in result.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
