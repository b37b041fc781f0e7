"""Benchmark: an identity provider's first SCIM sync, then its lookups by userName.

Run: ``uv run python -m bench.scim_provisioning [--users N] [--in-flight 8] [--lookups 500]``.
Targets: a first sync of 10,000 users under 60 s (POSTs, 8 in flight, as Okta and Entra ID
provision); ``GET /Users?filter=userName eq "..."`` p99 under 20 ms.

The enrollment service runs as its own process (``python -m enrollment``) on nats-server and the
MongoDB-wire server (FerretDB on SQLite unless ``MONGODB_URI`` names another), with a SCIM
connection created through the admin API. Each POST is answered only once the employee document
(with its ``employee.upserted`` event in its outbox) is stored. ``--lookup-first`` makes every
user the GET-then-POST pair Entra ID sends. Then the filtered GETs run one at a time over random
provisioned users. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

import httpx

from bench.enrollment_support import Service, enrollment_service, machine

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


async def first_sync(
    service: Service, headers: dict[str, str], users: int, in_flight: int, lookup_first: bool
) -> tuple[float, list[float], int]:
    """(seconds, latency of each user's requests, failures)."""
    pending = iter(range(users))
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        for i in pending:
            started = time.perf_counter()
            body = user_body(i)
            if lookup_first:
                query = f'userName eq "{body["userName"]}"'
                found = await client.get("/scim/v2/Users", params={"filter": query})
                if found.status_code != 200 or found.json()["totalResults"] != 0:
                    failures += 1
            answer = await client.post("/scim/v2/Users", json=body)
            latencies.append(time.perf_counter() - started)
            if answer.status_code != 201:
                failures += 1

    async with httpx.AsyncClient(
        base_url=service.url, headers=headers, limits=limits, timeout=120
    ) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(in_flight)))
        return time.perf_counter() - started, latencies, failures


async def lookups(
    service: Service, headers: dict[str, str], users: int, count: int
) -> tuple[list[float], int]:
    latencies: list[float] = []
    misses = 0
    rng = random.Random(7)
    async with httpx.AsyncClient(base_url=service.url, headers=headers, timeout=60) as client:
        for _ in range(count):
            i = rng.randrange(users)
            query = f'userName eq "user{i:06d}@corp.example"'
            started = time.perf_counter()
            answer = await client.get("/scim/v2/Users", params={"filter": query})
            latencies.append(time.perf_counter() - started)
            if answer.status_code != 200 or answer.json()["totalResults"] != 1:
                misses += 1
    return latencies, misses


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def main_async(users: int, in_flight: int, count: int, lookup_first: bool) -> None:
    with enrollment_service() as service:
        shape = "GET+POST" if lookup_first else "POST"
        print(
            f"SCIM provisioning benchmark: {users:,} users, {shape}, {in_flight} in flight; "
            f"{machine()}; database: {service.mongo_kind}"
        )
        headers = await connect(service)
        seconds, latencies, failures = await first_sync(
            service, headers, users, in_flight, lookup_first
        )
        print(
            f"first sync: {seconds:.1f} s ({users / seconds:,.0f} users/s); failures={failures}; "
            f"per user p50 {ms(statistics.median(latencies))}, "
            f"p99 {ms(percentile(latencies, 0.99))}"
        )
        if users >= 10_000:
            print(f"target: 10,000 users under 60 s: {'PASS' if seconds < 60 else 'FAIL'}")
        else:
            print("target (10,000 users under 60 s): not judged on a smaller run")
        if count:
            found, misses = await lookups(service, headers, users, count)
            p99 = percentile(found, 0.99)
            print(
                f'GET /Users?filter=userName eq "..." over {users:,} users, {count} sequential: '
                f"p50 {ms(statistics.median(found))}, p99 {ms(p99)}, max {ms(max(found))}; "
                f"misses={misses}"
            )
            print(
                f"target (p99 under 20 ms at 100,000 users): {'met' if p99 < 0.020 else 'missed'}"
                f" at {users:,}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--lookups", type=int, default=500, help="filtered GETs after the sync")
    parser.add_argument(
        "--lookup-first", action="store_true", help="GET by userName before each POST (Entra ID)"
    )
    args = parser.parse_args()
    asyncio.run(main_async(args.users, args.in_flight, args.lookups, args.lookup_first))


if __name__ == "__main__":
    main()
