"""Two replicas of the sessions service on one database: writes to the same aggregate race
through both, with nothing but the version check between them, and every one lands once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from roundtable_dev.testing.http import running_app
from roundtable_dev.testing.sessions import World
from sessions.app import build_app
from sessions.settings import SessionsSettings


async def test_comments_and_agreements_racing_through_two_replicas_all_land_once(
    group_world: World, make_settings: Callable[..., SessionsSettings]
) -> None:
    w = group_world
    session = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    committed = await w.client.post(
        f"/v1/sessions/{session['id']}/action-steps",
        json={
            "accountability_partner_id": "e-3",
            "title": "Ask for a stretch project",
            "due_on": (w.clock.now.date()).isoformat(),
        },
        headers=w.auth("e-2"),
    )
    assert committed.status_code == 201, committed.text
    step = committed.json()

    other = build_app(make_settings(SessionsSettings), clock=w.clock)
    async with running_app(other) as second:
        replicas: list[httpx.AsyncClient] = [w.client, second]
        # Eight comments at once, half through each replica, none with If-Match: each loser
        # of a race decides again on the step as it now stands.
        comments = await asyncio.gather(
            *(
                replicas[n % 2].post(
                    f"/v1/action-steps/{step['id']}/comments",
                    json={"text": f"comment {n}"},
                    headers=w.auth(("e-2", "e-3")[n % 2]),
                )
                for n in range(8)
            )
        )
        assert [c.status_code for c in comments] == [201] * 8, [c.text for c in comments]
        stored = (await second.get(f"/v1/action-steps/{step['id']}", headers=w.auth("e-2"))).json()
        assert sorted(c["text"] for c in stored["comments"]) == [f"comment {n}" for n in range(8)]
        assert stored["version"] == step["version"] + 8

        # Everyone who was there agrees to share with later members, at once, on both replicas.
        url = f"/v1/sessions/{session['id']}/record/sharing"
        agreed = await asyncio.gather(
            *(
                replicas[n % 2].put(url, headers=w.auth(who))
                for n, who in enumerate(("e-1", "e-2", "e-3"))
            )
        )
        assert [a.status_code for a in agreed] == [200] * 3, [a.text for a in agreed]
        sharing = (await w.client.get(url, headers=w.auth("e-1"))).json()
        assert (
            sorted(sharing["agreed"]) == ["e-1", "e-2", "e-3"]
            and sharing["shared_with_later_members"]
        )
