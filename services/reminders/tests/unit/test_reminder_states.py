"""The reminder's state machine: each transition's new state and the events it raises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reminders.preferences.domain import ChannelName
from reminders.schedule.domain import Status
from reminders.schedule.reminder import (
    InvalidTransition,
    Outcome,
    Reminder,
    RetryPolicy,
)
from roundtable_shared.events.catalogue.reminders import (
    FailureReason,
    ReminderFailed,
    ReminderSent,
)

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, base_seconds=30, max_seconds=600)
EMAIL, SLACK = ChannelName.EMAIL, ChannelName.SLACK
BOUNCED = Outcome.failed(FailureReason.REJECTED, "550", retry=False)
TIMED_OUT = Outcome.failed(FailureReason.TIMEOUT, None, retry=True)


def reminder(status: Status = Status.CLAIMED, **fields: Any) -> Reminder:
    doc = {
        "_id": "rem_1",
        "kind": "action_due",
        "status": str(status),
        "recipient_id": "emp_1",
        "program_id": "prg_1",
        "action_id": "act_1",
        "due_at": NOW - timedelta(minutes=1),
        "version": 4,
        **fields,
    }
    return Reminder.from_document(doc)


def test_a_first_attempt_that_reaches_a_channel_is_sent_with_one_event_per_channel() -> None:
    done = reminder().attempted({EMAIL: Outcome.ok(), SLACK: BOUNCED}, NOW, POLICY)
    assert done.status is Status.SENT
    assert done.changes["attempts"] == 1
    assert done.changes["channels"]["email"]["status"] == "sent"
    assert done.changes["channels"]["slack"]["status"] == "failed"
    assert [type(r.data) for r in done.events] == [ReminderSent, ReminderFailed]
    # Numbered from the reminder's version, with deterministic ids.
    assert [r.version for r in done.events] == [5, 6]
    assert [r.event_id for r in done.events] == ["rem_1.email.sent", "rem_1.slack.failed.1"]
    assert (done.sent, done.failed) == (1, 1)


def test_a_channel_worth_retrying_sets_it_pending_with_backoff_until_the_last_attempt() -> None:
    first = reminder().attempted({EMAIL: TIMED_OUT}, NOW, POLICY)
    assert first.status is Status.PENDING
    assert first.changes["next_at"] == NOW + timedelta(seconds=30)
    failed = first.events[0].data
    assert isinstance(failed, ReminderFailed) and not failed.final
    third = reminder(attempts=2).attempted({EMAIL: TIMED_OUT}, NOW, POLICY)
    assert third.status is Status.FAILED
    last = third.events[0].data
    assert isinstance(last, ReminderFailed) and last.final and last.attempts == 3


def test_a_channel_reached_before_stays_sent_while_another_is_retried() -> None:
    earlier = {"email": {"status": "sent"}, "slack": {"status": "retrying"}}
    r = reminder(attempts=1, channels=earlier)
    assert r.still_to_send([EMAIL, SLACK]) == [SLACK]
    done = r.attempted({SLACK: BOUNCED}, NOW, POLICY)
    assert done.status is Status.SENT  # the email reached them


def test_a_digest_raises_no_events_of_its_own() -> None:
    done = reminder(kind="digest").attempted({EMAIL: Outcome.ok()}, NOW, POLICY)
    assert done.status is Status.SENT
    assert done.events == ()


def test_a_bundled_reminder_sent_in_its_digest_raises_its_own_sent_per_channel() -> None:
    done = reminder(Status.BUNDLED).sent_in_digest("rem_digest", [EMAIL, SLACK], NOW)
    assert done.status is Status.SENT
    assert done.changes["sent_in"] == "rem_digest"
    assert [r.version for r in done.events] == [5, 6]
    assert all(isinstance(r.data, ReminderSent) for r in done.events)


def test_quiet_hours_bundling_and_cancelling_from_a_claim() -> None:
    later = NOW + timedelta(hours=8)
    assert reminder().defer(later, NOW).changes == {
        "status": "pending",
        "next_at": later,
        "held_at": NOW,
    }
    bundled = reminder().bundle("rem_digest", NOW)
    assert bundled.status is Status.BUNDLED and bundled.changes["digest_id"] == "rem_digest"
    cancelled = reminder().cancel("recipient_erased")
    assert cancelled.changes == {"status": "cancelled", "cancel_reason": "recipient_erased"}


def test_a_held_reminder_is_released_to_its_time_or_dropped() -> None:
    assert reminder(Status.HELD).release(NOW).changes == {"status": "pending", "next_at": NOW}
    dropped = reminder(Status.HELD).release(None)
    assert dropped.changes["cancel_reason"] == "missed_while_paused"


@pytest.mark.parametrize("final", [Status.SENT, Status.CANCELLED])
def test_sent_and_cancelled_are_final(final: Status) -> None:
    with pytest.raises(InvalidTransition):
        reminder(final).cancel("too late")
    with pytest.raises(InvalidTransition):
        reminder(final).attempted({EMAIL: Outcome.ok()}, NOW, POLICY)


def test_a_held_reminder_is_not_sent_until_released() -> None:
    with pytest.raises(InvalidTransition):
        reminder(Status.HELD).attempted({EMAIL: Outcome.ok()}, NOW, POLICY)
    with pytest.raises(InvalidTransition):
        reminder(Status.PENDING).sent_in_digest("rem_digest", [EMAIL], NOW)
