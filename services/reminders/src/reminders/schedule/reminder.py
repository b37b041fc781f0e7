"""A reminder and its state machine (pure: no I/O, the time comes in as an argument).

::

    pending --claim--> claimed --sent on a channel / nothing to send--> sent
       ^                  |----failed for good-----------------------> failed
       |                  |----a retry, quiet hours------------------> pending
       |                  |----the person takes a daily digest-------> bundled --in a digest--> sent
       |                  '----recipient erased, empty digest--------> cancelled
       '--released-- held <--participant paused-- pending, claimed
    any open state (pending, claimed, held, bundled) --cancelled--> cancelled

Each transition returns the reminder's new state as the changes to its stored document and the
events it raises, numbered from the reminder's version (its aggregate version): the delivery pass
writes both, it decides nothing. Claiming and holding happen in bulk in the database (conditional
updates, see ``reminders.schedule.claims``): they are declared here, in ``TRANSITIONS``, for the
rules to check against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reminders.preferences.domain import ChannelName
from reminders.schedule.domain import OPEN_STATUSES, Kind, Status, kind_of, retry_delay
from roundtable_shared.events.catalogue.reminders import (
    FailureReason,
    ReminderFailed,
    ReminderKind,
    ReminderSent,
)
from roundtable_shared.events.envelope import EventData

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.CLAIMED, Status.HELD, Status.CANCELLED}),
    Status.CLAIMED: frozenset(
        {
            Status.SENT,
            Status.FAILED,
            Status.PENDING,
            Status.BUNDLED,
            Status.HELD,
            Status.CANCELLED,
            Status.CLAIMED,  # a lapsed lease taken over by another worker
        }
    ),
    Status.HELD: frozenset({Status.PENDING, Status.CANCELLED}),
    Status.BUNDLED: frozenset({Status.SENT, Status.PENDING, Status.CANCELLED}),
    Status.SENT: frozenset(),
    Status.FAILED: frozenset({Status.PENDING}),  # an administrator's retry
    Status.CANCELLED: frozenset(),
}
"""Which status may follow which: sent and cancelled are final."""


class InvalidTransition(ValueError):
    """A reminder asked to move where its state machine does not go."""


@dataclass(frozen=True)
class Outcome:
    """What one channel made of one attempt: sent, or failed with a reason, the channel's code,
    and whether to try again."""

    sent: bool
    reason: FailureReason | None = None
    code: str | None = None
    retry: bool = False

    @classmethod
    def ok(cls) -> Outcome:
        return cls(sent=True)

    @classmethod
    def failed(cls, reason: FailureReason, code: str | None, *, retry: bool) -> Outcome:
        return cls(sent=False, reason=reason, code=code, retry=retry)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class Raised:
    """An event a transition raises, with its deterministic id and the reminder's version after
    it: a worker that delivered but died before recording, and the one that took over, raise the
    same event, which JetStream and consumers' inboxes drop."""

    data: EventData
    event_id: str
    version: int


@dataclass(frozen=True)
class Transition:
    """A reminder's new state: the changes to its stored document, and the events raised."""

    status: Status
    changes: dict[str, Any]
    events: tuple[Raised, ...] = ()
    sent: int = 0
    """Channels this attempt reached (for the worker's counts)."""
    failed: int = 0


@dataclass(frozen=True)
class Reminder:
    """One reminder (or notice, such as a digest) to one person, as stored."""

    id: str
    kind: Kind
    status: Status
    recipient_id: str
    program_id: str
    due_at: datetime
    session_id: str | None = None
    action_id: str | None = None
    group_id: str | None = None
    attempts: int = 0
    channels: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Each channel's state: ``{"status": "sent" | "retrying" | "failed", ...}``."""
    version: int = 0
    context: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Reminder:
        return cls(
            id=doc["_id"],
            kind=kind_of(doc["kind"]),
            status=Status(doc["status"]),
            recipient_id=doc["recipient_id"],
            program_id=doc["program_id"],
            due_at=doc["due_at"],
            session_id=doc.get("session_id"),
            action_id=doc.get("action_id"),
            group_id=doc.get("group_id"),
            attempts=int(doc.get("attempts", 0)),
            channels=doc.get("channels") or {},
            version=int(doc.get("version", 0)),
            context=doc.get("context") or {},
        )

    @property
    def publishes(self) -> bool:
        """A digest publishes no events of its own (see ``NoticeKind.DIGEST``): its reminders do."""
        return isinstance(self.kind, ReminderKind)

    def sent_on(self) -> list[ChannelName]:
        """Channels an earlier attempt already reached: not sent to again."""
        return [
            ChannelName(name)
            for name, state in self.channels.items()
            if state.get("status") == "sent"
        ]

    def still_to_send(self, wanted: Iterable[ChannelName]) -> list[ChannelName]:
        done = set(self.sent_on())
        return [channel for channel in wanted if channel not in done]

    # --- transitions ------------------------------------------------------------------------

    def _to(self, status: Status) -> None:
        if status not in TRANSITIONS[self.status]:
            raise InvalidTransition(f"{self.status} -> {status}")

    def cancel(self, reason: str) -> Transition:
        """Stopped before it was sent: an erased recipient, a digest with nothing in it, a
        cancelled session..."""
        if self.status not in OPEN_STATUSES:
            raise InvalidTransition(f"{self.status} -> {Status.CANCELLED}")
        return Transition(
            Status.CANCELLED, {"status": str(Status.CANCELLED), "cancel_reason": reason}
        )

    def defer(self, until: datetime, now: datetime) -> Transition:
        """Not now (the person's quiet hours): pending again, due ``until``."""
        self._to(Status.PENDING)
        return Transition(
            Status.PENDING, {"status": str(Status.PENDING), "next_at": until, "held_at": now}
        )

    def bundle(self, digest_id: str, now: datetime) -> Transition:
        """The person takes a daily digest: this waits for ``digest_id``."""
        self._to(Status.BUNDLED)
        return Transition(
            Status.BUNDLED,
            {"status": str(Status.BUNDLED), "digest_id": digest_id, "bundled_at": now},
        )

    def release(self, at: datetime | None) -> Transition:
        """A held reminder after the pause: due ``at``, or dropped when ``at`` is None (see
        ``domain.released_at``)."""
        if at is None:
            return self.cancel("missed_while_paused")
        self._to(Status.PENDING)
        return Transition(Status.PENDING, {"status": str(Status.PENDING), "next_at": at})

    def attempted(
        self, outcomes: Mapping[ChannelName, Outcome], now: datetime, policy: RetryPolicy
    ) -> Transition:
        """The outcome of an attempt on each channel: sent once any channel (of this attempt or
        an earlier one) reached the person, pending again while a channel is worth retrying,
        failed otherwise. Raises ``reminder.sent`` per channel reached and ``reminder.failed``
        per channel that failed (``final`` when it is not retried)."""
        attempt = self.attempts + 1
        last_attempt = attempt >= policy.max_attempts
        channels = {name: dict(state) for name, state in self.channels.items()}
        events: list[tuple[EventData, str]] = []
        retry_needed = False
        for channel, outcome in outcomes.items():
            if outcome.sent:
                channels[str(channel)] = {"status": "sent", "at": now}
                if self.publishes:
                    events.append(
                        (
                            ReminderSent(**self._event_fields(channel), sent_at=now),
                            f"{self.id}.{channel}.sent",
                        )
                    )
                continue
            final = not outcome.retry or last_attempt
            retry_needed = retry_needed or not final
            channels[str(channel)] = {
                "status": "failed" if final else "retrying",
                "reason": str(outcome.reason),
                "code": outcome.code,
                "at": now,
            }
            if outcome.reason is None:
                raise ValueError("a failed outcome names its reason")
            if self.publishes:
                failed = ReminderFailed(
                    **self._event_fields(channel),
                    reason=outcome.reason,
                    error_code=outcome.code,
                    attempts=attempt,
                    final=final,
                    failed_at=now,
                )
                events.append((failed, f"{self.id}.{channel}.failed.{attempt}"))
        states = [state.get("status") for state in channels.values()]
        changes: dict[str, Any] = {"attempts": attempt, "channels": channels}
        if retry_needed:
            status = Status.PENDING
            delay = retry_delay(attempt, policy.base_seconds, policy.max_seconds)
            changes |= {"status": str(status), "next_at": now + delay}
        elif "sent" in states or not states:
            status = Status.SENT
            changes |= {"status": str(status), "sent_at": now}
        else:
            status = Status.FAILED
            changes |= {"status": str(status), "failed_at": now}
        self._to(status)
        sent = sum(1 for outcome in outcomes.values() if outcome.sent)
        return Transition(
            status, changes, self._numbered(events), sent=sent, failed=len(outcomes) - sent
        )

    def sent_in_digest(
        self, digest_id: str, channels: Iterable[ChannelName], now: datetime
    ) -> Transition:
        """A bundled reminder went out in its digest: sent, with a ``reminder.sent`` of its own
        (and its own kind) per channel the digest reached."""
        self._to(Status.SENT)
        events: list[tuple[EventData, str]] = []
        if self.publishes:
            events = [
                (
                    ReminderSent(**self._event_fields(channel), sent_at=now),
                    f"{self.id}.{channel}.sent",
                )
                for channel in channels
            ]
        return Transition(
            Status.SENT,
            {"status": str(Status.SENT), "sent_at": now, "sent_in": digest_id},
            self._numbered(events),
        )

    # --- events -----------------------------------------------------------------------------

    def _numbered(self, events: list[tuple[EventData, str]]) -> tuple[Raised, ...]:
        return tuple(
            Raised(data, event_id, self.version + n + 1)
            for n, (data, event_id) in enumerate(events)
        )

    def _event_fields(self, channel: ChannelName) -> dict[str, Any]:
        return {
            "reminder_id": self.id,
            "program_id": self.program_id,
            "recipient_id": self.recipient_id,
            "kind": self.kind,
            "channel": channel.event_channel,
            "session_id": self.session_id,
            "action_id": self.action_id,
            "group_id": self.group_id,
            "due_at": self.due_at,
        }
