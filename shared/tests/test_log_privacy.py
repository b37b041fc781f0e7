"""No log line carries personal data, conversation content or token material.

Each failure path that logs is provoked with marker strings in the request body, the handler's
locals, the bearer token, the event's data and the exception's message, and the JSON lines the
logging configuration of every service writes to stderr are searched for them. Each test also
finds the failure's own line, so a capture that saw nothing cannot pass.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI
from nats.aio.client import Client as NatsClient
from pydantic import BaseModel

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.http import listening_socket
from roundtable_shared.auth.dependencies import CurrentPrincipal
from roundtable_shared.events.catalogue.sessions import ActionCompleted
from roundtable_shared.events.envelope import Envelope, EventData, new_envelope
from roundtable_shared.http.app import create_app
from roundtable_shared.messaging.consumer import EventConsumer
from roundtable_shared.messaging.outbox import OutboxRelay, new_document_outbox
from roundtable_shared.messaging.publisher import JetStreamPublisher
from roundtable_shared.messaging.streams import dead_letter_stream
from roundtable_shared.observability.logging import configure_logging
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings
from roundtable_shared.storage.mongo import Database

NOTE = "MARKER-NOTE I am afraid my manager will read this"
EMAIL = "marker.person@example.com"
NAME = "Markerina Personfield"
ACTION_COMPLETED = "roundtable.sessions.action.completed"


def lines(captured: str) -> list[dict[str, Any]]:
    """Every line is one JSON object: nothing else (a plain traceback) reaches stderr."""
    return [json.loads(line) for line in captured.splitlines() if line.strip()]


def assert_absent(captured: str, *markers: str) -> None:
    for marker in markers:
        assert marker not in captured, f"{marker!r} was logged"


class StrictPerson(BaseModel):
    email: int  # fails on any email, and pydantic's message repeats the input


class NoteIn(BaseModel):
    text: str
    author_email: str


def router() -> APIRouter:
    r = APIRouter(prefix="/v1")

    @r.post("/notes")
    async def write_note(note: NoteIn, principal: CurrentPrincipal) -> None:
        held = {"text": note.text, "email": note.author_email, "who": principal.employee_id}
        raise RuntimeError(f"could not store {held}")  # a local and a message with the note

    @r.post("/people")
    async def import_person(note: NoteIn, principal: CurrentPrincipal) -> None:
        StrictPerson.model_validate({"email": note.author_email, "note": note.text})

    return r


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """uvicorn as ``serve`` runs it (no log config of its own: our JSON logging)."""
    sock = listening_socket()
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_500_logs_neither_the_body_nor_locals_nor_the_token(
    make_settings: Callable[..., ServiceSettings],
    dev_issuer: DevIssuer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings(ServiceSettings, service_name="logtest")
    app = create_app(ServiceRuntime(settings), title="t", description="d", routers=[router()])
    token = dev_issuer.mint("e-4711", ["participant"])
    signature = token.rsplit(".", 1)[1]
    body = {"text": NOTE, "author_email": EMAIL}
    with served(app) as url:
        capsys.readouterr()
        for path in ("/v1/notes", "/v1/people"):
            response = httpx.post(
                url + path, json=body, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 500
    captured = capsys.readouterr().err
    assert_absent(captured, NOTE, "MARKER-NOTE", EMAIL, "marker.person", token[:24], signature[:16])
    logged = lines(captured)
    errors = [line for line in logged if line["message"] == "unhandled error"]
    assert [e["exception"][-1]["type"] for e in errors] == ["RuntimeError", "ValidationError"]
    assert "email (int_parsing)" in errors[1]["exception"][-1]["summary"]
    # uvicorn logs each one too, through the standard library: the same treatment.
    asgi = "Exception in ASGI application"
    from_uvicorn = [line for line in logged if line["message"].startswith(asgi)]
    assert [line["exception"][-1]["type"] for line in from_uvicorn] == [
        "RuntimeError",
        "ValidationError",
    ]


def action_with_markers(action_id: str) -> Envelope:
    data = ActionCompleted(
        action_id=action_id,
        session_id="s-1",
        group_id="g-1",
        program_id="p-1",
        owner_id="e-1",
        accountability_partner_id="e-2",
        completed_at=datetime.now(UTC),
    )
    event = new_envelope(
        data, subject=action_id, aggregate_version=1, source="/roundtable/sessions"
    )
    # Fields the consumer does not know travel in ``data`` all the same: event data as a log
    # would meet it, whatever the catalogue's fields are.
    return event.model_copy(update={"data": {**event.data, "owner_email": EMAIL, "note": NOTE}})


async def dead_letter_reasons(nats_client: NatsClient, namespace: str, count: int) -> list[str]:
    js = nats_client.jetstream()
    stream = dead_letter_stream(namespace)
    deadline = asyncio.get_running_loop().time() + 30
    while (await js.stream_info(stream)).state.messages < count:
        assert asyncio.get_running_loop().time() < deadline, "nothing dead-lettered"
        await asyncio.sleep(0.05)
    found = [await js.get_msg(stream, seq=n + 1) for n in range(count)]
    return [dict(m.headers or {})["Roundtable-Dead-Letter-Reason"] for m in found]


@pytest.mark.parametrize("failure", ["message", "validation"])
async def test_a_failing_consumer_logs_ids_and_types_not_event_data(
    failure: str,
    make_settings: Callable[..., ServiceSettings],
    nats_client: NatsClient,
    namespace: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("logtest")

    async def keeps_failing(envelope: Envelope, data: EventData) -> None:
        person = {"email": envelope.data["owner_email"], "name": NAME}
        if failure == "validation":
            StrictPerson.model_validate(person)
        raise LookupError(f"no partner for {person}")

    runtime = ServiceRuntime(make_settings(ServiceSettings, service_name="reporting"))
    runtime.add_consumer(
        EventConsumer(
            name="privacy-consumer",
            source_service="sessions",
            handlers={ACTION_COMPLETED: keeps_failing},
            max_deliver=2,
            backoff_seconds=(0.05,),
        )
    )
    await runtime.start()
    try:
        event = action_with_markers("a-1")
        await nats_client.jetstream().publish(
            f"{namespace}{ACTION_COMPLETED}", event.to_json(), headers={"Nats-Msg-Id": event.id}
        )
        reasons = await dead_letter_reasons(nats_client, namespace, 1)
    finally:
        await runtime.stop()
    captured = capsys.readouterr().err
    assert_absent(captured + reasons[0], EMAIL, "marker.person", NAME, NOTE, "MARKER-NOTE")
    logged = lines(captured)
    last = [line for line in logged if line["message"] == "event handler failed for the last time"]
    assert [line["event_id"] for line in last] == [event.id]
    expected = "ValidationError" if failure == "validation" else "LookupError"
    assert last[0]["exception"][-1]["type"] == expected
    assert any(line["message"] == "event handler failed, retrying" for line in logged)
    assert expected in reasons[0]


async def test_a_failing_relay_logs_no_event_data(
    make_settings: Callable[..., ServiceSettings],
    mongo_db: Database,
    namespace: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("logtest")
    runtime = ServiceRuntime(make_settings(ServiceSettings, service_name="sessions"))
    await runtime.broker.connect()  # its streams are never declared: every publish fails
    await mongo_db["actions"].insert_one(
        {"_id": "a-1", **new_document_outbox([action_with_markers("a-1")])}
    )
    publisher = JetStreamPublisher(runtime.broker, namespace, timeout=1.0)
    relay = OutboxRelay(mongo_db, ["actions"], publisher, poll_seconds=0.05)
    task = asyncio.create_task(relay.run())
    captured = ""
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while "outbox relay pass failed" not in captured:
            assert asyncio.get_running_loop().time() < deadline, "the relay never failed"
            await asyncio.sleep(0.1)
            captured += capsys.readouterr().err
    finally:
        relay.stop()
        await task
        await runtime.broker.stop()
    assert_absent(captured, EMAIL, "marker.person", NOTE, "MARKER-NOTE")
    failed = [line for line in lines(captured) if line["message"] == "outbox relay pass failed"]
    assert failed[0]["exception"][-1]["frames"], "logged with its exception's type and frames"


def test_an_outgoing_request_does_not_log_its_url(
    dev_issuer: DevIssuer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A chat webhook's URL is its credential (``/services/T0/B0/<secret>``): httpx logs each
    request's URL at INFO, which a service's logging must not let through."""
    configure_logging("logtest")
    secret = "MARKERWEBHOOKSECRET0123456789"
    capsys.readouterr()
    response = httpx.post(f"{dev_issuer.issuer_url}/services/T0/B0/{secret}", json={})
    assert response.status_code == 404  # a real request went out and came back
    assert_absent(capsys.readouterr().err, secret)
