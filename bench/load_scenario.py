"""The whole system under load: HTTP latency per kind of request and HR-to-sponsor lag.

Run: ``uv run python -m bench.load_scenario [--rate 50] [--seconds 20] [--hr-batch 50]
[--ceiling-seconds 5] [--profile-dir DIR] [--json PATH]``.

Starts everything ``make run`` starts, each on a free port on 127.0.0.1 and in a temporary folder:
nats-server, the MongoDB-wire server (FerretDB on SQLite, or ``mongod``), the dev token issuer,
the mail catcher and the four services as their own processes (``RunningSystem``, as the
whole-system tests do). Then it sets up what the traffic needs, over the public APIs only: a
directory import, an open program B to enrol in, a matched roundtable program A whose groups have
sessions that have just started, and action steps committed in some of them.

Then an asyncio open-loop driver sends ``--rate`` requests a second for ``--seconds`` seconds, in a
fixed mix (shuffled with ``--seed``): signed HR webhooks (hires, updates, and terminations of
people enrolled in B), enrolments with SSO tokens, session records and action-step progress.
A request's latency counts from when it was due, not when it was sent, so a driver or a service
that falls behind shows as latency; ``--max-in-flight`` bounds open requests. Percentiles are
exact (nearest rank) over every sample.

HR events go one per request (``--hr-batch 1``, to ``/v1/hr/events``) or gathered into signed
batches (``--hr-batch N``, to ``/v1/hr/events/batch``): the mix and its rate stay the same (an HR
event counts as one request of the mix either way), a batch leaves when its last event is due
and its latency counts from then (kind ``hr_batch``), and each event of it that is stored starts
its own lag clock.

The end-to-end lag is from an HR termination's 2xx to the person showing as withdrawn in the
reporting service's read model (and, for enrolments, to the person showing as enrolled). The only
HR webhooks whose effect reaches reporting are terminations: a hire or a change of department
publishes ``employee.upserted``, which reporting does not consume. The path is enrollment's
outbox relay -> JetStream -> enrollment's directory cascade (withdraws the enrolments) -> the relay
again -> JetStream -> reporting's consumer -> its read model. The scenario reads that read model
from reporting's database with one connection: one query for all open markers every
``--poll-ms``.

Events through the pipeline are counted from the three producers' JetStream streams (last
sequence before and after); after the driver stops, the scenario waits until every consumer of
every stream has nothing pending and every lag marker was seen (at most ``--drain-seconds``).

CPU by process (from /proc, the driver included) is counted from the start of the drive to the
end of the drain, and divided by the requests of the mix and by the events published. Then
``bench.ceiling``'s phases run on the same servers (``--ceiling-seconds`` each; 0 skips them),
so the pipeline is held against what the raw client libraries reach on the machine as loaded at
that moment. ``--profile-dir`` runs the services under cProfile (``ROUNDTABLE_PROFILE_DIR``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import shlex
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from bench.ceiling import Config as CeilingConfig
from bench.ceiling import Report as CeilingReport
from bench.ceiling import add_derived, cpu_model, memory, percentile, run_mongo, run_nats
from bench.sessions_http import cpu_seconds
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.local.servers import free_port
from roundtable_dev.local.supervisor import (
    SERVICES,
    RunningSystem,
    SystemConfig,
    dev_webhook_secret,
)
from roundtable_shared.auth.webhooks import sign
from roundtable_shared.http.serve import PROFILE_DIR_VARIABLE
from roundtable_shared.messaging.streams import stream_name

# The mix, as shares of all requests. Terminations are the HR webhooks whose effect reaches the
# sponsor's read model, so they carry the lag markers; hires and updates are the bulk of HR traffic.
MIX: tuple[tuple[str, float], ...] = (
    ("hr_hire", 0.25),
    ("hr_update", 0.20),
    ("hr_terminate", 0.10),
    ("enrol", 0.20),
    ("session_record", 0.10),
    ("action_progress", 0.15),
)
HR_KINDS = frozenset({"hr_hire", "hr_update", "hr_terminate"})
REQUEST_KINDS = (*(kind for kind, _ in MIX), "hr_batch")
HR_BATCH_PATH = "/v1/hr/events/batch"
PRODUCERS = ("enrollment", "sessions", "reminders")
ZONE = "Europe/Berlin"
ADMIN = "e-admin"
SPONSOR = "e-sponsor"
GROUP_SIZE = 4
SETUP_CONCURRENCY = 8  # setup requests in flight; FerretDB gains nothing from more
# docs/benchmarks.md: the ceiling's derived publish-and-consume plus concurrent upsert, events/s.
CEILING_DERIVED = 1042.0
TARGET_EVENTS_PER_S = 1000.0
TARGET_LAG_P99_S = 1.0
TARGET_HTTP_P99_MS = 100.0
FERRETDB_MS_PER_REQUEST_BEFORE = 61.0
"""Issue 13: the local FerretDB used 61 s of CPU over the 1,000 requests of a 50/s run."""


# --- the plan ------------------------------------------------------------------------------------


def plan(total: int, seed: int) -> list[str]:
    """Exactly ``share * total`` requests of each kind (largest remainder), shuffled."""
    exact = [(kind, share * total) for kind, share in MIX]
    counts = {kind: math.floor(value) for kind, value in exact}
    by_remainder = sorted(exact, key=lambda kv: kv[1] - math.floor(kv[1]), reverse=True)
    for kind, _ in by_remainder[: total - sum(counts.values())]:
        counts[kind] += 1
    kinds = [kind for kind, count in counts.items() for _ in range(count)]
    random.Random(seed).shuffle(kinds)
    return kinds


@dataclass
class World:
    """What setup made and the driver uses up: people, programs, sessions, steps, tokens."""

    system: RunningSystem
    issuer: DevIssuer
    secret: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    program_a: str = ""
    program_b: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    to_enrol: list[str] = field(default_factory=list)
    to_terminate: list[str] = field(default_factory=list)
    to_update: list[str] = field(default_factory=list)
    to_record: list[tuple[str, list[str]]] = field(default_factory=list)
    steps: list[tuple[str, str]] = field(default_factory=list)  # (action step id, owner)
    hires: int = 0
    updates: int = 0
    progresses: int = 0

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.system.config.service_ports[service]}{path}"

    def auth(self, employee_id: str) -> dict[str, str]:
        if employee_id not in self.tokens:
            roles = ["participant", "program_admin", "sponsor"] if employee_id == ADMIN else []
            self.tokens[employee_id] = self.issuer.mint(
                employee_id, roles or ["participant"], ttl_seconds=3600
            )
        return {"Authorization": f"Bearer {self.tokens[employee_id]}"}


def profile(employee_id: str, title: str = "Manager") -> dict[str, str]:
    return {
        "display_name": f"Person {employee_id}",
        "email": f"{employee_id}@roundtable.example",
        "title": title,
        "level": "L5",
        "department": "Engineering",
        "location": "Berlin",
        "time_zone": ZONE,
        "hire_date": "2024-01-15",
    }


def webhook(world: World, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, {"Content-Type": "application/json", **sign(world.secret, body)}


def hr_payload(kind: str, employee_id: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": f"hr-{uuid.uuid4().hex}",
        "type": kind,
        "employee_id": employee_id,
        "effective_at": datetime.now(UTC).isoformat(),
        **extra,
    }


# --- setup, over the public APIs ------------------------------------------------------------------


def expect(response: httpx.Response, *statuses: int) -> Any:
    if response.status_code not in (statuses or (200,)):
        raise RuntimeError(
            f"setup: {response.request.method} {response.request.url} -> "
            f"{response.status_code}: {response.text[:500]}"
        )
    return response.json() if response.content else None


async def bounded(calls: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await call()

    return list(await asyncio.gather(*(one(c) for c in calls)))


async def setup(world: World, client: httpx.AsyncClient, kinds: Sequence[str], groups: int) -> None:
    counts = Counter(kinds)
    r = world.run_id
    members = [f"a-{r}-{i}" for i in range(groups * GROUP_SIZE)]
    world.to_enrol = [f"n-{r}-{i}" for i in range(counts["enrol"])]
    world.to_terminate = [f"t-{r}-{i}" for i in range(counts["hr_terminate"])]
    world.to_update = [f"d-{r}-{i}" for i in range(max(1, min(200, counts["hr_update"])))]
    people = [SPONSOR, *members, *world.to_enrol, *world.to_terminate, *world.to_update]

    # 1. HR's directory import: everyone the scenario needs, in one streamed CSV.
    columns = list(profile("x"))
    rows = ["employee_id," + ",".join(columns)]
    rows += [p + "," + ",".join(profile(p).values()) for p in people]
    expect(
        await client.post(
            world.url("enrollment", "/v1/directory/imports"),
            content="\n".join(rows).encode() + b"\n",
            headers={**world.auth(ADMIN), "Content-Type": "text/csv"},
            timeout=120,
        )
    )
    for p in people:
        world.auth(p)  # mint every token now: signing costs CPU the driver should not spend

    # 2. Two programs: A is matched into groups that meet; B takes enrolments and loses people.
    async def program(name: str) -> str:
        created = expect(
            await client.post(
                world.url("enrollment", "/v1/programs"),
                json={
                    "name": name,
                    "description": "The load scenario's program.",
                    "sponsor_ids": [SPONSOR],
                    "format": "roundtable",
                    "group_size_min": 3,
                    "group_size_max": GROUP_SIZE,
                    "eligibility": {"levels": ["L5"]},
                    "cadence": "biweekly",
                    "session_duration_minutes": 60,
                    "time_zone": ZONE,
                },
                headers={**world.auth(ADMIN), "Idempotency-Key": uuid.uuid4().hex},
            ),
            201,
        )
        program_id = str(created["program_id"])
        expect(
            await client.post(
                world.url("enrollment", f"/v1/programs/{program_id}/open"),
                headers=world.auth(ADMIN),
            )
        )
        return program_id

    world.program_a = await program(f"Load A {r}")
    world.program_b = await program(f"Load B {r}")

    async def enrol(employee_id: str, program_id: str) -> None:
        expect(await enrolment(world, client, employee_id, program_id), 201)

    await bounded([lambda e=e: enrol(e, world.program_a) for e in members])  # type: ignore[misc]
    await bounded(
        [lambda e=e: enrol(e, world.program_b) for e in world.to_terminate]  # type: ignore[misc]
    )

    # 3. Matching, published; the sessions service learns the groups from group.formed.
    base = f"/v1/programs/{world.program_a}/matching/previews"
    preview = expect(
        await client.post(world.url("enrollment", base), headers=world.auth(ADMIN)), 201
    )
    expect(
        await client.post(
            world.url("enrollment", f"{base}/{preview['proposal_id']}/publish"),
            headers=world.auth(ADMIN),
        )
    )
    formed = expect(
        await client.get(
            world.url("enrollment", f"/v1/programs/{world.program_a}/groups"),
            headers=world.auth(ADMIN),
        )
    )
    group_members = [(g["group_id"], [m["employee_id"] for m in g["members"]]) for g in formed]
    deadline = time.monotonic() + 120
    for group_id, ids in group_members:
        path = f"/v1/groups/{group_id}/sessions"
        while (
            await client.get(world.url("sessions", path), headers=world.auth(ids[0]))
        ).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"setup: the sessions service never learnt group {group_id}")
            await asyncio.sleep(0.2)

    # 4. Sessions that start a few seconds after they are scheduled (none may be in the past),
    #    so that they can be recorded once setup is done.
    steps_wanted = max(2, min(120, math.ceil(counts["action_progress"] / 3)))
    sessions_wanted = counts["session_record"] + math.ceil(steps_wanted / 2)
    latest_start = datetime.now(UTC)

    async def schedule(n: int) -> tuple[str, list[str]]:
        nonlocal latest_start
        group_id, ids = group_members[n % len(group_members)]
        starts_at = datetime.now(UTC) + timedelta(seconds=3)
        latest_start = max(latest_start, starts_at)
        made = expect(
            await client.post(
                world.url("sessions", f"/v1/groups/{group_id}/sessions"),
                json={
                    "title": f"Load session {n}",
                    "starts_at": starts_at.isoformat(),
                    "time_zone": ZONE,
                    "duration_minutes": 60,
                },
                headers={**world.auth(ids[0]), "Idempotency-Key": uuid.uuid4().hex},
            ),
            201,
        )
        return str(made["id"]), ids

    scheduled = await bounded([lambda n=n: schedule(n) for n in range(sessions_wanted)])  # type: ignore[misc]
    await asyncio.sleep(max(0.0, (latest_start - datetime.now(UTC)).total_seconds() + 1))
    world.to_record = scheduled[: counts["session_record"]]

    # 5. Action steps to report progress on, committed in sessions recorded now.
    async def record_and_commit(session_id: str, ids: list[str]) -> list[tuple[str, str]]:
        expect(await record(world, client, session_id, ids), 201)
        made = []
        for owner in ids[1:3]:
            step = expect(
                await client.post(
                    world.url("sessions", f"/v1/sessions/{session_id}/action-steps"),
                    json={
                        "accountability_partner_id": ids[0],
                        "title": "Book a 1:1 with the Sales lead",
                        "due_on": (datetime.now(UTC) + timedelta(days=14)).date().isoformat(),
                    },
                    headers={**world.auth(owner), "Idempotency-Key": uuid.uuid4().hex},
                ),
                201,
            )
            made.append((str(step["id"]), owner))
        return made

    committed = await bounded(
        [lambda s=s: record_and_commit(*s) for s in scheduled[counts["session_record"] :]]  # type: ignore[misc]
    )
    world.steps = [step for made in committed for step in made]


async def enrolment(
    world: World, client: httpx.AsyncClient, employee_id: str, program_id: str
) -> httpx.Response:
    return await client.post(
        world.url("enrollment", f"/v1/programs/{program_id}/enrolments"),
        json={
            "goals": ["Delegate more"],
            "topics": ["delegation", "feedback"],
            "time_zone": ZONE,
            "consent_to_reporting": True,
        },
        headers={**world.auth(employee_id), "Idempotency-Key": uuid.uuid4().hex},
    )


async def record(
    world: World, client: httpx.AsyncClient, session_id: str, ids: list[str]
) -> httpx.Response:
    return await client.post(
        world.url("sessions", f"/v1/sessions/{session_id}/record"),
        json={
            "attendee_ids": ids[:3],
            "shared_notes": [{"text": "Start with a check-in round next time."}],
        },
        headers=world.auth(ids[0]),
    )


# --- the lag markers ------------------------------------------------------------------------------


@dataclass
class Marker:
    kind: str  # "hr_terminate" or "enrol"
    acked_at: float  # perf_counter at the 2xx
    status: str  # what reporting's copy of the person must say


class LagWatch:
    """Polls reporting's read model, by ``_id``, for each person a 2xx changed."""

    def __init__(self, mongodb_uri: str, poll_seconds: float) -> None:
        # One connection: a reader only, kept as light on FerretDB as the services are.
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri, maxPoolSize=1)
        self.db = self.client["roundtable_reporting"]
        self.poll_seconds = poll_seconds
        self.pending: dict[str, Marker] = {}
        self.lags: dict[str, list[float]] = {"hr_terminate": [], "enrol": []}
        self.round_seconds: list[float] = []
        self.commands = 0
        """What this watcher asked the database (subtracted from the services' figures)."""
        self._persons: Any = None
        self._persons_read_at = -math.inf

    def expect(self, program_id: str, employee_id: str, marker: Marker) -> None:
        self.pending[f"{program_id}|{employee_id}"] = marker

    async def persons(self) -> Any:
        """Reporting's current read model, looked up again once a second, not every round."""
        if time.perf_counter() - self._persons_read_at >= 1.0:
            meta = await self.db["reporting_meta"].find_one({"_id": "generation"})
            self.commands += 1
            generation = str(meta["current"]) if meta else "g1"
            self._persons = self.db[f"{generation}_persons"]
            self._persons_read_at = time.perf_counter()
        return self._persons

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            if self.pending:
                await self.look()
            self.round_seconds.append(time.perf_counter() - started)
            await asyncio.sleep(self.poll_seconds)

    async def look(self) -> None:
        # One query a round, whatever the number of markers: on FerretDB an ``_id`` lookup scans
        # the collection too, so one scan of the program's people costs less than one per marker
        # (the first version polled each marker and its own reads slowed the system it measured).
        persons = await self.persons()
        programs = {person_id.split("|", 1)[0] for person_id in self.pending}
        cursor = persons.find({"program_id": {"$in": sorted(programs)}}, {"status": 1})
        self.commands += 1
        async for found in cursor:
            marker = self.pending.get(str(found["_id"]))
            if marker is not None and found.get("status") == marker.status:
                self.lags[marker.kind].append(time.perf_counter() - marker.acked_at)
                del self.pending[str(found["_id"])]

    async def close(self) -> None:
        await self.client.close()


# --- the pipeline, from JetStream ----------------------------------------------------------------


class Pipeline:
    def __init__(self, nats_url: str) -> None:
        self.nats_url = nats_url
        self.nc: Any = None

    async def connect(self) -> None:
        self.nc = await nats.connect(self.nats_url)

    async def published(self) -> int:
        """Events in the three producers' streams so far (the sum of their last sequences)."""
        return sum((await self.last_sequences()).values())

    async def last_sequences(self) -> dict[str, int]:
        js = self.nc.jetstream()
        return {
            producer: int((await js.stream_info(stream_name(producer))).state.last_seq)
            for producer in PRODUCERS
        }

    async def relay_delays(self, since: dict[str, int]) -> dict[str, list[float]]:
        """For each event published after ``since``, by producer: seconds from the event's
        ``time`` (set when the write that raised it was made) to JetStream storing it (the
        stream's own timestamp): what the outbox relay added, whatever the consumers did."""
        js = self.nc.jetstream()
        delays: dict[str, list[float]] = {}
        for producer, last in (await self.last_sequences()).items():
            stream = stream_name(producer)
            for sequence in range(since[producer] + 1, last + 1):
                message = await js.get_msg(stream, sequence)
                if message.data is None or message.time is None:
                    continue
                written = datetime.fromisoformat(json.loads(message.data)["time"])
                stored = message.time.astimezone(UTC)
                delays.setdefault(producer, []).append((stored - written).total_seconds())
        return delays

    async def backlog(self) -> int:
        """Events some consumer has not yet acked, over every consumer of every stream."""
        js = self.nc.jetstream()
        waiting = 0
        for producer in PRODUCERS:
            for consumer in await js.consumers_info(stream_name(producer)):
                waiting += (consumer.num_pending or 0) + (consumer.num_ack_pending or 0)
        return waiting

    async def settle(self, cap: float, also: Callable[[], bool] = lambda: True) -> float:
        """Wait until nothing is pending and nothing new was published for a second."""
        started = time.perf_counter()
        last, steady_since = await self.published(), time.perf_counter()
        while time.perf_counter() - started < cap:
            await asyncio.sleep(0.25)
            now_published = await self.published()
            if now_published != last:
                last, steady_since = now_published, time.perf_counter()
            if also() and time.perf_counter() - steady_since >= 1.0 and await self.backlog() == 0:
                # The work ended when the last event was published, not when we noticed.
                return steady_since
        return time.perf_counter()

    async def close(self) -> None:
        await self.nc.close()


# --- the driver ----------------------------------------------------------------------------------


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    ok: Counter[str] = field(default_factory=Counter)
    errors: dict[str, Counter[str]] = field(default_factory=dict)
    hr_events_sent: int = 0


Call = Callable[[], Awaitable[httpx.Response]]
After = Callable[[httpx.Response], None]
"""What to do after a request's 2xx: start lag clocks (and, for a batch, check each result)."""


def hr_event(world: World, kind: str, watch: LagWatch) -> tuple[dict[str, Any], Callable[[], None]]:
    """One HR webhook event of the mix, and what starts its lag clock once it is stored."""
    if kind == "hr_hire":
        world.hires += 1
        who = f"h-{world.run_id}-{world.hires}"
        return hr_payload("employee.hired", who, {"employee": profile(who)}), lambda: None
    if kind == "hr_update":
        world.updates += 1
        who = world.to_update[world.updates % len(world.to_update)]
        change = {"employee": {"title": f"Manager {world.updates}"}}
        return hr_payload("employee.updated", who, change), lambda: None
    who = world.to_terminate.pop()

    def terminated() -> None:
        watch.expect(world.program_b, who, Marker(kind, time.perf_counter(), "withdrawn"))

    return hr_payload("employee.terminated", who, {}), terminated


def hr_single_request(
    world: World, client: httpx.AsyncClient, payload: dict[str, Any], stored: Callable[[], None]
) -> tuple[Call, After]:
    body, headers = webhook(world, payload)
    url = world.url("enrollment", "/v1/hr/events")
    return lambda: client.post(url, content=body, headers=headers), lambda _response: stored()


def hr_batch_request(
    world: World,
    client: httpx.AsyncClient,
    events: list[tuple[dict[str, Any], Callable[[], None]]],
    results: Results,
) -> tuple[Call, After]:
    """One signed request carrying ``events``; each stored event starts its own lag clock."""
    body, headers = webhook(world, {"events": [payload for payload, _ in events]})
    url = world.url("enrollment", HR_BATCH_PATH)

    def after(response: httpx.Response) -> None:
        for result in response.json()["results"]:
            if result["status"] == 200:
                events[result["index"]][1]()
            else:  # the request is 2xx, this one event of it is not
                results.errors["hr_batch"][f"event {result['status']}"] += 1

    return lambda: client.post(url, content=body, headers=headers), after


async def drive(
    world: World,
    client: httpx.AsyncClient,
    kinds: Sequence[str],
    args: argparse.Namespace,
    watch: LagWatch,
) -> tuple[Results, float]:
    results = Results(
        latencies={k: [] for k in REQUEST_KINDS}, errors={k: Counter() for k in REQUEST_KINDS}
    )

    def request(kind: str) -> tuple[Call, After]:
        """The call of a kind that is not an HR event, and what to do after its 2xx."""
        nothing: After = lambda _response: None  # noqa: E731
        if kind == "enrol":
            who = world.to_enrol.pop()

            def enrolled(_response: httpx.Response, who: str = who) -> None:
                watch.expect(world.program_b, who, Marker(kind, time.perf_counter(), "enrolled"))

            return lambda: enrolment(world, client, who, world.program_b), enrolled
        if kind == "session_record":
            session_id, ids = world.to_record.pop()
            return lambda: record(world, client, session_id, ids), nothing
        # Steps in turn, so one step's updates are far apart (an update reads, then writes).
        step_id, owner = world.steps[world.progresses % len(world.steps)]
        world.progresses += 1
        progress = ("on_track", "at_risk", "blocked")[world.progresses % 3]
        url = world.url("sessions", f"/v1/action-steps/{step_id}/progress")
        payload = {"progress": progress, "note": "Load scenario update."}
        auth = world.auth(owner)
        return lambda: client.post(url, json=payload, headers=auth), nothing

    async def one(kind: str, due: float, call: Call, after: After) -> None:
        async with gate:
            try:
                response = await call()
            except httpx.HTTPError as exc:
                results.errors[kind][type(exc).__name__] += 1
            else:
                if response.is_success:
                    after(response)
                    results.ok[kind] += 1
                else:
                    results.errors[kind][str(response.status_code)] += 1
        results.latencies[kind].append((time.perf_counter() - due) * 1000)

    def launch(kind: str, due: float, call: Call, after: After) -> None:
        task = asyncio.create_task(one(kind, due, call, after))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    gate = asyncio.Semaphore(args.max_in_flight)
    tasks: set[asyncio.Task[None]] = set()
    interval = 1 / args.rate
    hr_left = sum(1 for kind in kinds if kind in HR_KINDS)
    batch: list[tuple[dict[str, Any], Callable[[], None]]] = []
    start = time.perf_counter()
    for n, kind in enumerate(kinds):
        due = start + n * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if kind not in HR_KINDS:
            launch(kind, due, *request(kind))
            continue
        payload, stored = hr_event(world, kind, watch)
        results.hr_events_sent += 1
        if args.hr_batch == 1:
            launch(kind, due, *hr_single_request(world, client, payload, stored))
            continue
        # Batched: the request leaves when its last event is due, and counts from then.
        batch.append((payload, stored))
        hr_left -= 1
        if len(batch) == args.hr_batch or hr_left == 0:
            launch("hr_batch", due, *hr_batch_request(world, client, batch, results))
            batch = []
    await asyncio.gather(*tasks)
    return results, time.perf_counter() - start


# --- CPU by process, and the ceiling of the same run ---------------------------------------------


def process_ids(system: RunningSystem) -> dict[str, int]:
    """Every process of the run, the driver included: it shares the cores with what it drives."""
    pids = {name: managed.process.pid for name, managed in system.processes.items()}
    for label, server in (("nats-server", system.servers.nats), ("database", system.servers.mongo)):
        if server.managed is not None:
            name = label if label != "database" else (system.servers.mongo.kind or label)
            pids[name] = server.managed.process.pid
    pids["driver"] = os.getpid()
    return pids


RELAY_DELAY = "roundtable_outbox_relay_delay_seconds"


async def relay_delay_buckets(world: World, client: httpx.AsyncClient) -> dict[str, Counter[float]]:
    """Each service's outbox relay delay histogram (write told the relay -> published), from its
    /metrics: cumulative counts by upper bound, all collections together."""
    found: dict[str, Counter[float]] = {}
    for service in world.system.config.service_ports:
        text = (await client.get(world.url(service, "/metrics"))).text
        buckets: Counter[float] = Counter()
        for family in text_string_to_metric_families(text):
            if family.name == RELAY_DELAY:
                for sample in family.samples:
                    if sample.name == RELAY_DELAY + "_bucket":
                        buckets[float(sample.labels["le"])] += sample.value
        found[service] = buckets
    return found


def bucket_quantile(buckets: Counter[float], fraction: float) -> float:
    """The upper bound of the histogram bucket holding the ``fraction`` quantile."""
    total = buckets[math.inf]
    for bound in sorted(buckets):
        if total and buckets[bound] >= fraction * total:
            return bound
    return math.nan


def cpu_by_process(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


async def database_commands(mongodb_uri: str) -> Counter[str]:
    """Commands the MongoDB-wire server has answered so far, by name (``serverStatus``; FerretDB
    and mongod both count them): what the database's CPU went into."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri, maxPoolSize=1)
    try:
        status = await client.admin.command("serverStatus")
    finally:
        await client.close()
    commands = status.get("metrics", {}).get("commands", {})
    return Counter(
        {
            name: int(counts.get("total", 0))
            for name, counts in commands.items()
            if isinstance(counts, dict) and not isinstance(counts.get("total"), dict)
        }
    )


async def same_run_ceiling(system: RunningSystem, seconds: float) -> dict[str, float]:
    """bench.ceiling's phases on this run's servers, right after it: what the raw client
    libraries reach on the machine as loaded now, to hold the pipeline against."""
    config = CeilingConfig(
        events=50_000,
        seconds=seconds,
        window=256,
        fetch_batch=256,
        keys=1_000,
        concurrency=16,
        bulk_batch=500,
        warmup=500,
        loop="asyncio",
    )
    report = CeilingReport()
    await run_nats(config, system.servers.nats_url, report)
    await run_mongo(config, system.servers.mongodb_uri, report)
    add_derived(report)
    return {figure.key: figure.value for figure in report.figures}


# --- the run ------------------------------------------------------------------------------------


def summary(values: Sequence[float]) -> dict[str, float | int]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": percentile(ordered, 0.50),
        "p95": percentile(ordered, 0.95),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1] if ordered else float("nan"),
    }


async def scenario(system: RunningSystem, args: argparse.Namespace) -> dict[str, Any]:
    total = int(args.rate * args.seconds)
    kinds = plan(total, args.seed)
    world = World(
        system,
        DevIssuer(system.config.data_dir, system.config.issuer_url),
        dev_webhook_secret(system.config.data_dir),
    )
    limits = httpx.Limits(max_connections=args.max_in_flight, max_keepalive_connections=64)
    pipeline = Pipeline(system.servers.nats_url)
    watch = LagWatch(system.servers.mongodb_uri, args.poll_ms / 1000)
    async with httpx.AsyncClient(limits=limits, timeout=args.timeout) as client:
        t0 = time.perf_counter()
        groups = max(2, math.ceil(len(kinds) * 0.25 / 40))  # ~40 records + commits per group
        await setup(world, client, kinds, groups)
        await pipeline.connect()
        await pipeline.settle(cap=180)
        setup_seconds = time.perf_counter() - t0
        print(f"setup done in {setup_seconds:.0f} s; driving {total} requests", flush=True)

        stop = asyncio.Event()
        watcher = asyncio.create_task(watch.run(stop))
        sequences_before = await pipeline.last_sequences()
        before = sum(sequences_before.values())
        load_before = os.getloadavg()
        pids = process_ids(system)
        relay_before = await relay_delay_buckets(world, client)
        commands_before = await database_commands(system.servers.mongodb_uri)
        cpu_before = cpu_by_process(pids)
        started = time.perf_counter()
        results, drive_seconds = await drive(world, client, kinds, args, watch)
        at_drive_end = await pipeline.published()
        load_after = os.getloadavg()
        settled = await pipeline.settle(args.drain_seconds, also=lambda: not watch.pending)
        cpu_after = cpu_by_process(pids)
        measured_seconds = time.perf_counter() - started
        commands = await database_commands(system.servers.mongodb_uri) - commands_before
        commands["find"] -= watch.commands  # the scenario's own reads (getMores left in)
        after = await pipeline.published()
        relay_delays = await pipeline.relay_delays(sequences_before)
        relay_after = await relay_delay_buckets(world, client)
        stop.set()
        await watcher
        unseen = Counter(m.kind for m in watch.pending.values())
        await watch.close()
        await pipeline.close()

    events = after - before
    through_seconds = settled - started
    cpu = {name: cpu_after[name] - cpu_before[name] for name in pids}
    http_requests = sum(len(values) for values in results.latencies.values())
    return {
        "http": {
            kind: {
                **summary(results.latencies[kind]),
                "ok": results.ok[kind],
                "errors": dict(results.errors[kind]),
            }
            for kind in REQUEST_KINDS
            if results.latencies[kind]
        },
        "database_commands": dict(commands.most_common()),
        "lag_watch_commands": watch.commands,
        "hr_events_sent": results.hr_events_sent,
        "http_requests": http_requests,
        "cpu_seconds": cpu,
        "cpu_window_seconds": measured_seconds,
        "cpu_ms_per_request": {name: seconds * 1000 / total for name, seconds in cpu.items()},
        "cpu_ms_per_event": {
            name: seconds * 1000 / max(1, events) for name, seconds in cpu.items()
        },
        "lag_seconds": {
            kind: {**summary(values), "unseen": unseen[kind]} for kind, values in watch.lags.items()
        },
        "lag_poll_round_ms": summary([s * 1000 for s in watch.round_seconds]),
        "relay_told_to_published_s": {
            service: {
                "n": (after_buckets := relay_after[service] - relay_before[service])[math.inf],
                "p50_at_most": bucket_quantile(after_buckets, 0.50),
                "p99_at_most": bucket_quantile(after_buckets, 0.99),
            }
            for service in relay_after
        },
        "relay_delay_ms": {
            producer: summary([d * 1000 for d in values])
            for producer, values in relay_delays.items()
        },
        "requests": total,
        "requests_ok": sum(results.ok.values()),
        "drive_seconds": drive_seconds,
        "requests_ok_per_s": sum(results.ok.values()) / drive_seconds,
        "events_published": events,
        "events_published_during_drive": at_drive_end - before,
        "events_per_s_during_drive": (at_drive_end - before) / drive_seconds,
        "seconds_to_drain": through_seconds,
        "events_per_s_through_pipeline": events / through_seconds if through_seconds else 0.0,
        "setup_seconds": setup_seconds,
        "loadavg_before": list(load_before),
        "loadavg_after": list(load_after),
    }


def machine(system: RunningSystem) -> dict[str, str]:
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu_model(),
        "memory": memory(),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "mongodb-wire server": system.servers.mongo.kind or "MONGODB_URI",
    }


def table(figures: dict[str, Any], args: argparse.Namespace) -> str:
    sending = "one per request" if args.hr_batch == 1 else f"in batches of {args.hr_batch}"
    lines = [
        f"load scenario: {args.rate:g} requests/s for {args.seconds:g} s, HR events {sending} "
        f"(load average before {figures['loadavg_before'][0]:.2f}, "
        f"after {figures['loadavg_after'][0]:.2f})",
        "",
        f"{'kind':<16} {'sent':>6} {'2xx':>6} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}  errors",
    ]
    for kind, row in figures["http"].items():
        lines.append(
            f"{kind:<16} {row['n']:>6} {row['ok']:>6} {row['p50']:>9.1f} {row['p95']:>9.1f} "
            f"{row['p99']:>9.1f}  {row['errors'] or '-'}"
        )
    lines += [
        "",
        f"{'lag to reporting':<22} {'n':>5} {'p50 s':>7} {'p95 s':>7} {'p99 s':>7}  unseen",
    ]
    names = {"hr_terminate": "HR termination", "enrol": "enrolment"}
    for kind, row in figures["lag_seconds"].items():
        lines.append(
            f"{names[kind]:<22} {row['n']:>5} {row['p50']:>7.2f} {row['p95']:>7.2f} "
            f"{row['p99']:>7.2f}  {row['unseen']}"
        )
    hr_p99 = figures["lag_seconds"]["hr_terminate"]["p99"]
    through = figures["events_per_s_through_pipeline"]
    lines += [
        f"(lag poll round p99 {figures['lag_poll_round_ms']['p99']:.0f} ms, "
        f"every {args.poll_ms:g} ms)",
        "outbox relay, told by the write -> published, p50 / p99 at most (histogram) s: "
        + ", ".join(
            f"{service} {row['p50_at_most']:g} / {row['p99_at_most']:g} ({row['n']:.0f})"
            for service, row in figures["relay_told_to_published_s"].items()
            if row["n"]
        ),
        "event created (its write under way) -> stored in JetStream, p50 / p99 ms: "
        + ", ".join(
            f"{producer} {row['p50']:.0f} / {row['p99']:.0f} ({row['n']})"
            for producer, row in figures["relay_delay_ms"].items()
        ),
        "",
        f"requests of the mix: {figures['requests']} ({figures['hr_events_sent']} of them HR "
        f"events) in {figures['http_requests']} HTTP requests; "
        f"{figures['requests_ok']} answered 2xx in {figures['drive_seconds']:.1f} s",
        f"events published: {figures['events_published_during_drive']} while driving "
        f"({figures['events_per_s_during_drive']:.1f}/s), {figures['events_published']} in all; "
        f"every consumer done {figures['seconds_to_drain']:.1f} s after the start "
        f"= {through:.1f} events/s through the pipeline",
        "",
        f"CPU by process over {figures['cpu_window_seconds']:.1f} s (drive and drain):",
        f"{'process':<14} {'CPU s':>7} {'share':>6} {'ms/request':>11} {'ms/event':>9}",
    ]
    window = figures["cpu_window_seconds"]
    for name, seconds in sorted(figures["cpu_seconds"].items(), key=lambda kv: -kv[1]):
        lines.append(
            f"{name:<14} {seconds:>7.1f} {seconds / window:>6.0%} "
            f"{figures['cpu_ms_per_request'][name]:>11.2f} {figures['cpu_ms_per_event'][name]:>9.2f}"
        )
    commands = figures["database_commands"]
    lines.append(
        f"database commands per request of the mix (the lag watcher's {figures['lag_watch_commands']} "
        "finds left out): "
        + ", ".join(f"{name} {count / figures['requests']:.2f}" for name, count in commands.items())
    )
    database = next((n for n in figures["cpu_seconds"] if n in ("ferretdb", "mongod")), None)
    if database is not None:
        per_request = figures["cpu_ms_per_request"][database]
        lines.append(
            f"{database} CPU per request: {per_request:.1f} ms (issue 13's starting point: "
            f"{FERRETDB_MS_PER_REQUEST_BEFORE:.0f} ms; target at most "
            f"{FERRETDB_MS_PER_REQUEST_BEFORE / 5:.1f})"
        )
    ceiling = figures.get("ceiling") or {}
    bulk = ceiling.get("derived_pubsub_plus_upsert_bulk", CEILING_DERIVED)
    source = "this run" if ceiling else "docs/benchmarks.md, not measured in this run"
    if ceiling:
        lines += [
            "",
            f"ceiling of the same run (bench.ceiling, {args.ceiling_seconds:g} s a phase): "
            f"publish-and-consume {ceiling['pubsub_end_to_end']:.0f} events/s, upserts "
            f"{ceiling['upsert_concurrent']:.0f}/s concurrent, {ceiling['upsert_bulk']:.0f}/s "
            f"bulk; derived {ceiling['derived_pubsub_plus_upsert_concurrent']:.0f} (concurrent) "
            f"and {bulk:.0f} (bulk) events/s",
        ]
    lines += [
        "",
        f"target 1,000 business events/s: {'met' if through >= TARGET_EVENTS_PER_S else 'NOT met'}"
        f" ({through:.1f})",
        f"target p99 HR-to-reporting lag < 1 s: "
        f"{'met' if hr_p99 < TARGET_LAG_P99_S else 'NOT met'} ({hr_p99:.2f} s)",
        f"target half the derived bulk ceiling ({bulk / 2:.1f} of {bulk:.0f} events/s, {source}): "
        f"{'met' if through >= bulk / 2 else 'NOT met'} ({through:.1f})",
    ]
    worst = max(row["p99"] for row in figures["http"].values())
    lines.append(
        f"target every request kind p99 < {TARGET_HTTP_P99_MS:.0f} ms: "
        f"{'met' if worst < TARGET_HTTP_P99_MS else 'NOT met'} (worst {worst:.0f} ms)"
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load_scenario", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--rate", type=float, default=50, help="requests a second, all kinds")
    parser.add_argument("--seconds", type=float, default=20, help="how long to drive")
    parser.add_argument("--max-in-flight", type=int, default=64, help="open requests at most")
    parser.add_argument("--seed", type=int, default=7, help="order of the mix")
    parser.add_argument("--poll-ms", type=float, default=100, help="lag marker poll interval")
    parser.add_argument("--drain-seconds", type=float, default=90, help="longest wait after")
    parser.add_argument("--timeout", type=float, default=30, help="HTTP timeout per request")
    parser.add_argument(
        "--outbox-poll-seconds",
        type=float,
        default=None,
        help="the services' outbox relay poll (default: the services' own default)",
    )
    parser.add_argument(
        "--consumer-concurrency",
        type=int,
        default=None,
        help="aggregates each service's consumers apply at once (default: the services' own)",
    )
    parser.add_argument(
        "--hr-batch",
        type=int,
        default=1,
        help="HR events per webhook request: 1 sends each alone to /v1/hr/events, more "
        "gathers them in batches to /v1/hr/events/batch (at most 1,000)",
    )
    parser.add_argument(
        "--ceiling-seconds",
        type=float,
        default=5,
        help="seconds per phase of bench.ceiling run on the same servers after the scenario "
        "(0: skip it and hold the pipeline against the figure in docs/benchmarks.md)",
    )
    parser.add_argument(
        "--profile-dir",
        type=Path,
        default=None,
        help="run each service under cProfile, writing <service>-<pid>.prof here",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    if not 1 <= args.hr_batch <= 1000:
        parser.error("--hr-batch must be between 1 and 1000")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    extra_env = {f"{name.upper()}_LOG_LEVEL": "WARNING" for name, _ in SERVICES}
    if args.outbox_poll_seconds is not None:
        extra_env |= {
            f"{name.upper()}_OUTBOX_POLL_SECONDS": str(args.outbox_poll_seconds)
            for name, _ in SERVICES
        }
    if args.consumer_concurrency is not None:
        extra_env |= {
            f"{name.upper()}_CONSUMER_CONCURRENCY": str(args.consumer_concurrency)
            for name, _ in SERVICES
        }
    if args.profile_dir is not None:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
        extra_env[PROFILE_DIR_VARIABLE] = str(args.profile_dir.resolve())
    with tempfile.TemporaryDirectory(prefix="roundtable-load-") as tmp:
        config = SystemConfig(
            data_dir=Path(tmp),
            nats_port=free_port(),
            mongo_port=free_port(),
            issuer_port=free_port(),
            smtp_port=free_port(),
            mail_ui_port=free_port(),
            service_ports={name: free_port() for name, _ in SERVICES},
            extra_env=extra_env,
        )
        system = RunningSystem(config).start()
        try:
            figures = asyncio.run(scenario(system, args))
            if args.ceiling_seconds > 0:
                print("the ceiling, on the same servers", flush=True)
                figures["ceiling"] = asyncio.run(same_run_ceiling(system, args.ceiling_seconds))
            host = machine(system)
        finally:
            system.stop()
    figures["machine"] = host
    figures["settings"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    figures["command"] = "uv run python -m bench.load_scenario " + shlex.join(
        sys.argv[1:] if argv is None else list(argv)
    )
    figures["measured_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(table(figures, args))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"figures written to {args.json}")
    errors = sum(sum(row["errors"].values()) for row in figures["http"].values())
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
