"""Who sees what: sponsors their programs, program admins all, participants nothing; and every
endpoint's answers to bad input are problem+json, never a 500."""

from __future__ import annotations

import httpx
import pytest

from roundtable_dev.testing.reporting.history import OTHER_PROGRAM, PROGRAM, SPONSOR, History
from roundtable_dev.testing.reporting.world import World

ENDPOINTS = [
    "/summary",
    "/summary.csv",
    "/timeseries",
    "/timeseries.csv",
    "/funnel",
    "/funnel.csv",
    "/breakdowns/department",
    "/breakdowns/location.csv",
]


async def _two_programs(w: World) -> None:
    h = History()
    h.program(PROGRAM, [SPONSOR])
    h.program(OTHER_PROGRAM, ["e-other-sponsor"])
    await w.publish_all(h.events)
    await w.settle()


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_each_endpoint_authorizes(world: tuple[World, httpx.AsyncClient], path: str) -> None:
    w, client = world
    await _two_programs(w)
    sponsor = w.headers(SPONSOR, ["participant", "sponsor"])
    own = await client.get(f"/v1/programs/{PROGRAM}{path}", headers=sponsor)
    assert own.status_code == 200, own.text
    if path.endswith(".csv"):
        assert own.headers["content-type"].startswith("text/csv")
        assert own.text.splitlines()[0]  # a header line
    # another sponsor's program: not even its existence
    other = await client.get(f"/v1/programs/{OTHER_PROGRAM}{path}", headers=sponsor)
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("application/problem+json")
    admin = await client.get(
        f"/v1/programs/{OTHER_PROGRAM}{path}", headers=w.headers("e-admin", ["program_admin"])
    )
    assert admin.status_code == 200
    participant = await client.get(
        f"/v1/programs/{PROGRAM}{path}", headers=w.headers(SPONSOR, ["participant"])
    )
    assert participant.status_code == 403
    anonymous = await client.get(f"/v1/programs/{PROGRAM}{path}")
    assert anonymous.status_code == 401
    missing = await client.get(
        f"/v1/programs/nope{path}", headers=w.headers("e-admin", ["program_admin"])
    )
    assert missing.status_code == 404


async def test_program_list_shows_each_viewer_their_programs(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    await _two_programs(w)

    async def ids(headers: dict[str, str], query: str = "") -> list[str]:
        response = await client.get(f"/v1/programs{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [p["program_id"] for p in response.json()["items"]]

    assert await ids(w.headers(SPONSOR, ["sponsor"])) == [PROGRAM]
    assert await ids(w.headers("e-nobody", ["sponsor"])) == []
    admin = w.headers("e-admin", ["program_admin"])
    assert await ids(admin) == sorted([PROGRAM, OTHER_PROGRAM])
    first = (await client.get("/v1/programs?limit=1", headers=admin)).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = await ids(admin, f"?limit=1&cursor={first['next_cursor']}")
    assert rest == [max(PROGRAM, OTHER_PROGRAM)]
    participant = await client.get("/v1/programs", headers=w.headers("e-1", ["participant"]))
    assert participant.status_code == 403


async def test_sponsor_list_follows_program_updates(world: tuple[World, httpx.AsyncClient]) -> None:
    """Sponsors come from the newest program snapshot, whatever order the snapshots arrive in."""
    w, client = world
    h = History()
    h.program(PROGRAM, [SPONSOR])
    created = h.events[0]
    updated = created.model_copy(
        update={
            "id": "upd-1",
            "type": "roundtable.enrollment.program.updated",
            "aggregateversion": 3,
            "data": {
                **created.data,
                "sponsor_ids": ["e-new"],
                "updated_at": created.data["created_at"],
            },
        }
    )
    await w.publish_all([updated, *h.events])  # the update first
    await w.settle()
    old = await client.get(
        f"/v1/programs/{PROGRAM}/summary", headers=w.headers(SPONSOR, ["sponsor"])
    )
    new = await client.get(
        f"/v1/programs/{PROGRAM}/summary", headers=w.headers("e-new", ["sponsor"])
    )
    assert (old.status_code, new.status_code) == (404, 200)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/v1/programs/{PROGRAM}/breakdowns/salary", 422),
        (f"/v1/programs/{PROGRAM}/breakdowns/salary.csv", 422),
        (f"/v1/programs/{PROGRAM}/timeseries?from=W1", 422),
        (f"/v1/programs/{PROGRAM}/timeseries.csv?to=2026-W99", 422),
        (f"/v1/programs/{'x' * 129}/summary", 422),
        ("/v1/programs?cursor=!!notacursor", 400),
        ("/v1/programs?limit=0", 422),
    ],
)
async def test_bad_input_is_a_problem_not_a_crash(
    world: tuple[World, httpx.AsyncClient], path: str, status: int
) -> None:
    w, client = world
    await _two_programs(w)
    response = await client.get(path, headers=w.headers("e-admin", ["program_admin"]))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == status
