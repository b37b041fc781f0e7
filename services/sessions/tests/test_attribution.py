"""Attribution is true: a shared note is changed only by its author, an action step committed
only by its owner."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from roundtable_dev.testing.sessions import World, assert_problem


async def put_notes(w: World, url: str, by: str, version: int, notes: list[dict[str, Any]]) -> Any:
    body = {"attendee_ids": ["e-1", "e-2", "e-3"], "shared_notes": notes}
    return await w.client.put(url, json=body, headers={**w.auth(by), "If-Match": f'"{version}"'})


async def test_only_the_author_changes_or_removes_a_shared_note(group_world: World) -> None:
    w = group_world
    session = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    url = f"/v1/sessions/{session['id']}/record"
    written = await put_notes(w, url, "e-1", 2, [{"text": "Ada: I will ask, not defend."}])
    assert written.status_code == 200, written.text
    [note] = written.json()["shared_notes"]
    assert note["author_id"] == "e-1"

    # Another member rewrites it under Ada's name, or drops it: refused, nothing changes.
    rewrite = [{"note_id": note["note_id"], "text": "Ada: I was wrong about everything."}]
    problem = assert_problem(await put_notes(w, url, "e-2", 3, rewrite), 403)
    assert "author" in problem["detail"]
    assert_problem(await put_notes(w, url, "e-2", 3, []), 403)
    current = (await w.client.get(url, headers=w.auth("e-3"))).json()
    assert current["version"] == 3 and current["shared_notes"] == [note]

    # Keeping it as it is and adding their own is fine; the author edits and removes their own.
    both = [{"note_id": note["note_id"], "text": note["text"]}, {"text": "Grace: agreed."}]
    added = await put_notes(w, url, "e-2", 3, both)
    assert added.status_code == 200, added.text
    assert [n["author_id"] for n in added.json()["shared_notes"]] == ["e-1", "e-2"]
    grace = added.json()["shared_notes"][1]
    kept = [{"note_id": grace["note_id"], "text": grace["text"]}]
    edited = await put_notes(
        w, url, "e-1", 4, [{"note_id": note["note_id"], "text": "Ada: ask first."}, *kept]
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["shared_notes"][0] == {**note, "text": "Ada: ask first."}
    assert (await put_notes(w, url, "e-1", 5, kept)).status_code == 200


async def test_only_the_owner_commits_an_action_step(group_world: World) -> None:
    w = group_world
    session = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    url = f"/v1/sessions/{session['id']}/action-steps"
    body = {
        "accountability_partner_id": "e-3",
        "title": "Resign on Monday",
        "due_on": (w.clock.now + timedelta(days=7)).date().isoformat(),
    }
    problem = assert_problem(
        await w.client.post(url, json={**body, "owner_id": "e-2"}, headers=w.auth("e-1")), 403
    )
    assert "owner" in problem["detail"]
    assert (await w.client.get(url, headers=w.auth("e-2"))).json() == []
    own = await w.client.post(url, json={**body, "owner_id": "e-1"}, headers=w.auth("e-1"))
    assert own.status_code == 201 and own.json()["owner_id"] == "e-1"
