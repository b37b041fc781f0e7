"""NATS refuses who has no user, and each service's user does only what that service does.

A nats-server of its own per test, configured as ``roundtable up`` configures the local one:
each user's permissions name this test's namespace, its streams and its consumers exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
from nats.aio.client import Client as NatsClient

from roundtable_dev.local.nats_auth import NatsCredentials
from roundtable_dev.local.servers import NatsServer
from roundtable_shared.events.catalogue.enrollment import EmployeeErased
from roundtable_shared.events.envelope import Envelope, EventData, new_envelope
from roundtable_shared.messaging.consumer import EventConsumer
from roundtable_shared.messaging.outbox import new_document_outbox
from roundtable_shared.messaging.permissions import (
    ADMIN_USER,
    SUPPORT_USER,
    declared_streams,
    inbox_prefix,
)
from roundtable_shared.messaging.streams import (
    dead_letter_config,
    dead_letter_stream,
    declare_stream,
    stream_config,
    stream_name,
)
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings

ERASED = "roundtable.enrollment.employee.erased"


class AuthServer:
    def __init__(self, server: NatsServer, credentials: NatsCredentials) -> None:
        self.server = server
        self.credentials = credentials
        self.errors: list[str] = []

    async def connect(self, user: str, **options: Any) -> NatsClient:
        async def record(error: Exception) -> None:
            self.errors.append(str(error))

        return await nats.connect(
            self.server.url,
            user=user,
            password=self.credentials.password(user),
            inbox_prefix=options.pop("inbox_prefix", inbox_prefix(user)),
            error_cb=record,
            allow_reconnect=False,
            **options,
        )

    def settings(self, make_settings: Callable[..., ServiceSettings], service: str) -> Any:
        return make_settings(
            ServiceSettings,
            service_name=service,
            nats_url=self.server.url,
            nats_user=service,
            nats_password=self.credentials.password(service),
        )


@pytest.fixture
def auth_server(tmp_path: Path, namespace: str) -> AsyncIterator[AuthServer]:
    credentials = NatsCredentials.load_or_create(tmp_path)
    server = NatsServer(tmp_path, credentials=credentials, namespace=namespace).start()
    try:
        yield AuthServer(server, credentials)  # type: ignore[misc]
    finally:
        server.stop()


@pytest.fixture
async def admin(auth_server: AuthServer, namespace: str) -> AsyncIterator[NatsClient]:
    client = await auth_server.connect(ADMIN_USER, inbox_prefix="_INBOX")
    js = client.jetstream()
    for producer in ("enrollment", "sessions", "reminders"):
        await declare_stream(js, stream_config(producer, namespace))
    await declare_stream(js, dead_letter_config(namespace))
    try:
        yield client
    finally:
        await client.close()


def erased(employee_id: str, source: str = "/roundtable/enrollment") -> Envelope:
    data = EmployeeErased(employee_id=employee_id, erased_at=datetime.now(UTC))
    return new_envelope(data, subject=employee_id, aggregate_version=2, source=source)


async def messages(admin: NatsClient, stream: str) -> int:
    return int((await admin.jetstream().stream_info(stream)).state.messages)


async def test_a_connection_without_a_user_or_with_a_wrong_password_is_refused(
    auth_server: AuthServer,
) -> None:
    with pytest.raises(Exception, match=r"(?i)authorization"):
        await nats.connect(auth_server.server.url, allow_reconnect=False, max_reconnect_attempts=0)
    with pytest.raises(Exception, match=r"(?i)authorization"):
        await nats.connect(
            auth_server.server.url,
            user="sessions",
            password="guessed",
            allow_reconnect=False,
            max_reconnect_attempts=0,
        )
    client = await auth_server.connect("sessions")  # the right password gets in
    assert client.is_connected
    await client.close()


async def test_a_service_cannot_publish_another_services_events(
    auth_server: AuthServer, admin: NatsClient, namespace: str
) -> None:
    sessions = await auth_server.connect("sessions")
    js = sessions.jetstream(timeout=1.0)
    try:
        forged = erased("e-victim", source="/roundtable/enrollment")
        with pytest.raises(nats.errors.TimeoutError):  # the server drops it: no ack ever comes
            await js.publish(f"{namespace}{ERASED}", forged.to_json())
        await asyncio.sleep(0.2)
        assert any("permissions violation" in error.lower() for error in auth_server.errors)
        assert await messages(admin, stream_name("enrollment", namespace)) == 0

        # Nor may it change, empty or delete the stream it reads.
        enrollment_stream = stream_name("enrollment", namespace)
        for attempt in (
            js.purge_stream(enrollment_stream),
            js.delete_stream(enrollment_stream),
            js.update_stream(stream_config("enrollment", namespace)),
        ):
            with pytest.raises(nats.errors.TimeoutError):
                await attempt

        # Its own events it publishes: the refusal above is about whose subject it is.
        own = f"{namespace}roundtable.sessions.session.cancelled"
        await js.publish(own, b"{}")
        assert await messages(admin, stream_name("sessions", namespace)) == 1
    finally:
        await sessions.close()


async def test_a_service_cannot_read_another_services_replies(
    auth_server: AuthServer, admin: NatsClient
) -> None:
    reminders = await auth_server.connect("reminders")
    try:
        await reminders.subscribe("_INBOX_reporting.>")  # where reporting's fetches arrive
        await reminders.flush()
        await asyncio.sleep(0.2)
        assert any("permissions violation" in error.lower() for error in auth_server.errors)
    finally:
        await reminders.close()


async def test_services_work_on_their_own_users_and_a_forged_source_is_dead_lettered(
    auth_server: AuthServer,
    make_settings: Callable[..., ServiceSettings],
    admin: NatsClient,
    namespace: str,
) -> None:
    """The exact permissions suffice: a producer's relay publishes, a consumer of another
    service binds, fetches, acknowledges and dead-letters."""
    received: list[str] = []

    async def handle(envelope: Envelope, data: EventData) -> None:
        received.append(envelope.subject)

    enrollment = ServiceRuntime(
        auth_server.settings(make_settings, "enrollment"), outbox_collections=["employees"]
    )
    reminders = ServiceRuntime(auth_server.settings(make_settings, "reminders"))
    reminders.add_consumer(
        EventConsumer(
            name="reminders-enrollment", source_service="enrollment", handlers={ERASED: handle}
        )
    )
    await enrollment.start()
    await reminders.start()
    try:
        await enrollment.db["employees"].insert_one(
            {"_id": "e-1", **new_document_outbox([erased("e-1")])}
        )
        enrollment.relay.pending("employees", "e-1")
        forged = erased("e-2", source="/roundtable/sessions")
        await admin.jetstream().publish(
            f"{namespace}{ERASED}", forged.to_json(), headers={"Nats-Msg-Id": forged.id}
        )
        deadline = asyncio.get_running_loop().time() + 20
        dead = dead_letter_stream(namespace)
        while received != ["e-1"] or await messages(admin, dead) < 1:
            assert asyncio.get_running_loop().time() < deadline, (received, auth_server.errors)
            await asyncio.sleep(0.05)
        letter = await admin.jetstream().get_msg(dead, seq=1)
        assert (letter.headers or {})["Roundtable-Dead-Letter-Reason"].startswith("forged event")
        await asyncio.sleep(0.3)
        assert received == ["e-1"]  # the forged erasure was never applied
    finally:
        await reminders.stop()
        await enrollment.stop()


async def test_the_support_user_reads_and_changes_nothing(
    auth_server: AuthServer, admin: NatsClient, namespace: str
) -> None:
    event = erased("e-1")
    await admin.jetstream().publish(f"{namespace}{ERASED}", event.to_json())
    support = await auth_server.connect(SUPPORT_USER, inbox_prefix="_INBOX")
    js = support.jetstream(timeout=1.0)
    stream = stream_name("enrollment", namespace)
    try:
        assert (await js.stream_info(stream)).state.messages == 1
        assert (await js.get_msg(stream, seq=1)).data == event.to_json()
        for attempt in (
            js.publish(f"{namespace}{ERASED}", event.to_json()),
            js.purge_stream(stream),
            js.delete_msg(stream, 1),
        ):
            with pytest.raises(nats.errors.TimeoutError):
                await attempt
        assert await messages(admin, stream) == 1
    finally:
        await support.close()


def test_each_service_declares_its_own_stream_and_only_creates_those_it_reads() -> None:
    assert declared_streams("sessions") == {"enrollment": False, "sessions": True}
    assert declared_streams("reporting") == dict.fromkeys(
        ["enrollment", "reminders", "sessions"], False
    )


def test_each_producer_writes_its_own_key_bucket_and_every_service_reads_them_all() -> None:
    """Crypto-shredding keys (docs/erasure.md): a producer alone writes (and so shreds) its
    people's keys; the others may read them, and create the bucket when absent, as they do the
    streams they read, but never write or reconfigure it."""
    from roundtable_shared.messaging import permissions

    writer = permissions.grants("enrollment", "t1.").publish
    assert "$KV.t1_roundtable-keys-enrollment.>" in writer
    assert "$JS.API.STREAM.UPDATE.KV_t1_roundtable-keys-enrollment" in writer
    for reader_name in ("sessions", "reminders", "reporting"):
        reader = permissions.grants(reader_name, "t1.").publish
        assert "$JS.API.DIRECT.GET.KV_t1_roundtable-keys-enrollment.>" in reader
        assert "$JS.API.STREAM.CREATE.KV_t1_roundtable-keys-enrollment" in reader
        assert not any(
            s.startswith(("$KV.t1_roundtable-keys-enrollment", "$JS.API.STREAM.UPDATE.KV_t1_"))
            and "enrollment" in s
            for s in reader
        )
    assert not any(s.startswith("$KV.") for s in permissions.grants("reporting", "t1.").publish)
