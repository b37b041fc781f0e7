"""Preferences and admin endpoints (success, authorization, bad input), chat webhooks, quiet
hours and cancellations, against the running service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.client import Client as NatsClient

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.reminders import PROBLEM_JSON, now, reminders_world
from roundtable_shared.events.catalogue.sessions import SessionCancelled, SessionCancelReason


async def test_preferences_read_edit_concurrency_and_bad_input(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, smtp_port=smtp.port
    ) as w:
        await w.employee("emp_a", time_zone="Pacific/Auckland")
        me = w.token("emp_a")
        # No token: 401 problem.
        r = await w.client.get("/v1/me/preferences")
        assert r.status_code == 401 and r.headers["content-type"] == PROBLEM_JSON
        r = await w.client.get("/v1/me/preferences", headers=me)
        assert r.status_code == 200 and r.headers["ETag"] == '"0"'
        assert r.json()["effective_time_zone"] == "Pacific/Auckland"
        assert r.json()["default_channels"] == ["email"]

        body = {"quiet_hours": {"start": "22:00", "end": "07:00"}, "time_zone": "Europe/Berlin"}
        r = await w.client.put("/v1/me/preferences", json=body, headers=me)
        assert r.status_code == 428
        r = await w.client.put("/v1/me/preferences", json=body, headers={**me, "If-Match": '"0"'})
        assert r.status_code == 200, r.text
        assert r.headers["ETag"] == '"1"' and r.json()["effective_time_zone"] == "Europe/Berlin"
        r = await w.client.put("/v1/me/preferences", json=body, headers={**me, "If-Match": '"0"'})
        assert r.status_code == 412 and r.headers["content-type"] == PROBLEM_JSON

        bad = [
            {"time_zone": "Mars/Olympus"},
            {"quiet_hours": {"start": "22:00", "end": "22:00"}},
            {"default_channels": ["slack"]},  # no slack webhook URL
            {"slack_webhook_url": "ftp://example.com/x", "default_channels": ["slack"]},
            {"channels": {"not_a_kind": ["email"]}},
            {"unknown_field": 1},
        ]
        for payload in bad:
            r = await w.client.put(
                "/v1/me/preferences", json=payload, headers={**me, "If-Match": '"1"'}
            )
            assert r.status_code == 422, (payload, r.text)
            assert r.headers["content-type"] == PROBLEM_JSON
        r = await w.client.put(
            "/v1/me/preferences",
            content=b"{not json",
            headers={**me, "If-Match": '"1"', "content-type": "application/json"},
        )
        assert r.status_code == 400
        r = await w.client.get("/v1/me/preferences", headers=me)
        assert r.json()["version"] == 1  # no bad request changed anything


async def test_chat_webhooks_in_slack_and_teams_formats_with_an_idempotency_key(
    make_settings: Any,
    nats_client: NatsClient,
    namespace: str,
    dev_issuer: DevIssuer,
    smtp: Any,
    webhooks: Any,
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, smtp_port=smtp.port
    ) as w:
        await w.employee("emp_a")
        await w.employee("emp_b")
        prefs = {
            "channels": {"session_upcoming": ["slack", "teams"]},
            "slack_webhook_url": f"{webhooks.url}/hook/slack",
            "teams_webhook_url": f"{webhooks.url}/hook/teams",
        }
        r = await w.client.put(
            "/v1/me/preferences", json=prefs, headers={**w.token("emp_a"), "If-Match": '"0"'}
        )
        assert r.status_code == 200, r.text
        # emp_b's Slack hook answers 404: the hook is gone, a final failure, not a retry.
        prefs_b = {"default_channels": ["slack"], "slack_webhook_url": f"{webhooks.url}/nohook"}
        r = await w.client.put(
            "/v1/me/preferences", json=prefs_b, headers={**w.token("emp_b"), "If-Match": '"0"'}
        )
        assert r.status_code == 200, r.text
        await w.session("ses_1", ["emp_a", "emp_b"], now() + timedelta(minutes=60))
        await w.until(lambda: _docs_in(w, "ses_1", {"sent", "failed"}))
        calls = webhooks.unique()
        assert {c["hook"] for c in calls.values()} == {"slack", "teams"}
        slack = next(c for c in calls.values() if c["hook"] == "slack")
        teams = next(c for c in calls.values() if c["hook"] == "teams")
        assert slack["key"].endswith(".slack") and teams["key"].endswith(".teams")
        assert slack["body"]["blocks"][0]["text"]["text"].startswith("Coming up")
        assert teams["body"]["@type"] == "MessageCard"
        assert smtp.messages == []  # chat only, as chosen
        docs = {d["recipient_id"]: d for d in await w.reminders(session_id="ses_1")}
        assert docs["emp_a"]["status"] == "sent"
        assert docs["emp_b"]["status"] == "failed"
        assert docs["emp_b"]["channels"]["slack"]["code"] == "404"

        # Admin: the failed list, a retry, stats; and who may not.
        admin = w.token("emp_admin", "program_admin")
        r = await w.client.get("/v1/admin/reminders/failed", headers=w.token("emp_a"))
        assert r.status_code == 403 and r.headers["content-type"] == PROBLEM_JSON
        r = await w.client.get("/v1/admin/reminders/failed", headers=admin)
        assert r.status_code == 200
        [failed] = r.json()["items"]
        assert failed["recipient_id"] == "emp_b" and r.json()["next_cursor"] is None
        r = await w.client.get("/v1/admin/reminders/failed?cursor=@@@", headers=admin)
        assert r.status_code == 400
        r = await w.client.get("/v1/admin/reminders/failed?limit=0", headers=admin)
        assert r.status_code == 422
        r = await w.client.get("/v1/admin/programs/prg_1/stats", headers=admin)
        assert r.status_code == 200
        assert r.json()["by_status"]["sent"] == 1 and r.json()["by_status"]["failed"] == 1
        r = await w.client.get("/v1/admin/programs/prg_unknown/stats", headers=admin)
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM_JSON
        r = await w.client.post("/v1/admin/reminders/rem_nope/retry", headers=admin)
        assert r.status_code == 404
        r = await w.client.post(f"/v1/admin/reminders/{docs['emp_a']['_id']}/retry", headers=admin)
        assert r.status_code == 409
        webhooks.status = 200
        prefs_b["slack_webhook_url"] = f"{webhooks.url}/hook/slack"
        r = await w.client.put(
            "/v1/me/preferences", json=prefs_b, headers={**w.token("emp_b"), "If-Match": '"1"'}
        )
        r = await w.client.post(f"/v1/admin/reminders/{failed['reminder_id']}/retry", headers=admin)
        assert r.status_code == 200 and r.json()["status"] == "pending"
        await w.until(lambda: _docs_in(w, "ses_1", {"sent"}))


async def test_quiet_hours_hold_a_reminder_and_a_cancelled_session_cancels_and_tells_members(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, smtp_port=smtp.port
    ) as w:
        await w.employee("emp_q", time_zone="Pacific/Tongatapu")
        await w.employee("emp_b")
        # Quiet hours around the current time in Tonga (UTC+13): the reminder is held to their end.
        local = datetime.now(UTC).astimezone(_tonga())
        start = (local - timedelta(hours=1)).strftime("%H:%M")
        end = (local + timedelta(hours=2)).strftime("%H:%M")
        r = await w.client.put(
            "/v1/me/preferences",
            json={"quiet_hours": {"start": start, "end": end}},
            headers={**w.token("emp_q"), "If-Match": '"0"'},
        )
        assert r.status_code == 200, r.text
        await w.session("ses_1", ["emp_q", "emp_b"], now() + timedelta(minutes=60))
        await w.until(lambda: _count_to(smtp, 1))
        assert smtp.to("emp_b@example.com") and not smtp.to("emp_q@example.com")
        held = (await w.reminders(recipient_id="emp_q"))[0]
        await w.until(lambda: _held(w))
        held = (await w.reminders(recipient_id="emp_q"))[0]
        expected_end = local.replace(second=0, microsecond=0) + timedelta(hours=2)
        assert abs((held["next_at"] - expected_end).total_seconds()) < 60

        # The session is cancelled: the held reminder is cancelled, both members are told.
        await w.publish(
            SessionCancelled(
                session_id="ses_1",
                group_id="grp_1",
                program_id="prg_1",
                starts_at=now() + timedelta(minutes=60),
                reason=SessionCancelReason.MEMBER,
                cancelled_at=now(),
            ),
            subject="ses_1",
            version=2,
        )
        await w.until(lambda: _count_to(smtp, 2))
        assert smtp.to("emp_b@example.com")[-1]["Subject"] == "Cancelled: Roundtable 1: session 1"
        kinds = {(d["recipient_id"], d["kind"]): d["status"] for d in await w.reminders()}
        assert kinds[("emp_q", "session_upcoming")] == "cancelled"

        # Quiet hours hold this too. A worker's pass may still hold it claimed for a moment.
        async def cancellation_held() -> dict[str, Any] | None:
            docs = await w.reminders(recipient_id="emp_q", kind="session_cancelled")
            return docs[0] if docs and docs[0]["status"] != "claimed" else None

        notice = await w.until(cancellation_held)
        assert notice["status"] == "pending" and "held_at" in notice
        assert abs((notice["next_at"] - expected_end).total_seconds()) < 60


def _tonga() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Pacific/Tongatapu")


async def _docs_in(w: Any, session_id: str, statuses: set[str]) -> bool:
    docs = await w.reminders(session_id=session_id, kind="session_upcoming")
    return bool(docs) and all(d["status"] in statuses for d in docs)


async def _count_to(smtp: Any, n: int) -> bool:
    assert len(smtp.messages) <= n
    return len(smtp.messages) == n


async def _held(w: Any) -> bool:
    docs = await w.reminders(recipient_id="emp_q")
    return bool(docs) and docs[0]["status"] == "pending" and "held_at" in docs[0]
