"""The sessions service's process: its runtime (database, NATS, outbox, consumers) and HTTP API."""

from __future__ import annotations

from fastapi import FastAPI

from roundtable_shared.http.app import create_app
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings
from sessions.settings import SessionsSettings


def build_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or SessionsSettings()
    runtime = ServiceRuntime(settings)
    return create_app(
        runtime,
        title="Roundtable sessions",
        description="Peer-coaching sessions: scheduling, the recorded conversation, action steps with accountability partners, feedback.",
    )
