"""Benchmark: an identity provider's first SCIM sync, then its lookups by userName.

Run: ``uv run python -m bench.scim_provisioning [--users N] [--in-flight 8] [--lookups 500]
[--seed N]``.
Targets: a first sync of 10,000 users under 60 s (POSTs, 8 in flight, as Okta and Entra ID
provision); ``GET /Users?filter=userName eq "..."`` p99 under 20 ms.

The enrollment service runs as its own process (``python -m enrollment``) on nats-server and the
MongoDB-wire server (FerretDB on SQLite unless ``MONGODB_URI`` names another), with a SCIM
connection created through the admin API. Each POST is answered only once the employee document
(with its ``employee.upserted`` event in its outbox) is stored. ``--lookup-first`` makes every
user the GET-then-POST pair Entra ID sends. ``--seed N`` then writes N more Users straight into
the employees collection, in bulk (the documents a POST leaves once its event is relayed, made by
the same domain code), so the lookups run over a directory of 100,000 without a 100,000-request
sync. Then the filtered GETs run one at a time over random Users, provisioned or seeded.

Beside each phase's wall time it prints the CPU seconds per user of the service, the
MongoDB-wire server, nats-server and the benchmark client: a figure that depends far less on what
else the machine is running than the wall time does. Traffic stays on 127.0.0.1.

``--client aiohttp`` (the default) plays the IdP with aiohttp, whose HTTP parsing is in C;
``--client httpx`` with httpx, pure Python and about three times the CPU per request. An IdP's
client does not run on the service's machine: on the 2-core machine every millisecond the
benchmark's own client spends is taken from the service and the database.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import random
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import aiohttp
import httpx
from scim2_models import Context

from bench.enrollment_support import Service, enrollment_service, machine
from enrollment.directory.domain import Change, Employee, apply_change
from enrollment.directory.repository import EMPLOYEES, to_document
from enrollment.scim import domain
from enrollment.scim.repository import USER_NAMES
from enrollment.scim.service import parse_user
from roundtable_shared.messaging.outbox import new_document_outbox
from roundtable_shared.storage.mongo import Document
from roundtable_shared.storage.mongo import connect as connect_database

SCIM = "application/scim+json"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
DEPARTMENTS = ["Engineering", "Sales", "Finance", "HR", "Operations", "Legal", "Marketing"]


def user_body(i: int) -> dict[str, object]:
    """An Entra ID style create (its tutorial's shape), with the enterprise extension."""
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": f"ext-{i:06d}",
        "userName": f"user{i:06d}@corp.example",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": f"user{i:06d}@corp.example"}],
        "meta": {"resourceType": "User"},
        "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"},
        "displayName": f"Given{i} Family{i}",
        "title": "Engineer",
        ENTERPRISE: {"employeeNumber": f"s-{i:06d}", "department": DEPARTMENTS[i % 7]},
    }


TEMPLATE = 999_999
"""The number in the body the seeded documents are made from, replaced by each seeded User's."""
SEED_BATCH = 1_000


def seeded_documents(first: int, count: int) -> tuple[list[Document], list[Document]]:
    """Employee documents (and userName claims) as ``POST /Users`` leaves them, event relayed:
    one made by the SCIM and directory domain code, copied with each User's number."""
    user = parse_user(user_body(TEMPLATE), Context.RESOURCE_CREATION_REQUEST)
    profile = domain.profile_of(user)
    employee = Employee(f"s-{TEMPLATE:06d}")
    now = datetime.now(UTC)
    status = domain.status_on_create(None, user.active)
    apply_change(employee, Change("scim:seed", now, domain.stated_fields(profile), status))
    template = {**to_document(employee), "hr_event_ids": [], "version": 1}
    template.update(new_document_outbox([]))
    marker = f"{TEMPLATE:06d}"
    employees, claims = [], []
    for i in range(first, first + count):
        document = _renumbered(copy.deepcopy(template), marker, f"{i:06d}")
        employees.append(document)
        claims.append({"_id": document["user_name_key"], "employee_id": document["_id"], "at": now})
    return employees, claims


def _renumbered(value: Any, marker: str, number: str) -> Any:
    if isinstance(value, str):
        return value.replace(marker, number)
    if isinstance(value, dict):
        return {
            _renumbered(k, marker, number): _renumbered(v, marker, number) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_renumbered(v, marker, number) for v in value]
    return value


async def seed(service: Service, first: int, count: int) -> float:
    """Seconds to write ``count`` Users numbered from ``first`` straight into the database."""
    client = connect_database(service.mongodb_uri, app_name="bench-scim-seed")
    db = client[f"{service.namespace.replace('.', '_')}roundtable_enrollment"]
    started = time.perf_counter()
    try:
        for start in range(first, first + count, SEED_BATCH):
            employees, claims = seeded_documents(start, min(SEED_BATCH, first + count - start))
            await db[EMPLOYEES].insert_many(employees, ordered=False)
            await db[USER_NAMES].insert_many(claims, ordered=False)
    finally:
        await client.close()
    return time.perf_counter() - started


class CpuMeter:
    """CPU seconds of this benchmark and of the processes it started (the service, the
    MongoDB-wire server, nats-server), read from /proc (Linux)."""

    def __init__(self) -> None:
        self.started = self.read()

    @staticmethod
    def read() -> dict[str, float]:
        tick = os.sysconf("SC_CLK_TCK")
        seconds: dict[str, float] = {"bench client": time.process_time()}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) != os.getpid():
                    continue
                argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
            except (OSError, IndexError, ValueError):
                continue  # exited meanwhile
            name = _process_name(argv)
            seconds[name] = seconds.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
        return seconds

    def per(self, count: int) -> str:
        now = self.read()
        spent = {name: now[name] - self.started.get(name, 0.0) for name in now}
        self.started = now
        return ", ".join(
            f"{name} {1000 * value / max(1, count):.1f} ms" for name, value in sorted(spent.items())
        )


def _process_name(argv: list[bytes]) -> str:
    words = b" ".join(argv)
    if b"enrollment" in words:
        return "service"
    if b"ferretdb" in words or b"mongod" in words:
        return "database"
    if b"nats-server" in words:
        return "nats-server"
    return Path(argv[0].decode(errors="replace")).name


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def connect(service: Service) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=service.url) as client:
        answer = await client.post(
            "/v1/scim/connections",
            json={"name": "bench IdP"},
            headers=service.token("bench-it", "directory_admin"),
        )
        answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}", "Content-Type": SCIM}


ClientKind = Literal["aiohttp", "httpx"]


class IdpClient(Protocol):
    """What the benchmark's identity provider sends: the status, and the JSON body of a GET."""

    async def post(self, path: str, body: dict[str, object]) -> int: ...

    async def get(self, path: str, params: dict[str, str]) -> tuple[int, Any]: ...


class _Httpx:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, path: str, body: dict[str, object]) -> int:
        return (await self.client.post(path, json=body)).status_code

    async def get(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        answer = await self.client.get(path, params=params)
        return answer.status_code, answer.json()


class _Aiohttp:
    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def post(self, path: str, body: dict[str, object]) -> int:
        async with self.session.post(path, json=body) as answer:
            await answer.read()  # the whole answer, as an IdP reads it
            return answer.status

    async def get(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        async with self.session.get(path, params=params) as answer:
            return answer.status, await answer.json(content_type=None)


@asynccontextmanager
async def idp_client(
    kind: ClientKind, service: Service, headers: dict[str, str], connections: int
) -> AsyncIterator[IdpClient]:
    """Up to ``connections`` kept-alive connections to the service, the IdP's token on each."""
    if kind == "httpx":
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(
            base_url=service.url, headers=headers, limits=limits, timeout=120
        ) as client:
            yield _Httpx(client)
        return
    async with aiohttp.ClientSession(
        base_url=service.url,
        headers=headers,
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=120),
    ) as session:
        yield _Aiohttp(session)


async def first_sync(
    client: IdpClient, users: int, in_flight: int, lookup_first: bool
) -> tuple[float, list[float], int]:
    """(seconds, latency of each user's requests, failures)."""
    pending = iter(range(users))
    latencies: list[float] = []
    failures = 0

    async def worker() -> None:
        nonlocal failures
        for i in pending:
            started = time.perf_counter()
            body = user_body(i)
            if lookup_first:
                query = f'userName eq "{body["userName"]}"'
                status, found = await client.get("/scim/v2/Users", {"filter": query})
                if status != 200 or found["totalResults"] != 0:
                    failures += 1
            status = await client.post("/scim/v2/Users", body)
            latencies.append(time.perf_counter() - started)
            if status != 201:
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return time.perf_counter() - started, latencies, failures


async def lookups(client: IdpClient, users: int, count: int) -> tuple[list[float], int]:
    """Sequential filtered GETs by the userName of a random User among the first ``users``."""
    latencies: list[float] = []
    misses = 0
    rng = random.Random(7)
    for _ in range(count):
        i = rng.randrange(users)
        query = f'userName eq "user{i:06d}@corp.example"'
        started = time.perf_counter()
        status, found = await client.get("/scim/v2/Users", {"filter": query})
        latencies.append(time.perf_counter() - started)
        if status != 200 or found["totalResults"] != 1:
            misses += 1
    return latencies, misses


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def main_async(
    users: int, in_flight: int, count: int, lookup_first: bool, seeded: int, kind: ClientKind
) -> None:
    with enrollment_service() as service:
        shape = "GET+POST" if lookup_first else "POST"
        print(
            f"SCIM provisioning benchmark: {users:,} users, {shape}, {in_flight} in flight, "
            f"{kind} client; {machine()}; database: {service.mongo_kind}"
        )
        headers = await connect(service)
        async with idp_client(kind, service, headers, in_flight) as client:
            await measure(client, service, users, in_flight, count, lookup_first, seeded)


async def measure(
    client: IdpClient,
    service: Service,
    users: int,
    in_flight: int,
    count: int,
    lookup_first: bool,
    seeded: int,
) -> None:
    cpu = CpuMeter()
    seconds, latencies, failures = await first_sync(client, users, in_flight, lookup_first)
    print(
        f"first sync: {seconds:.1f} s ({users / seconds:,.0f} users/s); failures={failures}; "
        f"per user p50 {ms(statistics.median(latencies))}, "
        f"p99 {ms(percentile(latencies, 0.99))}"
    )
    await asyncio.sleep(1.0)  # the relay and the consumer finish with the last users
    print(f"CPU per user: {cpu.per(users)}; load average {os.getloadavg()[0]:.1f}")
    if users >= 10_000:
        print(f"target: 10,000 users under 60 s: {'PASS' if seconds < 60 else 'FAIL'}")
    else:
        print("target (10,000 users under 60 s): not judged on a smaller run")
    if seeded:
        took = await seed(service, users, seeded)
        print(f"seeded {seeded:,} more Users in bulk in {took:.1f} s")
    total = users + seeded
    if count:
        cpu.per(0)
        found, misses = await lookups(client, total, count)
        p99 = percentile(found, 0.99)
        print(
            f'GET /Users?filter=userName eq "..." over {total:,} users, {count} sequential: '
            f"p50 {ms(statistics.median(found))}, p99 {ms(p99)}, max {ms(max(found))}; "
            f"misses={misses}"
        )
        print(f"CPU per lookup: {cpu.per(count)}; load average {os.getloadavg()[0]:.1f}")
        print(
            f"target (p99 under 20 ms at 100,000 users): {'met' if p99 < 0.020 else 'missed'}"
            f" at {total:,}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--lookups", type=int, default=500, help="filtered GETs after the sync")
    parser.add_argument(
        "--lookup-first", action="store_true", help="GET by userName before each POST (Entra ID)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="Users written in bulk after the sync, before lookups"
    )
    parser.add_argument(
        "--client",
        choices=["aiohttp", "httpx"],
        default="aiohttp",
        help="the IdP's HTTP client (httpx: pure Python, about 3x the CPU per request)",
    )
    args = parser.parse_args()
    asyncio.run(
        main_async(
            args.users, args.in_flight, args.lookups, args.lookup_first, args.seed, args.client
        )
    )


if __name__ == "__main__":
    main()
