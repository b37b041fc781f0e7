"""Sponsor summary latency over a read model holding 100,000 sessions' worth of one program.

Run: ``uv run python -m bench.reporting_summary [--sessions N] [--requests N]``.

The read model is written directly in the shapes the projections produce (weekly rollups, the
funnel shards, one copy per group and per action step), not by replaying 100,000 sessions'
events through the projections, which would take minutes (see ``bench.reporting_projection``
for that path). The program: 52 ISO weeks, 5 groups per 100 sessions, 2 action steps per
session (70% completed, 10% dropped, the rest open, half of those overdue), 4 of 5 members
attending. Each request is what ``GET /v1/programs/{id}/summary`` does after the token check:
load the program copy, authorize, read its rollups, count overdue steps and engaged groups,
compute. Target: under 50 ms per request.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from bench.ceiling import servers
from reporting.kpis import service
from reporting.projections.domain import Family
from reporting.projections.readmodel import (
    FUNNEL_SHARDS,
    ReadModels,
    counter_id,
    generation_indexes,
)
from roundtable_shared.auth.tokens import Principal
from roundtable_shared.storage.mongo import apply_indexes, connect

PROGRAM = "prg-bench"
WEEKS = 52


async def build(models: ReadModels, sessions: int) -> dict[str, int]:
    await apply_indexes(models.db, generation_indexes(models.generation))
    now = datetime.now(UTC)
    first_monday = date.today() - timedelta(weeks=WEEKS)
    per_week = sessions // WEEKS
    groups = max(1, sessions // 20)
    actions = sessions * 2
    people = groups * 4
    await models.programs.insert_one(
        {
            "_id": PROGRAM,
            "name": "Bench",
            "cadence": "weekly",
            "sponsor_ids": ["e-sponsor"],
            "snapshot_version": 1,
            "status": "running",
            "status_version": 2,
        }
    )
    rollups = []
    for w in range(WEEKS):
        iso = (first_monday + timedelta(weeks=w)).isocalendar()
        week = f"{iso.year:04d}-W{iso.week:02d}"
        counts = {
            Family.PARTICIPANTS: {
                "enrolled": people // WEEKS,
                "withdrawn": people // WEEKS // 20,
                "withdrawn_self": people // WEEKS // 20,
            },
            Family.GROUPS: {"formed": groups // WEEKS, "met": min(groups, per_week)},
            Family.SESSIONS: {
                "scheduled": per_week + per_week // 10,
                "held": per_week,
                "cancelled": per_week // 10,
                "attended": per_week * 4,
                "invited": per_week * 5,
            },
            Family.ACTIONS: {
                "committed": 2 * per_week,
                "completed": 14 * per_week // 10,
                "dropped": per_week // 5,
                **{f"days_{d}": 14 * per_week // 10 // 20 for d in range(20)},
            },
            Family.FEEDBACK: {
                "ratings": 3 * per_week,
                "rating_sum": 12 * per_week,
                "recommend_count": per_week,
                "recommend_sum": 8 * per_week,
            },
            Family.REMINDERS: {"sent": 6 * per_week, "failed": per_week // 50},
        }
        for family, c in counts.items():
            rollups.append(
                {
                    "_id": counter_id(PROGRAM, week, family),
                    "program_id": PROGRAM,
                    "week": week,
                    "family": str(family),
                    "c": c,
                    "version": per_week,
                }
            )
    for shard in range(FUNNEL_SHARDS):
        rollups.append(
            {
                "_id": counter_id(PROGRAM, f"people{shard:02d}", Family.FUNNEL),
                "program_id": PROGRAM,
                "week": f"people{shard:02d}",
                "family": "funnel",
                "c": {
                    "enrolled": people // FUNNEL_SHARDS,
                    "matched": people // FUNNEL_SHARDS,
                    "first_session": people // FUNNEL_SHARDS - 10,
                },
                "version": 1,
            }
        )
    await models.rollups.insert_many(rollups)
    await models.groups.insert_many(
        [
            {
                "_id": f"g{n}",
                "program_id": PROGRAM,
                "status": "active",
                "version": 1,
                "last_met_at": now - timedelta(days=n % 14),
            }
            for n in range(groups)
        ]
    )
    batch = []
    for n in range(actions):
        done = "completed" if n % 10 < 7 else "dropped" if n % 10 == 7 else None
        doc = {
            "_id": f"a{n}",
            "program_id": PROGRAM,
            "due_at": now + timedelta(days=(n % 4) - 2),
            "due_version": 1,
            "committed_at": now - timedelta(days=30),
        }
        if done:
            doc["done"] = done
        batch.append(doc)
        if len(batch) == 5000:
            await models.actions.insert_many(batch)
            batch = []
    if batch:
        await models.actions.insert_many(batch)
    return {"rollups": len(rollups), "groups": groups, "actions": actions, "people": people}


async def run(sessions: int, requests: int) -> None:
    with servers() as local:
        client = connect(local.mongodb_uri, app_name="bench")
        db = client["bench_reporting_summary"]
        await client.drop_database(db.name)
        models = ReadModels(db, "g1")
        started = time.perf_counter()
        sizes = await build(models, sessions)
        print(f"read model built in {time.perf_counter() - started:.1f} s: {sizes}")
        sponsor = Principal("e-sponsor", frozenset({"sponsor"}))
        for _ in range(min(10, requests)):  # warm-up
            await service.summary(models, sponsor, PROGRAM)
        timings = []
        for _ in range(requests):
            t = time.perf_counter()
            result = await service.summary(models, sponsor, PROGRAM)
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
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.sessions, args.requests))


if __name__ == "__main__":
    main()
