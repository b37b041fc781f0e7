"""Test support: a running sessions service, a clock the test controls, enrollment's events.

A module of the dev package (not a conftest) so the sessions tests and the cross-service probes
import it; the sessions tests' conftest re-exports its fixtures.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.http import running_app
from roundtable_dev.testing.sealed import opened
from roundtable_shared.events.catalogue.enrollment import GroupFormed, GroupMember
from roundtable_shared.events.envelope import Envelope, EventData, new_envelope
from roundtable_shared.messaging.streams import stream_name
from roundtable_shared.storage.mongo import Database
from sessions.app import build_app
from sessions.settings import SessionsSettings

ENROLLMENT = "/roundtable/enrollment"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.03)


@dataclass
class World:
    client: httpx.AsyncClient
    clock: FakeClock
    issuer: DevIssuer
    nats: NatsClient
    namespace: str
    db: Database
    _tokens: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)

    def auth(self, employee_id: str, *roles: str) -> dict[str, str]:
        key = (employee_id, tuple(sorted(roles or ("participant",))))
        if key not in self._tokens:
            self._tokens[key] = self.issuer.mint(employee_id, list(key[1]))
        return {"Authorization": f"Bearer {self._tokens[key]}"}

    async def publish(
        self, data: EventData, *, subject: str, version: int, event_id: str | None = None
    ) -> Envelope:
        envelope = new_envelope(
            data, subject=subject, aggregate_version=version, source=ENROLLMENT, event_id=event_id
        )
        await self.redeliver(envelope)
        return envelope

    async def redeliver(self, envelope: Envelope, msg_id: str | None = None) -> None:
        """Publish an envelope; another msg id gets past JetStream's duplicate window."""
        await self.nats.jetstream().publish(
            self.namespace + envelope.type,
            envelope.to_json(),
            headers={"Nats-Msg-Id": msg_id or envelope.id},
        )

    async def group_at(self, group_id: str, version: int) -> dict[str, Any]:
        async def stored() -> dict[str, Any] | None:
            return await self.db["groups"].find_one({"_id": group_id, "version": version})

        found: dict[str, Any] = await eventually(stored, timeout=30)
        if not found:
            js = self.nats.jetstream()
            info = await js.stream_info(stream_name("enrollment", self.namespace))
            consumers = await js.consumers_info(stream_name("enrollment", self.namespace))
            print(
                "DEBUG",
                info.state,
                [
                    (c.name, c.num_pending, c.num_ack_pending, c.delivered, c.num_waiting)
                    for c in consumers
                ],
            )
            print("DEBUG groups", await self.db["groups"].find().to_list())
        assert found, f"group {group_id} never reached version {version}"
        return found

    async def form_group(
        self, group_id: str, members: list[str], *, version: int = 1, program_id: str = "prg_1"
    ) -> None:
        await self.publish(
            GroupFormed(
                group_id=group_id,
                program_id=program_id,
                name=f"Roundtable {group_id}",
                members=[member(e) for e in members],
                formed_at=datetime.now(UTC),
            ),
            subject=group_id,
            version=version,
        )
        await self.group_at(group_id, version)

    async def events(
        self, event_type: str | None = None, *, sealed: bool = False
    ) -> list[dict[str, Any]]:
        """What the service published to its stream, once its outbox relay sent it; opened as
        a consumer sees it, or ``sealed``: as the stream holds it."""
        js = self.nats.jetstream()
        stream = stream_name("sessions", self.namespace)
        try:
            count = (await js.stream_info(stream)).state.messages
        except Exception:
            return []
        found = [
            json.loads((await js.get_msg(stream, seq=n + 1)).data or b"{}") for n in range(count)
        ]
        if sealed:
            return [e for e in found if event_type is None or e["type"] == event_type]
        envelopes = [Envelope.model_validate(e) for e in found]
        return [
            e.model_dump(mode="json")
            for e in await opened(self.nats, self.namespace, envelopes)
            if event_type is None or e.type == event_type
        ]

    async def wait_events(self, event_type: str, count: int = 1) -> list[dict[str, Any]]:
        async def enough() -> list[dict[str, Any]] | None:
            found = await self.events(event_type)
            return found if len(found) >= count else None

        found: list[dict[str, Any]] = await eventually(enough)
        if not found:
            print("DEBUG events", [e["type"] for e in await self.events()])
            print(
                "DEBUG pending",
                await self.db["sessions"]
                .find({}, {"outbox_pending": 1, "outbox_rev": 1, "version": 1, "status": 1})
                .to_list(),
            )
        assert found, f"fewer than {count} {event_type} events were published"
        return found

    # --- shortcuts for tests of later steps --------------------------------------------------

    async def schedule(
        self, group_id: str, by: str, *, in_days: float = 1, **body: Any
    ) -> dict[str, Any]:
        starts = self.clock.now + timedelta(days=in_days)
        payload = {
            "starts_at": starts.isoformat(),
            "time_zone": "Europe/Berlin",
            "duration_minutes": 60,
            "agenda": "Hot seats for Ada and Grace",
            **body,
        }
        response = await self.client.post(
            f"/v1/groups/{group_id}/sessions", json=payload, headers=self.auth(by)
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def held_session(self, group_id: str, by: str, attendees: list[str]) -> dict[str, Any]:
        session = await self.schedule(group_id, by)
        self.clock.advance(days=2)
        response = await self.client.post(
            f"/v1/sessions/{session['id']}/record",
            json={
                "attendee_ids": attendees,
                "hot_seats": [
                    {
                        **HOT_SEAT,
                        "suggestions": [s for s in HOT_SEAT["suggestions"] if s["by"] in attendees],
                    }
                ],
            },
            headers=self.auth(by),
        )
        assert response.status_code == 201, response.text
        return session


HOT_SEAT: dict[str, Any] = {
    "employee_id": "e-2",
    "challenge": "SECRET-CHALLENGE: my peer escalates around me",
    "desired_results": "SECRET-RESULTS",
    "obstacles": ["SECRET-OBSTACLE"],
    "helpful_questions": ["SECRET-QUESTION?"],
    "suggestions": [{"by": "e-3", "text": "SECRET-SUGGESTION"}],
    "reflection": "SECRET-REFLECTION",
}


def member(employee_id: str) -> GroupMember:
    return GroupMember(
        employee_id=employee_id,
        participant_id=f"par-{employee_id}",
        display_name=f"Name {employee_id}",
    )


@pytest.fixture
async def world(
    make_settings: Callable[..., SessionsSettings],
    dev_issuer: DevIssuer,
    nats_client: NatsClient,
    namespace: str,
) -> AsyncIterator[World]:
    clock = FakeClock()
    app = build_app(make_settings(SessionsSettings), clock=clock)
    async with running_app(app) as client:
        yield World(client, clock, dev_issuer, nats_client, namespace, app.state.runtime.db)
        await app.state.runtime.mongo.drop_database(app.state.runtime.db.name)


@pytest.fixture
async def group_world(world: World) -> World:
    """A roundtable g-1 of e-1, e-2, e-3; e-9 is in another group g-2."""
    await world.form_group("g-1", ["e-1", "e-2", "e-3"])
    await world.form_group("g-2", ["e-9", "e-8"])
    return world


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body
