"""The reminders service's process: its runtime (database, NATS, outbox, consumers) and HTTP API."""

from __future__ import annotations

from fastapi import FastAPI

from reminders.settings import RemindersSettings
from roundtable_shared.http.app import create_app
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings


def build_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or RemindersSettings()
    runtime = ServiceRuntime(settings)
    return create_app(
        runtime,
        title="Roundtable reminders",
        description="Accountability reminders by email and chat, with preferences, quiet hours and time zones.",
    )
