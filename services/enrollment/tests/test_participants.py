"""Eligibility, enrolment, waitlist, edits and withdrawal; HR leaves and terminations cascade."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from roundtable_dev.testing.enrollment import (
    enrollment_events,
    hired,
    open_program,
    send_hr,
    wait_for,
)
from roundtable_shared.events.registry import parse_data

ANSWERS = {"goals": ["Delegate more"], "topics": ["delegation"], "consent_to_reporting": True}


async def test_eligibility_enrolment_and_waitlist(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    for eid, level in (("e-1", "L5"), ("e-2", "L5"), ("e-3", "L2"), ("e-4", "L5")):
        await send_hr(client, hired(eid, level=level))
    pid = await open_program(client, admin, capacity=1, eligibility={"levels": ["L4", "L5"]})
    listed = (await client.get("/v1/me/programs", headers=token("e-3"))).json()
    assert listed == [
        {
            "program_id": pid,
            "name": "Test program",
            "status": "open",
            "eligible": False,
            "reasons": ["open to levels L4, L5"],
            "questions": [],
        }
    ]
    assert (await client.get("/v1/me/programs", headers=token("e-1"))).json()[0]["eligible"]

    first = await client.post(
        f"/v1/programs/{pid}/enrolments",
        json=ANSWERS,
        headers={**token("e-1"), "Idempotency-Key": "a"},
    )
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "enrolled"
    retried = await client.post(
        f"/v1/programs/{pid}/enrolments",
        json=ANSWERS,
        headers={**token("e-1"), "Idempotency-Key": "a"},
    )
    assert retried.status_code == 200
    again = await client.post(f"/v1/programs/{pid}/enrolments", json=ANSWERS, headers=token("e-1"))
    assert again.status_code == 409
    refused = await client.post(
        f"/v1/programs/{pid}/enrolments", json=ANSWERS, headers=token("e-3")
    )
    assert refused.status_code == 403
    assert refused.json()["reasons"] == ["open to levels L4, L5"]
    unknown = await client.post(
        f"/v1/programs/{pid}/enrolments", json=ANSWERS, headers=token("e-99")
    )
    assert unknown.status_code == 403

    second = await client.post(f"/v1/programs/{pid}/enrolments", json=ANSWERS, headers=token("e-2"))
    assert second.json()["status"] == "waitlisted"
    assert second.json()["waitlist_position"] == 1
    third = await client.post(f"/v1/programs/{pid}/enrolments", json=ANSWERS, headers=token("e-4"))
    assert third.json()["waitlist_position"] == 2

    # e-1 withdraws: e-2 moves up from the waitlist, e-4 is next
    withdrawn = await client.post(
        f"/v1/participants/{first.json()['participant_id']}/withdraw", headers=token("e-1")
    )
    assert withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["withdrawal_reason"] == "self"
    mine = (await client.get("/v1/me/enrolments", headers=token("e-2"))).json()
    assert mine[0]["status"] == "enrolled"
    assert mine[0]["withdrawal_reason"] is None
    fourth = await client.get(
        f"/v1/participants/{third.json()['participant_id']}", headers=token("e-4")
    )
    assert fourth.json()["waitlist_position"] == 1

    events = await enrollment_events(nats_client, namespace, 11)
    participant_events = [e for e in events if ".participant." in e.type]
    kinds = [(e.data["employee_id"], e.type.rsplit(".", 1)[1]) for e in participant_events]
    assert kinds == [
        ("e-1", "enrolled"),
        ("e-2", "waitlisted"),
        ("e-4", "waitlisted"),
        ("e-1", "withdrawn"),
        ("e-2", "enrolled"),
    ]
    for envelope in participant_events:
        parse_data(envelope)
    enrolled = participant_events[0].data
    assert enrolled["consent_to_reporting"] is True
    assert enrolled["reporting_attributes"]["level"] == "L5"
    assert participant_events[-1].data["from_waitlist"] is True


async def test_enrolments_are_private_and_edits_need_if_match(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
) -> None:
    await send_hr(client, hired("e-1"))
    pid = await open_program(client, admin)
    created = await client.post(
        f"/v1/programs/{pid}/enrolments", json=ANSWERS, headers=token("e-1")
    )
    par = created.json()["participant_id"]
    assert (await client.get(f"/v1/participants/{par}", headers=token("e-2"))).status_code == 403
    assert (await client.get(f"/v1/participants/{par}", headers=admin)).status_code == 200
    assert (await client.get(f"/v1/participants/{par}")).status_code == 401
    assert (await client.get("/v1/me/enrolments", headers=token("e-2"))).json() == []
    assert (
        await client.get(f"/v1/programs/{pid}/participants", headers=token("e-1"))
    ).status_code == 403
    assert len((await client.get(f"/v1/programs/{pid}/participants", headers=admin)).json()) == 1

    changed = {**ANSWERS, "topics": ["hiring"], "consent_to_reporting": False}
    path = f"/v1/participants/{par}/answers"
    assert (await client.put(path, json=changed, headers=token("e-1"))).status_code == 428
    other = await client.put(path, json=changed, headers={**token("e-2"), "If-Match": '"1"'})
    assert other.status_code == 403
    edited = await client.put(path, json=changed, headers={**token("e-1"), "If-Match": '"1"'})
    assert edited.status_code == 200, edited.text
    assert edited.json()["answers"]["topics"] == ["hiring"]
    stale = await client.put(path, json=changed, headers={**token("e-1"), "If-Match": '"1"'})
    assert stale.status_code == 412
    assert (
        await client.post(f"/v1/participants/{par}/withdraw", headers=token("e-2"))
    ).status_code == 403


async def test_bad_enrolment_input_is_a_problem(
    client: httpx.AsyncClient, admin: dict[str, str], token: Callable[..., dict[str, str]]
) -> None:
    await send_hr(client, hired("e-1"))
    pid = await open_program(client, admin)
    for body in (
        {"goals": "not a list"},
        {"meeting_preference": "telepathy"},
        {"availability": {"working_hours_start": "18:00", "working_hours_end": "09:00"}},
        {"time_zone": "no zone"},
        {"unexpected": 1},
    ):
        answer = await client.post(
            f"/v1/programs/{pid}/enrolments", json=body, headers=token("e-1")
        )
        assert answer.status_code == 422, body
        assert answer.headers["content-type"] == "application/problem+json"
    missing = await client.post("/v1/programs/nope/enrolments", json={}, headers=token("e-1"))
    assert missing.status_code == 404
    assert (await client.get("/v1/participants/nope", headers=admin)).status_code == 404
    draft = (await client.post("/v1/programs", json={"name": "Draft"}, headers=admin)).json()[
        "program_id"
    ]
    assert (
        await client.post(f"/v1/programs/{draft}/enrolments", json={}, headers=token("e-1"))
    ).status_code == 404
    await client.post(f"/v1/programs/{pid}/close", headers=admin)
    closed = await client.post(f"/v1/programs/{pid}/enrolments", json={}, headers=token("e-1"))
    assert closed.status_code == 409


@pytest.mark.cascade
async def test_leave_pauses_and_termination_withdraws(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    await send_hr(client, hired("e-1"))
    pid = await open_program(client, admin)
    par = (
        await client.post(f"/v1/programs/{pid}/enrolments", json=ANSWERS, headers=token("e-1"))
    ).json()["participant_id"]

    async def status() -> str:
        answer = await client.get(f"/v1/participants/{par}", headers=admin)
        return str(answer.json()["status"])

    change = {"employee_id": "e-1", "effective_at": "2026-02-01T00:00:00Z"}
    leave = {"event_id": "l1", "type": "employee.leave_started", "expected_return_on": "2026-02-20"}
    await send_hr(client, {**change, **leave})

    async def paused() -> bool:
        return await status() == "paused"

    await wait_for(paused)
    on_leave = (await client.get(f"/v1/participants/{par}", headers=token("e-1"))).json()
    assert on_leave["paused_reason"] == "on_leave"
    assert on_leave["resume_expected_on"] == "2026-02-20"
    back = {**change, "event_id": "l2", "type": "employee.leave_ended"}
    back["effective_at"] = "2026-03-01T00:00:00Z"
    await send_hr(client, back)

    async def resumed() -> bool:
        return await status() == "enrolled"

    await wait_for(resumed)
    back_again = (await client.get(f"/v1/participants/{par}", headers=admin)).json()
    assert back_again["paused_reason"] is None and back_again["resume_expected_on"] is None
    gone = {**back, "event_id": "t1", "type": "employee.terminated"}
    gone["effective_at"] = "2026-04-01T00:00:00Z"
    await send_hr(client, gone)

    async def withdrawn() -> bool:
        return await status() == "withdrawn"

    await wait_for(withdrawn)
    # Every view of the enrolment says why it ended, the owner's and the admins'.
    views = [
        (await client.get(f"/v1/participants/{par}", headers=admin)).json(),
        (await client.get(f"/v1/participants/{par}", headers=token("e-1"))).json(),
        *(await client.get("/v1/me/enrolments", headers=token("e-1"))).json(),
        *(await client.get(f"/v1/programs/{pid}/participants", headers=admin)).json(),
    ]
    assert [v["withdrawal_reason"] for v in views] == ["terminated"] * 4, views
    events = await enrollment_events(nats_client, namespace, 11)
    mine = [e for e in events if e.subject == par]
    assert [e.type.rsplit(".", 1)[1] for e in mine] == [
        "enrolled",
        "paused",
        "resumed",
        "withdrawn",
    ]
    assert mine[-1].data["reason"] == "terminated"
    assert mine[1].data["reason"] == "on_leave"
    assert mine[1].data["resume_expected_on"] == "2026-02-20"
    assert [e.aggregateversion for e in mine] == [1, 2, 3, 4]
