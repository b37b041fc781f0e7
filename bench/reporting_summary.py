"""Sponsor summary latency over a read model holding 100,000 sessions' worth of one program.

Run: ``uv run python -m bench.reporting_summary [--sessions N] [--sample N] [--requests N]``.

The read model is built by the projections' own code (``handlers.apply_batch``, batches of 50
events, as the consumers call it) from a synthetic history of ``--sample`` sessions spread over
52 ISO weeks: the program, its people and groups (5 groups per 100 sessions, 4 members each),
each session scheduled and held (4 of 5 attending), 2 action steps per session (70% completed,
10% dropped, the rest open, due dates spread over the year so some are overdue), a rating and a
reminder per session. Replaying 100,000 sessions' ~800,000 events would take minutes, so the
counters are then scaled to ``--sessions`` (every counter of the rollups and the totals times
sessions / sample). That is exactly the read model 100,000 such sessions give: counters are
sums, and the documents a summary reads are keyed by program, week and day, never by session,
so their number and size do not grow with sessions. Each request is what
``GET /v1/programs/{id}/summary`` does after the token check: read the program copy, authorize,
read the program's totals document and its weekly feedback and action rollups (the disclosure
rule releases averages and medians per closed week), compute. Target: under 50 ms per request.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.ceiling import servers
from reporting.disclosure.domain import DisclosureRule
from reporting.kpis import service
from reporting.projections.handlers import apply_batch
from reporting.projections.readmodel import ReadModels, generation_indexes
from roundtable_dev.testing.reporting.history import History
from roundtable_shared.auth.tokens import Principal
from roundtable_shared.events.registry import parse_data
from roundtable_shared.storage.mongo import apply_indexes, connect

PROGRAM = "prg-bench"
WEEKS = 52


def history(sessions: int) -> History:
    h = History()
    now = datetime.now(UTC)
    start = now - timedelta(weeks=WEEKS)
    h.program(PROGRAM, ["e-sponsor"])
    groups = max(1, sessions // 20)
    for g in range(groups):
        members = [f"p{g}-{n}" for n in range(4)]
        for m in members:
            h.enrol(PROGRAM, m, start, {"department": f"d{g % 7}", "level": "L3"})
        h.group(PROGRAM, f"g{g}", members, start + timedelta(days=1))
    for n in range(sessions):
        g = n % groups
        members = [f"p{g}-{k}" for k in range(4)]
        when = start + timedelta(days=2 + (n * WEEKS * 7 - 3) / max(sessions, 1))
        h.session(
            PROGRAM, f"s{n}", f"g{g}", when, members[:3] + ([] if n % 5 else members[3:]), members
        )
        for a in (2 * n, 2 * n + 1):
            due = when + timedelta(days=14)
            outcome = "completed" if a % 10 < 7 else "dropped" if a % 10 == 7 else None
            h.action(PROGRAM, f"a{a}", when, due, outcome, when + timedelta(days=a % 20))
        h.feedback(PROGRAM, n, 4, 8)
        h.reminder(PROGRAM, n)
    return h


def scaled(counts: Mapping[str, Any], factor: float) -> dict[str, Any]:
    return {
        k: scaled(v, factor) if isinstance(v, Mapping) else round(v * factor)
        for k, v in counts.items()
    }


async def build(models: ReadModels, sessions: int, sample: int) -> dict[str, Any]:
    await apply_indexes(models.db, generation_indexes(models.generation))
    events = [(e, parse_data(e)) for e in history(sample).events]
    t = time.perf_counter()
    for start in range(0, len(events), 50):
        await apply_batch(models, events[start : start + 50])
    projected = time.perf_counter() - t
    factor = sessions / sample
    for collection in (models.rollups, models.totals):
        async for doc in collection.find({"program_id": PROGRAM}):
            fields = {k: scaled(doc[k], factor) for k in ("c", "w", "due", "met") if k in doc}
            if "groups_active" in doc:
                fields["groups_active"] = round(doc["groups_active"] * factor)
            await collection.update_one({"_id": doc["_id"]}, {"$set": fields})
    totals = await models.totals.find_one({"_id": PROGRAM}) or {}
    return {
        "events projected": len(events),
        "projection s": round(projected, 1),
        "rollups": await models.rollups.count_documents({}),
        "due buckets": len(totals.get("due", {})),
        "met-day buckets": len(totals.get("met", {})),
    }


async def run(sessions: int, sample: int, requests: int) -> None:
    with servers() as local:
        client = connect(local.mongodb_uri, app_name="bench")
        db = client["bench_reporting_summary"]
        await client.drop_database(db.name)
        models = ReadModels(db, "g1")
        started = time.perf_counter()
        sizes = await build(models, sessions, sample)
        print(f"read model built in {time.perf_counter() - started:.1f} s: {sizes}")
        sponsor = Principal("e-sponsor", frozenset({"sponsor"}))
        rule = DisclosureRule(5, datetime.now(UTC))  # what every sponsor's request goes through
        for _ in range(min(10, requests)):  # warm-up
            await service.summary(models, sponsor, PROGRAM, rule)
        timings = []
        for _ in range(requests):
            t = time.perf_counter()
            result = await service.summary(models, sponsor, PROGRAM, rule)
            timings.append((time.perf_counter() - t) * 1000)
        timings.sort()
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        print(
            f"sessions held in the read model: {result.sessions.held}; overdue: {result.actions.overdue}"
        )
        print(
            f"summary over {sessions:,} sessions, {requests} requests: p50 {statistics.median(timings):.1f} ms, p99 {p99:.1f} ms, max {timings[-1]:.1f} ms (target < 50 ms)"
        )
        print(
            f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, python {platform.python_version()}; servers: {local.mongo.kind or 'MONGODB_URI'}"
        )
        await client.drop_database(db.name)
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reporting_summary")
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2_000, help="sessions projected")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.sessions, min(args.sample, args.sessions), args.requests))


if __name__ == "__main__":
    main()
