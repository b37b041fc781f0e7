"""Breakdowns against real servers: values of fewer than k people pooled, counts in steps of k,
consent, erasure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from reporting.app import build_app
from reporting.breakdowns import repository
from reporting.breakdowns.domain import cells_from_people
from reporting.breakdowns.repository import METRICS
from reporting.settings import ReportingSettings
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.http import running_app
from roundtable_dev.testing.reporting.history import PROGRAM, SPONSOR, History, at
from roundtable_dev.testing.reporting.world import World
from roundtable_shared.events.catalogue import enrollment as en

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


async def _counted_cells(w: World, dimension: str) -> dict[str, dict[str, int]]:
    """The cells as counted, before the disclosure rule (never served as such)."""
    models = await w.app.state.services.generations.current()
    people = await repository.people(models, PROGRAM)
    return {c.value: dict(c.metrics) for c in cells_from_people(people, dimension, METRICS)}


async def test_values_of_fewer_than_k_people_are_never_named_and_counts_are_rounded(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    h = History()
    population(h)
    await w.publish_all(h.events)
    await w.settle()
    counted = await _counted_cells(w, "department")
    assert {v: c["participants"] for v, c in counted.items()} == DEPARTMENTS
    response = await client.get(
        f"/v1/programs/{PROGRAM}/breakdowns/department", headers=w.headers(SPONSOR, ["sponsor"])
    )
    # Legal's 3 people are pooled as "(other)", which holds fewer than k too: not shown. Before
    # the rule, Legal showed as "suppressed: below_k" and HR as "complementary", which told
    # which hidden cell was the small one.
    assert "Legal" not in response.text and "suppress" not in response.text
    cells = {c["value"]: c for c in response.json()["cells"]}
    assert cells == {
        "Finance": {
            "value": "Finance",
            "participants": 10,  # 8 people
            "active": 10,
            "matched": 0,
            "first_session": 0,
            "three_sessions": 0,
        },
        "Sales": {
            "value": "Sales",
            "participants": 5,  # 6 people
            "active": 5,
            "matched": 0,
            "first_session": 0,
            "three_sessions": 0,
        },
        "HR": {
            "value": "HR",
            "participants": 5,
            "active": 5,
            "matched": 0,
            "first_session": 0,
            "three_sessions": 0,
        },
    }
    summary = await client.get(
        f"/v1/programs/{PROGRAM}/summary", headers=w.headers(SPONSOR, ["sponsor"])
    )
    assert summary.json()["participants"]["enrolled"] == 20  # 22 people
    csv = await client.get(
        f"/v1/programs/{PROGRAM}/breakdowns/department.csv", headers=w.headers(SPONSOR, ["sponsor"])
    )
    lines = csv.text.splitlines()
    assert lines[0] == "dimension,value,participants,active,matched,first_session,three_sessions"
    assert lines[1:] == [
        "department,Finance,10,10,0,0,0",
        "department,Sales,5,5,0,0,0",
        "department,HR,5,5,0,0,0",
    ]
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
    counted = await _counted_cells(w, "department")
    assert counted["(not reported)"]["participants"] == 6
    assert counted["Finance"]["participants"] == 5
    cells = await _cells(client, w, "department")
    assert cells["(not reported)"]["participants"] == 5  # 6 people
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
    assert (await _counted_cells(w, "department"))["Finance"]["participants"] == 5
    persons = (await w.app.state.services.generations.current()).persons
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
        assert ("Legal" in cells) is legal_shown
        assert all(c["participants"] % k == 0 for c in cells.values())
        if k == 3:
            assert cells["Legal"]["participants"] == 3 and cells["Finance"]["participants"] == 9
        if k == 9:  # every department is below 9: all pooled, 22 people shown as 18
            assert list(cells) == ["(other)"] and cells["(other)"]["participants"] == 18
        await app.state.runtime.mongo.drop_database(settings.database_name)
