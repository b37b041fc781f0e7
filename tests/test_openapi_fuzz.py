"""Schemathesis against each service's OpenAPI: no generated request is a server error.

Each service runs for real (its lifespan: NATS, FerretDB, relay, consumers) under uvicorn in a
thread; every operation of its schema gets a bounded, derandomized set of valid and invalid
requests, sent with a token holding every role, and only ``not_a_server_error`` is checked.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from enrollment.app import build_app as build_enrollment
from enrollment.settings import EnrollmentSettings
from reminders.app import build_app as build_reminders
from reminders.settings import RemindersSettings
from reporting.app import build_app as build_reporting
from reporting.settings import ReportingSettings
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.enrollment import HR_SECRET
from roundtable_dev.testing.http import listening_socket
from sessions.app import build_app as build_sessions
from sessions.settings import SessionsSettings

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 15
SERVICES: dict[str, tuple[Callable[[Any], FastAPI], type[Any], dict[str, Any]]] = {
    "enrollment": (build_enrollment, EnrollmentSettings, {"hr_webhook_secrets": [HR_SECRET]}),
    "sessions": (build_sessions, SessionsSettings, {}),
    "reminders": (build_reminders, RemindersSettings, {"worker_enabled": False}),
    "reporting": (build_reporting, ReportingSettings, {}),
}


def serve_with_lifespan(app: FastAPI) -> Iterator[str]:
    """uvicorn in a thread with the app's lifespan on (the runtime starts in the server's loop)."""
    sock = listening_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "service did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(params=list(SERVICES))
def served(
    request: pytest.FixtureRequest, make_settings: Callable[..., Any]
) -> Iterator[tuple[FastAPI, str]]:
    build, settings_class, extra = SERVICES[request.param]
    app = build(make_settings(settings_class, **extra))
    for base_url in serve_with_lifespan(app):
        yield app, base_url


def test_no_operation_is_a_server_error(served: tuple[FastAPI, str], dev_issuer: DevIssuer) -> None:
    app, base_url = served
    schema = schemathesis.openapi.from_dict(app.openapi())
    token = dev_issuer.mint("e-fuzz", ["participant", "program_admin", "sponsor"])
    auth = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    statuses: list[int] = []
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            strategy = st.one_of(
                operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
            )

            @settings(
                max_examples=MAX_EXAMPLES,
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def fuzz(case: Any) -> None:
                response = case.call(base_url=base_url, session=session, headers=auth, timeout=30)
                statuses.append(response.status_code)
                case.validate_response(response, checks=[not_a_server_error])

            try:
                fuzz()
            # schemathesis reports as a FailureGroup, a BaseExceptionGroup: one report per
            # operation, then on to the next
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    # the token was accepted: the fuzzing got past authentication, to the handlers
    assert len(statuses) >= MAX_EXAMPLES
    assert sum(200 <= status < 300 for status in statuses) > 0, statuses
