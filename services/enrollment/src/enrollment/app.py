"""The enrollment service's process: its runtime (database, NATS, outbox, consumers) and HTTP API."""

from __future__ import annotations

from fastapi import FastAPI

from enrollment.settings import EnrollmentSettings
from roundtable_shared.http.app import create_app
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings


def build_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or EnrollmentSettings()
    runtime = ServiceRuntime(settings)
    return create_app(
        runtime,
        title="Roundtable enrollment",
        description="Employee directory from HR, peer programs and eligibility, enrolments, matching into peer pairs and roundtables.",
    )
