"""The reporting service's process: its runtime (database, NATS, outbox, consumers) and HTTP API."""

from __future__ import annotations

from fastapi import FastAPI

from reporting.settings import ReportingSettings
from roundtable_shared.http.app import create_app
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings


def build_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    runtime = ServiceRuntime(settings)
    return create_app(
        runtime,
        title="Roundtable reporting",
        description="Sponsor KPIs built from events: summaries, time series, funnel, privacy-safe breakdowns, CSV export, dashboard.",
    )
