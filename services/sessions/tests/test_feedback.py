"""Feedback: each attendee rates a held session once; summaries only for admins."""

from __future__ import annotations

from roundtable_dev.testing.sessions import World, assert_problem


async def test_attendees_rate_once_and_admins_see_aggregates_only(group_world: World) -> None:
    w = group_world
    scheduled = await w.schedule("g-1", "e-1", in_days=10)
    url = f"/v1/sessions/{scheduled['id']}/feedback"
    assert_problem(await w.client.post(url, json={"rating": 4}, headers=w.auth("e-1")), 409)

    session = await w.held_session("g-1", "e-1", ["e-1", "e-2"])
    url = f"/v1/sessions/{session['id']}/feedback"
    body = {"rating": 5, "recommend_score": 9, "comment": "SECRET-COMMENT"}
    first = await w.client.post(url, json=body, headers=w.auth("e-2"))
    assert first.status_code == 201, first.text
    retry = await w.client.post(url, json=body, headers=w.auth("e-2"))
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    assert_problem(await w.client.post(url, json={"rating": 1}, headers=w.auth("e-2")), 409)
    assert_problem(await w.client.post(url, json={"rating": 6}, headers=w.auth("e-1")), 422)
    assert_problem(
        await w.client.post(url, json={"rating": 3, "recommend_score": 11}, headers=w.auth("e-1")),
        422,
    )
    assert_problem(
        await w.client.post(url, json={"rating": 3}, headers=w.auth("e-3")), 403
    )  # did not attend
    assert_problem(await w.client.post(url, json={"rating": 3}, headers=w.auth("e-9")), 403)
    assert (await w.client.post(url, json={"rating": 2}, headers=w.auth("e-1"))).status_code == 201

    [event, _] = await w.wait_events("roundtable.sessions.feedback.submitted", 2)
    assert event["data"]["rating"] == 5 and event["data"]["recommend_score"] == 9
    assert "SECRET" not in str(await w.events())

    mine = await w.client.get(f"{url}/mine", headers=w.auth("e-2"))
    assert mine.json()["comment"] == "SECRET-COMMENT"
    assert_problem(await w.client.get(f"{url}/mine", headers=w.auth("e-3")), 404)
    summary = await w.client.get(f"{url}/summary", headers=w.auth("e-50", "program_admin"))
    # How many rated, never what they gave: an average would give a peer's rating away.
    assert summary.json() == {"session_id": session["id"], "responses": 2}
    assert "SECRET" not in summary.text
    assert_problem(await w.client.get(f"{url}/summary", headers=w.auth("e-9")), 403)
