"""The reminders service's process: its runtime (database, NATS, outbox, consumers), the delivery
worker and the HTTP API."""

from __future__ import annotations

from datetime import timedelta

import structlog
from fastapi import FastAPI

from reminders.admin.endpoints import router as admin_router
from reminders.delivery.worker import DeliveryWorker
from reminders.people.consumers import PeopleHandlers
from reminders.people.repository import RECIPIENT_INDEXES, RecipientRepository
from reminders.people.service import ErasureService
from reminders.preferences.endpoints import router as preferences_router
from reminders.preferences.repository import PreferencesRepository
from reminders.preferences.service import PreferencesService
from reminders.schedule.claims import OUTCOME_EVENTS
from reminders.schedule.consumers import consumers
from reminders.schedule.copies import SourceCopies
from reminders.schedule.repository import REMINDER_INDEXES, REMINDERS, ReminderRepository
from reminders.schedule.service import ScheduleService
from reminders.settings import RemindersSettings
from roundtable_shared.http.app import create_app
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings

log = structlog.get_logger(__name__)


def build_runtime(settings: RemindersSettings) -> tuple[ServiceRuntime, DeliveryWorker]:
    if settings.webhook_loopback_for_tests:
        # Loud, as it lets chat webhooks reach this machine's own services.
        log.warning("webhook_loopback_for_tests is on: chat webhooks may go to loopback (tests)")
    runtime = ServiceRuntime(
        settings,
        indexes=[REMINDER_INDEXES, RECIPIENT_INDEXES],
        outbox_collections=[REMINDERS],
        event_batch_collections=[OUTCOME_EVENTS],
    )
    reminders = ReminderRepository(runtime.db)
    recipients = RecipientRepository(runtime.db)
    worker = DeliveryWorker(
        settings,
        reminders,
        recipients,
        PreferencesRepository(runtime.db),
        events_written=runtime.relay.pending,
    )
    return runtime, worker


def build_app(settings: ServiceSettings | None = None) -> FastAPI:
    if not isinstance(settings, RemindersSettings):
        settings = RemindersSettings(**(settings.model_dump() if settings else {}))
    runtime, worker = build_runtime(settings)
    reminders = worker.reminders
    copies = SourceCopies(runtime.db)
    schedule = ScheduleService(
        reminders,
        copies,
        stale_after=timedelta(hours=settings.stale_after_hours),
        nudge=worker.wake,
    )
    erasure = ErasureService(worker.recipients, reminders, copies, worker.preferences)
    people = PeopleHandlers(worker.recipients, reminders, erasure)
    for consumer in consumers(schedule, people):
        runtime.add_consumer(consumer)
    app = create_app(
        runtime,
        title="Roundtable reminders",
        description=(
            "Accountability reminders by email and chat, with preferences, quiet hours and "
            "time zones. Reminders are planned from enrollment and sessions events; each person "
            "chooses channels per kind, quiet hours in their own time zone and a snooze."
        ),
        routers=[preferences_router, admin_router],
    )
    app.state.reminders = reminders
    app.state.copies = copies
    app.state.preferences = PreferencesService(
        PreferencesRepository(runtime.db),
        worker.recipients,
        webhook_rules=settings.webhook_rules,
    )
    app.state.wake_worker = worker.wake
    app.state.worker = worker
    if settings.worker_enabled:

        async def deliver() -> None:
            try:
                await worker.run()
            finally:
                await worker.close()

        runtime.add_background(deliver)
    return app
