"""An erased person leaves nothing personal in the reminders service: preferences (a Slack webhook
URL), the directory copy, what was planned for them, the titles of their action steps in what
others are told; a redelivered erasure finishes a half-done one. Real NATS and FerretDB."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from nats.aio.client import Client as NatsClient

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.reminders import PROBLEM_JSON, World, now, reminders_world
from roundtable_shared.events.catalogue.enrollment import EmployeeErased
from roundtable_shared.events.catalogue.sessions import ActionCommitted

GONE = "emp_gone"
PEER = "emp_peer"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/gone-personal-hook"
STEP_TITLE = "Tell my manager about the burnout"


async def erase(w: World) -> None:
    # Each publish gets a new event id: what NATS redelivers after a crash looks the same to
    # the handler (same version, same person).
    await w.publish(EmployeeErased(employee_id=GONE, erased_at=now()), subject=GONE, version=5)


async def handled(w: World, marker: str) -> None:
    """Everything published before on the enrollment stream has been handled (one consumer,
    in order): a later event's effect is visible."""
    await w.employee(marker)


async def test_an_erasure_removes_preferences_address_and_words_and_a_redelivery_finishes_it(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, smtp_port=smtp.port
    ) as w:
        await w.employee(GONE)
        await w.employee(PEER)
        me = w.token(GONE)
        r = await w.client.put(
            "/v1/me/preferences",
            json={"default_channels": ["email"], "slack_webhook_url": SLACK_URL},
            headers={**me, "If-Match": '"0"'},
        )
        assert r.status_code == 200, r.text
        await w.session("ses_e", [GONE, PEER], now() + timedelta(days=2))
        await w.publish(
            ActionCommitted(
                action_id="act_e",
                session_id="ses_e",
                group_id="grp_1",
                program_id="prg_1",
                owner_id=GONE,
                accountability_partner_id=PEER,
                title=STEP_TITLE,
                due_at=now() + timedelta(days=7),
                committed_at=now(),
            ),
            subject="act_e",
        )
        await w.until(lambda: _count(w.reminders(session_id="ses_e", kind="session_upcoming"), 4))
        await w.until(lambda: w.reminders(action_id="act_e", recipient_id=PEER))

        await erase(w)

        async def forgotten() -> bool:
            r = await w.client.get("/v1/me/preferences", headers=me)
            return r.status_code == 200 and r.json()["slack_webhook_url"] is None

        await w.until(forgotten)
        await handled(w, "emp_marker_1")
        await assert_nothing_personal_left(w)

        # Another person's reminders stay pending; what they say of the erased person's step
        # keeps the owner's id (a pseudonym) but not the title.
        peer_docs = await w.reminders(recipient_id=PEER)
        assert {d["status"] for d in peer_docs} == {"pending"}
        [overdue] = [d for d in peer_docs if d["kind"] == "action_overdue"]
        assert overdue["context"]["owner_id"] == GONE and "title" not in overdue["context"]

        # A crash after the erasure marked the person but before it removed their preferences,
        # then NATS redelivers it: the redelivery finishes the job and changes nothing else.
        await w.db["preferences"].insert_one(
            {
                "_id": GONE,
                "preferences": {"slack_webhook_url": SLACK_URL, "default_channels": ["email"]},
                "version": 1,
            }
        )
        await erase(w)
        await handled(w, "emp_marker_2")
        await assert_nothing_personal_left(w)
        assert await w.reminders(recipient_id=PEER) == peer_docs

        # A replayed old directory snapshot does not bring the person back.
        await w.employee(GONE, version=1)
        await handled(w, "emp_marker_3")
        recipient = await w.db["recipients"].find_one({"_id": GONE})
        assert recipient and recipient["erased"] is True and recipient["email"] is None

        # A token still valid after the erasure cannot store preferences again.
        r = await w.client.put(
            "/v1/me/preferences",
            json={"slack_webhook_url": SLACK_URL},
            headers={**me, "If-Match": '"0"'},
        )
        assert r.status_code == 409 and r.headers["content-type"] == PROBLEM_JSON, r.text
        assert await w.db["preferences"].find_one({"_id": GONE}) is None


async def assert_nothing_personal_left(w: World) -> None:
    assert await w.db["preferences"].find_one({"_id": GONE}) is None
    recipient = await w.db["recipients"].find_one({"_id": GONE})
    assert recipient is not None and recipient["erased"] is True
    assert (recipient["display_name"], recipient["email"], recipient["time_zone"]) == (
        None,
        None,
        None,
    )
    mine = await w.reminders(recipient_id=GONE)
    assert mine, "the plans stay (ids and times), without their text"
    assert {d["status"] for d in mine} == {"cancelled"}
    assert all(d["context"] == {} for d in mine)
    copy = await w.db["source_copies"].find_one({"_id": "action:act_e"})
    assert copy is not None and "title" not in copy
    # Nowhere in the service's database: the address, the hook, the step's title.
    for name in await w.db.list_collection_names():
        async for doc in w.db[name].find({}):
            text = repr(doc)
            for needle in (f"{GONE}@example.com", SLACK_URL, STEP_TITLE, f"Person {GONE}"):
                assert needle not in text, (name, doc)


async def _count(found: Any, n: int) -> list[Any]:
    items = list(await found)
    return items if len(items) == n else []
