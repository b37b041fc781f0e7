"""HTTP benchmark of the sessions service: p50/p95/p99 of reads and writes at a fixed request rate.

Run: ``uv run python -m bench.sessions_http [--rate 200] [--seconds 30] [--groups 20]``.

The service runs as its own uvicorn process (``python -m sessions``) on 127.0.0.1, against
nats-server and the MongoDB-wire server started in a temporary folder (or ``NATS_URL`` and
``MONGODB_URI`` when set), with a dev token issuer serving its JWKS. Groups arrive the way they do
in production, as enrollment's ``group.formed`` events on JetStream. Then an open-loop driver
starts ``--rate`` requests a second (bounded to ``--max-in-flight`` at once, so an overloaded
service shows as latency, not as an unbounded queue): reads (a session, a group's sessions page,
my private notes, my action steps) and writes (schedule with an Idempotency-Key, reschedule with
If-Match, a private note), about 70 % reads. Latency is measured from the moment a request was due,
so a driver that falls behind counts against the service, not in its favour.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nats

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.local.servers import LocalServers
from roundtable_dev.testing.http import listening_socket, serve_in_thread
from roundtable_shared.events.catalogue.enrollment import GroupFormed, GroupMember
from roundtable_shared.events.envelope import new_envelope
from roundtable_shared.messaging.streams import declare_stream, stream_config

try:
    import sniffio  # noqa: F401
except ImportError:
    # httpcore asks sniffio which event loop runs on every lock it makes, several a request;
    # without sniffio installed each ask is a failed import that searches sys.path (66 us). The
    # driver shares the two cores with what it measures: None here fails the import at once.
    sys.modules["sniffio"] = None  # type: ignore[assignment]

NAMESPACE = "bench."
POOLS = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far; 0 where /proc is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def publish_groups(nats_url: str, groups: int) -> None:
    client = await nats.connect(nats_url)
    js = client.jetstream()
    await declare_stream(js, stream_config("enrollment", NAMESPACE))
    for g in range(groups):
        members = [
            GroupMember(employee_id=f"e-{g}-{m}", participant_id=f"p-{g}-{m}", display_name=f"M{m}")
            for m in range(4)
        ]
        data = GroupFormed(
            group_id=f"g-{g}",
            program_id="prg-bench",
            name=f"Roundtable {g}",
            members=members,
            formed_at=datetime.now(UTC),
        )
        envelope = new_envelope(
            data, subject=f"g-{g}", aggregate_version=1, source="/roundtable/enrollment"
        )
        await js.publish(
            NAMESPACE + envelope.type, envelope.to_json(), headers={"Nats-Msg-Id": envelope.id}
        )
    await client.drain()


async def run(
    args: argparse.Namespace, base: str, issuer: DevIssuer, processes: dict[str, int]
) -> dict[str, list[float]]:
    tokens = {
        (g, m): issuer.mint(f"e-{g}-{m}", ["participant"], ttl_seconds=3600)
        for g in range(args.groups)
        for m in range(4)
    }

    def auth(g: int, m: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[(g, m)]}"}

    # Several small connection pools instead of one of --max-in-flight: httpcore looks at every
    # connection of its pool on each request, so once a burst has opened all 64 the driver's CPU
    # per request tripled and stayed so (its cores are the service's), turning a hiccup into a
    # collapse. Each request goes to the pool with the fewest in flight.
    pools = POOLS
    per_pool = -(-args.max_in_flight // pools)
    limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base, limits=limits, timeout=10)
            )
            for _ in range(pools)
        ]
        busy = [0] * pools
        client = clients[0]  # for the seeding below
        # Wait for the consumer to copy the last group, then seed sessions to read and reschedule.
        deadline = time.monotonic() + 60
        last = args.groups - 1
        while (
            await client.get(f"/v1/groups/g-{last}/sessions", headers=auth(last, 0))
        ).status_code != 200:
            assert time.monotonic() < deadline, "the groups never arrived"
            await asyncio.sleep(0.2)
        sessions: dict[int, list[tuple[str, int]]] = {g: [] for g in range(args.groups)}

        def plan(days: float) -> dict[str, object]:
            start = datetime.now(UTC) + timedelta(days=days)
            return {
                "starts_at": start.isoformat(),
                "time_zone": "Europe/Berlin",
                "duration_minutes": 60,
                "agenda": "bench",
            }

        for g in range(args.groups):
            for n in range(3):
                r = await client.post(
                    f"/v1/groups/g-{g}/sessions", json=plan(n + 1), headers=auth(g, 0)
                )
                r.raise_for_status()
                sessions[g].append((r.json()["id"], r.json()["version"]))

        latencies: dict[str, list[float]] = {"read": [], "write": []}
        by_request: dict[str, list[float]] = {}  # "read session", ...: which request is slow
        errors: dict[str, int] = {}

        async def timed(
            kind: str, due: float, call: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]
        ) -> None:
            pool = busy.index(min(busy))
            busy[pool] += 1
            try:
                response = await call(clients[pool])
                ok = response.status_code < 400 or response.status_code == 412
                if not ok:
                    errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            finally:
                busy[pool] -= 1
            took = (time.perf_counter() - due) * 1000
            latencies[kind.split()[0]].append(took)
            by_request.setdefault(kind, []).append(took)

        def request() -> tuple[str, Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]]:
            g, m = random.randrange(args.groups), random.randrange(4)
            session_id, _version = random.choice(sessions[g])
            roll = random.random()
            if roll < 0.30:
                return "read session", lambda client: client.get(
                    f"/v1/sessions/{session_id}", headers=auth(g, m)
                )
            if roll < 0.50:
                return "read group's sessions", lambda client: client.get(
                    f"/v1/groups/g-{g}/sessions?limit=20", headers=auth(g, m)
                )
            if roll < 0.60:
                return "read my private notes", lambda client: client.get(
                    f"/v1/sessions/{session_id}/private-notes", headers=auth(g, m)
                )
            if roll < 0.70:
                return "read my action steps", lambda client: client.get(
                    "/v1/me/action-steps", headers=auth(g, m)
                )
            if roll < 0.80:
                key = uuid.uuid4().hex
                return "write schedule", lambda client: client.post(
                    f"/v1/groups/g-{g}/sessions",
                    json=plan(random.uniform(1, 60)),
                    headers={**auth(g, m), "Idempotency-Key": key},
                )
            if roll < 0.90:
                return "write private note", lambda client: client.post(
                    f"/v1/sessions/{session_id}/private-notes",
                    json={"text": "bench note"},
                    headers=auth(g, m),
                )

            async def reschedule(client: httpx.AsyncClient) -> httpx.Response:
                current = dict(sessions[g])[session_id]
                r = await client.patch(
                    f"/v1/sessions/{session_id}",
                    json={"location": f"Room {random.randrange(99)}"},
                    headers={**auth(g, m), "If-Match": f'"{current}"'},
                )
                if r.status_code == 200:
                    sessions[g] = [
                        (s, r.json()["version"] if s == session_id else v) for s, v in sessions[g]
                    ]
                return r

            return "write reschedule", reschedule

        # CPU time is what the run costs whatever else the machine runs: latency is not.
        cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
        in_flight = asyncio.Semaphore(args.max_in_flight)
        tasks: set[asyncio.Task[None]] = set()
        interval = 1 / args.rate
        start = time.perf_counter()
        total = int(args.rate * args.seconds)
        for n in range(total):
            due = start + n * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            kind, call = request()

            async def one(
                kind: str = kind,
                due: float = due,
                call: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]] = call,
            ) -> None:
                async with in_flight:
                    await timed(kind, due, call)

            task = asyncio.create_task(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in processes.items()}
        print(
            "CPU per request: "
            + ", ".join(f"{name} {seconds / total * 1000:.2f} ms" for name, seconds in cpu.items())
        )
        print(
            f"sent {total} requests in {elapsed:.1f} s ({total / elapsed:.0f}/s); errors: {errors or 'none'}"
        )
        return latencies | by_request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--max-in-flight", type=int, default=64)
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="run the service under cProfile and write its stats to this file (for pstats)",
    )
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="roundtable-sessions-bench-") as tmp,
        LocalServers(Path(tmp), nats_namespace=None) as servers,  # a namespace per run
    ):
        sock = listening_socket()
        issuer = DevIssuer(Path(tmp) / "issuer", f"http://127.0.0.1:{sock.getsockname()[1]}")
        with serve_in_thread(issuer.jwks_app(), sock):
            asyncio.run(publish_groups(servers.nats_url, args.groups))
            port = free_port()
            env = {
                **os.environ,
                "SESSIONS_MONGODB_URI": servers.mongodb_uri,
                **servers.service_nats_env("sessions"),  # its own NATS user
                "SESSIONS_NAMESPACE": NAMESPACE,
                "SESSIONS_HTTP_PORT": str(port),
                "SESSIONS_JWKS_URL": issuer.jwks_uri,
                "SESSIONS_JWT_ISSUER": issuer.issuer_url,
                "SESSIONS_LOG_LEVEL": "WARNING",
            }
            profiler = ["-m", "cProfile", "-o", str(args.profile)] if args.profile else []
            service = subprocess.Popen([sys.executable, *profiler, "-m", "sessions"], env=env)
            try:
                base = f"http://127.0.0.1:{port}"
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    assert time.monotonic() < deadline and service.poll() is None, (
                        "service did not start"
                    )
                    time.sleep(0.2)
                load_before = os.getloadavg()[0]
                # the driver too: it shares the cores with what it measures
                processes = {"service": service.pid, "driver": os.getpid()}
                if servers.mongo.managed is not None:
                    processes[servers.mongo.kind or "database"] = servers.mongo.managed.process.pid
                if servers.nats.managed is not None:
                    processes["nats-server"] = servers.nats.managed.process.pid
                latencies = asyncio.run(run(args, base, issuer, processes))
                load_after = os.getloadavg()[0]
            finally:
                # uvicorn re-raises the signal it stopped on; under cProfile, SIGINT's
                # KeyboardInterrupt still lets the profiler write its stats, SIGTERM would not.
                service.send_signal(signal.SIGINT if args.profile else signal.SIGTERM)
                try:
                    service.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    service.kill()
                    service.wait()
    print(
        f"sessions HTTP benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, rate {args.rate:.0f}/s for {args.seconds:.0f} s"
    )
    # The machine is shared: other work running at the same time shows here, and in the figures.
    print(f"load average (1 min): {load_before:.1f} before the run, {load_after:.1f} after it")
    targets = {"read": 20.0, "write": 50.0}
    for kind, target in targets.items():
        p50, p95, p99 = (percentile(latencies[kind], p) for p in (50, 95, 99))
        verdict = "meets" if p99 < target else "MISSES"
        print(
            f"{kind:5}  n={len(latencies[kind]):5}  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
            f"  p99 {p99:6.1f} ms  ({verdict} p99 < {target:.0f} ms)"
        )
    for request in sorted(latencies.keys() - targets.keys()):
        values = latencies[request]
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(f"  {request:24} n={len(values):5}  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")


if __name__ == "__main__":
    main()
