"""Helpers of the reminders tests: publish producers' events, start the service, wait for effects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from nats.aio.client import Client as NatsClient

from reminders.app import build_app
from reminders.settings import RemindersSettings
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.http import running_app
from roundtable_shared.clock import Clock, utc_now
from roundtable_shared.events.catalogue import enrollment as en
from roundtable_shared.events.catalogue.enrollment import EmployeeUpserted, EmploymentStatus
from roundtable_shared.events.catalogue.sessions import SessionScheduled
from roundtable_shared.events.envelope import Envelope, EventData, new_envelope, service_of
from roundtable_shared.messaging.streams import stream_name
from roundtable_shared.storage.mongo import Database

T = TypeVar("T")

PROBLEM_JSON = "application/problem+json"


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class World:
    nats: NatsClient
    namespace: str
    settings: RemindersSettings
    issuer: DevIssuer
    client: httpx.AsyncClient
    db: Database
    app: FastAPI | None = None
    """The app under test, for a test that injects a clock into one of its services."""

    async def publish(
        self, data: EventData, *, subject: str, version: int = 1, event_id: str | None = None
    ) -> Envelope:
        envelope = new_envelope(
            data,
            subject=subject,
            aggregate_version=version,
            source=f"/roundtable/{service_of(data.event_type)}",  # as its producer would
            event_id=event_id,
        )
        await self.nats.jetstream().publish(
            self.namespace + envelope.type,
            envelope.to_json(),
            headers={"Nats-Msg-Id": envelope.id},
        )
        return envelope

    async def employee(
        self, employee_id: str, *, time_zone: str = "Europe/Berlin", version: int = 1
    ) -> None:
        await self.publish(
            EmployeeUpserted(
                employee_id=employee_id,
                display_name=f"Person {employee_id}",
                email=f"{employee_id}@example.com",
                time_zone=time_zone,
                employment_status=EmploymentStatus.ACTIVE,
                updated_at=now(),
            ),
            subject=employee_id,
            version=version,
        )
        await self.until(lambda: self.db["recipients"].find_one({"_id": employee_id}))

    async def session(
        self,
        session_id: str,
        attendees: list[str],
        starts_at: datetime,
        *,
        version: int = 1,
    ) -> Envelope:
        return await self.publish(
            SessionScheduled(
                session_id=session_id,
                group_id="grp_1",
                program_id="prg_1",
                title="Roundtable 1: session 1",
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=1),
                time_zone="Europe/Berlin",
                attendee_ids=attendees,
                join_url="https://meet.example.com/abc",
            ),
            subject=session_id,
            version=version,
        )

    async def reminders(self, **query: Any) -> list[dict[str, Any]]:
        return await self.db["reminders"].find(query).to_list()

    async def until(
        self, probe: Callable[[], Awaitable[T]], timeout: float = 15.0, every: float = 0.05
    ) -> T:
        """The first truthy answer of ``probe``; fails the test after ``timeout`` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await probe()
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not met after {timeout}s (last: {value!r})")
            await asyncio.sleep(every)

    async def events(self, event_type: str) -> list[Envelope]:
        """Every event of that type in the reminders stream."""
        js = self.nats.jetstream()
        stream = stream_name("reminders", self.namespace)
        try:
            info = await js.stream_info(stream)
        except Exception:
            return []
        found = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await js.get_msg(stream, seq)
            except Exception:
                continue
            envelope = Envelope.model_validate(json.loads(msg.data or b"{}"))
            if envelope.type == event_type:
                found.append(envelope)
        return found

    def token(self, employee_id: str, *roles: str) -> dict[str, str]:
        token = self.issuer.mint(employee_id, roles or ("participant",))
        return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def reminders_world(
    make_settings: Callable[..., Any],
    nats_client: NatsClient,
    namespace: str,
    dev_issuer: DevIssuer,
    *,
    clock: Clock = utc_now,
    **overrides: Any,
) -> AsyncIterator[World]:
    values: dict[str, Any] = {
        "worker_poll_seconds": 0.1,
        "retry_base_seconds": 0.3,
        "retry_max_seconds": 1.0,
        "max_attempts": 3,
        "webhook_loopback_for_tests": True,
        "lease_seconds": 5.0,
        **overrides,
    }
    settings: RemindersSettings = make_settings(RemindersSettings, **values)
    app = build_app(settings, clock=clock)
    async with running_app(app) as client:
        yield World(
            nats=nats_client,
            namespace=namespace,
            settings=settings,
            issuer=dev_issuer,
            client=client,
            db=app.state.runtime.db,
            app=app,
        )


async def program(w: World, program_id: str) -> None:
    """Tell reminders a program exists (a pairs program with default reminder timings)."""
    await w.publish(
        en.ProgramCreated(
            program_id=program_id,
            name=f"Program {program_id}",
            status=en.ProgramStatus.OPEN,
            format=en.ProgramFormat.PAIRS,
            group_size_min=2,
            group_size_max=2,
            cadence=en.Cadence.BIWEEKLY,
            session_duration_minutes=60,
            time_zone="Europe/Berlin",
            sponsor_ids=["emp_sponsor"],
            reminders=en.ReminderSettings(
                before_session_minutes=[60], before_action_due_hours=[24]
            ),
            created_at=now() - timedelta(days=1),
        ),
        subject=program_id,
    )
    await w.until(lambda: w.db["source_copies"].find_one({"_id": f"program:{program_id}"}))


async def enrol(w: World, employee_id: str, program_id: str = "prg_1") -> None:
    await w.publish(
        en.ParticipantEnrolled(
            participant_id=f"par_{program_id}_{employee_id}",
            program_id=program_id,
            employee_id=employee_id,
            consent_to_reporting=False,
            enrolled_at=now(),
        ),
        subject=f"par_{program_id}_{employee_id}",
    )


def text_of(message: Message) -> str:
    parts: Any = message.get_payload()
    return str(parts[0].get_payload(decode=True).decode())


def html_of(message: Message) -> str:
    parts: Any = message.get_payload()
    return str(parts[1].get_payload(decode=True).decode())
