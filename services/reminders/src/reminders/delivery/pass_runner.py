"""A delivery pass: claim a batch of due reminders, read who they go to, let each reminder's
state machine decide (see ``reminders.schedule.reminder``), dispatch through the channels and
write the outcomes. The loops that run passes are in ``reminders.delivery.worker``.

A pass works on its batch as a whole, as the server charges per operation more than per
document: the claims go in bulk writes, the people the batch goes to and names and their
preferences are read in one go, and the outcomes are written in bulk writes at the end. The
outcomes of a pass are written after their ``reminder.sent``/``reminder.failed`` events, which go
to the relay in one document per pass (see ``ClaimRepository.finish``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from reminders.delivery.channels import EmailChannel, Outcome
from reminders.delivery.chat_webhook import (
    WebhookChannel,
)
from reminders.delivery.messages import Message, compose, compose_digest
from reminders.people.repository import Recipient, RecipientRepository, names_of
from reminders.preferences.domain import (
    ChannelName,
    DailyDigest,
    Preferences,
    next_digest_at,
    release_time,
    zone,
)
from reminders.preferences.repository import PreferencesRepository
from reminders.program_messages.delivery import (
    NO_WORDING,
    BatchWording,
    DefaultWording,
    WordingSource,
)
from reminders.schedule.claims import OUTCOME_EVENTS, ClaimOutcome, ClaimRepository
from reminders.schedule.domain import NoticeKind, Status, daily_digest, kind_of
from reminders.schedule.reminder import Raised, Reminder, RetryPolicy, Transition
from reminders.schedule.repository import REMINDERS, ReminderRepository
from reminders.settings import RemindersSettings
from roundtable_shared.clock import Clock
from roundtable_shared.events.catalogue.reminders import FailureReason
from roundtable_shared.events.envelope import Envelope, new_envelope
from roundtable_shared.faults import crash_point
from roundtable_shared.storage.mongo import Document

log = structlog.get_logger(__name__)


@dataclass
class WorkerStats:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    deferred: int = 0


@dataclass(frozen=True)
class Audience:
    """Who a pass's reminders go to and name, read once for the whole pass."""

    recipients: dict[str, Recipient]
    names: dict[str, str]
    preferences: dict[str, Preferences]
    wording: BatchWording = NO_WORDING
    """The programs' own wording of the batch's messages (``reminders.program_messages``)."""


class Dispatcher:
    """The channels a reminder goes out on: email, and the chat webhooks a person set."""

    def __init__(self, email: EmailChannel, webhooks: dict[ChannelName, WebhookChannel]) -> None:
        self.email = email
        self.webhooks = webhooks

    async def send_all(
        self,
        doc: Document,
        channels: list[ChannelName],
        email: str | None,
        preferences: Preferences,
        message: Message,
    ) -> dict[ChannelName, Outcome]:
        outcomes: dict[ChannelName, Outcome] = {}
        for channel in channels:
            key = f"{doc['_id']}.{channel}"
            if channel is ChannelName.EMAIL:
                outcomes[channel] = await self.email.send(email, message, key)
            else:
                url = (
                    preferences.slack_webhook_url
                    if channel is ChannelName.SLACK
                    else preferences.teams_webhook_url
                )
                outcomes[channel] = await self.webhooks[channel].send(url, message, key)
        return outcomes


class DeliveryPass:
    """Runs passes for one worker; keeps what one pass tells the next (claims seen held by other
    workers, whether a backlog is still being caught up)."""

    def __init__(
        self,
        settings: RemindersSettings,
        reminders: ReminderRepository,
        claims: ClaimRepository,
        recipients: RecipientRepository,
        preferences: PreferencesRepository,
        dispatcher: Dispatcher,
        *,
        name: str,
        events_written: Callable[[str, str], None],
        clock: Clock,
        stats: WorkerStats,
        wording: WordingSource | None = None,
    ) -> None:
        self.settings = settings
        self.reminders = reminders
        self.claims = claims
        self.recipients = recipients
        self.preferences = preferences
        self.dispatcher = dispatcher
        self.name = name
        # Tells the outbox relay which document (of which collection) holds new events, so it
        # reads that one by _id instead of searching.
        self.events_written = events_written
        self.clock = clock
        self.stats = stats
        self.wording = wording or DefaultWording()
        self._retry_policy = RetryPolicy(
            settings.max_attempts, settings.retry_base_seconds, settings.retry_max_seconds
        )
        self._limit = asyncio.Semaphore(settings.worker_concurrency)

    async def run(self) -> int:
        """One pass: claim a batch and deliver it. Returns how many were claimed."""
        now = self.clock()
        lease = timedelta(seconds=self.settings.lease_seconds)
        batch = await self.claims.claim(now, self.name, lease, self.settings.worker_batch_size)
        if not batch:
            return 0
        self.stats.claimed += len(batch)
        crash_point("reminders.after_claim")
        audience = await self._audience(batch)
        outcomes = await asyncio.gather(*(self._deliver_limited(doc, audience) for doc in batch))
        await self._finish([outcome for outcome in outcomes if outcome is not None])
        return len(batch)

    async def _audience(self, docs: list[Document]) -> Audience:
        """Everyone a batch of reminders goes to or names, and their preferences: two reads
        (for up to 1,000 people), whatever the batch's size, rather than three per reminder."""
        recipient_ids = {doc["recipient_id"] for doc in docs}
        named: set[str] = set()
        for doc in docs:
            context = doc.get("context") or {}
            named |= {*context.get("peer_ids", []), context.get("owner_id")} - {None}
        people = await self.recipients.get_many(recipient_ids | named)
        return Audience(
            people,
            names_of(people),
            await self.preferences.get_many(recipient_ids),
            await self.wording.for_batch(docs),
        )

    async def _finish(self, outcomes: list[ClaimOutcome]) -> None:
        """Record the outcomes of a pass (in bulk writes), and tell the relay where their
        events wait."""
        finished = await self.claims.finish(outcomes)
        if finished.events_batch:
            self.events_written(OUTCOME_EVENTS, finished.events_batch)
        for outcome in outcomes:
            if outcome.doc["_id"] not in finished.written:
                continue  # the claim was taken from us: the new holder records it
            self.stats.sent += outcome.sent
            self.stats.failed += outcome.failed

    async def _deliver_limited(self, doc: Document, audience: Audience) -> ClaimOutcome | None:
        async with self._limit:
            try:
                return await self.deliver(doc, audience)
            except Exception:
                # The claim lapses and another pass retries it; nothing is lost.
                log.exception("delivering a reminder failed", reminder_id=doc["_id"])
                return None

    async def deliver(self, doc: Document, audience: Audience) -> ClaimOutcome | None:
        """Deliver one claimed reminder; its outcome, for the pass to record (None when there is
        nothing to record, or a digest recorded its own)."""
        now = self.clock()
        reminder = Reminder.from_document(doc)
        if reminder.status is not Status.CLAIMED:
            # Held or cancelled between our claim and our read: not ours to send any more.
            return None
        kind = reminder.kind
        recipient = audience.recipients.get(reminder.recipient_id)
        if recipient is not None and recipient.erased:
            return self._outcome(doc, reminder.cancel("recipient_erased"))
        preferences = audience.preferences.get(reminder.recipient_id) or Preferences()
        directory_zone = recipient.time_zone if recipient else None
        if preferences.daily_digest and kind is not NoticeKind.DIGEST:
            return await self._bundle(
                doc, reminder, preferences.daily_digest, preferences, directory_zone, now
            )
        release = release_time(now, preferences, directory_zone)
        if release > now:
            self.stats.deferred += 1
            return self._outcome(doc, reminder.defer(release, now))
        todo = reminder.still_to_send(preferences.channels_for(kind))
        bundle: list[Document] = []
        if kind is NoticeKind.DIGEST:
            bundle = await self._bundle_of(doc)
            if not bundle:
                return self._outcome(doc, reminder.cancel("nothing_due"))
        if recipient is None:
            outcomes = {
                c: Outcome.failed(FailureReason.RECIPIENT_UNKNOWN, None, retry=True) for c in todo
            }
        else:
            if kind is NoticeKind.DIGEST:
                message = compose_digest(
                    [await self._message(item, preferences, recipient) for item in bundle],
                    recipient_name=recipient.display_name,
                    frontend_url=self.settings.frontend_url,
                )
            else:
                message = self._compose(
                    doc, preferences, recipient, audience.names, audience.wording
                )
            outcomes = await self.dispatcher.send_all(
                doc, todo, recipient.email, preferences, message
            )
        crash_point("reminders.after_deliver")
        if bundle:
            await self._settle_bundle(doc, reminder, bundle, outcomes, now)
        transition = reminder.attempted(outcomes, now, self._retry_policy)
        outcome = self._outcome(doc, transition)
        if not bundle:
            return outcome
        # A digest's leftovers are released only once its own outcome is written.
        await self._finish([outcome])
        if transition.status is not Status.PENDING:
            await self.reminders.unbundle_leftovers(doc["_id"], now)
        return None

    def _outcome(self, doc: Document, transition: Transition) -> ClaimOutcome:
        """A transition as the pass writes it: its changes, and its events in envelopes."""
        return ClaimOutcome(
            doc,
            transition.changes,
            [self._envelope(raised, doc["_id"]) for raised in transition.events],
            sent=transition.sent,
            failed=transition.failed,
        )

    def _envelope(self, raised: Raised, reminder_id: str) -> Envelope:
        return new_envelope(
            raised.data,
            subject=reminder_id,
            aggregate_version=raised.version,
            source=self.settings.event_source,
            event_id=raised.event_id,
        )

    async def _bundle(
        self,
        doc: Document,
        reminder: Reminder,
        digest: DailyDigest,
        preferences: Preferences,
        directory_zone: str | None,
        now: datetime,
    ) -> ClaimOutcome:
        """Hold a reminder for the person's next digest, planning that digest if need be."""
        tz = zone(preferences.time_zone or directory_zone)
        plan = daily_digest(
            reminder.recipient_id, reminder.program_id, next_digest_at(now, digest.at, tz)
        )
        await self.reminders.add([plan], now)  # already planned by an earlier reminder: no-op
        return self._outcome(doc, reminder.bundle(plan.reminder_id, now))

    async def _bundle_of(self, digest: Document) -> list[Document]:
        if "bundle" in digest:
            found = [await self.reminders.get(rid) for rid in digest["bundle"]]
            return [d for d in found if d and d["status"] != str(Status.CANCELLED)]
        waiting = await self.reminders.waiting_for_digest(digest["recipient_id"])
        await self.reminders.fix_bundle(digest["_id"], [d["_id"] for d in waiting])
        return waiting

    async def _settle_bundle(
        self,
        digest: Document,
        reminder: Reminder,
        bundle: list[Document],
        outcomes: dict[ChannelName, Outcome],
        now: datetime,
    ) -> None:
        """Each reminder of a digest that reached a channel is sent, once, with its own events."""
        sent = [c for c, o in outcomes.items() if o.sent]
        sent += [c for c in reminder.sent_on() if c not in sent]
        if not sent:
            return
        for doc in bundle:
            if doc["status"] != str(Status.BUNDLED):
                continue  # settled on an earlier attempt of this digest
            transition = Reminder.from_document(doc).sent_in_digest(digest["_id"], sent, now)
            events = [self._envelope(raised, doc["_id"]) for raised in transition.events]
            await self.reminders.sent_in_digest(doc, transition, events)
            self.stats.sent += 1
            if events:
                self.events_written(REMINDERS, doc["_id"])

    async def _message(
        self, doc: Document, preferences: Preferences, recipient: Recipient
    ) -> Message:
        context = doc.get("context") or {}
        ids = [*context.get("peer_ids", []), context.get("owner_id")]
        names = await self.recipients.names([i for i in ids if i])
        return self._compose(
            doc, preferences, recipient, names, await self.wording.for_batch([doc])
        )

    def _compose(
        self,
        doc: Document,
        preferences: Preferences,
        recipient: Recipient,
        names: dict[str, str],
        wording: BatchWording,
    ) -> Message:
        message = compose(
            kind_of(doc["kind"]),
            doc.get("context") or {},
            recipient_name=recipient.display_name,
            recipient_zone=preferences.time_zone or recipient.time_zone,
            names=names,
            frontend_url=self.settings.frontend_url,
            reminder_id=doc["_id"],
            session_id=doc.get("session_id"),
            action_id=doc.get("action_id"),
            group_id=doc.get("group_id"),
        )
        # The one hook of the program's own messages: its wording, where it set one.
        return wording.apply(
            message,
            doc,
            recipient_name=recipient.display_name,
            recipient_zone=preferences.time_zone or recipient.time_zone,
            names=names,
        )
