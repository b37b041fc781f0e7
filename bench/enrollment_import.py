"""Benchmark: a 50,000-row directory import through the real HTTP endpoint into the database.

Run: ``uv run python -m bench.enrollment_import [--rows N]``. Target: under 60 s.

The CSV is generated on the fly and streamed to ``POST /v1/directory/imports`` of the service
running as its own process; the time is from the first byte sent to the report received (every
row stored, each employee document with its ``employee.upserted`` event in its outbox). Then it
times the re-import of the same file (nothing changes) and how long the outbox relay takes to get
every event into JetStream.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import nats

from bench.enrollment_support import Service, enrollment_service, machine
from roundtable_shared.messaging.streams import stream_name

DEPARTMENTS = ["Engineering", "Sales", "Finance", "HR", "Operations", "Legal", "Marketing"]
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Europe/London", "UTC"]


async def csv_body(rows: int, chunk_rows: int = 500) -> AsyncIterator[bytes]:
    yield b"employee_id,display_name,email,title,level,department,location,time_zone,manager_id,hire_date\n"
    lines: list[str] = []
    for i in range(rows):
        manager = f"b-{i // 8}" if i >= 8 else ""
        lines.append(
            f"b-{i},Employee {i},employee{i}@example.com,Engineer,L{2 + i % 6},"
            f"{DEPARTMENTS[i % 7]},City {i % 13},{ZONES[i % 5]},{manager},2020-01-{1 + i % 28:02d}\n"
        )
        if len(lines) >= chunk_rows:
            yield "".join(lines).encode()
            lines = []
    if lines:
        yield "".join(lines).encode()


async def run_import(service: Service, rows: int) -> tuple[float, dict[str, object]]:
    headers = {**service.token("bench-admin", "program_admin"), "Content-Type": "text/csv"}
    async with httpx.AsyncClient(base_url=service.url, timeout=600) as client:
        started = time.perf_counter()
        answer = await client.post("/v1/directory/imports", content=csv_body(rows), headers=headers)
        elapsed = time.perf_counter() - started
    answer.raise_for_status()
    report: dict[str, object] = answer.json()
    return elapsed, report


async def relay_drain(service: Service, expected: int, cap_seconds: float) -> tuple[int, float]:
    """(events in JetStream, seconds): when all are there, or at the cap."""
    client = await nats.connect(service.nats_url)
    started = time.perf_counter()
    try:
        js = client.jetstream()
        while True:
            info = await js.stream_info(stream_name("enrollment", service.namespace))
            elapsed = time.perf_counter() - started
            if info.state.messages >= expected or elapsed > cap_seconds:
                return int(info.state.messages), elapsed
            await asyncio.sleep(0.25)
    finally:
        await client.close()


async def main_async(rows: int, drain_cap: float) -> None:
    with enrollment_service() as service:
        print(
            f"enrollment import benchmark: {rows:,} rows; {machine()}; database: {service.mongo_kind}"
        )
        seconds, report = await run_import(service, rows)
        print(
            f"first import: {seconds:.1f} s ({rows / seconds:,.0f} rows/s); "
            f"created={report['created']} errors={report['error_count']}"
        )
        verdict = "PASS" if seconds < 60 else "FAIL"
        print(f"target: first import under 60 s: {verdict}")
        published, waited = await relay_drain(service, rows, drain_cap)
        print(
            f"outbox relay after the import: {published:,} of {rows:,} employee.upserted events "
            f"in JetStream after {waited:.1f} s ({published / waited:,.0f} events/s)"
        )
        again, report2 = await run_import(service, rows)
        print(
            f"re-import of the same file: {again:.1f} s; created={report2['created']} "
            f"updated={report2['updated']} unchanged={report2['unchanged']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument(
        "--drain-seconds", type=float, default=120, help="longest wait for the outbox relay"
    )
    args = parser.parse_args()
    asyncio.run(main_async(args.rows, args.drain_seconds))


if __name__ == "__main__":
    main()
