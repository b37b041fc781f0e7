"""Worker processes killed with SIGKILL while holding claims: every due reminder still goes out,
once per idempotency key, after the dead worker's leases expire."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient

from reminders.schedule.domain import Plan
from reminders.schedule.repository import ReminderRepository
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.reminders import World, now, reminders_world
from roundtable_shared.events.catalogue.reminders import ReminderKind

pytestmark = pytest.mark.slow

COUNT = 24
LEASE = 2.0


def run_worker(w: World, crash_at: str, smtp_port: int) -> int:
    s = w.settings
    env = {
        **os.environ,
        "REMINDERS_MONGODB_URI": s.mongodb_uri,
        "REMINDERS_NATS_URL": s.nats_url,
        "REMINDERS_NATS_USER": s.nats_user,
        "REMINDERS_NATS_PASSWORD": s.nats_password.get_secret_value(),
        "REMINDERS_NAMESPACE": s.namespace,
        "REMINDERS_SMTP_PORT": str(smtp_port),
        "REMINDERS_LEASE_SECONDS": str(LEASE),
        "REMINDERS_WORKER_BATCH_SIZE": "8",
        "REMINDERS_WORKER_POLL_SECONDS": "0.1",
        "ROUNDTABLE_CRASH_AT": crash_at,
    }
    return subprocess.run(
        [sys.executable, "-m", "reminders.worker"], env=env, timeout=60
    ).returncode


@pytest.fixture
async def w(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> AsyncIterator[World]:
    """The service, its worker off, with short leases: workers are started (and killed) here."""
    async with reminders_world(
        make_settings,
        nats_client,
        namespace,
        dev_issuer,
        smtp_port=smtp.port,
        worker_enabled=False,
        lease_seconds=LEASE,
    ) as world:
        yield world


async def welcomes_due_now(w: World, count: int) -> list[str]:
    """``count`` people, each with a welcome due now; their ids."""
    people = [f"emp_{n:02d}" for n in range(count)]
    for person in people:
        await w.employee(person)
    due = now()
    plans = [
        Plan(
            key=f"kill:{person}",
            kind=ReminderKind.WELCOME,
            recipient_id=person,
            program_id="prg_1",
            due_at=due,
        )
        for person in people
    ]
    await ReminderRepository(w.db).add(plans, due)
    return people


async def test_killed_workers_claims_are_taken_over_and_each_reminder_is_delivered_once(
    w: World, smtp: Any
) -> None:
    people = await welcomes_due_now(w, COUNT)

    # 1. Killed right after claiming a batch: 8 claims held, nothing sent.
    killed = -signal.SIGKILL
    assert await asyncio.to_thread(run_worker, w, "reminders.after_claim", smtp.port) == killed
    claimed = await w.reminders(status="claimed")
    assert len(claimed) == 8
    assert smtp.messages == []

    # 2. Another worker, killed after its fifth delivery, before recording it: it dies holding
    #    claims too (some its own, some the first worker's if their leases ran out).
    assert await asyncio.to_thread(run_worker, w, "reminders.after_deliver:5", smtp.port) == killed
    assert await w.reminders(status="claimed")
    assert 5 <= len(smtp.messages) < COUNT

    # 3. A healthy worker (the service's own) finishes once the leases expire.
    worker = _worker(w)
    await w.until(lambda: _all_sent(w, worker), timeout=30)

    ids = collections.Counter(m["Message-ID"] for m in smtp.messages)
    assert len(ids) == COUNT  # every reminder reached its person
    assert sorted(m["To"] for m in {m["Message-ID"]: m for m in smtp.messages}.values()) == [
        f"{p}@example.com" for p in people
    ]
    # Raw copies beyond one are only ones the second worker sent but could not record; they
    # carry the same Message-ID, so a receiver that honours it shows each reminder once.
    assert sum(ids.values()) - COUNT <= 8
    sent = await w.until(lambda: _sent_events(w))
    assert sorted(e.data["recipient_id"] for e in sent) == people


def _worker(w: World) -> Any:
    from reminders.delivery.worker import DeliveryWorker
    from reminders.people.repository import RecipientRepository
    from reminders.preferences.repository import PreferencesRepository

    return DeliveryWorker(
        w.settings,
        ReminderRepository(w.db),
        RecipientRepository(w.db),
        PreferencesRepository(w.db),
    )


async def _all_sent(w: World, worker: Any) -> bool:
    await worker.run_once()
    docs = await w.reminders()
    return all(d["status"] == "sent" for d in docs)


async def _sent_events(w: World) -> list[Any] | None:
    events = await w.events("roundtable.reminders.reminder.sent")
    unique = {e.id: e for e in events}
    return list(unique.values()) if len(unique) >= COUNT else None


async def test_a_worker_killed_between_its_events_and_its_outcomes_publishes_each_event_once(
    w: World, smtp: Any
) -> None:
    """A pass writes its events (one document for the relay) before its outcomes: killed in
    between, its reminders are delivered again and raise the same events, which leave once."""
    people = await welcomes_due_now(w, 6)

    killed = -signal.SIGKILL
    crash_at = "reminders.outcome_events_saved"
    assert await asyncio.to_thread(run_worker, w, crash_at, smtp.port) == killed
    assert len(smtp.messages) == len(people)  # all sent, none recorded
    assert {d["status"] for d in await w.reminders()} == {"claimed"}

    worker = _worker(w)  # after the leases expire, the same reminders go again
    await w.until(lambda: _all_sent(w, worker), timeout=30)
    assert len(smtp.messages) == 2 * len(people)
    assert len({m["Message-ID"] for m in smtp.messages}) == len(people)

    async def each_event_once() -> list[Any] | None:
        events = await w.events("roundtable.reminders.reminder.sent")
        return events if len(events) >= len(people) else None

    await w.until(each_event_once, timeout=20)
    await asyncio.sleep(1.0)  # a second copy, if any, would have arrived by now
    events = await w.events("roundtable.reminders.reminder.sent")
    assert sorted(e.data["recipient_id"] for e in events) == people
