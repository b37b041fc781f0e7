"""Matching through the API: preview, publish (group.formed), my groups, admin moves, withdrawals,
refill proposals accepted or declined."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from enrollment.groups.domain import PeerGroup
from enrollment.groups.repository import GroupRepository
from roundtable_dev.testing.enrollment import (
    enrollment_events,
    hired,
    match_program,
    open_program,
    send_hr,
    wait_for,
)
from roundtable_shared.events.registry import parse_data

# e-1 manages e-2; e-3 and e-4 share a manager; the others have managers of their own.
PEOPLE = {
    "e-1": {"manager_id": "e-100", "level": "L6", "department": "Eng"},
    "e-2": {"manager_id": "e-1", "level": "L5", "department": "Eng"},
    "e-3": {"manager_id": "e-50", "level": "L5", "department": "Sales"},
    "e-4": {"manager_id": "e-50", "level": "L5", "department": "HR"},
    "e-5": {"manager_id": "e-99", "level": "L5", "department": "Ops"},
    "e-6": {"manager_id": "e-98", "level": "L4", "department": "Eng"},
    "e-7": {"manager_id": "e-97", "level": "L4", "department": "Legal"},
    "e-8": {"manager_id": "e-96", "level": "L6", "department": "Sales"},
}


async def enrolled_program(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    **settings: Any,
) -> tuple[str, dict[str, str]]:
    for eid, profile in PEOPLE.items():
        assert (await send_hr(client, hired(eid, **profile))).status_code == 200
    pid = await open_program(client, admin, group_size_min=3, group_size_max=4, **settings)
    participants = {}
    for eid in PEOPLE:
        answer = await client.post(
            f"/v1/programs/{pid}/enrolments",
            json={"topics": ["feedback"], "consent_to_reporting": False},
            headers=token(eid),
        )
        assert answer.status_code == 201, answer.text
        participants[eid] = answer.json()["participant_id"]
    return pid, participants


async def test_preview_publish_and_see_my_group(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    pid, participants = await enrolled_program(client, admin, token)
    path = f"/v1/programs/{pid}/matching/previews"
    assert (await client.post(path, headers=token("e-1"))).status_code == 403
    preview = await client.post(path, headers=admin)
    assert preview.status_code == 201, preview.text
    proposal = preview.json()
    groups = [[m["employee_id"] for m in g["members"]] for g in proposal["groups"]]
    assert sorted(len(g) for g in groups) == [4, 4]
    for members in groups:
        assert not {"e-1", "e-2"} <= set(members)  # manager and report
        assert not {"e-3", "e-4"} <= set(members)  # same direct manager
    assert all(g["explanation"]["components"] for g in proposal["groups"])
    again = (await client.post(path, headers=admin)).json()
    assert [g["members"] for g in again["groups"]] == [g["members"] for g in proposal["groups"]]

    publish = f"{path}/{proposal['proposal_id']}/publish"
    published = await client.post(publish, headers=admin)
    assert published.status_code == 200, published.text
    group_ids = published.json()["published_group_ids"]
    assert len(group_ids) == 2
    assert (await client.post(publish, headers=admin)).json()["published_group_ids"] == group_ids
    stale = await client.post(f"{path}/{again['proposal_id']}/publish", headers=admin)
    assert stale.status_code == 409

    mine = (await client.get("/v1/me/groups", headers=token("e-1"))).json()
    assert len(mine) == 1
    assert "e-1" in [m["employee_id"] for m in mine[0]["members"]]
    assert mine[0]["refill_candidates"] is None
    other = next(g for g in group_ids if g != mine[0]["group_id"])
    assert (await client.get(f"/v1/groups/{other}", headers=token("e-1"))).status_code == 403
    assert (await client.get(f"/v1/groups/{other}", headers=admin)).status_code == 200
    enrolment = await client.get(f"/v1/participants/{participants['e-1']}", headers=token("e-1"))
    assert enrolment.json()["group_id"] == mine[0]["group_id"]

    # swaps: e-1 and e-2 trade places (they stay apart); e-3 may not join e-4's group
    e2_group = (await client.get("/v1/me/groups", headers=token("e-2"))).json()[0]["group_id"]
    swap = {"participant_id": participants["e-1"], "with_participant_id": participants["e-2"]}
    swapped = await client.post(f"/v1/groups/{mine[0]['group_id']}/swap", json=swap, headers=admin)
    assert swapped.status_code == 200, swapped.text
    assert "e-2" in [m["employee_id"] for m in swapped.json()["members"]]
    assert (await client.get("/v1/me/groups", headers=token("e-1"))).json()[0][
        "group_id"
    ] == e2_group
    e4_group = (await client.get("/v1/me/groups", headers=token("e-4"))).json()[0]
    partner = next(m for m in e4_group["members"] if m["employee_id"] != "e-4")
    e3_group = (await client.get("/v1/me/groups", headers=token("e-3"))).json()[0]["group_id"]
    refused = await client.post(
        f"/v1/groups/{e3_group}/swap",
        json={
            "participant_id": participants["e-3"],
            "with_participant_id": partner["participant_id"],
        },
        headers=admin,
    )
    assert refused.status_code == 409
    assert any("same direct manager" in v for v in refused.json()["violations"])
    assert (
        await client.post(f"/v1/groups/{e3_group}/swap", json=swap, headers=token("e-3"))
    ).status_code == 403
    assert (
        await client.post(f"/v1/groups/{e3_group}/swap", json={}, headers=admin)
    ).status_code == 422

    events = await enrollment_events(nats_client, namespace, 8 + 2 + 8 + 2 + 2)
    formed = [e for e in events if e.type.endswith("group.formed")]
    assert sorted(e.subject for e in formed) == sorted(group_ids)
    for envelope in formed:
        data = parse_data(envelope).model_dump()
        assert len(data["members"]) == 4


async def test_withdrawal_changes_the_group_and_admins_move_members(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    pid, participants = await enrolled_program(client, admin, token)
    await match_program(client, admin, pid)
    group = (await client.get("/v1/me/groups", headers=token("e-5"))).json()[0]
    gid = group["group_id"]
    leaving = next(m for m in group["members"] if m["employee_id"] not in {"e-1", "e-2", "e-5"})
    withdrawn = await client.post(
        f"/v1/participants/{leaving['participant_id']}/withdraw",
        headers=token(leaving["employee_id"]),
    )
    assert withdrawn.status_code == 200
    after = (await client.get(f"/v1/groups/{gid}", headers=admin)).json()
    assert len(after["members"]) == 3
    assert after["status"] == "active"

    # the one who left is no longer enrolled, so they cannot be moved back in
    back = await client.post(
        f"/v1/groups/{gid}/members",
        json={"participant_id": leaving["participant_id"]},
        headers=admin,
    )
    assert back.status_code == 409
    # moving e-2 next to their manager e-1 breaks the reporting-line rule
    e1_group = (await client.get("/v1/me/groups", headers=token("e-1"))).json()[0]["group_id"]
    refused = await client.post(
        f"/v1/groups/{e1_group}/members",
        json={"participant_id": participants["e-2"]},
        headers=admin,
    )
    assert refused.status_code == 409
    assert any("manager" in v for v in refused.json()["violations"])
    assert (
        await client.post(
            f"/v1/groups/{gid}/members", json={"participant_id": "nope"}, headers=token("e-5")
        )
    ).status_code == 403
    assert (
        await client.post(f"/v1/groups/{gid}/members", json={}, headers=admin)
    ).status_code == 422
    # unmatching one more leaves two: below the minimum, the group is dissolved
    remaining = [m for m in after["members"] if m["employee_id"] != "e-5"]
    dissolved = await client.delete(
        f"/v1/groups/{gid}/members/{remaining[0]['participant_id']}", headers=admin
    )
    assert dissolved.json()["status"] == "dissolved"
    assert (await client.get("/v1/me/groups", headers=token("e-5"))).json() == []
    mine = await client.get(f"/v1/participants/{participants['e-5']}", headers=token("e-5"))
    assert mine.json()["group_id"] is None

    events = await enrollment_events(nats_client, namespace, 8 + 2 + 8 + 2 + 1 + 2)
    of_group = [e.type.rsplit(".", 1)[1] for e in events if e.subject == gid]
    assert of_group == ["formed", "changed", "dissolved"]
    changed = next(e for e in events if e.subject == gid and e.type.endswith("changed"))
    assert changed.data["reason"] == "member_withdrawn"
    assert changed.data["removed_employee_ids"] == [leaving["employee_id"]]


async def test_a_swap_that_loses_a_race_on_the_other_group_changes_neither(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other group changes between the swap's read and its write: the first group, already
    saved, is put back, so nobody is left in two groups; a retry then swaps."""
    pid, participants = await enrolled_program(client, admin, token)
    await match_program(client, admin, pid)
    mine = (await client.get("/v1/me/groups", headers=token("e-1"))).json()[0]["group_id"]
    theirs = (await client.get("/v1/me/groups", headers=token("e-2"))).json()[0]["group_id"]
    before = {
        g: (await client.get(f"/v1/groups/{g}", headers=admin)).json() for g in (mine, theirs)
    }

    save = GroupRepository.save
    raced: list[str] = []

    async def save_after_another_admin(
        self: GroupRepository, group: PeerGroup, version: int, events: Sequence[Any]
    ) -> int | None:
        if group.group_id == theirs and not raced:  # another admin's write lands first
            raced.append(group.group_id)
            current = await self.load(theirs)
            assert current is not None
            assert await save(self, current[0], current[1], []) is not None
        return await save(self, group, version, events)

    monkeypatch.setattr(GroupRepository, "save", save_after_another_admin)
    swap = {"participant_id": participants["e-1"], "with_participant_id": participants["e-2"]}
    refused = await client.post(f"/v1/groups/{mine}/swap", json=swap, headers=admin)
    assert refused.status_code == 409, refused.text
    assert raced == [theirs]
    for g in (mine, theirs):
        after = (await client.get(f"/v1/groups/{g}", headers=admin)).json()
        assert after["members"] == before[g]["members"]
    for eid, group_id in (("e-1", mine), ("e-2", theirs)):
        groups = (await client.get("/v1/me/groups", headers=token(eid))).json()
        assert [g["group_id"] for g in groups] == [group_id]

    monkeypatch.undo()
    swapped = await client.post(f"/v1/groups/{mine}/swap", json=swap, headers=admin)
    assert swapped.status_code == 200, swapped.text
    assert "e-2" in [m["employee_id"] for m in swapped.json()["members"]]


async def test_matching_bad_requests(
    client: httpx.AsyncClient, admin: dict[str, str], token: Callable[..., dict[str, str]]
) -> None:
    assert (
        await client.post("/v1/programs/nope/matching/previews", headers=admin)
    ).status_code == 404
    draft = (await client.post("/v1/programs", json={"name": "D"}, headers=admin)).json()
    refused = await client.post(
        f"/v1/programs/{draft['program_id']}/matching/previews", headers=admin
    )
    assert refused.status_code == 409
    pid = await open_program(client, admin)
    unknown = await client.post(
        f"/v1/programs/{pid}/matching/previews/prop_x/publish", headers=admin
    )
    assert unknown.status_code == 404
    assert (await client.get("/v1/groups/nope", headers=admin)).status_code == 404
    assert (await client.get(f"/v1/programs/{pid}/groups", headers=token("e-1"))).status_code == 403


async def test_groups_form_by_themselves_when_enrolment_closes(
    make_settings: Callable[..., Any], dev_issuer: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    from enrollment.app import build_app
    from enrollment.settings import EnrollmentSettings
    from roundtable_dev.testing.enrollment import HR_SECRET, wait_for
    from roundtable_dev.testing.http import running_app

    settings = make_settings(
        EnrollmentSettings, hr_webhook_secrets=[HR_SECRET], auto_match_poll_seconds=0.2
    )

    def token(eid: str, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {dev_issuer.mint(eid, roles or ['participant'])}"}

    admin = token("e-admin", "program_admin")
    closes = datetime.now(UTC) + timedelta(seconds=3)
    async with running_app(build_app(settings)) as client:
        for eid in ("e-1", "e-2", "e-3", "e-4"):
            await send_hr(client, hired(eid))
        pid = await open_program(client, admin, enrolment_closes_at=closes.isoformat())
        for eid in ("e-1", "e-2", "e-3"):
            answer = await client.post(
                f"/v1/programs/{pid}/enrolments", json={}, headers=token(eid)
            )
            assert answer.status_code == 201
        assert (await client.get(f"/v1/programs/{pid}/groups", headers=admin)).json() == []

        async def formed() -> bool:
            found = (await client.get(f"/v1/programs/{pid}/groups", headers=admin)).json()
            return len(found) == 1

        await wait_for(formed)
        (group,) = (await client.get(f"/v1/programs/{pid}/groups", headers=admin)).json()
        assert sorted(m["employee_id"] for m in group["members"]) == ["e-1", "e-2", "e-3"]
        late = await client.post(f"/v1/programs/{pid}/enrolments", json={}, headers=token("e-4"))
        assert late.status_code == 409  # the window closed


# --- refilling a group after a withdrawal: the proposal, an admin accepting or declining it ---


async def enrol(client: httpx.AsyncClient, pid: str, headers: dict[str, str]) -> str:
    answer = await client.post(
        f"/v1/programs/{pid}/enrolments", json={"topics": ["feedback"]}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["participant_id"])


async def test_a_withdrawal_proposes_a_refill_that_an_admin_accepts_once(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    pid, _ = await enrolled_program(client, admin, token)
    await match_program(client, admin, pid)
    # Enrolled after matching, so free to refill: e-10 reports to e-5 and may never join e-5.
    late = {"e-9": "e-95", "e-10": "e-5", "e-11": "e-94"}
    for eid, manager in late.items():
        await send_hr(client, hired(eid, manager_id=manager, department="Design"))
    free = {eid: await enrol(client, pid, token(eid)) for eid in late}

    group = (await client.get("/v1/me/groups", headers=token("e-5"))).json()[0]
    gid = group["group_id"]
    others = [m for m in group["members"] if m["employee_id"] != "e-5"]
    leaving = others[0]
    withdrawn = await client.post(
        f"/v1/participants/{leaving['participant_id']}/withdraw", headers=admin
    )
    assert withdrawn.status_code == 200, withdrawn.text

    after = (await client.get(f"/v1/groups/{gid}", headers=admin)).json()
    refill = after["refill"]
    assert refill["status"] == "proposed" and refill["stale"] is False
    assert refill["participant_ids"] == [free["e-9"]] or refill["participant_ids"] == [free["e-11"]]
    assert free["e-10"] not in after["refill_candidates"]  # would sit with their manager
    assert (await client.get(f"/v1/groups/{gid}", headers=token("e-5"))).json()["refill"] is None
    accept = f"/v1/groups/{gid}/refills/{refill['refill_id']}/accept"
    assert (await client.post(accept, headers=token("e-5"))).status_code == 403
    unknown = await client.post(f"/v1/groups/{gid}/refills/ref_nope/accept", headers=admin)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    missing = await client.post(
        f"/v1/groups/nope/refills/{refill['refill_id']}/decline", headers=admin
    )
    assert missing.status_code == 404

    accepted = await client.post(accept, headers=admin)
    assert accepted.status_code == 200, accepted.text
    (joined,) = refill["participant_ids"]
    assert joined in [m["participant_id"] for m in accepted.json()["members"]]
    assert len(accepted.json()["members"]) == 4
    assert accepted.json()["refill"]["status"] == "accepted"
    joiner = (await client.get(f"/v1/participants/{joined}", headers=admin)).json()
    assert joiner["group_id"] == gid
    # A second accept is idempotent: the same group, the same version, no second event.
    again = await client.post(accept, headers=admin)
    assert again.status_code == 200
    assert again.json()["version"] == accepted.json()["version"]
    declined_late = await client.post(
        f"/v1/groups/{gid}/refills/{refill['refill_id']}/decline", headers=admin
    )
    assert declined_late.status_code == 409

    async def group_changes() -> list[Any]:
        events = await enrollment_events(nats_client, namespace, 27)
        return [e for e in events if e.subject == gid and e.type.endswith("group.changed")]

    async def both_published() -> bool:
        return len(await group_changes()) >= 2

    await wait_for(both_published)
    changes = await group_changes()
    assert [c.data["reason"] for c in changes] == ["member_withdrawn", "admin"]
    assert changes[1].data["added_employee_ids"] == [joiner["employee_id"]]
    assert sorted(m["participant_id"] for m in changes[1].data["members"]) == sorted(
        m["participant_id"] for m in accepted.json()["members"]
    )


async def test_a_stale_or_declined_refill_is_refused(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
) -> None:
    pid, _ = await enrolled_program(client, admin, token)
    await match_program(client, admin, pid)
    for eid in ("e-9", "e-11"):
        await send_hr(client, hired(eid, manager_id=f"m-{eid}", department="Design"))
    free = {eid: await enrol(client, pid, token(eid)) for eid in ("e-9", "e-11")}

    async def withdraw_one_from(gid: str) -> dict[str, Any]:
        group = (await client.get(f"/v1/groups/{gid}", headers=admin)).json()
        leaving = group["members"][0]["participant_id"]
        assert (
            await client.post(f"/v1/participants/{leaving}/withdraw", headers=admin)
        ).status_code == 200
        return dict((await client.get(f"/v1/groups/{gid}", headers=admin)).json())

    gid = (await client.get("/v1/me/groups", headers=token("e-5"))).json()[0]["group_id"]
    refill = (await withdraw_one_from(gid))["refill"]
    (proposed,) = refill["participant_ids"]
    other = next(p for p in free.values() if p != proposed)
    # The group changes before anyone decides: an admin moves the other free person in.
    moved = await client.post(
        f"/v1/groups/{gid}/members", json={"participant_id": other}, headers=admin
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["refill"]["stale"] is True
    accept = f"/v1/groups/{gid}/refills/{refill['refill_id']}/accept"
    stale = await client.post(accept, headers=admin)
    assert stale.status_code == 409
    assert "changed since" in stale.json()["detail"]
    decline = f"/v1/groups/{gid}/refills/{refill['refill_id']}/decline"
    declined = await client.post(decline, headers=admin)
    assert declined.status_code == 200
    assert declined.json()["refill"]["status"] == "declined"
    assert len(declined.json()["members"]) == 4  # declining changes no one
    assert (await client.post(decline, headers=admin)).status_code == 200
    assert (await client.post(accept, headers=admin)).status_code == 409
    still_free = (await client.get(f"/v1/participants/{proposed}", headers=admin)).json()
    assert still_free["group_id"] is None

    # A proposed person who left meanwhile makes the proposal stale too.
    refill = (await withdraw_one_from(gid))["refill"]
    assert refill["participant_ids"] == [proposed]
    assert (
        await client.post(f"/v1/participants/{proposed}/withdraw", headers=admin)
    ).status_code == 200
    gone = await client.post(
        f"/v1/groups/{gid}/refills/{refill['refill_id']}/accept", headers=admin
    )
    assert gone.status_code == 409
    assert gone.json()["participant_id"] == proposed


@pytest.mark.cascade
async def test_erasure_removes_the_name_from_old_previews(
    client: httpx.AsyncClient, admin: dict[str, str], token: Callable[..., dict[str, str]]
) -> None:
    from enrollment.directory.domain import ERASED_NAME

    pid, _ = await enrolled_program(client, admin, token)
    path = f"/v1/programs/{pid}/matching/previews"
    preview = (await client.post(path, headers=admin)).json()
    names = [m["display_name"] for g in preview["groups"] for m in g["members"]]
    assert "Name e-3" in names
    assert (await client.post("/v1/employees/e-3/erasure", headers=admin)).status_code == 200

    async def forgotten() -> bool:
        seen = (await client.get(f"{path}/{preview['proposal_id']}", headers=admin)).json()
        return "Name e-3" not in str(seen)

    await wait_for(forgotten)
    seen = (await client.get(f"{path}/{preview['proposal_id']}", headers=admin)).json()
    members = [m for g in seen["groups"] for m in g["members"]]
    assert len(members) == len(names)  # the preview's counts stay
    assert [m["display_name"] for m in members if m["employee_id"] == "e-3"] == [ERASED_NAME]
    others = [m["display_name"] for m in members if m["employee_id"] != "e-3"]
    assert sorted(others) == sorted(n for n in names if n != "Name e-3")


@pytest.mark.cascade
async def test_erasure_after_termination_forgets_the_answers_and_the_name_in_dissolved_groups(
    client: httpx.AsyncClient, admin: dict[str, str], token: Callable[..., dict[str, str]]
) -> None:
    from enrollment.directory.domain import ERASED_NAME

    pid, participants = await enrolled_program(client, admin, token)
    leaver, par = "e-5", participants["e-5"]
    words = {
        "goals": ["Stop rescuing my team, as e-5 puts it"],
        "topics": ["e-5's topic: hiring in a freeze"],
        "challenges": "e-5's challenge: two leads want one promotion slot.",
        "consent_to_reporting": True,
    }
    own = await client.get(f"/v1/participants/{par}", headers=token(leaver))
    edited = await client.put(
        f"/v1/participants/{par}/answers",
        json=words,
        headers={**token(leaver), "If-Match": own.headers["ETag"]},
    )
    assert edited.status_code == 200, edited.text
    await match_program(client, admin, pid)
    group = (await client.get("/v1/me/groups", headers=token(leaver))).json()[0]
    gid = group["group_id"]
    # Two others unmatched: the group dissolves and still lists the two left in it, e-5 too.
    others = [m for m in group["members"] if m["employee_id"] != leaver]
    for member in others[:2]:
        await client.delete(f"/v1/groups/{gid}/members/{member['participant_id']}", headers=admin)
    dissolved = (await client.get(f"/v1/groups/{gid}", headers=admin)).json()
    assert dissolved["status"] == "dissolved"
    assert f"Name {leaver}" in [m["display_name"] for m in dissolved["members"]]

    terminated = {
        "event_id": "t-e-5",
        "type": "employee.terminated",
        "employee_id": leaver,
        "effective_at": "2026-04-01T00:00:00Z",
    }
    assert (await send_hr(client, terminated)).status_code == 200

    async def views() -> list[str]:
        """Everything enrollment answers about the leaver's enrolment and group."""
        return [
            (await client.get(f"/v1/participants/{par}", headers=admin)).text,
            (await client.get("/v1/me/enrolments", headers=token(leaver))).text,
            (await client.get(f"/v1/programs/{pid}/participants", headers=admin)).text,
            (await client.get(f"/v1/groups/{gid}", headers=admin)).text,
            (await client.get(f"/v1/programs/{pid}/groups", headers=admin)).text,
        ]

    async def withdrawn() -> bool:
        answer = (await client.get(f"/v1/participants/{par}", headers=admin)).json()
        return bool(answer["status"] == "withdrawn")

    await wait_for(withdrawn)
    # Withdrawn by the termination, the answers are still there (admins may read them).
    seen = await views()
    assert all(any(text in view for view in seen[:3]) for text in ("e-5's challenge",))
    needles = ["as e-5 puts it", "e-5's topic", "e-5's challenge", f"Name {leaver}"]

    assert (await client.post(f"/v1/employees/{leaver}/erasure", headers=admin)).status_code == 200

    async def forgotten() -> bool:
        return not any(needle in view for view in await views() for needle in needles)

    await wait_for(forgotten)
    after = (await client.get(f"/v1/participants/{par}", headers=admin)).json()
    assert after["answers"]["goals"] == [] and after["answers"]["challenges"] == ""
    assert after["withdrawal_reason"] == "terminated"  # the first reason stays
    still = (await client.get(f"/v1/groups/{gid}", headers=admin)).json()
    assert len(still["members"]) == len(dissolved["members"])  # the group's size stays
    assert [m["display_name"] for m in still["members"] if m["employee_id"] == leaver] == [
        ERASED_NAME
    ]

    # Erasing again writes nothing: the enrolment and the group keep their versions.
    again = await client.post(f"/v1/employees/{leaver}/erasure", headers=admin)
    assert again.status_code == 200
    await asyncio.sleep(0.5)
    assert (await client.get(f"/v1/participants/{par}", headers=admin)).json()["version"] == after[
        "version"
    ]
    assert (await client.get(f"/v1/groups/{gid}", headers=admin)).json()["version"] == still[
        "version"
    ]
