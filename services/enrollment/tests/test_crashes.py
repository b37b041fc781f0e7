"""The service killed (SIGKILL, at a ``ROUNDTABLE_CRASH_AT`` point) in the middle of a change that
spans documents: after a restart the change completes, once, and the seat counter is right."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from enrollment.app import build_app
from enrollment.settings import EnrollmentSettings
from roundtable_dev.local.servers import free_port
from roundtable_dev.testing.enrollment import (
    HR_SECRET,
    enrollment_events,
    hired,
    match_program,
    open_program,
    send_hr,
    signed,
    wait_for,
)
from roundtable_dev.testing.http import running_app
from roundtable_shared.storage.mongo import connect

pytestmark = pytest.mark.slow


def terminated(employee_id: str) -> dict[str, Any]:
    return {
        "event_id": f"term-{employee_id}",
        "type": "employee.terminated",
        "employee_id": employee_id,
        "effective_at": "2026-03-01T00:00:00Z",
    }


def run_until_crash(
    settings: EnrollmentSettings, crash_at: str, send: Callable[[str], httpx.Response | None]
) -> int:
    """The service as its own process, told to kill itself at ``crash_at``; ``send(url)`` makes
    the request that gets it there, once it is up. Returns the exit code."""
    port = free_port()
    env = {
        **os.environ,
        "ENROLLMENT_MONGODB_URI": settings.mongodb_uri,
        "ENROLLMENT_NATS_URL": settings.nats_url,
        "ENROLLMENT_NATS_USER": settings.nats_user,
        "ENROLLMENT_NATS_PASSWORD": settings.nats_password.get_secret_value(),
        "ENROLLMENT_NAMESPACE": settings.namespace,
        "ENROLLMENT_HTTP_PORT": str(port),
        "ENROLLMENT_HR_WEBHOOK_SECRETS": f'["{HR_SECRET}"]',
        "ENROLLMENT_JWT_ISSUER": settings.jwt_issuer,
        "ENROLLMENT_JWKS_URL": settings.jwks_url,
        "ENROLLMENT_OUTBOX_POLL_SECONDS": "0.05",
        "ENROLLMENT_AUTO_MATCH_POLL_SECONDS": "600",
        "ROUNDTABLE_CRASH_AT": crash_at,
    }
    process = subprocess.Popen([sys.executable, "-m", "enrollment"], env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):  # a loaded machine starts it slowly
            try:
                if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                break
            time.sleep(0.1)
        with contextlib.suppress(httpx.HTTPError):  # killed while answering
            send(url)
        return process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def hr_webhook(body: dict[str, Any]) -> Callable[[str], httpx.Response]:
    def send(url: str) -> httpx.Response:
        raw, headers = signed(body)
        answer = httpx.post(f"{url}/v1/hr/events", content=raw, headers=headers)
        assert answer.status_code == 200  # stored before the crash
        return answer

    return send


async def test_a_seat_taken_by_an_enrolment_that_crashed_is_counted_back(
    settings: EnrollmentSettings,
    token: Callable[..., dict[str, str]],
    admin: dict[str, str],
) -> None:
    async with running_app(build_app(settings)) as client:
        for n in (1, 2, 3):
            await send_hr(client, hired(f"e-{n}"))
        program = await open_program(client, admin, capacity=1)

    # e-1's enrolment dies after taking the program's only seat, before it is saved.
    def enrol_e1(url: str) -> httpx.Response:
        path = f"{url}/v1/programs/{program}/enrolments"
        return httpx.post(path, json={}, headers=token("e-1"), timeout=10.0)

    code = await asyncio.to_thread(
        run_until_crash, settings, "enrollment.enrolment.seat_taken", enrol_e1
    )
    assert code == -9
    mongo = connect(settings.mongodb_uri, app_name="tests")
    try:
        counter = await mongo[settings.database_name].programs.find_one({"_id": program})
        assert counter is not None and counter["enrolled_count"] == 1  # the drift
    finally:
        await mongo.close()

    # The claim e-1's enrolment left on the seat is abandoned once older than the grace.
    restarted = settings.model_copy(update={"seat_claim_seconds": 0.001})
    async with running_app(build_app(restarted)) as client:
        path = f"/v1/programs/{program}/enrolments"
        second = await client.post(path, json={}, headers=token("e-2"))
        assert second.status_code == 201
        assert second.json()["status"] == "enrolled"  # the seat nobody holds is free again
        third = await client.post(path, json={}, headers=token("e-3"))
        assert third.json()["status"] == "waitlisted"  # and the capacity still holds
        first = await client.post(path, json={}, headers=token("e-1"))
        assert first.json()["status"] == "waitlisted"


@pytest.mark.cascade
async def test_a_termination_interrupted_by_a_crash_completes_after_restart_once(
    settings: EnrollmentSettings,
    token: Callable[..., dict[str, str]],
    admin: dict[str, str],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    async with running_app(build_app(settings)) as client:
        for n in range(1, 8):
            await send_hr(client, hired(f"e-{n}"))
        # Program A: a full roundtable of four (capacity 4) and e-7 on the waitlist.
        # Program B: a roundtable of three, dissolved when e-1 leaves.
        a = await open_program(client, admin, group_size_min=3, group_size_max=4, capacity=4)
        b = await open_program(client, admin, group_size_min=3, group_size_max=3)
        enrolments = {(a, e): "" for e in ("e-1", "e-2", "e-3", "e-4", "e-7")}
        enrolments |= {(b, e): "" for e in ("e-1", "e-5", "e-6")}
        for program, employee in enrolments:
            answer = await client.post(
                f"/v1/programs/{program}/enrolments", json={}, headers=token(employee)
            )
            assert answer.status_code == 201, answer.text
            enrolments[program, employee] = answer.json()["participant_id"]
        assert (await client.get(f"/v1/participants/{enrolments[a, 'e-7']}", headers=admin)).json()[
            "status"
        ] == "waitlisted"
        groups = {}
        for program in (a, b):
            (groups[program],) = await match_program(client, admin, program)
        before = len(await enrollment_events(nats_client, namespace, 7 + 8 + 2))

    # Killed right after e-1's withdrawals are saved (the cascade's one bulk write for the
    # batch): their groups and seats have not followed.
    code = await asyncio.to_thread(
        run_until_crash, settings, "enrollment.withdrawal.recorded", hr_webhook(terminated("e-1"))
    )
    assert code == -9

    # Half done, as the crash left it: e-1's enrolments are withdrawn with their groups and
    # seats still to follow (the groups still list e-1).
    mongo = connect(settings.mongodb_uri, app_name="tests")
    try:
        db = mongo[settings.database_name]
        for program in (a, b):
            left = await db.participants.find_one({"_id": enrolments[program, "e-1"]})
            assert left is not None and left["status"] == "withdrawn"
            assert left["leaving_group_id"] == groups[program]
            assert left["seat_to_release"] is True
            group = await db.groups.find_one({"_id": groups[program]})
            assert group is not None
            assert "e-1" in [m["employee_id"] for m in group["members"]]
    finally:
        await mongo.close()

    async with running_app(build_app(settings)) as client:

        async def completed() -> bool:
            statuses = [
                (await client.get(f"/v1/participants/{enrolments[p, e]}", headers=admin)).json()[
                    "status"
                ]
                for p, e in ((a, "e-1"), (b, "e-1"), (a, "e-7"))
            ]
            group_a = (await client.get(f"/v1/groups/{groups[a]}", headers=admin)).json()
            group_b = (await client.get(f"/v1/groups/{groups[b]}", headers=admin)).json()
            return (
                statuses == ["withdrawn", "withdrawn", "enrolled"]
                and len(group_a["members"]) == 3
                and group_b["status"] == "dissolved"
            )

        await wait_for(completed, wait_seconds=40)
        group_a = (await client.get(f"/v1/groups/{groups[a]}", headers=admin)).json()
        assert "e-1" not in [m["employee_id"] for m in group_a["members"]]
        # The seat counter is exact: e-1's seat went to e-7, so A is full again.
        late = await client.post(f"/v1/programs/{a}/enrolments", json={}, headers=token("e-6"))
        assert late.json()["status"] == "waitlisted"

        # upserted + offboarded, two withdrawals, e-7 promoted, A changed, B dissolved, e-6 late
        expected = before + 2 + 2 + 1 + 1 + 1 + 1
        events = await enrollment_events(nats_client, namespace, expected, wait_seconds=30)
        await asyncio.sleep(1.0)  # a duplicate would show up by now
        events = await enrollment_events(nats_client, namespace, expected)
        assert len(events) == expected
        ids = Counter(e.id for e in events)
        assert max(ids.values()) == 1
        after = events[before:]
        kinds = Counter((e.subject, e.type.rsplit(".", 1)[1]) for e in after)
        assert kinds[enrolments[a, "e-1"], "withdrawn"] == 1
        assert kinds[enrolments[b, "e-1"], "withdrawn"] == 1
        assert kinds[enrolments[a, "e-7"], "enrolled"] == 1
        assert kinds[groups[a], "changed"] == 1
        assert kinds[groups[b], "dissolved"] == 1
        withdrawn = [e for e in after if e.type.endswith("participant.withdrawn")]
        assert {e.data["reason"] for e in withdrawn} == {"terminated"}


def hr_batch(events: list[dict[str, Any]]) -> Callable[[str], httpx.Response]:
    def send(url: str) -> httpx.Response:
        raw, headers = signed({"events": events})
        answer = httpx.post(f"{url}/v1/hr/events/batch", content=raw, headers=headers)
        assert answer.status_code == 200  # stored before the crash
        return answer

    return send


@pytest.mark.cascade
async def test_a_cascade_batch_killed_between_its_bulk_write_and_its_ack_applies_nothing_twice(
    settings: EnrollmentSettings,
    token: Callable[..., dict[str, str]],
    admin: dict[str, str],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    consenting = {"consent_to_reporting": True}
    async with running_app(build_app(settings)) as client:
        for n in range(1, 6):
            await send_hr(client, hired(f"e-{n}"))
        program = await open_program(client, admin, capacity=4)
        enrolments = {}
        for n in range(1, 6):  # e-5 waitlisted
            answer = await client.post(
                f"/v1/programs/{program}/enrolments", json=consenting, headers=token(f"e-{n}")
            )
            assert answer.status_code == 201, answer.text
            enrolments[f"e-{n}"] = answer.json()["participant_id"]
        await enrollment_events(nats_client, namespace, 5 + 5)
        await asyncio.sleep(1.0)  # the relay's last events of the setup are out by now
        before = len(await enrollment_events(nats_client, namespace, 5 + 5))

    at = "2026-03-01T00:00:00Z"
    news = [
        terminated("e-1"),
        {
            "event_id": "l-2",
            "type": "employee.leave_started",
            "employee_id": "e-2",
            "effective_at": at,
        },
        {
            "event_id": "u-3",
            "type": "employee.updated",
            "employee_id": "e-3",
            "effective_at": at,
            "employee": {"department": "Sales"},
        },
        terminated("e-4"),
    ]
    # Killed right after the cascade's bulk write, before the batch is acknowledged.
    code = await asyncio.to_thread(
        run_until_crash, settings, "enrollment.cascade.batch_written", hr_batch(news)
    )
    assert code == -9

    async with running_app(build_app(settings)) as client:

        async def status(employee: str) -> str:
            path = f"/v1/participants/{enrolments[employee]}"
            return str((await client.get(path, headers=admin)).json()["status"])

        async def completed() -> bool:
            statuses = [await status(f"e-{n}") for n in range(1, 6)]
            return statuses == ["withdrawn", "paused", "enrolled", "withdrawn", "enrolled"]

        await wait_for(completed, wait_seconds=40)

    mongo = connect(settings.mongodb_uri, app_name="tests")
    try:
        db = mongo[settings.database_name]
        # Nothing lost: e-3's new department reached their enrolment; both terminations are
        # finished (seats given back, e-5 promoted into one of them, the cascade marks gone).
        third = await db.participants.find_one({"_id": enrolments["e-3"]})
        assert third is not None and third["reporting_attributes"]["department"] == "Sales"
        marks = await db.employees.find({"cascade_due": {"$ne": None}}).to_list()
        assert marks == []
        counter = await db.programs.find_one({"_id": program})
        assert counter is not None
        assert (counter["enrolled_count"], counter.get("seats_released") or []) == (3, [])
    finally:
        await mongo.close()

    # Nothing twice: e-1 and e-4 withdrawn once, e-2 paused once, e-3 updated once, e-5
    # promoted once; four employee.upserted and two employee.offboarded from the HR batch.
    expected = before + 4 + 2 + 2 + 1 + 1 + 1
    events = await enrollment_events(nats_client, namespace, expected, wait_seconds=30)
    await asyncio.sleep(1.0)  # a duplicate would show up by now
    events = await enrollment_events(nats_client, namespace, expected)
    assert len(events) == expected, Counter(e.type for e in events[before:])
    assert max(Counter(e.id for e in events).values()) == 1
    kinds = Counter((e.subject, e.type.rsplit(".", 1)[1]) for e in events[before:])
    assert kinds[enrolments["e-1"], "withdrawn"] == 1
    assert kinds[enrolments["e-4"], "withdrawn"] == 1
    assert kinds[enrolments["e-2"], "paused"] == 1
    assert kinds[enrolments["e-3"], "updated"] == 1
    assert kinds[enrolments["e-5"], "enrolled"] == 1


async def test_a_swap_interrupted_by_a_crash_is_finished_by_the_retry(
    settings: EnrollmentSettings,
    token: Callable[..., dict[str, str]],
    admin: dict[str, str],
) -> None:
    async with running_app(build_app(settings)) as client:
        for n in range(1, 7):
            await send_hr(client, hired(f"e-{n}"))
        program = await open_program(client, admin, group_size_min=3, group_size_max=3)
        ids = {}
        for n in range(1, 7):
            answer = await client.post(
                f"/v1/programs/{program}/enrolments", json={}, headers=token(f"e-{n}")
            )
            ids[f"e-{n}"] = answer.json()["participant_id"]
        await match_program(client, admin, program)
        groups = {
            eid: (await client.get("/v1/me/groups", headers=token(eid))).json()[0]["group_id"]
            for eid in ids
        }
        mine = groups["e-1"]
        theirs, them = next((g, eid) for eid, g in groups.items() if g != mine)
        me, other = ids["e-1"], ids[them]
    swap = {"participant_id": me, "with_participant_id": other}

    def swap_e1(url: str) -> httpx.Response:
        path = f"{url}/v1/groups/{mine}/swap"
        return httpx.post(path, json=swap, headers=admin, timeout=10.0)

    code = await asyncio.to_thread(
        run_until_crash, settings, "enrollment.swap.first_group_saved", swap_e1
    )
    assert code == -9

    async with running_app(build_app(settings)) as client:
        half = (await client.get(f"/v1/groups/{theirs}", headers=admin)).json()
        assert other in [m["participant_id"] for m in half["members"]]  # in both groups now
        bystander = next(
            m["participant_id"] for m in half["members"] if m["participant_id"] != other
        )
        wrong = {"participant_id": bystander, "with_participant_id": other}
        refused = await client.post(f"/v1/groups/{mine}/swap", json=wrong, headers=admin)
        assert refused.status_code == 404  # not the swap the crash interrupted
        assert (await client.get(f"/v1/groups/{theirs}", headers=admin)).json() == half
        retried = await client.post(f"/v1/groups/{mine}/swap", json=swap, headers=admin)
        assert retried.status_code == 200, retried.text
        members = {
            g: [
                m["participant_id"]
                for m in (await client.get(f"/v1/groups/{g}", headers=admin)).json()["members"]
            ]
            for g in (mine, theirs)
        }
        assert other in members[mine] and me not in members[mine]
        assert me in members[theirs] and other not in members[theirs]
        for pid, gid in ((me, theirs), (other, mine)):
            enrolment = (await client.get(f"/v1/participants/{pid}", headers=admin)).json()
            assert enrolment["group_id"] == gid


async def test_surveys_of_a_program_whose_close_crashed_are_closed_by_the_pass(
    settings: EnrollmentSettings,
    token: Callable[..., dict[str, str]],
    admin: dict[str, str],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    async with running_app(build_app(settings)) as client:
        await send_hr(client, hired("e-1"))
        program = await open_program(client, admin)
        enrolled = await client.post(
            f"/v1/programs/{program}/enrolments", json={}, headers=token("e-1")
        )
        assert enrolled.status_code == 201, enrolled.text
        closes_at = (datetime.now(UTC) + timedelta(days=7)).isoformat()
        opened = await client.post(
            f"/v1/programs/{program}/surveys",
            json={"kind": "pre_program", "closes_at": closes_at},
            headers=admin,
        )
        assert opened.status_code == 201, opened.text
        survey_id = opened.json()["surveys"][0]["survey_id"]

    def close_program(url: str) -> httpx.Response:
        return httpx.post(f"{url}/v1/programs/{program}/close", headers=admin, timeout=10.0)

    code = await asyncio.to_thread(
        run_until_crash, settings, "enrollment.program.closed", close_program
    )
    assert code == -9  # the program closed, its surveys not yet

    restarted = settings.model_copy(update={"survey_close_seconds": 0.05})
    async with running_app(build_app(restarted)) as client:

        async def closed() -> bool:
            listed = await client.get(f"/v1/programs/{program}/surveys", headers=admin)
            return bool(listed.json()["items"][0]["closed_at"])

        await wait_for(closed)
        answer = await client.put(
            f"/v1/me/surveys/{survey_id}/response",
            json={"answers": {"rt_leadership_confidence": 3}},
            headers=token("e-1"),
        )
        assert answer.status_code == 409

        async def published_once() -> bool:
            events = await enrollment_events(nats_client, namespace, at_least=0)
            return [e.subject for e in events if e.type.endswith("survey.closed")] == [survey_id]

        await wait_for(published_once)
