"""The HR webhook's batches, against real NATS and FerretDB: one signed request, a result per
event, each event idempotent by its HR id and ordered as if sent alone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from enrollment.directory.batch import Stored, apply_hr_batch
from enrollment.directory.endpoints import _HR_EVENT
from enrollment.directory.repository import EMPLOYEES, EmployeeRepository
from enrollment.directory.service import DirectoryService
from enrollment.settings import EnrollmentSettings
from roundtable_dev.testing.enrollment import HR_SECRET, enrollment_events, hired, signed
from roundtable_shared.messaging.streams import stream_name
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.storage.aggregates import AggregateStore

BATCH = "/v1/hr/events/batch"


async def send_batch(
    client: httpx.AsyncClient, events: list[Any], secret: str = HR_SECRET
) -> httpx.Response:
    raw, headers = signed({"events": events}, secret)
    return await client.post(BATCH, content=raw, headers=headers)


def terminated(employee_id: str, event_id: str, at: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "employee.terminated",
        "employee_id": employee_id,
        "effective_at": at,
    }


def updated(employee_id: str, event_id: str, at: str, **fields: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "employee.updated",
        "employee_id": employee_id,
        "effective_at": at,
        "employee": fields,
    }


async def stream_size(nats_client: NatsClient, namespace: str) -> int:
    info = await nats_client.jetstream().stream_info(stream_name("enrollment", namespace))
    return int(info.state.messages)


async def test_a_batch_stores_every_event_and_answers_one_result_each(
    client: httpx.AsyncClient, admin: dict[str, str], nats_client: NatsClient, namespace: str
) -> None:
    events = [
        hired("b-1", event_id="h-b-1"),
        hired("b-2", event_id="h-b-2"),
        updated("b-1", "u-b-1", "2026-02-01T00:00:00Z", department="Sales"),
        terminated("b-2", "t-b-2", "2026-03-01T00:00:00Z"),
    ]
    answer = await send_batch(client, events)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(r["index"], r["event_id"], r["status"]) for r in body["results"]] == [
        (0, "h-b-1", 200),
        (1, "h-b-2", 200),
        (2, "u-b-1", 200),
        (3, "t-b-2", 200),
    ]
    assert {r["outcome"] for r in body["results"]} == {"applied"}
    assert (body["applied"], body["rejected"], body["duplicate"]) == (4, 0, 0)
    # Stored before the answer, in the batch's order per employee.
    first = (await client.get("/v1/employees/b-1", headers=admin)).json()
    assert (first["department"], first["version"]) == ("Sales", 2)
    second = (await client.get("/v1/employees/b-2", headers=admin)).json()
    assert second["employment_status"] == "terminated"
    assert body["results"][3]["version"] == second["version"]

    announced = await enrollment_events(nats_client, namespace, 5)
    by_employee = {
        employee: [e.type.rsplit(".", 2)[-2:] for e in announced if e.subject == employee]
        for employee in ("b-1", "b-2")
    }
    assert by_employee["b-1"] == [["employee", "upserted"]] * 2
    assert by_employee["b-2"] == [
        ["employee", "upserted"],
        ["employee", "upserted"],
        ["employee", "offboarded"],
    ]


async def test_a_replayed_batch_changes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], nats_client: NatsClient, namespace: str
) -> None:
    events = [
        hired("r-1", event_id="h-r-1"),
        updated("r-1", "u-r-1", "2026-02-01T00:00:00Z", level="L6"),
        hired("r-2", event_id="h-r-2"),
    ]
    first = await send_batch(client, events)
    assert first.status_code == 200, first.text
    await enrollment_events(nats_client, namespace, 3)
    published = await stream_size(nats_client, namespace)
    versions = [r["version"] for r in first.json()["results"]]

    again = await send_batch(client, events)  # a resend inside the replay window
    assert again.status_code == 200, again.text
    assert [r["outcome"] for r in again.json()["results"]] == ["duplicate"] * 3
    assert [r["version"] for r in again.json()["results"]] == [versions[1], versions[1], 1]
    await asyncio.sleep(0.5)  # an event from the resend would have been published by now
    assert await stream_size(nats_client, namespace) == published
    employee = (await client.get("/v1/employees/r-1", headers=admin)).json()
    assert (employee["level"], employee["version"]) == ("L6", 2)


async def test_one_bad_event_does_not_sink_the_others(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    bad_email = hired("m-2", event_id="h-m-2")
    bad_email["employee"]["email"] = "not-an-email"
    events: list[Any] = [
        hired("m-1", event_id="h-m-1"),
        bad_email,
        42,
        {"event_id": "x-m-3", "type": "employee.promoted", "employee_id": "m-3"},
        terminated("m-1", "t-m-1", "2026-05-01T00:00:00Z"),
    ]
    answer = await send_batch(client, events)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == [200, 422, 422, 422, 200]
    assert [r["outcome"] for r in results] == [
        "applied",
        "rejected",
        "rejected",
        "rejected",
        "applied",
    ]
    assert results[1]["event_id"] == "h-m-2"
    assert results[1]["errors"][0]["field"] == "employee.hired.employee.email"
    assert results[2]["event_id"] is None  # not even an object: refused by its position
    assert results[3]["employee_id"] == "m-3"
    assert answer.json()["rejected"] == 3
    stored = (await client.get("/v1/employees/m-1", headers=admin)).json()
    assert stored["employment_status"] == "terminated"
    for refused in ("m-2", "m-3"):
        missing = await client.get(f"/v1/employees/{refused}", headers=admin)
        assert missing.status_code == 404  # nothing half-written for a refused event


async def test_field_level_ordering_holds_inside_a_batch(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    hire = await send_batch(client, [hired("o-1", event_id="h-o-1", at="2026-01-01T00:00:00Z")])
    assert hire.status_code == 200, hire.text
    # The newer change comes first in the batch: the older one may only fill other fields.
    events = [
        updated("o-1", "u-new", "2026-03-01T00:00:00Z", title="Director", level="L7"),
        updated("o-1", "u-old", "2026-02-01T00:00:00Z", title="Manager", location="Paris"),
    ]
    answer = await send_batch(client, events)
    assert answer.status_code == 200, answer.text
    assert [r["outcome"] for r in answer.json()["results"]] == ["applied", "applied"]
    employee = (await client.get("/v1/employees/o-1", headers=admin)).json()
    assert (employee["title"], employee["level"]) == ("Director", "L7")
    assert employee["location"] == "Paris"
    again = await send_batch(client, events)  # the update remembered both HR ids
    assert [r["outcome"] for r in again.json()["results"]] == ["duplicate", "duplicate"]
    assert (await client.get("/v1/employees/o-1", headers=admin)).json() == employee


async def test_a_batch_is_signed_as_a_whole(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    refused = await send_batch(client, [hired("s-1")], secret="wrong")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"

    raw, headers = signed({"events": [hired("s-1")]})
    tampered = raw.replace(b"Name s-1", b"Name s-X")
    answer = await client.post(BATCH, content=tampered, headers=headers)
    assert answer.status_code == 401
    unsigned = await client.post(BATCH, content=raw, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    missing = await client.get("/v1/employees/s-1", headers=admin)
    assert missing.status_code == 404


async def test_more_than_a_thousand_events_are_refused_whole(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    events = [terminated(f"big-{n}", f"t-big-{n}", "2026-05-01T00:00:00Z") for n in range(1001)]
    answer = await send_batch(client, events)
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert "1000" in answer.json()["detail"]
    missing = await client.get("/v1/employees/big-0", headers=admin)
    assert missing.status_code == 404


async def test_a_batch_that_is_no_batch_is_a_problem(client: httpx.AsyncClient) -> None:
    raw, headers = signed(b"{not json")
    garbled = await client.post(BATCH, content=raw, headers=headers)
    assert garbled.status_code == 400
    for body in ({"events": []}, {"events": "e-1"}, [hired("n-1")], {}):
        answer = await send_batch_raw(client, body)
        assert answer.status_code == 422, body
        assert answer.headers["content-type"] == "application/problem+json"


async def send_batch_raw(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    raw, headers = signed(json.dumps(body).encode())
    return await client.post(BATCH, content=raw, headers=headers)


async def test_openapi_documents_the_batch(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"][BATCH]["post"]
    content = operation["requestBody"]["content"]["application/json"]
    assert content["schema"] == {"$ref": "#/components/schemas/HrEventBatch"}
    assert content["examples"]["batch"]["value"]["events"]
    schemas = document["components"]["schemas"]
    events = schemas["HrEventBatch"]["properties"]["events"]
    assert events["maxItems"] == 1000
    assert "HrBatchResult" in schemas and schemas["HrBatchResult"].get("examples")
    assert "EmployeeHired" in schemas


class ChangedMeanwhile(EmployeeRepository):
    """Reads the batch's employees, then lets another request write before the bulk write."""

    def __init__(self, store: AggregateStore, meanwhile: Callable[[], Awaitable[None]]) -> None:
        super().__init__(store)
        self.meanwhile = meanwhile

    async def load_many(self, employee_ids: Iterable[str]) -> dict[str, Any]:
        found = await super().load_many(employee_ids)
        await self.meanwhile()
        return found


async def test_an_employee_changed_meanwhile_gets_the_batch_applied_on_top(
    settings: EnrollmentSettings,
) -> None:
    runtime = ServiceRuntime(settings)
    single = DirectoryService(EmployeeRepository(runtime.aggregate_store(EMPLOYEES)))

    async def meanwhile() -> None:
        # A single webhook for c-1 and a hire of c-2 land between the batch's read and write.
        late = updated("c-1", "u-c-1-title", "2026-04-01T00:00:00Z", title="Director")
        await single.apply_hr_event(_HR_EVENT.validate_python(late))
        await single.apply_hr_event(_HR_EVENT.validate_python(hired("c-2", event_id="h-c-2-x")))

    batched = DirectoryService(ChangedMeanwhile(runtime.aggregate_store(EMPLOYEES), meanwhile))
    try:
        await single.apply_hr_event(_HR_EVENT.validate_python(hired("c-1", event_id="h-c-1")))
        batch = [
            updated("c-1", "u-c-1-dept", "2026-03-01T00:00:00Z", department="Sales"),
            hired("c-2", event_id="h-c-2"),
            hired("c-3", event_id="h-c-3"),
        ]
        results = await apply_hr_batch(
            batched, [(n, _HR_EVENT.validate_python(e)) for n, e in enumerate(batch)]
        )
        assert all(isinstance(r, Stored) for r in results.values()), results
        c1, c1_version, c1_ids = await single.employees.load("c-1") or pytest.fail("no c-1")
        # Both changes are there, none overwrote the other, both HR ids are remembered.
        assert (c1.profile["department"], c1.profile["title"]) == ("Sales", "Director")
        assert {"h-c-1", "u-c-1-title", "u-c-1-dept"} <= set(c1_ids)
        assert c1_version == 3
        c2 = await single.employees.load("c-2") or pytest.fail("no c-2")
        assert {"h-c-2", "h-c-2-x"} <= set(c2[2])  # the batch's hire applied on the other one
        c3 = await single.employees.load("c-3") or pytest.fail("no c-3")
        assert (c3[1], c3[2]) == (1, ["h-c-3"])  # untouched by the race: the bulk write
        assert results[0] == Stored("applied", 3)
    finally:
        await runtime.mongo.close()
