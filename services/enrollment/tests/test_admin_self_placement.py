"""A program admin cannot place themselves into a peer group by an admin action: membership opens
the group's conversations. They take part by enrolling and being matched, or another admin acts."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from roundtable_dev.testing.enrollment import hired, match_program, open_program, send_hr

# Eight people, none managing another: two roundtables of four.
PEOPLE = [f"e-{n}" for n in range(1, 9)]
ADMIN = "e-admin"


async def enrol(client: httpx.AsyncClient, pid: str, headers: dict[str, str]) -> str:
    answer = await client.post(
        f"/v1/programs/{pid}/enrolments", json={"topics": ["feedback"]}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["participant_id"])


async def test_an_admin_cannot_move_swap_or_refill_themselves_into_a_group(
    client: httpx.AsyncClient, admin: dict[str, str], token: Callable[..., dict[str, str]]
) -> None:
    for n, eid in enumerate([*PEOPLE, ADMIN]):
        assert (await send_hr(client, hired(eid, manager_id=f"m-{n}"))).status_code == 200
    pid = await open_program(client, admin, group_size_min=3, group_size_max=4)
    for eid in PEOPLE:
        await enrol(client, pid, token(eid))
    first, second = await match_program(client, admin, pid)
    # The admin takes part the way everyone does: enrols (self-service is fine), unplaced yet.
    mine = await enrol(client, pid, admin)
    group = (await client.get(f"/v1/groups/{first}", headers=admin)).json()
    leaving = group["members"][0]["participant_id"]
    withdrawn = await client.post(f"/v1/participants/{leaving}/withdraw", headers=admin)
    assert withdrawn.status_code == 200, withdrawn.text

    # Moving their own enrolment into the group: 403, and nothing changed.
    moved = await client.post(
        f"/v1/groups/{first}/members", json={"participant_id": mine}, headers=admin
    )
    assert moved.status_code == 403, moved.text
    assert moved.headers["content-type"] == "application/problem+json"
    # Accepting a refill that proposes them: 403 as well.
    refill = (await client.get(f"/v1/groups/{first}", headers=admin)).json()["refill"]
    assert refill["participant_ids"] == [mine]
    accept = f"/v1/groups/{first}/refills/{refill['refill_id']}/accept"
    assert (await client.post(accept, headers=admin)).status_code == 403
    assert (await client.get(f"/v1/participants/{mine}", headers=admin)).json()["group_id"] is None
    assert len((await client.get(f"/v1/groups/{first}", headers=admin)).json()["members"]) == 3

    # Another admin may place them (two people, not one).
    other_admin = token("e-other-admin", "program_admin")
    accepted = await client.post(accept, headers=other_admin)
    assert accepted.status_code == 200, accepted.text
    assert mine in [m["participant_id"] for m in accepted.json()["members"]]
    # Once in a group, they cannot swap themselves into another one either.
    theirs = (await client.get(f"/v1/groups/{second}", headers=admin)).json()["members"][0]
    swap = {"participant_id": mine, "with_participant_id": theirs["participant_id"]}
    swapped = await client.post(f"/v1/groups/{first}/swap", json=swap, headers=admin)
    assert swapped.status_code == 403, swapped.text
    assert mine in [
        m["participant_id"]
        for m in (await client.get(f"/v1/groups/{first}", headers=admin)).json()["members"]
    ]
