"""Forgetting an erased person: everything personal this service keeps about them goes, once or
as many times as the erasure is delivered."""

from __future__ import annotations

from reminders.people.repository import RecipientRepository
from reminders.preferences.repository import PreferencesRepository
from reminders.schedule.copies import SourceCopies
from reminders.schedule.repository import ReminderRepository


class ErasureService:
    def __init__(
        self,
        recipients: RecipientRepository,
        reminders: ReminderRepository,
        copies: SourceCopies,
        preferences: PreferencesRepository,
    ) -> None:
        self.recipients = recipients
        self.reminders = reminders
        self.copies = copies
        self.preferences = preferences

    async def erase(self, employee_id: str, version: int) -> None:
        """Each step is repeatable on its own, so a redelivery after a crash between two of them
        finishes the job. The recipient is marked erased first: from then on no worker sends to
        them, and the preferences API refuses to store anything for them again."""
        await self.recipients.erase(employee_id, version)
        await self.reminders.cancel({"recipient_id": employee_id}, "recipient_erased")
        await self.reminders.scrub_recipient(employee_id)
        await self.copies.scrub_titles(employee_id)
        await self.preferences.erase(employee_id)
