"""A program's session guide over HTTP, against real NATS and the MongoDB-wire server: who
reads and edits it, what bad input gets, and the agenda a new session carries from it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from roundtable_dev.testing.sessions import World, assert_problem, eventually
from roundtable_shared.events.catalogue import enrollment as en

ADMIN = ("program_admin",)
GUIDE = "/v1/programs/prg_1/guide"

OWN_GUIDE: dict[str, Any] = {
    "title": "Our short roundtable",
    "introduction": "One hot seat, questions first.",
    "steps": [
        {
            "key": "hot_seat",
            "title": "The hot seat: the challenge, the results wanted, the obstacles",
            "minutes": 10,
            "per_hot_seat": True,
            "prompts": ["Explain the challenge and the results you want."],
            "record_fields": ["hot_seats.challenge", "hot_seats.desired_results"],
        },
        {
            "key": "commitments",
            "title": "Commitments with an accountability partner",
            "minutes": 10,
            "per_hot_seat": True,
            "record_fields": ["hot_seats.commitments"],
            "action_step_fields": ["title", "accountability_partner_id", "due_on"],
        },
    ],
}


async def program(
    w: World,
    program_id: str,
    *,
    version: int = 1,
    pairs: bool = False,
    sponsor_ids: list[str] | None = None,
) -> None:
    """Enrollment tells of a program (created, or updated from version 2 on); wait for the copy."""
    snapshot: dict[str, Any] = {
        "program_id": program_id,
        "name": f"Program {program_id}",
        "status": en.ProgramStatus.OPEN,
        "format": en.ProgramFormat.PAIRS if pairs else en.ProgramFormat.ROUNDTABLE,
        "group_size_min": 2 if pairs else 3,
        "group_size_max": 2 if pairs else 6,
        "cadence": en.Cadence.MONTHLY,
        "session_duration_minutes": 90,
        "time_zone": "Europe/Berlin",
        "sponsor_ids": sponsor_ids or [],
        "reminders": en.ReminderSettings(before_session_minutes=[60], before_action_due_hours=[24]),
    }
    at = datetime(2026, 9, 1, tzinfo=UTC)
    data = (
        en.ProgramCreated(**snapshot, created_at=at)
        if version == 1
        else en.ProgramUpdated(**snapshot, updated_at=at)
    )
    await w.publish(data, subject=program_id, version=version)

    async def copied() -> Any:
        return await w.db["programs"].find_one({"_id": program_id, "version": {"$gte": version}})

    assert await eventually(copied, timeout=30), f"program {program_id} v{version} never copied"


async def put_guide(
    w: World, body: Any, *, by: str = "adm", roles: tuple[str, ...] = ADMIN, etag: str = '"0"'
) -> httpx.Response:
    return await w.client.put(GUIDE, json=body, headers={**w.auth(by, *roles), "If-Match": etag})


async def test_a_program_follows_the_built_in_guide_of_its_format(world: World) -> None:
    await program(world, "prg_pairs", pairs=True)
    await program(world, "prg_round")
    pairs = await world.client.get("/v1/programs/prg_pairs/guide", headers=world.auth("a", *ADMIN))
    assert pairs.status_code == 200, pairs.text
    assert pairs.headers["ETag"] == '"0"'
    body = pairs.json()
    assert body["built_in"] is True and body["title"] == "Peer pair coaching guide"
    assert body["minutes_with_two_hot_seats"] == 45
    round_ = (
        await world.client.get("/v1/programs/prg_round/guide", headers=world.auth("a", *ADMIN))
    ).json()
    assert (round_["minutes_with_one_hot_seat"], round_["minutes_with_two_hot_seats"]) == (60, 90)
    keys = [step["key"] for step in round_["steps"]]
    assert keys.index("inquiry") < keys.index("suggestions") < keys.index("commitments")


async def test_members_of_the_programs_groups_and_its_sponsors_read_the_guide(
    group_world: World,
) -> None:
    w = group_world
    await program(w, "prg_1", sponsor_ids=["s-1"])
    for reader in (w.auth("e-1"), w.auth("e-9"), w.auth("s-1", "sponsor"), w.auth("a", *ADMIN)):
        response = await w.client.get(GUIDE, headers=reader)
        assert response.status_code == 200, response.text
    for stranger in (w.auth("e-5"), w.auth("s-2", "sponsor"), w.auth("s-1")):
        assert_problem(await w.client.get(GUIDE, headers=stranger), 403)
    assert_problem(
        await w.client.get("/v1/programs/prg_404/guide", headers=w.auth("a", *ADMIN)), 404
    )
    assert_problem(await w.client.get(GUIDE), 401)


async def test_an_enrolled_participant_reads_until_they_withdraw(group_world: World) -> None:
    """e-5 is enrolled but in no group yet; e-1 withdraws, which also takes them out of g-1 (the
    membership's handler of the same event still runs beside the guides')."""
    w = group_world
    await program(w, "prg_1")
    at = datetime(2026, 9, 1, tzinfo=UTC)
    enrolled = en.ParticipantEnrolled(
        participant_id="par-e-5",
        program_id="prg_1",
        employee_id="e-5",
        consent_to_reporting=False,
        enrolled_at=at,
    )
    await w.publish(enrolled, subject="par-e-5", version=1)

    async def reads(employee_id: str, status: int) -> bool:
        return (await w.client.get(GUIDE, headers=w.auth(employee_id))).status_code == status

    assert await eventually(lambda: reads("e-5", 200), timeout=30)
    for employee_id in ("e-5", "e-1"):
        withdrawn = en.ParticipantWithdrawn(
            participant_id=f"par-{employee_id}",
            program_id="prg_1",
            employee_id=employee_id,
            group_id="g-1" if employee_id == "e-1" else None,
            reason=en.WithdrawReason.SELF,
            withdrawn_at=at,
        )
        await w.publish(withdrawn, subject=f"par-{employee_id}", version=2)
    assert await eventually(lambda: reads("e-1", 403), timeout=30)
    assert await reads("e-5", 403)
    group = await w.client.post(
        "/v1/groups/g-1/sessions",
        json={
            "starts_at": (w.clock.now + timedelta(days=1)).isoformat(),
            "time_zone": "UTC",
            "duration_minutes": 60,
        },
        headers=w.auth("e-1"),
    )
    assert_problem(group, 403)


async def test_a_sponsor_added_by_a_later_update_reads_and_a_late_older_event_changes_nothing(
    world: World,
) -> None:
    await program(world, "prg_1", version=2, sponsor_ids=["s-1", "s-2"])
    await program(world, "prg_1", version=1, sponsor_ids=["s-1"])  # late: the copy keeps v2
    response = await world.client.get(GUIDE, headers=world.auth("s-2", "sponsor"))
    assert response.status_code == 200, response.text


async def test_only_program_admins_edit_the_guide(group_world: World) -> None:
    w = group_world
    await program(w, "prg_1", sponsor_ids=["s-1"])
    assert_problem(await put_guide(w, OWN_GUIDE, by="e-1", roles=()), 403)
    assert_problem(await put_guide(w, OWN_GUIDE, by="s-1", roles=("sponsor",)), 403)
    reset = await w.client.delete(GUIDE, headers={**w.auth("e-1"), "If-Match": '"0"'})
    assert_problem(reset, 403)
    assert await w.db["guides"].count_documents({}) == 0


async def test_an_admin_replaces_the_guide_and_resets_it_with_if_match(group_world: World) -> None:
    w = group_world
    await program(w, "prg_1")
    no_etag = await w.client.put(GUIDE, json=OWN_GUIDE, headers=w.auth("adm", *ADMIN))
    assert_problem(no_etag, 428)
    replaced = await put_guide(w, OWN_GUIDE)
    assert replaced.status_code == 200, replaced.text
    assert replaced.headers["ETag"] == '"1"'
    assert replaced.json()["built_in"] is False and replaced.json()["updated_by"] == "adm"
    read = (await w.client.get(GUIDE, headers=w.auth("e-2"))).json()
    assert read["title"] == "Our short roundtable" and read["minutes_with_one_hot_seat"] == 20
    stale = assert_problem(await put_guide(w, OWN_GUIDE, etag='"0"'), 412)
    assert stale["current_etag"] == '"1"'
    reset = await w.client.delete(GUIDE, headers={**w.auth("adm", *ADMIN), "If-Match": '"1"'})
    assert reset.status_code == 200, reset.text
    assert reset.headers["ETag"] == '"2"'
    assert reset.json()["built_in"] is True
    assert reset.json()["title"] == "Roundtable peer-coaching guide"
    assert_problem(await put_guide(w, OWN_GUIDE, etag='"1"'), 412)


async def test_of_two_admins_editing_the_same_version_one_wins_the_other_gets_412(
    group_world: World,
) -> None:
    w = group_world
    await program(w, "prg_1")
    theirs = {**OWN_GUIDE, "title": "Their guide"}
    answers = await asyncio.gather(put_guide(w, OWN_GUIDE), put_guide(w, theirs, by="adm-2"))
    assert sorted(a.status_code for a in answers) == [200, 412]
    [winner] = [a for a in answers if a.status_code == 200]
    stored = (await w.client.get(GUIDE, headers=w.auth("e-1"))).json()
    assert (stored["title"], stored["version"]) == (winner.json()["title"], 1)


async def test_a_bad_guide_is_a_problem_and_nothing_is_stored(group_world: World) -> None:
    w = group_world
    await program(w, "prg_1")
    step = OWN_GUIDE["steps"][0]
    unknown_field = {
        **OWN_GUIDE,
        "steps": [{**step, "record_fields": ["hot_seats.results_wanted"]}],
    }
    body = assert_problem(await put_guide(w, unknown_field), 422)
    assert body["errors"][0]["field"] == "steps.0.record_fields.0"
    for bad in (
        {**OWN_GUIDE, "steps": []},
        {**OWN_GUIDE, "steps": [step] * 21},
        {**OWN_GUIDE, "steps": [step, step]},  # one key twice
        {**OWN_GUIDE, "title": "x" * 201},
        {**OWN_GUIDE, "owner": "e-1"},
        {**OWN_GUIDE, "steps": [{**step, "minutes": 0}]},
        {**OWN_GUIDE, "steps": [{**step, "key": "Not A Key"}]},
        {**OWN_GUIDE, "steps": [{**step, "minutes": 120, "key": f"s{n}"} for n in range(5)]},
        [],
    ):
        assert_problem(await put_guide(w, bad), 422)
    assert_problem(await put_guide(w, OWN_GUIDE, etag="three"), 400)
    assert await w.db["guides"].count_documents({}) == 0


async def test_a_session_without_an_agenda_carries_the_guide_as_it_was_then(
    group_world: World,
) -> None:
    w = group_world
    await program(w, "prg_1")
    guide = (await put_guide(w, OWN_GUIDE)).json()
    starts = (w.clock.now + timedelta(days=3)).isoformat()
    plan = {"starts_at": starts, "time_zone": "Europe/Berlin", "duration_minutes": 60}
    first = await w.client.post("/v1/groups/g-1/sessions", json=plan, headers=w.auth("e-1"))
    assert first.status_code == 201, first.text
    assert first.json()["agenda"] == guide["agenda"]
    assert first.json()["agenda"].startswith("Our short roundtable (20 min with one hot seat")
    # The guide changes; the session scheduled before keeps its copy, a new one gets the new one.
    reset = await w.client.delete(GUIDE, headers={**w.auth("adm", *ADMIN), "If-Match": '"1"'})
    later = await w.client.post("/v1/groups/g-1/sessions", json=plan, headers=w.auth("e-2"))
    assert later.json()["agenda"] == reset.json()["agenda"] != guide["agenda"]
    again = await w.client.get(f"/v1/sessions/{first.json()['id']}", headers=w.auth("e-3"))
    assert again.json()["agenda"] == guide["agenda"]
    given = await w.client.post(
        "/v1/groups/g-1/sessions", json={**plan, "agenda": "Check-ins only"}, headers=w.auth("e-1")
    )
    assert given.json()["agenda"] == "Check-ins only"
    # The event is as it was: no agenda in it (it stays in the sessions service).
    scheduled = await w.wait_events("roundtable.sessions.session.scheduled", 3)
    assert all("agenda" not in event["data"] for event in scheduled)
