"""A cursor one service gave out does not open another service's listing, even at the same path
with the same shape: enrollment's and reporting's `/v1/programs` both page by program id."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from enrollment.app import build_app as build_enrollment
from enrollment.settings import EnrollmentSettings
from reporting.app import build_app as build_reporting
from reporting.settings import ReportingSettings
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.http import running_app


async def _second_page_cursor(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    deadline = time.monotonic() + 20
    while True:  # reporting learns the programs from enrollment's events
        page = (await client.get("/v1/programs?limit=1", headers=auth)).json()
        if page.get("next_cursor"):
            cursor: str = page["next_cursor"]
            return cursor
        assert time.monotonic() < deadline, page
        await asyncio.sleep(0.1)


async def test_a_cursor_of_one_service_is_a_bad_request_at_another(
    make_settings: Callable[..., Any], dev_issuer: DevIssuer
) -> None:
    admin = {"Authorization": f"Bearer {dev_issuer.mint('e-admin', ['program_admin'])}"}
    enrollment_app = build_enrollment(make_settings(EnrollmentSettings))
    reporting_app = build_reporting(make_settings(ReportingSettings))
    async with running_app(enrollment_app) as enrollment, running_app(reporting_app) as reporting:
        for name in ("Pairs 2026", "Roundtables 2026"):
            created = await enrollment.post(
                "/v1/programs",
                json={"name": name, "group_size_min": 3, "group_size_max": 5},
                headers=admin,
            )
            assert created.status_code == 201, created.text
        ours = {
            "enrollment": await _second_page_cursor(enrollment, admin),
            "reporting": await _second_page_cursor(reporting, admin),
        }
        clients = {"enrollment": enrollment, "reporting": reporting}
        for owner, cursor in ours.items():
            for name, client in clients.items():
                answer = await client.get(f"/v1/programs?limit=1&cursor={cursor}", headers=admin)
                expected = 200 if name == owner else 400
                assert answer.status_code == expected, (owner, name, answer.text)
        for app in (enrollment_app, reporting_app):
            await app.state.runtime.mongo.drop_database(app.state.runtime.db.name)
