"""Fixtures of the enrollment tests: the app on real NATS and FerretDB, tokens, HR signing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from enrollment.app import build_app
from enrollment.settings import EnrollmentSettings
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.enrollment import HR_SECRET
from roundtable_dev.testing.http import running_app


@pytest.fixture
def settings(
    make_settings: Callable[..., Any], request: pytest.FixtureRequest
) -> EnrollmentSettings:
    """The directory cascade consumer runs only in tests marked ``cascade`` (it costs a NATS
    drain at every shutdown)."""
    built: EnrollmentSettings = make_settings(
        EnrollmentSettings,
        hr_webhook_secrets=[HR_SECRET],
        cascade_consumer=request.node.get_closest_marker("cascade") is not None,
    )
    return built


@pytest.fixture
async def client(settings: EnrollmentSettings) -> AsyncIterator[httpx.AsyncClient]:
    """The running service; send a token per request with ``auth(token)``."""
    async with running_app(build_app(settings)) as http:
        yield http


@pytest.fixture
def token(dev_issuer: DevIssuer) -> Callable[..., dict[str, str]]:
    def headers(employee_id: str = "e-admin", *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {dev_issuer.mint(employee_id, roles or ['participant'])}"}

    return headers


@pytest.fixture
def admin(token: Callable[..., dict[str, str]]) -> dict[str, str]:
    return token("e-admin", "participant", "program_admin")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cascade: run the directory cascade consumer")
