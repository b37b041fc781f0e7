"""The daily digest: reminders that fall due for a person who chose it wait for one message a day
at their local time, across a daylight-saving change, after quiet hours and a snooze; each bundled
reminder is sent once. Real NATS, FerretDB and SMTP; the delivery worker runs on a test clock."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.client import Client as NatsClient

from reminders.delivery.worker import DeliveryWorker
from reminders.people.repository import RecipientRepository
from reminders.preferences.repository import PreferencesRepository
from reminders.schedule.domain import Plan
from reminders.schedule.repository import ReminderRepository
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.reminders import World, reminders_world
from roundtable_shared.events.catalogue.reminders import ReminderKind


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def worker(w: World, clock: Callable[[], datetime]) -> DeliveryWorker:
    return DeliveryWorker(
        w.settings,
        ReminderRepository(w.db),
        RecipientRepository(w.db),
        PreferencesRepository(w.db),
        clock=clock,
    )


def run_worker(w: World, crash_at: str) -> int:
    """A worker process (a replica) that SIGKILLs itself at ``crash_at``."""
    s = w.settings
    env = {
        **os.environ,
        "REMINDERS_MONGODB_URI": s.mongodb_uri,
        "REMINDERS_NATS_URL": s.nats_url,
        "REMINDERS_NATS_USER": s.nats_user,
        "REMINDERS_NATS_PASSWORD": s.nats_password.get_secret_value(),
        "REMINDERS_NAMESPACE": s.namespace,
        "REMINDERS_SMTP_PORT": str(s.smtp_port),
        "REMINDERS_LEASE_SECONDS": str(s.lease_seconds),
        "REMINDERS_WEBHOOK_LOOPBACK_FOR_TESTS": "true",
        "REMINDERS_WORKER_POLL_SECONDS": "0.1",
        "ROUNDTABLE_CRASH_AT": crash_at,
    }
    return subprocess.run(
        [sys.executable, "-m", "reminders.worker"], env=env, timeout=60
    ).returncode


async def prefer(w: World, employee_id: str, **body: Any) -> None:
    r = await w.client.put(
        "/v1/me/preferences", json=body, headers={**w.token(employee_id), "If-Match": '"0"'}
    )
    assert r.status_code == 200, r.text


def welcome(employee_id: str, program_id: str, due: datetime) -> Plan:
    return Plan(
        key=f"welcome:{employee_id}:{program_id}",
        kind=ReminderKind.WELCOME,
        recipient_id=employee_id,
        program_id=program_id,
        due_at=due,
    )


async def test_reminders_wait_for_the_local_morning_digest_across_the_spring_forward_night(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, smtp_port=smtp.port, worker_enabled=False
    ) as w:
        digest = {"daily_digest": {"at": "08:00"}}
        await w.employee("emp_d")  # Europe/Berlin
        await w.employee("emp_snooze")
        await w.employee("emp_quiet")
        await w.employee("emp_single")
        await prefer(w, "emp_d", **digest)
        await prefer(w, "emp_snooze", **digest, snoozed_until="2026-03-29T12:00:00Z")
        await prefer(w, "emp_quiet", **digest, quiet_hours={"start": "07:30", "end": "09:00"})
        r = await w.client.put(
            "/v1/me/preferences",
            json={"daily_digest": {"at": "08:00+02:00"}},
            headers={**w.token("emp_x"), "If-Match": '"0"'},
        )
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"

        repo = ReminderRepository(w.db)
        saturday = utc(2026, 3, 28, 10, 0)
        people = ("emp_d", "emp_snooze", "emp_quiet", "emp_single")
        await repo.add([welcome(p, "prg_1", saturday) for p in people], saturday)
        await repo.add(
            [welcome(p, "prg_2", saturday + timedelta(hours=8)) for p in people], saturday
        )
        clock = Clock(saturday + timedelta(seconds=1))
        deliveries = worker(w, clock)
        try:
            await deliveries.run_once()
            # Only the person without a digest hears at once.
            assert [m["To"] for m in smtp.messages] == ["emp_single@example.com"]
            [planned] = await w.reminders(kind="digest", recipient_id="emp_d")
            # 08:00 in Berlin on the night clocks go forward is 06:00 UTC, not 07:00.
            assert planned["due_at"] == utc(2026, 3, 29, 6, 0)

            clock.at = saturday + timedelta(hours=8, seconds=1)
            await deliveries.run_once()
            # The evening's reminders join the same digest: one per person and morning.
            assert len(await w.reminders(kind="digest", recipient_id="emp_d")) == 1
            bundled = await w.reminders(recipient_id="emp_d", status="bundled")
            assert {d["digest_id"] for d in bundled} == {planned["_id"]} and len(bundled) == 2

            clock.at = utc(2026, 3, 29, 5, 59)
            assert await deliveries.run_once() == 0
            clock.at = utc(2026, 3, 29, 6, 0, 1)
            await deliveries.run_once()
            [morning] = smtp.to("emp_d@example.com")
            assert morning["Subject"] == "Your Roundtable digest: 2 reminders"
            text = morning.get_payload()[0].get_payload(decode=True).decode()
            assert text.count("Welcome to your peer program") == 2
            docs = await w.reminders(recipient_id="emp_d", kind="welcome")
            assert {(d["status"], d["sent_in"]) for d in docs} == {("sent", planned["_id"])}
            # Snoozed until noon, quiet until 09:00 local (07:00 UTC): not yet.
            assert smtp.to("emp_snooze@example.com") == []
            assert smtp.to("emp_quiet@example.com") == []

            clock.at = utc(2026, 3, 29, 7, 0, 1)
            while await deliveries.run_once():
                pass
            assert len(smtp.to("emp_quiet@example.com")) == 1
            assert smtp.to("emp_snooze@example.com") == []
            clock.at = utc(2026, 3, 29, 12, 0, 1)
            while await deliveries.run_once():
                pass
            [late] = smtp.to("emp_snooze@example.com")
            assert late["Subject"] == "Your Roundtable digest: 2 reminders"
            # Later passes send nothing more: each reminder went out once.
            clock.at = utc(2026, 3, 30, 12, 0)
            assert await deliveries.run_once() == 0
            assert len(smtp.messages) == 2 + 3
        finally:
            await deliveries.close()

        # Each bundled reminder has its own reminder.sent (the digest itself is no reminder).
        sent = await w.until(lambda: _at_least(w, 8))
        assert sorted(e.data["recipient_id"] for e in sent) == sorted(
            [p for p in people for _ in (1, 2)]
        )
        assert {e.data["kind"] for e in sent} == {"welcome"}


async def _at_least(w: World, n: int) -> list[Any] | None:
    events = await w.events("roundtable.reminders.reminder.sent")
    unique = {e.id: e for e in events}
    return list(unique.values()) if len(unique) >= n else None


async def test_a_worker_killed_mid_digest_leaves_one_digest_per_channel_and_each_reminder_sent_once(
    make_settings: Any,
    nats_client: NatsClient,
    namespace: str,
    dev_issuer: DevIssuer,
    smtp: Any,
    webhooks: Any,
) -> None:
    async with reminders_world(
        make_settings,
        nats_client,
        namespace,
        dev_issuer,
        smtp_port=smtp.port,
        worker_enabled=False,
        lease_seconds=2.0,
    ) as w:
        await w.employee("emp_d", time_zone="UTC")
        start = datetime.now(UTC)
        # Far enough ahead for the worker process to start before its digest comes due, even
        # on a loaded machine (a start of over 20 s has been seen with 2 cores shared): one that
        # starts later bundles them into tomorrow's digest.
        at = (start + timedelta(seconds=30)).time().replace(microsecond=0)
        await prefer(
            w,
            "emp_d",
            daily_digest={"at": at.isoformat()},
            default_channels=["email", "slack"],
            slack_webhook_url=f"{webhooks.url}/hook/slack",
        )
        await ReminderRepository(w.db).add(
            [welcome("emp_d", p, start) for p in ("prg_1", "prg_2")], start
        )
        # A worker process bundles both, sends the digest at its time to both channels, and is
        # killed before it can record that.
        code = await asyncio.to_thread(run_worker, w, "reminders.after_deliver")
        assert code == -signal.SIGKILL
        assert len(smtp.messages) == 1 and len(webhooks.calls) == 1
        # Another takes the claim over once its lease expires and sends the same digest again.
        deliveries = worker(w, lambda: datetime.now(UTC))
        try:
            await w.until(lambda: _digest_sent(w, deliveries), timeout=20)
        finally:
            await deliveries.close()
        # Same Message-ID, same Idempotency-Key and body: a channel honouring them shows one.
        assert len(collections.Counter(m["Message-ID"] for m in smtp.messages)) == 1
        [digest] = webhooks.unique().values()
        assert all(c["body"] == digest["body"] for c in webhooks.calls)
        assert "2 reminders" in digest["body"]["text"]
        docs = await w.reminders(kind="welcome")
        assert [d["status"] for d in docs] == ["sent", "sent"]
        sent = await w.until(lambda: _at_least(w, 4))
        assert len(sent) == 4  # two reminders, two channels, each once


async def _digest_sent(w: World, deliveries: DeliveryWorker) -> bool:
    await deliveries.run_once()
    return bool(await w.reminders(kind="digest", status="sent"))
