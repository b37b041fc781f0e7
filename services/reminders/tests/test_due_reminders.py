"""The due slots the worker reads instead of searching the schedule: a reminder is found through
its slot, a settled or cancelled one leaves it, an emptied slot goes, a starting worker catches up
on older slots, and the sweep files what has no slot entry (a reminder planned before slots
existed). Real NATS, FerretDB and SMTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from nats.aio.client import Client as NatsClient
from reminders_world import World, now, reminders_world

from reminders.delivery.worker import DeliveryWorker
from reminders.people.repository import RecipientRepository
from reminders.preferences.repository import PreferencesRepository
from reminders.schedule.domain import Plan
from reminders.schedule.due_slots import DUE_SLOTS, due_slot
from reminders.schedule.repository import ReminderRepository, plan_document
from roundtable_shared.auth.dev_issuer import DevIssuer
from roundtable_shared.events.catalogue.reminders import ReminderKind


def welcome(employee_id: str, due: Any) -> Plan:
    return Plan(
        key=f"slots:{employee_id}",
        kind=ReminderKind.WELCOME,
        recipient_id=employee_id,
        program_id="prg_1",
        due_at=due,
    )


async def slot_entries(w: World, slot: str) -> dict[str, Any] | None:
    doc = await w.db[DUE_SLOTS].find_one({"_id": slot})
    return dict(doc["due"]) if doc else None


async def test_the_worker_finds_reminders_through_due_slots_and_the_sweep_files_the_rest(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, smtp_port=smtp.port, worker_enabled=False
    ) as w:
        for person in ("emp_now", "emp_later", "emp_cancelled", "emp_legacy", "emp_outage"):
            await w.employee(person)
        repo = ReminderRepository(w.db)
        worker = DeliveryWorker(
            w.settings, repo, RecipientRepository(w.db), PreferencesRepository(w.db)
        )
        try:
            at = now()
            later = at + timedelta(days=2)
            due, ahead, cancelled = (
                welcome("emp_now", at),
                welcome("emp_later", later),
                welcome("emp_cancelled", at),
            )
            await repo.add([due, ahead, cancelled], at)
            assert set(await slot_entries(w, due_slot(at)) or {}) == {
                due.reminder_id,
                cancelled.reminder_id,
            }
            assert set(await slot_entries(w, due_slot(later)) or {}) == {ahead.reminder_id}
            await repo.cancel({"recipient_id": "emp_cancelled"}, "test")

            # Found through its slot and sent; the cancelled one's entry is dropped unsent, and
            # the slot, now empty, goes. What is ahead stays in its own slot.
            assert await worker.run_once() == 1
            assert [m["To"] for m in smtp.messages] == ["emp_now@example.com"]
            assert await slot_entries(w, due_slot(at)) is None
            assert set(await slot_entries(w, due_slot(later)) or {}) == {ahead.reminder_id}
            assert await worker.run_once() == 0

            # Planned without a slot entry (as before slots existed): the passes cannot see it,
            # the sweep files it in the current slot, and the next pass sends it.
            legacy = welcome("emp_legacy", at - timedelta(minutes=1))
            await w.db["reminders"].insert_one(plan_document(legacy, at))
            assert await worker.run_once() == 0
            assert await worker.claims.sweep(now(), overdue_by=timedelta(0)) == 1
            assert await worker.run_once() == 1
            assert [m["To"] for m in smtp.messages][-1] == "emp_legacy@example.com"
            assert await worker.claims.sweep(now(), overdue_by=timedelta(0)) == 0

            # Noted in a slot older than the minutes a running worker reads (every worker was
            # down meanwhile): a worker that starts catches up on it, a running one does not.
            missed_at = at - timedelta(minutes=30)
            missed = welcome("emp_outage", missed_at)
            await repo.add([missed], missed_at)
            assert await worker.run_once() == 0
            restarted = DeliveryWorker(
                w.settings, repo, RecipientRepository(w.db), PreferencesRepository(w.db)
            )
            try:
                assert await restarted.run_once() == 1
            finally:
                await restarted.close()
            assert [m["To"] for m in smtp.messages][-1] == "emp_outage@example.com"

            statuses = {d["recipient_id"]: d["status"] for d in await w.reminders()}
            assert statuses == {
                "emp_now": "sent",
                "emp_later": "pending",
                "emp_cancelled": "cancelled",
                "emp_legacy": "sent",
                "emp_outage": "sent",
            }
        finally:
            await worker.close()


async def test_an_entry_noted_before_its_reminder_is_written_is_kept_until_it_is(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    """``add`` notes the slot entry first, then writes the reminder: a pass in between finds an
    entry without a reminder, and must not drop it as settled (the reminder would never go)."""
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, smtp_port=smtp.port, worker_enabled=False
    ) as w:
        await w.employee("emp_racing")
        repo = ReminderRepository(w.db)
        worker = DeliveryWorker(
            w.settings, repo, RecipientRepository(w.db), PreferencesRepository(w.db)
        )
        try:
            at = now()
            plan = welcome("emp_racing", at)
            await repo.due.note_due([(plan.reminder_id, plan.due_at)], at)  # add's first write
            assert await worker.run_once() == 0
            assert set(await slot_entries(w, due_slot(at)) or {}) == {plan.reminder_id}
            await w.db["reminders"].insert_one(plan_document(plan, at))  # add's second write
            assert await worker.run_once() == 1
            assert [m["To"] for m in smtp.messages] == ["emp_racing@example.com"]
        finally:
            await worker.close()
