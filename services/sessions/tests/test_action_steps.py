"""Action steps with accountability partners: commit, edit, progress, comment, complete, drop, lists."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from roundtable_dev.testing.sessions import World, assert_problem


def due(w: World, days: int) -> str:
    return (w.clock.now + timedelta(days=days)).date().isoformat()


async def commit(w: World, session_id: str, by: str, **body: Any) -> Any:
    payload = {
        "accountability_partner_id": "e-3",
        "title": "Book a 1:1 with the CFO",
        "due_on": due(w, 7),
        **body,
    }
    return await w.client.post(
        f"/v1/sessions/{session_id}/action-steps", json=payload, headers=w.auth(by)
    )


async def test_committing_in_a_held_session_with_a_peer_as_partner(group_world: World) -> None:
    w = group_world
    scheduled = await w.schedule("g-1", "e-1", in_days=10)
    assert_problem(await commit(w, scheduled["id"], "e-2"), 409)  # not held yet
    session = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    sid = session["id"]
    created = await w.client.post(
        f"/v1/sessions/{sid}/action-steps",
        json={
            "accountability_partner_id": "e-3",
            "title": "Book a 1:1",
            "description": "SECRET-DESC",
            "due_on": due(w, 7),
        },
        headers={**w.auth("e-2"), "Idempotency-Key": "a1"},
    )
    assert created.status_code == 201, created.text
    step = created.json()
    assert (
        step["owner_id"] == "e-2"
        and step["status"] == "open"
        and step["due_at"].endswith(("+01:00", "+02:00"))
    )
    again = await w.client.post(
        f"/v1/sessions/{sid}/action-steps",
        json={
            "accountability_partner_id": "e-3",
            "title": "Book a 1:1",
            "description": "SECRET-DESC",
            "due_on": due(w, 7),
        },
        headers={**w.auth("e-2"), "Idempotency-Key": "a1"},
    )
    assert again.json()["id"] == step["id"]
    [event] = await w.wait_events("roundtable.sessions.action.committed")
    assert (
        event["data"]["title"] == "Book a 1:1"
        and event["data"]["accountability_partner_id"] == "e-3"
    )
    assert "SECRET" not in str(await w.events())
    # The title is the owner's words: the stream holds it sealed with their key.
    assert "Book a 1:1" not in str(await w.events(sealed=True))

    assert_problem(
        await commit(w, sid, "e-2", accountability_partner_id="e-9"), 422
    )  # outside the group
    assert_problem(await commit(w, sid, "e-2", accountability_partner_id="e-2"), 422)  # themselves
    assert_problem(await commit(w, sid, "e-2", due_on=due(w, -30)), 422)  # before the session
    assert_problem(await commit(w, sid, "e-2", owner_id="e-9"), 403)  # not theirs to commit
    assert_problem(await commit(w, sid, "e-2", due_on="tomorrow"), 422)
    assert_problem(await commit(w, sid, "e-9"), 403)
    assert_problem(await commit(w, "nope", "e-2"), 404)

    record = (await w.client.get(f"/v1/sessions/{sid}/record", headers=w.auth("e-1"))).json()
    assert record["hot_seats"][0]["commitments"] == [step["id"]]
    meta = (
        await w.client.get(f"/v1/sessions/{sid}", headers=w.auth("e-50", "program_admin"))
    ).json()
    assert meta["action_step_count"] == 1
    listed = await w.client.get(f"/v1/sessions/{sid}/action-steps", headers=w.auth("e-1"))
    assert [s["id"] for s in listed.json()] == [step["id"]]
    assert_problem(
        await w.client.get(
            f"/v1/sessions/{sid}/action-steps", headers=w.auth("e-50", "program_admin")
        ),
        403,
    )
    assert_problem(await w.client.get(f"/v1/action-steps/{step['id']}", headers=w.auth("e-9")), 403)


async def test_the_owner_works_the_step_and_the_partner_follows_it(group_world: World) -> None:
    w = group_world
    session = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    step = (await commit(w, session["id"], "e-2")).json()
    url = f"/v1/action-steps/{step['id']}"

    assert_problem(
        await w.client.post(
            f"{url}/progress", json={"progress": "on_track"}, headers=w.auth("e-3")
        ),
        403,
    )
    assert_problem(
        await w.client.post(
            f"{url}/progress", json={"progress": "sideways"}, headers=w.auth("e-2")
        ),
        422,
    )
    progressed = await w.client.post(
        f"{url}/progress",
        json={"progress": "at_risk", "note": "CFO on leave"},
        headers=w.auth("e-2"),
    )
    assert progressed.status_code == 200 and progressed.json()["progress"] == "at_risk"
    assert progressed.json()["progress_log"][0]["note"] == "CFO on leave"

    commented = await w.client.post(
        f"{url}/comments", json={"text": "Try her deputy?"}, headers=w.auth("e-3")
    )
    assert commented.status_code == 201 and commented.json()["comments"][0]["author_id"] == "e-3"
    assert_problem(
        await w.client.post(f"{url}/comments", json={"text": "x"}, headers=w.auth("e-1")), 403
    )
    assert_problem(
        await w.client.post(f"{url}/comments", json={"text": ""}, headers=w.auth("e-3")), 422
    )

    version = commented.json()["version"]
    assert_problem(
        await w.client.patch(url, json={"due_on": due(w, 14)}, headers=w.auth("e-2")), 428
    )
    assert_problem(
        await w.client.patch(
            url, json={"due_on": due(w, 14)}, headers={**w.auth("e-3"), "If-Match": f'"{version}"'}
        ),
        403,
    )
    assert_problem(
        await w.client.patch(
            url, json={"due_on": due(w, 14)}, headers={**w.auth("e-2"), "If-Match": '"1"'}
        ),
        412,
    )
    assert_problem(
        await w.client.patch(
            url,
            json={"accountability_partner_id": "e-9"},
            headers={**w.auth("e-2"), "If-Match": f'"{version}"'},
        ),
        422,
    )
    edited = await w.client.patch(
        url,
        json={"due_on": due(w, 14), "accountability_partner_id": "e-1"},
        headers={**w.auth("e-2"), "If-Match": f'"{version}"'},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["accountability_partner_id"] == "e-1"
    [updated] = await w.wait_events("roundtable.sessions.action.updated")
    assert updated["data"]["accountability_partner_id"] == "e-1"

    assert_problem(await w.client.post(f"{url}/complete", headers=w.auth("e-1")), 403)
    done = await w.client.post(f"{url}/complete", headers=w.auth("e-2"))
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert_problem(await w.client.post(f"{url}/complete", headers=w.auth("e-2")), 409)
    assert_problem(
        await w.client.post(f"{url}/drop", json={"note": "x"}, headers=w.auth("e-2")), 409
    )
    [completed] = await w.wait_events("roundtable.sessions.action.completed")
    assert completed["data"]["owner_id"] == "e-2"

    other = (await commit(w, session["id"], "e-3", accountability_partner_id="e-2")).json()
    assert_problem(
        await w.client.post(f"/v1/action-steps/{other['id']}/drop", json={}, headers=w.auth("e-3")),
        422,
    )
    assert_problem(
        await w.client.post(
            f"/v1/action-steps/{other['id']}/drop", json={"note": "x"}, headers=w.auth("e-2")
        ),
        403,
    )
    dropped = await w.client.post(
        f"/v1/action-steps/{other['id']}/drop", json={"note": "moot"}, headers=w.auth("e-3")
    )
    assert dropped.status_code == 200 and dropped.json()["drop_reason"] == "owner"
    [event] = await w.wait_events("roundtable.sessions.action.dropped")
    assert event["data"]["reason"] == "owner" and "moot" not in str(event)


async def test_my_steps_the_ones_i_hold_and_overdue_ones_page_by_due_date(
    group_world: World,
) -> None:
    w = group_world
    session = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    ids = [
        (await commit(w, session["id"], "e-2", due_on=due(w, d), title=f"t{d}")).json()["id"]
        for d in (9, 3, 6)
    ]
    await commit(w, session["id"], "e-3", accountability_partner_id="e-2")

    first = (await w.client.get("/v1/me/action-steps?limit=2", headers=w.auth("e-2"))).json()
    assert [s["id"] for s in first["items"]] == [ids[1], ids[2]]
    rest = (
        await w.client.get(
            f"/v1/me/action-steps?limit=2&cursor={first['next_cursor']}", headers=w.auth("e-2")
        )
    ).json()
    assert [s["id"] for s in rest["items"]] == [ids[0]] and rest["next_cursor"] is None

    held = (await w.client.get("/v1/me/action-steps?role=partner", headers=w.auth("e-3"))).json()
    assert {s["id"] for s in held["items"]} == set(ids)
    assert (await w.client.get("/v1/me/action-steps?role=partner", headers=w.auth("e-2"))).json()[
        "items"
    ][0]["owner_id"] == "e-3"

    assert (await w.client.get("/v1/me/action-steps?overdue=true", headers=w.auth("e-2"))).json()[
        "items"
    ] == []
    w.clock.advance(days=5)
    overdue = (await w.client.get("/v1/me/action-steps?overdue=true", headers=w.auth("e-2"))).json()
    assert [s["id"] for s in overdue["items"]] == [ids[1]] and overdue["items"][0][
        "overdue"
    ] is True
    assert_problem(await w.client.get("/v1/me/action-steps?role=boss", headers=w.auth("e-2")), 422)
    assert_problem(
        await w.client.get("/v1/me/action-steps?cursor=eyJ4IjoxfQ", headers=w.auth("e-2")), 400
    )


async def test_a_step_can_be_due_by_a_time_of_day_but_not_before_its_session(
    group_world: World,
) -> None:
    w = group_world
    session = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    berlin = ZoneInfo("Europe/Berlin")  # the session's zone; the owner has none of their own
    starts = datetime.fromisoformat(session["starts_at"]).astimezone(berlin)

    def by(moment: datetime) -> dict[str, str]:
        return {"due_on": moment.date().isoformat(), "due_by": moment.strftime("%H:%M:%S")}

    early = starts - timedelta(minutes=5)
    assert_problem(await commit(w, session["id"], "e-2", **by(early)), 422)

    soon = starts + timedelta(minutes=30)
    step = (await commit(w, session["id"], "e-2", **by(soon))).json()
    assert datetime.fromisoformat(step["due_at"]) == soon.replace(microsecond=0)
    assert step["overdue"] is True  # the clock stands two days after the session


async def test_the_lists_follow_every_write_a_replaced_partner_included(
    group_world: World,
) -> None:
    w = group_world
    session = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])

    async def listed(who: str, query: str = "") -> list[tuple[str, str, str]]:
        response = await w.client.get(f"/v1/me/action-steps{query}", headers=w.auth(who))
        assert response.status_code == 200, response.text
        return [(s["id"], s["title"], s["status"]) for s in response.json()["items"]]

    for who in ("e-1", "e-2", "e-3"):
        assert await listed(who) == [] and await listed(who, "?role=partner") == []
    created = await commit(w, session["id"], "e-2", title="Ask for a stretch project")
    assert created.status_code == 201, created.text
    step = created.json()
    assert await listed("e-2") == [(step["id"], "Ask for a stretch project", "open")]
    assert await listed("e-3", "?role=partner") == [
        (step["id"], "Ask for a stretch project", "open")
    ]
    edited = await w.client.patch(
        f"/v1/action-steps/{step['id']}",
        json={"title": "Ask for the pricing project", "accountability_partner_id": "e-1"},
        headers={**w.auth("e-2"), "If-Match": f'"{step["version"]}"'},
    )
    assert edited.status_code == 200, edited.text
    assert await listed("e-3", "?role=partner") == []
    assert await listed("e-1", "?role=partner") == [
        (step["id"], "Ask for the pricing project", "open")
    ]
    done = await w.client.post(f"/v1/action-steps/{step['id']}/complete", headers=w.auth("e-2"))
    assert done.status_code == 200, done.text
    assert await listed("e-2", "?status=completed") == [
        (step["id"], "Ask for the pricing project", "completed")
    ]
    assert await listed("e-2", "?status=open") == []
    assert await listed("e-1", "?role=partner") == [
        (step["id"], "Ask for the pricing project", "completed")
    ]
    assert await listed("e-3", "?role=partner") == []
