"""Fixtures of the reporting tests: the app on real NATS and FerretDB, and an event publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from reporting.app import build_app
from reporting.settings import ReportingSettings
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.http import running_app
from roundtable_dev.testing.reporting.history import NOW
from roundtable_dev.testing.reporting.world import World
from roundtable_shared.clock import fixed_clock


@pytest.fixture
def settings(make_settings: Callable[..., ReportingSettings]) -> ReportingSettings:
    return make_settings(ReportingSettings)


@pytest.fixture
async def world(
    settings: ReportingSettings, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer
) -> AsyncIterator[tuple[World, httpx.AsyncClient]]:
    app = build_app(settings, clock=fixed_clock(NOW))
    async with running_app(app) as client:
        yield World(app, nats_client, namespace, dev_issuer), client
        await app.state.runtime.mongo.drop_database(settings.database_name)
