"""Breakdowns against real servers: k-anonymity, complementary suppression, consent, erasure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from reporting.app import build_app
from reporting.settings import ReportingSettings
from reporting.testing.history import PROGRAM, SPONSOR, History, at
from reporting.testing.world import World
from roundtable_shared.auth.dev_issuer import DevIssuer
from roundtable_shared.events.catalogue import enrollment as en
from roundtable_shared.testing.http import running_app

DEPARTMENTS = {"Finance": 8, "Legal": 3, "Sales": 6, "HR": 5}


def population(h: History) -> None:
    h.program(PROGRAM, [SPONSOR])
    n = 0
    for department, size in DEPARTMENTS.items():
        for _ in range(size):
            n += 1
            h.enrol(
                PROGRAM,
                f"e{n}",
                at(1),
                {"department": department, "level": "L3", "location": "Oslo"},
            )


async def _cells(client: httpx.AsyncClient, w: World, dimension: str) -> dict[str, Any]:
    response = await client.get(
        f"/v1/programs/{PROGRAM}/breakdowns/{dimension}", headers=w.headers(SPONSOR, ["sponsor"])
    )
    assert response.status_code == 200, response.text
    return {c["value"]: c for c in response.json()["cells"]}


async def test_small_cells_and_their_complement_are_suppressed(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    h = History()
    population(h)
    await w.publish_all(h.events)
    await w.settle()
    cells = await _cells(client, w, "department")
    assert cells["Finance"]["participants"] == 8 and cells["Sales"]["participants"] == 6
    assert cells["Legal"] == {
        "value": "Legal",
        "suppressed": True,
        "suppression": "below_k",
        "participants": None,
        "active": None,
        "matched": None,
        "first_session": None,
        "three_sessions": None,
    }
    # Without the complement, Legal would be total (22, public in the summary) - 8 - 6 - 5.
    assert cells["HR"]["suppressed"] and cells["HR"]["suppression"] == "complementary"
    summary = await client.get(
        f"/v1/programs/{PROGRAM}/summary", headers=w.headers(SPONSOR, ["sponsor"])
    )
    assert summary.json()["participants"]["enrolled"] == 22
    csv = await client.get(
        f"/v1/programs/{PROGRAM}/breakdowns/department.csv", headers=w.headers(SPONSOR, ["sponsor"])
    )
    rows = {line.split(",")[1]: line for line in csv.text.splitlines()[1:]}
    assert rows["Legal"] == "department,Legal,true,below_k,,,,,"
    assert rows["Finance"].startswith("department,Finance,false,,8,8,")
    # one value for everyone: one cell, shown
    assert list(await _cells(client, w, "level")) == ["L3"]


async def test_people_without_consent_and_erased_people_count_as_not_reported(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    h = History()
    population(h)
    for n in range(1, 4):
        h.enrol(PROGRAM, f"x{n}", at(1), None)  # no consent: no attributes
    for n in range(1, 4):  # three Finance people erased
        h.add(en.EmployeeErased(employee_id=f"e{n}", erased_at=at(3)), f"e{n}")
    await w.publish_all(h.events)
    await w.settle()
    cells = await _cells(client, w, "department")
    assert cells["(not reported)"]["participants"] == 6
    assert cells["Finance"]["participants"] == 5
    # the counts stay
    summary = await client.get(
        f"/v1/programs/{PROGRAM}/summary", headers=w.headers(SPONSOR, ["sponsor"])
    )
    assert summary.json()["participants"]["enrolled"] == 25
    # an attribute update arriving after the erasure does not bring the person back
    late = History()
    late.versions.next(f"par-{PROGRAM}-e1")
    late.add(
        en.ParticipantUpdated(
            participant_id=f"par-{PROGRAM}-e1",
            program_id=PROGRAM,
            employee_id="e1",
            consent_to_reporting=True,
            reporting_attributes=en.ReportingAttributes(department="Finance"),
            updated_at=at(4),
        ),
        f"par-{PROGRAM}-e1",
    )
    await w.publish_all(late.events)
    await w.settle()
    assert (await _cells(client, w, "department"))["Finance"]["participants"] == 5
    persons = (await w.app.state.generations.current()).persons
    erased = await persons.find_one({"employee_id": "e1"})
    assert erased["attributes"] is None and erased["consent"] is False


@pytest.mark.parametrize(("k", "legal_shown"), [(3, True), (9, False)])
async def test_k_is_configurable(
    make_settings: Callable[..., ReportingSettings],
    nats_client: NatsClient,
    namespace: str,
    dev_issuer: DevIssuer,
    k: int,
    legal_shown: bool,
) -> None:
    settings = make_settings(ReportingSettings, k_anonymity=k)
    app = build_app(settings)
    async with running_app(app) as client:
        w = World(app, nats_client, namespace, dev_issuer)
        h = History()
        population(h)
        await w.publish_all(h.events)
        await w.settle()
        cells = await _cells(client, w, "department")
        assert (not cells["Legal"]["suppressed"]) is legal_shown
        if k == 9:  # every department is below 9: only a hidden set of cells remains
            assert all(c["suppressed"] for c in cells.values())
        await app.state.runtime.mongo.drop_database(settings.database_name)
