"""Helpers for tests of the enrollment service (and of the services consuming its events)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from nats.aio.client import Client as NatsClient

from roundtable_dev.testing.sealed import opened
from roundtable_shared.auth import sign
from roundtable_shared.events.envelope import Envelope
from roundtable_shared.messaging.streams import stream_name

HR_SECRET = "test-hr-secret"


def signed(body: dict[str, Any] | bytes, secret: str = HR_SECRET) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return raw, {**sign(secret, raw), "Content-Type": "application/json"}


async def send_hr(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    raw, headers = signed(body)
    return await client.post("/v1/hr/events", content=raw, headers=headers)


def hired(
    employee_id: str,
    event_id: str | None = None,
    at: str = "2026-01-01T00:00:00Z",
    **profile: Any,
) -> dict[str, Any]:
    return {
        "event_id": event_id or f"hire-{employee_id}",
        "type": "employee.hired",
        "employee_id": employee_id,
        "effective_at": at,
        "employee": {
            "display_name": f"Name {employee_id}",
            "email": f"{employee_id}@example.com",
            "time_zone": "Europe/Berlin",
            "level": "L5",
            "department": "Engineering",
            "location": "Berlin",
            "hire_date": "2020-01-01",
            **profile,
        },
    }


async def enrollment_events(
    nats_client: NatsClient, namespace: str, at_least: int, wait_seconds: float = 10.0
) -> list[Envelope]:
    """Every event in this test's enrollment stream, once at least ``at_least`` are there."""
    js = nats_client.jetstream()
    stream = stream_name("enrollment", namespace)
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        info = await js.stream_info(stream)
        if info.state.messages >= at_least or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    envelopes = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(stream, seq)
        assert message.data is not None
        envelopes.append(Envelope.from_json(message.data))
    return await opened(nats_client, namespace, envelopes)


async def open_program(client: httpx.AsyncClient, admin: dict[str, str], **settings: Any) -> str:
    """A program created and opened for enrolment; returns its id."""
    body = {"name": "Test program", "group_size_min": 3, "group_size_max": 5, **settings}
    created = await client.post("/v1/programs", json=body, headers=admin)
    assert created.status_code == 201, created.text
    program_id = str(created.json()["program_id"])
    opened = await client.post(f"/v1/programs/{program_id}/open", headers=admin)
    assert opened.status_code == 200, opened.text
    return program_id


async def match_program(
    client: httpx.AsyncClient, admin: dict[str, str], program_id: str
) -> list[str]:
    """The program's enrolled participants matched and the groups published; their ids."""
    path = f"/v1/programs/{program_id}/matching/previews"
    preview = await client.post(path, headers=admin)
    assert preview.status_code == 201, preview.text
    publish = f"{path}/{preview.json()['proposal_id']}/publish"
    published = await client.post(publish, headers=admin)
    assert published.status_code == 200, published.text
    return [str(g) for g in published.json()["published_group_ids"]]


async def wait_for(check: Any, wait_seconds: float = 10.0) -> None:
    """Poll an async predicate until it holds (for effects of event consumers)."""
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)
