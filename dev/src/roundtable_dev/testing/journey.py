"""What the whole-system journeys share: the running system, callers, the mail catcher, HR.

The journeys (tests/test_journey*.py) drive the four services as separate processes on real NATS
JetStream and a real MongoDB-wire server, only over HTTP and SMTP, as a company's systems would.
"""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from pymongo import MongoClient

from roundtable_dev.local.servers import free_port
from roundtable_dev.local.supervisor import (
    SERVICES,
    RunningSystem,
    SystemConfig,
    dev_webhook_secret,
)
from roundtable_shared.auth.webhooks import sign

T = TypeVar("T")

# Eight people HR hires, in time zones whose working days overlap enough to be matched.
PEOPLE: list[dict[str, str]] = [
    {"id": "e-2001", "name": "Ada Lovelace", "level": "L5", "dept": "Engineering",
     "tz": "Europe/Berlin", "loc": "Berlin"},
    {"id": "e-2002", "name": "Grace Hopper", "level": "L5", "dept": "Operations",
     "tz": "Europe/London", "loc": "London"},
    {"id": "e-2003", "name": "Katherine Johnson", "level": "L4", "dept": "Finance",
     "tz": "Asia/Dubai", "loc": "Dubai"},
    {"id": "e-2004", "name": "Margaret Hamilton", "level": "L4", "dept": "Engineering",
     "tz": "Europe/Lisbon", "loc": "Lisbon"},
    {"id": "e-2005", "name": "Barbara Liskov", "level": "L5", "dept": "Sales",
     "tz": "Africa/Nairobi", "loc": "Nairobi"},
    {"id": "e-2006", "name": "Frances Allen", "level": "L4", "dept": "Marketing",
     "tz": "Europe/Helsinki", "loc": "Helsinki"},
    {"id": "e-2007", "name": "Radia Perlman", "level": "L5", "dept": "People",
     "tz": "Europe/Madrid", "loc": "Madrid"},
    {"id": "e-2008", "name": "Hedy Lamarr", "level": "L4", "dept": "Legal",
     "tz": "Asia/Kolkata", "loc": "Bengaluru"},
]  # fmt: skip
SPONSOR = {"id": "e-0042", "name": "Sam Sponsor", "level": "L8", "dept": "Executive",
           "tz": "Europe/Berlin", "loc": "Berlin"}  # fmt: skip
ADMIN_ID = "e-0007"


def email_of(person: dict[str, str]) -> str:
    return f"{person['id']}@roundtable.example"


# --- waiting --------------------------------------------------------------------------------------


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 0.25) -> T:
    """``probe()`` until it gives something truthy; fail with ``what`` and the last answer."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            answer = probe()
        except (httpx.HTTPError, AssertionError, KeyError, ValueError) as exc:
            last = exc
        else:
            if answer:
                return answer
            last = answer
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last seen: {last!r}")
        time.sleep(every)


def ok(response: httpx.Response, *statuses: int) -> Any:
    expected = statuses or (200,)
    assert response.status_code in expected, (
        f"{response.request.method} {response.request.url} -> {response.status_code}: "
        f"{response.text[:2000]}"
    )
    return response.json() if response.content else None


# --- the system -----------------------------------------------------------------------------------


def running_system(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[RunningSystem]:
    """The whole system on free ports, tuned so events move quickly; stopped when done.

    For a module-scoped fixture: ``yield from running_system(tmp_path_factory, "journey")``.
    """
    fast = {
        # events move quickly and an idle reminders worker looks often
        **{f"{service.upper()}_OUTBOX_POLL_SECONDS": "0.1" for service, _ in SERVICES},
        "REMINDERS_WORKER_POLL_SECONDS": "0.2",
    }
    config = SystemConfig(
        data_dir=tmp_path_factory.mktemp(name),
        nats_port=free_port(),
        mongo_port=free_port(),
        issuer_port=free_port(),
        smtp_port=free_port(),
        mail_ui_port=free_port(),
        service_ports={service: free_port() for service, _ in SERVICES},
        extra_env=fast,
    )
    running = RunningSystem(config).start()
    try:
        yield running
    finally:
        running.stop()


def reporting_counted(system: RunningSystem, program_id: str) -> dict[str, Any]:
    """What reporting's read model counted for a program, read from its database: the totals
    document (``c`` counters by family, ``due`` and ``met`` buckets, ``groups_active``).

    Sponsors never see these: every figure served is released in steps of k
    (docs/disclosure.md), so a whole-system test checks the pipeline's exact counts here and
    the sponsor's released figures through the API.
    """
    name = f"{system.config.namespace.replace('.', '_')}roundtable_reporting"
    client: MongoClient[dict[str, Any]] = MongoClient(system.servers.mongodb_uri)
    try:
        db = client[name]
        meta = db["reporting_meta"].find_one({"_id": "generation"})
        generation = str(meta["current"]) if meta else "g1"
        return db[f"{generation}_totals"].find_one({"_id": program_id}) or {}
    finally:
        client.close()


def released(n: int, k: int = 5) -> int:
    """A count as sponsors see it: to the nearest multiple of k, halves up (docs/disclosure.md,
    rule 1), said here again in the tests' own words."""
    return (2 * n + k) // (2 * k) * k


def counted_figure(totals: dict[str, Any], path: str) -> int:
    """``participants.enrolled`` -> the ``enrolled`` counter of family ``participants``."""
    family, name = path.split(".")
    return int((totals.get("c") or {}).get(family, {}).get(name, 0))


class Api:
    """One client per caller: a base URL per service and the caller's bearer token."""

    def __init__(self, system: RunningSystem, token: str | None = None) -> None:
        self.ports = system.config.service_ports
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(headers=headers, timeout=10.0)

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    def get(self, service: str, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(self.url(service, path), **kw)

    def post(self, service: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.client.post(self.url(service, path), json=body, **kw)


class MailCatcher:
    """The reminders' mail catcher, read over its web page (newest first: date, to, subject)."""

    ROW = re.compile(
        r"<tr><td>(?P<date>.*?)</td><td>(?P<to>.*?)</td>"
        r"<td><a href='/messages/(?P<name>[^']+)'>(?P<subject>.*?)</a></td></tr>"
    )

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def messages(self) -> list[dict[str, str]]:
        page = httpx.get(self.base + "/", timeout=5.0).text
        return [
            {k: html.unescape(v) for k, v in m.groupdict().items()} for m in self.ROW.finditer(page)
        ]

    def body(self, name: str) -> str:
        return httpx.get(f"{self.base}/messages/{name}", timeout=5.0).text

    def to(self, address: str, subject: str) -> list[dict[str, str]]:
        return [m for m in self.messages() if address in m["to"] and m["subject"] == subject]


# --- HR -------------------------------------------------------------------------------------------


def hr_event(
    system: RunningSystem, payload: dict[str, Any], port: int | None = None
) -> dict[str, Any]:
    """A signed HR webhook, to the enrollment process on ``port`` (default: the first one)."""
    body = json.dumps(payload).encode()
    secret = dev_webhook_secret(system.config.data_dir)
    port = port or system.config.service_ports["enrollment"]
    response = httpx.post(
        f"http://127.0.0.1:{port}/v1/hr/events",
        content=body,
        headers={"Content-Type": "application/json", **sign(secret, body)},
        timeout=10.0,
    )
    result: dict[str, Any] = ok(response)
    return result


def hire(
    system: RunningSystem, person: dict[str, str], at: datetime, port: int | None = None
) -> None:
    result = hr_event(
        system,
        {
            "event_id": f"hr-hire-{person['id']}-{uuid.uuid4().hex[:6]}",
            "type": "employee.hired",
            "employee_id": person["id"],
            "effective_at": at.isoformat(),
            "employee": {
                "display_name": person["name"],
                "email": email_of(person),
                "title": "Engineering Manager",
                "level": person["level"],
                "department": person["dept"],
                "location": person["loc"],
                "time_zone": person["tz"],
                "hire_date": (at.date() - timedelta(days=400)).isoformat(),
            },
        },
        port,
    )
    assert result["outcome"] == "applied", result


# --- programs -------------------------------------------------------------------------------------


def open_roundtable_program(
    admin: Api, name: str, sponsor_id: str, levels: list[str], **settings: Any
) -> str:
    """An admin creates a biweekly roundtable program (3 to 4 peers) and opens it; its id."""
    program = ok(
        admin.post(
            "enrollment",
            "/v1/programs",
            {
                "name": name,
                "description": f"{name}, for a whole-system test.",
                "sponsor_ids": [sponsor_id],
                "format": "roundtable",
                "group_size_min": 3,
                "group_size_max": 4,
                "eligibility": {"levels": levels},
                "cadence": "biweekly",
                "session_duration_minutes": 60,
                "time_zone": "Europe/Berlin",
                **settings,
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ),
        201,
    )
    program_id = str(program["program_id"])
    ok(admin.post("enrollment", f"/v1/programs/{program_id}/open"))
    return program_id
