"""How the worker finds what is due: a query on the schedule's indexed fields. A due reminder is
sent, one ahead waits, a cancelled one is not sent, one written before the worker ran or overdue
by half an hour (every worker down meanwhile) is found all the same; on the local server the
queries read the index rather than the schedule. Real NATS, FerretDB and SMTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient

from reminders.delivery.worker import DeliveryWorker
from reminders.people.repository import RecipientRepository
from reminders.preferences.repository import PreferencesRepository
from reminders.schedule.claims import due_now, lease_ran_out
from reminders.schedule.domain import Plan
from reminders.schedule.repository import (
    REMINDER_INDEXES,
    REMINDERS,
    ReminderRepository,
    plan_document,
)
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.reminders import now, reminders_world
from roundtable_shared.events.catalogue.reminders import ReminderKind
from roundtable_shared.storage.mongo import Database, apply_indexes, is_ferretdb


def welcome(employee_id: str, due: Any) -> Plan:
    return Plan(
        key=f"due:{employee_id}",
        kind=ReminderKind.WELCOME,
        recipient_id=employee_id,
        program_id="prg_1",
        due_at=due,
    )


async def test_the_worker_finds_every_due_reminder_by_status_and_time(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, smtp_port=smtp.port, worker_enabled=False
    ) as w:
        for person in ("emp_now", "emp_later", "emp_cancelled", "emp_direct", "emp_outage"):
            await w.employee(person)
        repo = ReminderRepository(w.db)
        worker = DeliveryWorker(
            w.settings, repo, RecipientRepository(w.db), PreferencesRepository(w.db)
        )
        try:
            at = now()
            due, ahead, cancelled = (
                welcome("emp_now", at),
                welcome("emp_later", at + timedelta(days=2)),
                welcome("emp_cancelled", at),
            )
            await repo.add([due, ahead, cancelled], at)
            await repo.cancel({"recipient_id": "emp_cancelled"}, "test")

            assert await worker.run_once() == 1
            assert [m["To"] for m in smtp.messages] == ["emp_now@example.com"]
            assert await worker.run_once() == 0

            # Written straight into the schedule, not through the repository: found all the same.
            direct = welcome("emp_direct", at - timedelta(minutes=1))
            await w.db[REMINDERS].insert_one(plan_document(direct, at))
            # Due half an hour ago, while no worker ran: a running worker finds it too.
            missed = welcome("emp_outage", at - timedelta(minutes=30))
            await repo.add([missed], missed.due_at)
            assert await worker.run_once() == 2
            assert {m["To"] for m in smtp.messages[1:]} == {
                "emp_outage@example.com",
                "emp_direct@example.com",
            }

            statuses = {d["recipient_id"]: d["status"] for d in await w.reminders()}
            assert statuses == {
                "emp_now": "sent",
                "emp_later": "pending",
                "emp_cancelled": "cancelled",
                "emp_direct": "sent",
                "emp_outage": "sent",
            }
        finally:
            await worker.close()


async def test_the_queries_for_due_reminders_read_the_index(mongo_db: Database) -> None:
    """On the local server a filter on fields no index serves reads the whole schedule; these
    two are answered from ``status, next_at`` and ``status, lease_until``."""
    if not await is_ferretdb(mongo_db):
        pytest.skip("filterPushdown is FerretDB's explain field; mongod plans by its index")
    await apply_indexes(mongo_db, [REMINDER_INDEXES])
    for query, index in (
        (due_now(now()), "status_1_next_at_1"),
        (lease_ran_out(now()), "status_1_lease_until_1"),
    ):
        plan = await mongo_db.command("explain", {"find": REMINDERS, "filter": query})
        steps = " ".join(plan["queryPlanner"]["Plan"])
        assert plan["filterPushdown"] is True, query
        assert "SCAN" not in steps and index in steps, steps
