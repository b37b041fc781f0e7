"""Enrolments follow HR changes: leaves pause and resume, new department, level or location reach
consenting participants (participant.updated); an HR change that keeps finding the enrolment
changed by someone else is applied on redelivery, never dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient
from prometheus_client import REGISTRY

from enrollment.app import build_app
from enrollment.directory.repository import EMPLOYEES, EmployeeRepository
from enrollment.participants.repository import PARTICIPANTS, ParticipantRepository
from enrollment.participants.service import ParticipantService
from enrollment.programs.domain import SeatClaim
from enrollment.programs.repository import PROGRAMS, ProgramRepository
from enrollment.settings import EnrollmentSettings
from roundtable_dev.testing.enrollment import (
    enrollment_events,
    hired,
    open_program,
    send_hr,
    wait_for,
)
from roundtable_dev.testing.http import running_app
from roundtable_shared.events.catalogue.enrollment import WithdrawReason
from roundtable_shared.events.registry import parse_data
from roundtable_shared.messaging.streams import stream_name
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Database, connect
from roundtable_shared.storage.retry import ATTEMPTS

CONSENTING = {"goals": ["Delegate more"], "consent_to_reporting": True}
PRIVATE = {"goals": ["Delegate more"], "consent_to_reporting": False}


def hr_change(employee_id: str, event_id: str, at: str, **profile: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "employee.updated",
        "employee_id": employee_id,
        "effective_at": at,
        "employee": profile,
    }


async def enrol(
    client: httpx.AsyncClient, token: Callable[..., dict[str, str]], pid: str, eid: str, body: Any
) -> str:
    answer = await client.post(f"/v1/programs/{pid}/enrolments", json=body, headers=token(eid))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["participant_id"])


@pytest.mark.cascade
async def test_an_hr_change_of_department_reaches_a_consenting_participant_once(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    for eid in ("e-1", "e-2"):
        await send_hr(client, hired(eid))
    pid = await open_program(client, admin)
    consenting = await enrol(client, token, pid, "e-1", CONSENTING)
    private = await enrol(client, token, pid, "e-2", PRIVATE)

    moved = hr_change("e-1", "u-1", "2026-02-01T00:00:00Z", department="Sales", level="L6")
    assert (await send_hr(client, moved)).json()["outcome"] == "applied"
    assert (await send_hr(client, moved)).json()["outcome"] == "duplicate"
    retitled = hr_change("e-1", "u-2", "2026-02-02T00:00:00Z", title="Head of Sales")
    await send_hr(client, retitled)
    await send_hr(client, hr_change("e-2", "u-3", "2026-02-01T00:00:00Z", location="Paris"))
    # A leave after them all: once its pause is out, the cascade has handled every change before.
    leave = {
        "event_id": "l-1",
        "type": "employee.leave_started",
        "employee_id": "e-1",
        "effective_at": "2026-03-01T00:00:00Z",
    }
    await send_hr(client, leave)

    async def paused() -> bool:
        answer = await client.get(f"/v1/participants/{consenting}", headers=admin)
        return bool(answer.json()["status"] == "paused")

    await wait_for(paused)

    async def pause_published() -> bool:
        # The outbox relay publishes after the write: the pause can be seen before its event.
        events = await enrollment_events(nats_client, namespace, 0)
        return any(e.subject == consenting and e.type.endswith(".paused") for e in events)

    await wait_for(pause_published)
    events = await enrollment_events(nats_client, namespace, 0)
    updated = [e for e in events if e.type == "roundtable.enrollment.participant.updated"]
    assert [e.subject for e in updated] == [consenting], updated
    parse_data(updated[0])  # the catalogue's schema
    assert updated[0].data["reporting_attributes"] == {
        "department": "Sales",
        "level": "L6",
        "location": "Berlin",
    }
    assert not [e for e in events if e.subject == private and not e.type.endswith("enrolled")]
    mine = [e.type.rsplit(".", 1)[1] for e in events if e.subject == consenting]
    # The cascade acts on the directory as it is when it looks: if the leave was stored before
    # it looked, the change and the pause come out of one save, pause first.
    assert mine[0] == "enrolled" and sorted(mine[1:]) == ["paused", "updated"], mine


@pytest.fixture
async def service_db(settings: EnrollmentSettings) -> AsyncIterator[Database]:
    """The running service's own database, to drive its handlers directly."""
    mongo = connect(settings.mongodb_uri, app_name="tests")
    try:
        yield mongo[settings.database_name]
    finally:
        await mongo.close()


def participant_service(settings: EnrollmentSettings, db: Database) -> ParticipantService:
    """The service's handlers on its database, driven directly (no consumer in between)."""
    source = settings.event_source
    return ParticipantService(
        ParticipantRepository(AggregateStore(db[PARTICIPANTS], source=source)),
        ProgramRepository(AggregateStore(db[PROGRAMS], source=source)),
        EmployeeRepository(AggregateStore(db[EMPLOYEES], source=source)),
    )


async def test_an_hr_change_is_followed_once_and_a_repeat_changes_nothing(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    settings: EnrollmentSettings,
    service_db: Database,
) -> None:
    for eid in ("e-1", "e-2"):
        await send_hr(client, hired(eid))
    pid = await open_program(client, admin)
    par = await enrol(client, token, pid, "e-1", CONSENTING)
    service = participant_service(settings, service_db)

    async def version() -> int:
        return int((await client.get(f"/v1/participants/{par}", headers=admin)).json()["version"])

    enrolled_version = await version()
    assert await service.follow_directory("e-2") is False  # never enrolled
    assert await service.follow_directory("e-unknown") is False
    assert await service.follow_directory("e-1") is True  # looked at: nothing to change
    assert await version() == enrolled_version
    await send_hr(client, hr_change("e-1", "u-1", "2026-02-01T00:00:00Z", display_name="Ada"))
    await service.follow_directory("e-1")
    assert await version() == enrolled_version  # a new name: no enrolment cares

    leave = {
        "event_id": "l-1",
        "type": "employee.leave_started",
        "employee_id": "e-1",
        "effective_at": "2026-02-02T00:00:00Z",
    }
    await send_hr(client, leave)
    assert await service.follow_directory("e-1") is True
    assert await service.follow_directory("e-1") is True  # a redelivery
    seen = (await client.get(f"/v1/participants/{par}", headers=admin)).json()
    assert (seen["status"], seen["version"]) == ("paused", enrolled_version + 1)

    back = {**leave, "event_id": "l-2", "type": "employee.leave_ended"}
    back["effective_at"] = "2026-02-03T00:00:00Z"
    await send_hr(client, back)
    await service.follow_directory("e-1")
    seen = (await client.get(f"/v1/participants/{par}", headers=admin)).json()
    assert (seen["status"], seen["version"]) == ("enrolled", enrolled_version + 2)


async def test_a_termination_withdraws_and_frees_the_seat(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    settings: EnrollmentSettings,
    service_db: Database,
) -> None:
    for eid in ("e-1", "e-2"):
        await send_hr(client, hired(eid))
    pid = await open_program(client, admin, capacity=2)
    par = await enrol(client, token, pid, "e-1", CONSENTING)
    await enrol(client, token, pid, "e-2", CONSENTING)
    service = participant_service(settings, service_db)
    programs = service.programs

    async def seats() -> tuple[int, list[str]]:
        program = await programs.collection.find_one({"_id": pid})
        assert program is not None
        return int(program["enrolled_count"]), list(program.get("seats_released") or [])

    assert await seats() == (2, [])
    await service.withdraw_everywhere("e-1", WithdrawReason.TERMINATED)
    seen = (await client.get(f"/v1/participants/{par}", headers=admin)).json()
    assert (seen["status"], seen["withdrawal_reason"]) == ("withdrawn", "terminated")
    assert await seats() == (1, [])

    # A release run again after a crash (before the withdrawal stopped asking for it) frees
    # nothing more; enrolling again takes the seat, and a later withdrawal frees it again.
    await programs.release_seat(pid, "p-x")
    await programs.release_seat(pid, "p-x")
    assert await seats() == (0, ["p-x"])
    claim = SeatClaim("p-x", datetime(2026, 2, 1, tzinfo=UTC))
    assert await programs.take_seat(pid, 2, claim)
    await programs.settle(pid, claim)
    assert await seats() == (1, [])
    await programs.release_seat(pid, "p-x")
    await programs.released(pid, "p-x")
    assert await seats() == (0, [])


@pytest.mark.cascade
async def test_an_erasure_leaves_no_directory_fact_and_no_readable_event_of_the_person(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    nats_client: NatsClient,
    namespace: str,
    service_db: Database,
) -> None:
    marked = hired(
        "e-1",
        display_name="Erin Marker",
        email="erin.marker@example.com",
        department="Dept-Marker",
        location="Town-Marker",
    )
    await send_hr(client, marked)
    pid = await open_program(client, admin)
    participant = await enrol(client, token, pid, "e-1", CONSENTING)
    moved = hr_change("e-1", "u-1", "2026-02-01T00:00:00Z", level="Level-Marker")
    await send_hr(client, moved)

    async def followed() -> bool:
        kept = await service_db[PARTICIPANTS].find_one({"_id": participant})
        return bool(kept and (kept.get("reporting_attributes") or {}).get("level"))

    await wait_for(followed)
    assert (await client.post("/v1/employees/e-1/erasure", headers=admin)).status_code == 200

    async def withdrawn_and_forgotten() -> bool:
        kept = await service_db[PARTICIPANTS].find_one({"_id": participant})
        assert kept is not None
        return kept["status"] == "withdrawn" and kept.get("reporting_attributes") is None

    await wait_for(withdrawn_and_forgotten)
    markers = ["Erin Marker", "erin.marker@example.com", "Dept-Marker", "Town-Marker", "Level-"]
    js = nats_client.jetstream()
    stream = stream_name("enrollment", namespace)
    state = (await js.stream_info(stream)).state
    raw = [(await js.get_msg(stream, s)).data or b"" for s in range(1, state.last_seq + 1)]
    assert not [m for m in markers if any(m.encode() in r for r in raw)]
    # Opened with the keys as they are now, as a replay would: nothing of the person either.
    opened = await enrollment_events(nats_client, namespace, 0)
    assert not [m for m in markers if any(m in e.model_dump_json() for e in opened)]
    upserts = [e for e in opened if e.type.endswith("employee.upserted") and e.subject == "e-1"]
    assert upserts and all(e.data["display_name"] is None for e in upserts)


class OvertakenParticipants:
    """Another writer changes the enrolment between each read and write of the next ``times``
    saves of it, one by one or in a bulk write (a real write, through the same database), so
    each of them finds it stale."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, participant_id: str, times: int) -> None:
        self.participant_id, self.left, self.overtaken = participant_id, times, 0
        save, save_many = ParticipantRepository.save, ParticipantRepository.save_many

        async def overtake(repository: ParticipantRepository, participants: list[Any]) -> None:
            if self.participant_id in [p.participant_id for p in participants] and self.left > 0:
                self.left -= 1
                self.overtaken += 1
                await repository.collection.update_one(
                    {"_id": self.participant_id}, {"$inc": {"version": 1}}
                )

        async def overtaken_save(
            repository: ParticipantRepository, participant: Any, *args: Any, **kwargs: Any
        ) -> int | None:
            await overtake(repository, [participant])
            return await save(repository, participant, *args, **kwargs)

        async def overtaken_save_many(repository: ParticipantRepository, changes: Any) -> bool:
            await overtake(repository, [participant for participant, *_ in changes])
            return await save_many(repository, changes)

        monkeypatch.setattr(ParticipantRepository, "save", overtaken_save)
        monkeypatch.setattr(ParticipantRepository, "save_many", overtaken_save_many)


@pytest.mark.cascade
async def test_an_hr_change_that_finds_the_enrolment_stale_every_time_is_applied_on_redelivery(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await send_hr(client, hired("e-1"))
    pid = await open_program(client, admin)
    par = await enrol(client, token, pid, "e-1", CONSENTING)
    enrolled_version = (await client.get(f"/v1/participants/{par}", headers=admin)).json()[
        "version"
    ]
    retried = {"consumer": "enrollment-directory-cascade", "outcome": "retried"}
    retries_before = REGISTRY.get_sample_value("roundtable_events_consumed_total", retried) or 0
    # The batch's bulk write, then as many stale writes as the retry helper attempts: the
    # first delivery gives up.
    race = OvertakenParticipants(monkeypatch, par, 1 + ATTEMPTS)

    leave = {
        "event_id": "l-1",
        "type": "employee.leave_started",
        "employee_id": "e-1",
        "effective_at": "2026-02-02T00:00:00Z",
    }
    assert (await send_hr(client, leave)).json()["outcome"] == "applied"

    async def paused() -> bool:
        answer = await client.get(f"/v1/participants/{par}", headers=admin)
        return bool(answer.json()["status"] == "paused")

    # Not dropped: the delivery that gave up failed, and the redelivery applied the leave.
    await wait_for(paused)
    assert race.overtaken == 1 + ATTEMPTS
    retries = REGISTRY.get_sample_value("roundtable_events_consumed_total", retried) or 0
    assert retries - retries_before >= 1
    seen = (await client.get(f"/v1/participants/{par}", headers=admin)).json()
    assert seen["version"] == enrolled_version + 1 + ATTEMPTS + 1  # the racer's, then the pause


async def test_the_directory_facts_earlier_versions_kept_are_dropped_at_start(
    settings: EnrollmentSettings, service_db: Database
) -> None:
    # As an earlier version left it: an employee's department, copied beside the enrolments.
    retired = service_db["followed_directory"]
    await retired.insert_one({"_id": "e-1", "facts": {"department": "Dept-Marker"}})
    async with running_app(build_app(settings)):

        async def dropped() -> bool:
            return "followed_directory" not in await service_db.list_collection_names()

        await wait_for(dropped)
