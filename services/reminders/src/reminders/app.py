"""The reminders service's process: wiring only (settings -> runtime -> repositories -> handlers
-> routers, consumers and the delivery worker), every part given what it needs by its
constructor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import structlog
from fastapi import FastAPI

from reminders.admin.endpoints import admin_router
from reminders.broadcasts.endpoints import broadcasts_router
from reminders.delivery.worker import DeliveryWorker
from reminders.people.consumers import PeopleHandlers
from reminders.people.repository import RECIPIENT_INDEXES, RecipientRepository
from reminders.people.service import ErasureService
from reminders.preferences.endpoints import preferences_router
from reminders.preferences.repository import PreferencesRepository
from reminders.preferences.service import PreferencesService
from reminders.program_messages.endpoints import messages_router
from reminders.program_messages.wiring import OWNER_INDEXES, OwnerKit, owner_kit
from reminders.schedule.claims import OUTCOME_EVENTS
from reminders.schedule.consumers import consumers
from reminders.schedule.copies import SourceCopies
from reminders.schedule.repository import REMINDER_INDEXES, REMINDERS, ReminderRepository
from reminders.schedule.service import ScheduleService
from reminders.settings import RemindersSettings
from reminders.surveys.consumers import with_survey_nudges
from reminders.surveys.repository import SURVEY_INDEXES, SurveyRepository
from reminders.surveys.service import SurveyNudges
from roundtable_shared.clock import Clock, utc_now
from roundtable_shared.http.app import create_app
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Services:
    """Every handler of the service, built once, each given what it needs by its constructor."""

    reminders: ReminderRepository
    copies: SourceCopies
    schedule: ScheduleService
    people: PeopleHandlers
    preferences: PreferencesService
    worker: DeliveryWorker
    owner: OwnerKit
    surveys: SurveyNudges


def build_runtime(settings: RemindersSettings) -> ServiceRuntime:
    """Database, NATS and the outbox relay of a reminders process (the service or a worker
    replica, which relays the events of what it delivered)."""
    return ServiceRuntime(
        settings,
        indexes=[REMINDER_INDEXES, RECIPIENT_INDEXES, *OWNER_INDEXES, *SURVEY_INDEXES],
        outbox_collections=[REMINDERS],
        event_batch_collections=[OUTCOME_EVENTS],
        retired_collections=["reminder_due_slots"],  # due reminders are found by index now
    )


def bootstrap(
    runtime: ServiceRuntime, settings: RemindersSettings, clock: Clock = utc_now
) -> Services:
    """Repositories on the runtime's database, then the handlers, in the order they depend on
    one another."""
    if settings.webhook_loopback_for_tests:
        # Loud, as it lets chat webhooks reach this machine's own services.
        log.warning("webhook_loopback_for_tests is on: chat webhooks may go to loopback (tests)")
    reminders = ReminderRepository(runtime.db)
    recipients = RecipientRepository(runtime.db)
    preferences = PreferencesRepository(runtime.db)
    copies = SourceCopies(runtime.db)
    worker = DeliveryWorker(
        settings,
        reminders,
        recipients,
        preferences,
        events_written=runtime.relay.pending,
        clock=clock,
    )
    erasure = ErasureService(recipients, reminders, copies, preferences)
    schedule = ScheduleService(
        reminders,
        copies,
        stale_after=timedelta(hours=settings.stale_after_hours),
        clock=clock,
        nudge=worker.wake,
    )
    owner = owner_kit(runtime.db, settings, reminders, copies, clock=clock, wake=worker.wake)
    return Services(
        reminders=reminders,
        copies=copies,
        schedule=schedule,
        people=PeopleHandlers(recipients, reminders, erasure),
        preferences=PreferencesService(
            preferences, recipients, webhook_rules=settings.webhook_rules
        ),
        worker=worker,
        owner=owner,
        surveys=SurveyNudges(
            SurveyRepository(runtime.db), owner.roster, reminders, store=schedule.store, clock=clock
        ),
    )


def build_app(settings: ServiceSettings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    if not isinstance(settings, RemindersSettings):
        settings = RemindersSettings(**(settings.model_dump() if settings else {}))
    runtime = build_runtime(settings)
    services = bootstrap(runtime, settings, clock)
    taken = with_survey_nudges(consumers(services.schedule, services.people), services.surveys)
    for consumer in services.owner.consumers(taken):
        runtime.add_consumer(consumer)
    if settings.worker_enabled:
        runtime.add_background(services.worker.run_until_stopped)
    return create_app(
        runtime,
        title="Roundtable reminders",
        description=(
            "Accountability reminders by email and chat, with preferences, quiet hours and "
            "time zones. Reminders are planned from enrollment and sessions events; each person "
            "chooses channels per kind, quiet hours in their own time zone and a snooze."
        ),
        routers=[
            preferences_router(services.preferences),
            admin_router(services.reminders, services.copies, services.worker.wake, clock),
            messages_router(services.owner.program_messages),
            broadcasts_router(services.owner.broadcasts),
        ],
    )
