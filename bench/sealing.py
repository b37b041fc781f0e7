"""What sealing personal fields costs: events sealed and opened per second against a local NATS.

    uv run python -m bench.sealing --people 2000

Seals one ``employee.upserted`` per person (each a person met for the first time: one key made in
the bucket), opens them all in a fresh key ring (cold: one key read per person; one at a time, then
fifty at once as a consumer's batch), then again (warm: keys cached), and shreds every key. Prints events per second for each phase. One event at
a time, as a worst case: the outbox relay seals up to 32 documents' events side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time
import uuid
from datetime import UTC, datetime

import nats

from bench.ceiling import servers
from roundtable_shared.events.catalogue.enrollment import EmployeeUpserted, EmploymentStatus
from roundtable_shared.events.envelope import Envelope, new_envelope
from roundtable_shared.events.sealing import KeyRing
from roundtable_shared.messaging.streams import PRODUCERS


def upserted(n: int) -> Envelope:
    data = EmployeeUpserted(
        employee_id=f"e-{n}",
        display_name=f"Person {n}",
        email=f"person.{n}@example.com",
        time_zone="Europe/Berlin",
        employment_status=EmploymentStatus.ACTIVE,
        updated_at=datetime.now(UTC),
    )
    return new_envelope(data, subject=f"e-{n}", aggregate_version=1, source="/bench")


async def run(nats_url: str, people: int) -> dict[str, float]:
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    namespace = f"bench{uuid.uuid4().hex[:8]}."
    producer = KeyRing("enrollment", namespace)
    await producer.bind(js, PRODUCERS)
    events = [upserted(n) for n in range(people)]
    figures: dict[str, float] = {}
    try:
        started = time.perf_counter()
        sealed = [await producer.seal(e) for e in events]
        figures["seal, new people"] = people / (time.perf_counter() - started)
        started = time.perf_counter()
        sealed = [await producer.seal(e) for e in events]
        figures["seal, keys cached"] = people / (time.perf_counter() - started)
        reader = KeyRing("reporting", namespace)
        await reader.bind(js, PRODUCERS)
        started = time.perf_counter()
        for e in sealed:
            await reader.open(e)
        figures["open, cold"] = people / (time.perf_counter() - started)
        batched = KeyRing("reporting", namespace)
        await batched.bind(js, PRODUCERS)
        started = time.perf_counter()
        for at in range(0, people, 50):  # as a consumer opens a batch
            await asyncio.gather(*(batched.open(e) for e in sealed[at : at + 50]))
        figures["open, cold, 50 at once"] = people / (time.perf_counter() - started)
        started = time.perf_counter()
        for e in sealed:
            await reader.open(e)
        figures["open, keys cached"] = people / (time.perf_counter() - started)
        started = time.perf_counter()
        for n in range(people):
            await producer.shred(f"e-{n}")
        figures["shred"] = people / (time.perf_counter() - started)
    finally:
        for producer_name in PRODUCERS:
            await js.delete_key_value(
                f"{namespace.replace('.', '_')}roundtable-keys-{producer_name}"
            )
        await connection.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sealing", description=__doc__)
    parser.add_argument("--people", type=int, default=2000)
    args = parser.parse_args()
    with servers() as local:
        figures = asyncio.run(run(local.nats_url, args.people))
    print(f"machine: {platform.machine()}, {platform.python_version()}; people: {args.people}")
    for phase, rate in figures.items():
        print(f"{phase:<20} {rate:>9,.0f} events/s")


if __name__ == "__main__":
    main()
