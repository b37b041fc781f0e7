"""Programs: create, edit with If-Match, life cycle, visibility; events on real NATS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from nats.aio.client import Client as NatsClient

from roundtable_dev.testing.enrollment import enrollment_events
from roundtable_shared.events.registry import parse_data

PROGRAM: dict[str, Any] = {
    "name": "Roundtables 2026",
    "format": "roundtable",
    "group_size_min": 3,
    "group_size_max": 5,
    "capacity": 10,
    "sponsor_ids": ["e-0042"],
}


async def test_create_edit_and_life_cycle_emit_catalogue_events(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    created = await client.post(
        "/v1/programs", json=PROGRAM, headers={**admin, "Idempotency-Key": "k1"}
    )
    assert created.status_code == 201, created.text
    program = created.json()
    assert program["status"] == "draft"
    assert created.headers["ETag"] == '"1"'
    pid = program["program_id"]
    retry = await client.post(
        "/v1/programs", json=PROGRAM, headers={**admin, "Idempotency-Key": "k1"}
    )
    assert retry.json()["program_id"] == pid
    reused = await client.post(
        "/v1/programs",
        json={**PROGRAM, "name": "Other"},
        headers={**admin, "Idempotency-Key": "k1"},
    )
    assert reused.status_code == 422

    edited = await client.patch(
        f"/v1/programs/{pid}", json={"capacity": 20}, headers={**admin, "If-Match": '"1"'}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["capacity"] == 20
    stale = await client.patch(
        f"/v1/programs/{pid}", json={"capacity": 30}, headers={**admin, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    missing_etag = await client.patch(f"/v1/programs/{pid}", json={"capacity": 30}, headers=admin)
    assert missing_etag.status_code == 428

    assert (await client.post(f"/v1/programs/{pid}/start", headers=admin)).status_code == 409
    assert (await client.post(f"/v1/programs/{pid}/open", headers=admin)).json()["status"] == "open"
    assert (await client.post(f"/v1/programs/{pid}/open", headers=admin)).status_code == 409
    started = await client.post(f"/v1/programs/{pid}/start", headers=admin)
    assert started.json()["status"] == "running"
    running_edit = await client.patch(
        f"/v1/programs/{pid}", json={"capacity": 5}, headers={**admin, "If-Match": '"4"'}
    )
    assert running_edit.status_code == 409
    closed = await client.post(f"/v1/programs/{pid}/close", headers=admin)
    assert closed.json()["status"] == "closed"

    events = await enrollment_events(nats_client, namespace, 5)
    assert [e.type.split(".", 2)[2] for e in events] == [
        "program.created",
        "program.updated",
        "program.opened",
        "program.started",
        "program.closed",
    ]
    assert [e.aggregateversion for e in events] == [1, 2, 3, 4, 5]
    assert all(e.subject == pid for e in events)
    for envelope in events:
        parse_data(envelope)  # each fits the catalogue's schema


async def test_only_admins_write_and_drafts_stay_hidden(
    client: httpx.AsyncClient, admin: dict[str, str], token: Callable[..., dict[str, str]]
) -> None:
    employee = token("e-1")
    assert (await client.post("/v1/programs", json=PROGRAM, headers=employee)).status_code == 403
    assert (await client.post("/v1/programs", json=PROGRAM)).status_code == 401
    pid = (await client.post("/v1/programs", json=PROGRAM, headers=admin)).json()["program_id"]
    assert (await client.get(f"/v1/programs/{pid}", headers=employee)).status_code == 404
    assert (await client.get("/v1/programs", headers=employee)).json()["items"] == []
    assert (await client.post(f"/v1/programs/{pid}/open", headers=employee)).status_code == 403
    assert (
        await client.patch(
            f"/v1/programs/{pid}", json={"capacity": 2}, headers={**employee, "If-Match": '"1"'}
        )
    ).status_code == 403
    await client.post(f"/v1/programs/{pid}/open", headers=admin)
    assert (await client.get(f"/v1/programs/{pid}", headers=employee)).status_code == 200
    listed = (await client.get("/v1/programs", headers=employee)).json()["items"]
    assert [p["program_id"] for p in listed] == [pid]


async def test_bad_program_input_is_a_problem_not_a_500(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    cases: list[dict[str, Any]] = [
        {**PROGRAM, "group_size_min": 6, "group_size_max": 4},
        {**PROGRAM, "format": "pairs"},  # pairs need sizes of 2
        {**PROGRAM, "name": ""},
        {**PROGRAM, "capacity": 0},
        {**PROGRAM, "time_zone": "not a zone!"},
        {**PROGRAM, "surprise": True},
        {
            **PROGRAM,
            "enrolment_opens_at": "2026-02-01T00:00:00Z",
            "enrolment_closes_at": "2026-01-01T00:00:00Z",
        },
    ]
    for body in cases:
        answer = await client.post("/v1/programs", json=body, headers=admin)
        assert answer.status_code == 422, body
        assert answer.headers["content-type"] == "application/problem+json"
    garbled = await client.post(
        "/v1/programs", content=b"{", headers={**admin, "Content-Type": "application/json"}
    )
    assert garbled.status_code == 400
    pid = (await client.post("/v1/programs", json=PROGRAM, headers=admin)).json()["program_id"]
    bad_patch = await client.patch(
        f"/v1/programs/{pid}",
        json={"group_size_min": 8, "group_size_max": 3},
        headers={**admin, "If-Match": '"1"'},
    )
    assert bad_patch.status_code == 422
    bad_etag = await client.patch(
        f"/v1/programs/{pid}", json={"capacity": 3}, headers={**admin, "If-Match": "nope"}
    )
    assert bad_etag.status_code == 400
    assert (await client.get("/v1/programs/nope", headers=admin)).status_code == 404
    assert (await client.post("/v1/programs/nope/open", headers=admin)).status_code == 404


OVERFLOW = 2**64  # above BSON's 64-bit integers: unbounded, it reached PyMongo and was a 500


async def test_every_number_of_a_program_is_bounded(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    reminders = {"before_session_minutes": [60], "before_action_due_hours": [48]}
    cases: list[dict[str, Any]] = [
        {**PROGRAM, "reminders": {**reminders, "before_session_minutes": [OVERFLOW]}},
        {**PROGRAM, "reminders": {**reminders, "before_session_minutes": [999_999_999_999]}},
        {**PROGRAM, "reminders": {**reminders, "before_action_due_hours": [OVERFLOW]}},
        {**PROGRAM, "reminders": {**reminders, "before_session_minutes": list(range(1, 12))}},
        {**PROGRAM, "reminders": {**reminders, "overdue_after_days": OVERFLOW}},
        {**PROGRAM, "capacity": OVERFLOW},
        {**PROGRAM, "session_duration_minutes": OVERFLOW},
        {**PROGRAM, "group_size_max": OVERFLOW},
        {**PROGRAM, "eligibility": {"min_tenure_days": OVERFLOW}},
        {**PROGRAM, "eligibility": {"levels": ["L1"] * 1_001}},
        {**PROGRAM, "matching": {"min_overlap_hours": OVERFLOW}},
    ]
    for body in cases:
        answer = await client.post("/v1/programs", json=body, headers=admin)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    # a month ahead is the furthest a reminder goes
    month = {**reminders, "before_session_minutes": [30 * 24 * 60]}
    created = await client.post("/v1/programs", json={**PROGRAM, "reminders": month}, headers=admin)
    assert created.status_code == 201, created.text
    pid = created.json()["program_id"]

    # a patch is held to the same bounds as a create (it used to drop them)
    for patch in (
        {"capacity": OVERFLOW},
        {"group_size_min": OVERFLOW},
        {"session_duration_minutes": OVERFLOW},
        {"reminders": {**reminders, "before_session_minutes": [OVERFLOW]}},
    ):
        answer = await client.patch(
            f"/v1/programs/{pid}", json=patch, headers={**admin, "If-Match": '"1"'}
        )
        assert answer.status_code == 422, (patch, answer.text)
    huge_etag = await client.patch(
        f"/v1/programs/{pid}", json={"capacity": 3}, headers={**admin, "If-Match": f'"{OVERFLOW}"'}
    )
    assert huge_etag.status_code == 400, huge_etag.text
    unchanged = (await client.get(f"/v1/programs/{pid}", headers=admin)).json()
    assert (unchanged["version"], unchanged["capacity"]) == (1, PROGRAM["capacity"])
