"""How the program's own messages and broadcasts join the reminders service: their indexes,
the roster kept from the service's consumers, and their handlers built by their constructors."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reminders.broadcasts.consumers import with_roster
from reminders.broadcasts.repository import BROADCAST_INDEXES, BroadcastRepository
from reminders.broadcasts.roster import ROSTER_INDEXES, Roster
from reminders.broadcasts.service import BroadcastService
from reminders.program_messages.cloning import MessageCloning
from reminders.program_messages.consumers import with_cloning
from reminders.program_messages.repository import (
    ProgramMessageRepository,
    TemplateMessageRepository,
)
from reminders.program_messages.service import ProgramMessagesService
from reminders.schedule.copies import SourceCopies
from reminders.schedule.repository import ReminderRepository
from reminders.settings import RemindersSettings
from roundtable_shared.clock import Clock
from roundtable_shared.messaging.consumer import EventConsumer
from roundtable_shared.storage.mongo import Database, Indexes

OWNER_INDEXES: list[Indexes] = [*ROSTER_INDEXES, BROADCAST_INDEXES]


@dataclass(frozen=True)
class OwnerKit:
    """The program owner's tools in reminders: a program's wording, and broadcasts."""

    program_messages: ProgramMessagesService
    broadcasts: BroadcastService
    roster: Roster
    cloning: MessageCloning

    def consumers(self, consumers: Iterable[EventConsumer]) -> list[EventConsumer]:
        """The service's consumers, also keeping the broadcast roster and carrying a program's
        wordings into the programs made from it."""
        return with_cloning(with_roster(consumers, self.roster), self.cloning)


def owner_kit(
    db: Database,
    settings: RemindersSettings,
    reminders: ReminderRepository,
    copies: SourceCopies,
    *,
    clock: Clock,
    wake: Callable[[], None],
) -> OwnerKit:
    roster = Roster(db)
    messages = ProgramMessageRepository(db)
    return OwnerKit(
        program_messages=ProgramMessagesService(
            messages, copies, frontend_url=settings.frontend_url, clock=clock
        ),
        broadcasts=BroadcastService(
            BroadcastRepository(db), roster, reminders, copies, clock=clock, nudge=wake
        ),
        roster=roster,
        cloning=MessageCloning(messages, TemplateMessageRepository(db), clock),
    )
