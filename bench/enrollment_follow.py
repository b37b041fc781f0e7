"""What following an HR change and taking a seat cost now that enrollment queries by index.

Run: ``uv run python -m bench.enrollment_follow [--total 20000]`` (starts the local MongoDB-wire
server in a temporary folder unless ``MONGODB_URI`` is set). Fills ``participants`` with
``--total`` enrolments (one per employee, 500 per program) through the enrollment service's own
repository and indexes, then prints latency p50/p99 and the server's CPU per call of:
- an employee's enrolments by the ``employee_id`` index (what the directory cascade reads for
  every ``employee.upserted`` and termination), for an enrolled employee and for one never
  enrolled (every hire);
- a read by ``_id`` (what the retired per-employee ``followed_directory`` document cost);
- a seat taken with its claim and settled (an enrolment's two seat writes), beside a bare
  conditional ``$inc`` of the counter (the one write a seat cost before claims).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.indexed_find import measure
from enrollment.participants.domain import Answers, Participant, ParticipantStatus
from enrollment.participants.repository import INDEXES, PARTICIPANTS, ParticipantRepository
from enrollment.participants.repository import to_document as participant_document
from enrollment.programs.domain import SeatClaim
from enrollment.programs.repository import PROGRAMS, ProgramRepository
from roundtable_dev.local.servers import MongoWireServer
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import apply_indexes, connect

PER_PROGRAM = 500
AT = datetime(2026, 2, 1, tzinfo=UTC)


def enrolment(n: int) -> dict[str, object]:
    participant = Participant(
        participant_id=f"par_{n:07d}",
        program_id=f"prg_{n // PER_PROGRAM:05d}",
        employee_id=f"emp_{n:07d}",
        status=ParticipantStatus.ENROLLED if n % 5 else ParticipantStatus.WAITLISTED,
        answers=Answers(goals=["Delegate more"]),
        updated_at=AT,
    )
    return {**participant_document(participant), "version": 1}


async def run(uri: str, total: int, lookups: int, writes: int, pid: int | None) -> None:
    client = connect(uri, app_name="bench-enrollment-follow")
    db = client[f"enrollmentfollow{os.getpid()}"]
    try:
        await apply_indexes(db, [INDEXES])
        for start in range(0, total, 5_000):
            batch = [enrolment(n) for n in range(start, min(total, start + 5_000))]
            await db[PARTICIPANTS].insert_many(batch, ordered=False)
        print(f"{total} enrolments in {total // PER_PROGRAM} programs", flush=True)
        participants = ParticipantRepository(AggregateStore(db[PARTICIPANTS], source="/bench"))
        programs = ProgramRepository(AggregateStore(db[PROGRAMS], source="/bench"))
        await db[PROGRAMS].insert_many(
            [{"_id": f"bench-{k}", "enrolled_count": 0, "version": 1} for k in range(2)]
        )

        async def enrolled(i: int) -> None:
            found = await participants.of_employee(f"emp_{(i * 7919) % total:07d}")
            assert len(found) == 1, found

        async def never_enrolled(i: int) -> None:
            assert await participants.of_employee(f"new_{i:07d}") == []

        async def by_id(i: int) -> None:
            assert await db[PARTICIPANTS].find_one({"_id": f"par_{(i * 7919) % total:07d}"})

        async def claimed(i: int) -> None:
            claim = SeatClaim(f"par_{i:07d}", AT + timedelta(seconds=i))
            assert await programs.take_seat("bench-0", None, claim)
            await programs.settle("bench-0", claim)

        async def bare(i: int) -> None:
            await db[PROGRAMS].update_one(
                {"_id": "bench-1", "enrolled_count": {"$lt": 10**9}},
                {"$inc": {"enrolled_count": 1}},
            )

        await measure("enrolments of an enrolled employee (index)", lookups, enrolled, pid)
        await measure("enrolments of an employee never enrolled", lookups, never_enrolled, pid)
        await measure("find_one by _id (the retired followed read)", lookups, by_id, pid)
        await measure("seat taken with its claim, then settled", writes, claimed, pid)
        await measure("bare conditional $inc of the counter", writes, bare, pid)
    finally:
        await client.drop_database(db.name)
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=20_000)
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--writes", type=int, default=300)
    args = parser.parse_args()
    counts = (args.total, args.lookups, args.writes)
    if os.environ.get("MONGODB_URI"):
        asyncio.run(run(os.environ["MONGODB_URI"], *counts, pid=None))
        return
    with tempfile.TemporaryDirectory(prefix="roundtable-enrollment-follow-") as folder:
        server = MongoWireServer(Path(folder)).start()
        try:
            print(f"server: {server.kind}", flush=True)
            pid = server.managed.process.pid if server.managed else None
            asyncio.run(run(server.url, *counts, pid=pid))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
