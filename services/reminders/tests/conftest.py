"""Real local receivers for the reminders tests: an SMTP server (aiosmtpd) that can accept, defer
(4xx), reject (5xx) or be down, and an HTTP receiver of chat webhooks that honours Idempotency-Key."""

from __future__ import annotations

import email
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, Request, Response

from roundtable_dev.local.servers import free_port
from roundtable_dev.testing.http import serve_in_thread


@dataclass
class SmtpCatcher:
    """``answer`` is what the server says to DATA: "250 OK", "451 ...", "550 ..."."""

    answer: str = "250 OK"
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.answer.startswith("250"):
            raw = envelope.original_content or b""
            with self.lock:
                self.messages.append(email.message_from_bytes(raw))
        return self.answer

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp() -> Iterator[SmtpCatcher]:
    catcher = SmtpCatcher()
    controller = Controller(catcher, hostname="127.0.0.1", port=free_port())
    controller.start()
    catcher.port = controller.port
    try:
        yield catcher
    finally:
        controller.stop()


@dataclass
class WebhookReceiver:
    url: str = ""
    status: int = 200
    location: str | None = None
    """Sent as the Location header when set (with a 3xx ``status``: a redirect)."""
    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def unique(self) -> dict[str, dict[str, Any]]:
        """What a receiver honouring Idempotency-Key shows: one message per key."""
        with self.lock:
            return {c["key"]: c for c in self.calls}


@pytest.fixture
def webhooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    app = FastAPI()

    @app.post("/hook/{name}")
    async def hook(name: str, request: Request) -> Response:
        body = await request.json()
        with receiver.lock:
            receiver.calls.append(
                {
                    "hook": name,
                    "key": request.headers.get("Idempotency-Key"),
                    "host": request.headers.get("Host"),
                    "body": body,
                }
            )
        headers = {"Location": receiver.location} if receiver.location else None
        return Response(status_code=receiver.status, headers=headers)

    with serve_in_thread(app) as url:
        receiver.url = url
        yield receiver
