"""The delivery worker: runs delivery passes (see ``reminders.delivery.pass_runner``) as reminders
fall due.

Several workers may run at once (in the service process and in ``python -m reminders.worker``
replicas). Each due reminder is claimed by exactly one (see ``ClaimRepository.claim``); a crashed
worker's claims are taken over when their lease expires. Delivery is at least once, with the
reminder id (and channel) as idempotency key.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Callable

import structlog

from reminders.delivery.channels import EmailChannel
from reminders.delivery.chat_webhook import (
    Resolver,
    WebhookChannel,
    chat_client,
    system_resolver,
)
from reminders.delivery.pass_runner import DeliveryPass, Dispatcher, WorkerStats
from reminders.people.repository import RecipientRepository
from reminders.preferences.domain import ChannelName
from reminders.preferences.repository import PreferencesRepository
from reminders.program_messages.delivery import ProgramWording
from reminders.schedule.claims import ClaimRepository
from reminders.schedule.repository import ReminderRepository
from reminders.settings import RemindersSettings
from roundtable_shared.clock import Clock, utc_now

log = structlog.get_logger(__name__)


class DeliveryWorker:
    def __init__(
        self,
        settings: RemindersSettings,
        reminders: ReminderRepository,
        recipients: RecipientRepository,
        preferences: PreferencesRepository,
        *,
        events_written: Callable[[str, str], None] = lambda collection, document_id: None,
        clock: Clock = utc_now,
        name: str | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.settings = settings
        self.reminders = reminders
        self.claims = ClaimRepository(reminders.collection.database)
        self.recipients = recipients
        self.preferences = preferences
        self.clock = clock
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        rules = settings.webhook_rules
        # What a webhook host resolves to is checked at each connection: tests inject a resolver.
        self.http = chat_client(settings.webhook_timeout_seconds, rules, resolver)
        self.email = EmailChannel(
            settings.smtp_host,
            settings.smtp_port,
            settings.mail_from,
            settings.smtp_timeout_seconds,
            connections=min(settings.worker_concurrency, 8),
        )
        webhooks = {
            ChannelName.SLACK: WebhookChannel("slack", self.http, rules),
            ChannelName.TEAMS: WebhookChannel("teams", self.http, rules),
        }
        self.stats = WorkerStats()
        self.passes = DeliveryPass(
            settings,
            reminders,
            self.claims,
            recipients,
            preferences,
            Dispatcher(self.email, webhooks),
            name=self.name,
            events_written=events_written,
            clock=clock,
            stats=self.stats,
            wording=ProgramWording(reminders.collection.database),
        )
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something became due now: look at once rather than at the next poll."""
        self._wake.set()

    async def close(self) -> None:
        await self.http.aclose()
        await self.email.close()

    async def run_once(self) -> int:
        """One pass: claim a batch and deliver it. Returns how many were claimed."""
        return await self.passes.run()

    async def run(self) -> None:
        await self.deliver_forever()

    async def run_until_stopped(self) -> None:
        """``run``, then the channels' connections closed (a background loop of the runtime)."""
        try:
            await self.run()
        finally:
            await self.close()

    async def deliver_forever(self) -> None:
        while True:
            try:
                done = await self.run_once()
            except Exception:
                log.exception("delivery pass failed")
                done = 0
            if done:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.worker_poll_seconds)
            self._wake.clear()
