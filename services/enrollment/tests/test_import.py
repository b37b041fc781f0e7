"""Bulk directory import through the HTTP endpoint: streamed CSV/NDJSON, dry run, snapshots."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import httpx
from nats.aio.client import Client as NatsClient

from roundtable_dev.testing.enrollment import enrollment_events

CSV = (
    "employee_id,display_name,email,level,department,time_zone,manager_id,hire_date\n"
    "e-1,Ada Lovelace,ada@example.com,L5,Engineering,Europe/Berlin,,2020-01-01\n"
    'e-2,"Hopper, Grace",grace@example.com,L6,Engineering,America/New_York,e-1,2019-05-01\n'
    "e-3,No Email,,L4,Sales,UTC,,\n"
    "e-4,Bad Zone,b@example.com,L4,Sales,not a zone,,\n"
    "e-5,Short row\n"
    'e-6,"Multi\nLine",m@example.com,L3,Ops,UTC,,\n'
)
CSV_HEADERS = {"Content-Type": "text/csv"}


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_csv_import_reports_bad_rows_and_good_rows_go_in(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    answer = await client.post(
        "/v1/directory/imports",
        content=chunks(CSV.encode()),  # streamed in small chunks, cut mid-line
        headers={**admin, **CSV_HEADERS},
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["rows"], report["created"], report["updated"]) == (6, 3, 0)
    errors = {e["row"]: e for e in report["errors"]}
    assert sorted(errors) == [4, 5, 6]
    assert errors[4]["employee_id"] == "e-3" and "email" in errors[4]["reason"]
    assert "time_zone" in errors[5]["reason"]
    assert "fields" in errors[6]["reason"]
    grace = (await client.get("/v1/employees/e-2", headers=admin)).json()
    assert grace["display_name"] == "Hopper, Grace"
    assert grace["manager_id"] == "e-1"
    multi = (await client.get("/v1/employees/e-6", headers=admin)).json()
    assert multi["display_name"] == "Multi\nLine"

    again = (
        await client.post(
            "/v1/directory/imports", content=CSV.encode(), headers={**admin, **CSV_HEADERS}
        )
    ).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    events = await enrollment_events(nats_client, namespace, 3)
    assert sorted(e.subject for e in events) == ["e-1", "e-2", "e-6"]
    assert all(e.type.endswith("employee.upserted") for e in events)


async def test_dry_run_and_full_snapshot_offboarding(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    rows = [
        {"employee_id": f"e-{i}", "display_name": f"E {i}", "email": f"e{i}@example.com"}
        for i in range(1, 5)
    ]
    ndjson = "\n".join(json.dumps(r) for r in rows).encode()
    headers = {**admin, "Content-Type": "application/x-ndjson"}
    first = await client.post("/v1/directory/imports", content=ndjson, headers=headers)
    assert first.json()["created"] == 4

    changed = [*rows[:2], {**rows[2], "display_name": "Renamed"}]  # e-4 left the file
    body = ("\n".join(json.dumps(r) for r in changed) + "\nnot json\n").encode()
    dry = await client.post(
        "/v1/directory/imports?dry_run=true&full_snapshot=true", content=body, headers=headers
    )
    report = dry.json()
    assert (report["updated"], report["unchanged"], report["offboarded"]) == (1, 2, 1)
    assert report["errors"] == [{"row": 4, "employee_id": None, "reason": "not a JSON object"}]
    still = (await client.get("/v1/employees/e-4", headers=admin)).json()
    assert still["employment_status"] == "active"
    assert (await client.get("/v1/employees/e-3", headers=admin)).json()["display_name"] == "E 3"

    real = await client.post(
        "/v1/directory/imports?full_snapshot=true", content=body, headers=headers
    )
    assert real.json()["offboarded"] == 1
    gone = (await client.get("/v1/employees/e-4", headers=admin)).json()
    assert gone["employment_status"] == "terminated"
    assert (await client.get("/v1/employees/e-3", headers=admin)).json()[
        "display_name"
    ] == "Renamed"
    # without full_snapshot nobody is offboarded
    partial = await client.post(
        "/v1/directory/imports", content=json.dumps(rows[0]).encode(), headers=headers
    )
    assert partial.json()["offboarded"] == 0


async def test_import_authorization_and_bad_requests(
    client: httpx.AsyncClient, admin: dict[str, str], token: Callable[..., dict[str, str]]
) -> None:
    body = CSV.encode()
    employee = await client.post(
        "/v1/directory/imports", content=body, headers={**token("e-1"), **CSV_HEADERS}
    )
    assert employee.status_code == 403
    assert (
        await client.post("/v1/directory/imports", content=body, headers=CSV_HEADERS)
    ).status_code == 401
    wrong_type = await client.post(
        "/v1/directory/imports", content=body, headers={**admin, "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    assert wrong_type.headers["content-type"] == "application/problem+json"
    bad_time = await client.post(
        "/v1/directory/imports?as_of=yesterday", content=body, headers={**admin, **CSV_HEADERS}
    )
    assert bad_time.status_code == 422
    binary = await client.post(
        "/v1/directory/imports",
        content=b"employee_id,display_name,email\n\xff\xfe,x,y@z\n",
        headers={**admin, **CSV_HEADERS},
    )
    assert binary.json()["errors"][0] == {"row": 2, "employee_id": None, "reason": "not UTF-8 text"}


def _wide_rows(count: int) -> list[str]:
    """Rows of about 1 KB, as an HR export with long titles and org paths has them."""
    filler = "x" * 180
    return [
        f"e-{i},Employee {i} {filler},e{i}@example.com,Title {filler},"
        f"Department {filler},Location {filler}"
        for i in range(count)
    ]


async def test_an_unbalanced_quote_costs_one_row_in_linear_time_and_the_loop_answers(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    rows = _wide_rows(6_000)
    rows[1] = 'e-1,"Quote never closed,e1@example.com,Title,Department,Location'
    body = ("employee_id,display_name,email,title,department,location\n" + "\n".join(rows)).encode()
    assert len(body) > 4 * 1024 * 1024

    async def upload() -> httpx.Response:
        return await client.post(
            "/v1/directory/imports?dry_run=true",
            content=chunks(body, 64 * 1024),
            headers={**admin, **CSV_HEADERS},
        )

    started = time.perf_counter()
    importing = asyncio.create_task(upload())
    health: list[float] = []
    while not importing.done():  # the event loop keeps answering while the file is parsed
        asked = time.perf_counter()
        assert (await client.get("/healthz")).status_code == 200
        health.append(time.perf_counter() - asked)
        await asyncio.sleep(0.02)
    answer = await importing
    took = time.perf_counter() - started
    assert answer.status_code == 200, answer.text
    report = answer.json()
    # the row with the stray quote is the one bad row; every row after it goes in
    assert report["errors"] == [
        {
            "row": 3,
            "employee_id": None,
            "reason": "unterminated quoted field: no closing quote within 64 KiB",
        }
    ]
    assert (report["rows"], report["created"]) == (6_000, 5_999)
    # a 5 MB file used to take 24 s, all of it on the event loop (quadratic re-joining)
    assert took < 10, took
    assert len(health) >= 2 and max(health) < 1.0, health


async def test_an_unbalanced_quote_on_the_last_rows_is_reported_not_swallowed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    csv_text = (
        "employee_id,display_name,email\n"
        "e-1,Ada,ada@example.com\n"
        'e-2,"Grace,grace@example.com\n'
        "e-3,Katherine,katherine@example.com\n"
    )
    answer = await client.post(
        "/v1/directory/imports", content=csv_text.encode(), headers={**admin, **CSV_HEADERS}
    )
    report = answer.json()
    assert report["created"] == 2, report
    assert [(e["row"], e["reason"]) for e in report["errors"]] == [
        (3, "unterminated quoted field: no closing quote before the end of the file")
    ]
    assert (await client.get("/v1/employees/e-3", headers=admin)).status_code == 200


async def test_an_as_of_in_the_future_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """It would stamp the fields with a future time and so freeze them against every HR change
    until then, a termination included."""
    body = b"employee_id,display_name,email\ne-1,Ada,ada@example.com\n"
    now = datetime.now(UTC)

    async def imported(as_of: datetime) -> httpx.Response:
        return await client.post(
            "/v1/directory/imports",
            params={"as_of": as_of.isoformat()},
            content=body,
            headers={**admin, **CSV_HEADERS},
        )

    for ahead in (timedelta(days=365), timedelta(hours=1)):
        refused = await imported(now + ahead)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["field"] == "as_of"
    assert (await client.get("/v1/employees/e-1", headers=admin)).status_code == 404
    # within clock skew, or in the past: taken
    assert (await imported(now + timedelta(minutes=1))).status_code == 200
    assert (await imported(now - timedelta(days=30))).json()["unchanged"] == 1
