"""HR webhook, employees and erasure, against real NATS and FerretDB."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from nats.aio.client import Client as NatsClient

from roundtable_dev.testing.enrollment import enrollment_events, hired, send_hr, signed
from roundtable_shared.events.registry import parse_data


async def test_hire_is_stored_then_announced_once(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    response = await send_hr(client, hired("e-1"))
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "applied"
    # stored before the answer
    employee = (await client.get("/v1/employees/e-1", headers=admin)).json()
    assert employee["display_name"] == "Name e-1"
    assert employee["employment_status"] == "active"

    repeat = await send_hr(client, hired("e-1"))
    assert repeat.status_code == 200
    assert repeat.json()["outcome"] == "duplicate"

    events = await enrollment_events(nats_client, namespace, 1)
    await asyncio.sleep(0.3)  # a second copy would have arrived by now
    events = await enrollment_events(nats_client, namespace, 1)
    assert [e.type for e in events] == ["roundtable.enrollment.employee.upserted"]
    data = parse_data(events[0])
    assert data.model_dump()["employee_id"] == "e-1"
    assert events[0].subject == "e-1"
    assert events[0].aggregateversion == 1


async def test_out_of_order_changes_never_overwrite_newer_ones(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await send_hr(client, hired("e-2", at="2026-01-01T00:00:00Z"))
    newer = {
        "event_id": "u-new",
        "type": "employee.updated",
        "employee_id": "e-2",
        "effective_at": "2026-03-01T00:00:00Z",
        "employee": {"title": "Director", "level": "L7"},
    }
    older = {**newer, "event_id": "u-old", "effective_at": "2026-02-01T00:00:00Z"}
    older["employee"] = {"title": "Manager", "level": "L6", "location": "Paris"}
    assert (await send_hr(client, newer)).json()["outcome"] == "applied"
    answer = await send_hr(client, older)
    assert answer.status_code == 200
    employee = (await client.get("/v1/employees/e-2", headers=admin)).json()
    assert (employee["title"], employee["level"]) == ("Director", "L7")
    assert employee["location"] == "Paris"  # only the older change set it: it applies


async def test_leave_and_termination_change_status_and_announce_offboarding(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    await send_hr(client, hired("e-3"))
    leave = {
        "event_id": "l-1",
        "type": "employee.leave_started",
        "employee_id": "e-3",
        "effective_at": "2026-02-01T00:00:00Z",
        "expected_return_on": "2026-05-01",
    }
    assert (await send_hr(client, leave)).status_code == 200
    assert (await client.get("/v1/employees/e-3", headers=admin)).json()[
        "employment_status"
    ] == "on_leave"
    back = {**leave, "event_id": "l-2", "type": "employee.leave_ended"}
    back["effective_at"] = "2026-04-01T00:00:00Z"
    assert (await send_hr(client, back)).status_code == 200
    gone = {**back, "event_id": "t-1", "type": "employee.terminated"}
    gone["effective_at"] = "2026-06-01T00:00:00Z"
    assert (await send_hr(client, gone)).status_code == 200
    events = await enrollment_events(nats_client, namespace, 5)
    types = [e.type.rsplit(".", 2)[-2] + "." + e.type.rsplit(".", 1)[-1] for e in events]
    assert types == [
        "employee.upserted",
        "employee.upserted",
        "employee.upserted",
        "employee.upserted",
        "employee.offboarded",
    ]
    assert [e.aggregateversion for e in events] == [1, 2, 3, 4, 5]
    statuses = [e.data.get("employment_status") for e in events[:4]]
    assert statuses == ["active", "on_leave", "active", "terminated"]


async def test_webhook_refuses_bad_signatures_and_bad_bodies(client: httpx.AsyncClient) -> None:
    raw, headers = signed(hired("e-4"), secret="wrong")
    assert (await client.post("/v1/hr/events", content=raw, headers=headers)).status_code == 401
    no_signature = await client.post("/v1/hr/events", content=raw)
    assert no_signature.status_code == 401
    assert no_signature.headers["content-type"] == "application/problem+json"

    bad = hired("e-4")
    bad["employee"]["email"] = "not-an-email"
    answer = await send_hr(client, bad)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["field"] == "employee.hired.employee.email"

    raw, headers = signed(b"{not json")
    garbled = await client.post("/v1/hr/events", content=raw, headers=headers)
    assert garbled.status_code == 400  # not JSON at all: a syntax error, as on every endpoint
    assert garbled.json()["errors"][0]["field"] == "body"

    unknown_kind = await send_hr(client, {**hired("e-4"), "type": "employee.promoted"})
    assert unknown_kind.status_code == 422

    extra = hired("e-4")
    extra["unknown_field"] = 1
    extra["employee"]["shoe_size"] = 44
    assert (await send_hr(client, extra)).status_code == 200


async def test_webhook_without_configured_secret_answers_503(
    make_settings: Callable[..., object],
) -> None:
    from enrollment.app import build_app
    from enrollment.settings import EnrollmentSettings
    from roundtable_dev.testing.http import running_app

    settings = make_settings(EnrollmentSettings)
    assert isinstance(settings, EnrollmentSettings)
    async with running_app(build_app(settings)) as http:
        raw, headers = signed(hired("e-5"))
        answer = await http.post("/v1/hr/events", content=raw, headers=headers)
    assert answer.status_code == 503


async def test_employee_records_are_private_and_erasure_forgets_the_person(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    await send_hr(client, hired("e-6"))
    own = await client.get("/v1/employees/e-6", headers=token("e-6"))
    assert own.status_code == 200
    other = await client.get("/v1/employees/e-6", headers=token("e-7"))
    assert other.status_code == 403
    assert (await client.get("/v1/employees/e-6")).status_code == 401
    assert (await client.get("/v1/employees/nobody", headers=admin)).status_code == 404
    assert (await client.get("/v1/employees", headers=token("e-6"))).status_code == 403
    listed = await client.get("/v1/employees?limit=1", headers=admin)
    assert [e["employee_id"] for e in listed.json()["items"]] == ["e-6"]
    assert (await client.get("/v1/employees?cursor=%%%", headers=admin)).status_code == 400

    assert (await client.post("/v1/employees/e-6/erasure", headers=token("e-6"))).status_code == 403
    erased = await client.post("/v1/employees/e-6/erasure", headers=admin)
    assert erased.status_code == 200
    assert erased.json()["erased"] is True
    assert erased.json()["display_name"] is None
    again = await client.post("/v1/employees/e-6/erasure", headers=admin)
    assert again.json()["version"] == erased.json()["version"]
    # HR replaying an old hire brings nothing back
    replay = hired("e-6", event_id="hire-again", at="2027-01-01T00:00:00Z")
    await send_hr(client, replay)
    assert (await client.get("/v1/employees/e-6", headers=admin)).json()["display_name"] is None
    events = await enrollment_events(nats_client, namespace, 2)
    assert [e.type for e in events][-1] == "roundtable.enrollment.employee.erased"
