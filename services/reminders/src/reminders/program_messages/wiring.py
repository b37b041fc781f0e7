"""How the program's own messages and broadcasts join the reminders app: their indexes, routers,
the roster kept from the app's consumers, and their services on ``app.state``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fastapi import APIRouter, FastAPI

from reminders.broadcasts.consumers import with_roster
from reminders.broadcasts.endpoints import router as broadcasts_router
from reminders.broadcasts.repository import BROADCAST_INDEXES, BroadcastRepository
from reminders.broadcasts.roster import ROSTER_INDEXES, Roster
from reminders.broadcasts.service import BroadcastService
from reminders.program_messages.endpoints import router as messages_router
from reminders.program_messages.repository import ProgramMessageRepository
from reminders.program_messages.service import ProgramMessagesService
from reminders.schedule.copies import SourceCopies
from reminders.schedule.repository import ReminderRepository
from reminders.schedule.service import utc_now
from reminders.settings import RemindersSettings
from roundtable_shared.messaging.consumer import EventConsumer
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.storage.mongo import Indexes

OWNER_INDEXES: list[Indexes] = [*ROSTER_INDEXES, BROADCAST_INDEXES]
OWNER_ROUTERS: list[APIRouter] = [messages_router, broadcasts_router]


def owner_consumers(
    runtime: ServiceRuntime, consumers: Iterable[EventConsumer]
) -> list[EventConsumer]:
    """The app's consumers, also keeping the broadcast roster."""
    return with_roster(consumers, Roster(runtime.db))


def install(
    app: FastAPI,
    runtime: ServiceRuntime,
    settings: RemindersSettings,
    reminders: ReminderRepository,
    wake: Callable[[], None],
) -> None:
    copies = SourceCopies(runtime.db)
    app.state.program_messages = ProgramMessagesService(
        ProgramMessageRepository(runtime.db),
        copies,
        frontend_url=settings.frontend_url,
        clock=utc_now,
    )
    app.state.broadcasts = BroadcastService(
        BroadcastRepository(runtime.db),
        Roster(runtime.db),
        reminders,
        copies,
        clock=utc_now,
        nudge=wake,
    )
