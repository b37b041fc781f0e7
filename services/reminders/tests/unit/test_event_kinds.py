"""Every message this service plans, but the digest envelope and a program admin's broadcast, is a
catalogue ReminderKind, so reporting counts the reminders people receive; each names the thing it
is about."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from reminders.schedule.domain import NoticeKind, kind_of
from roundtable_shared.events.catalogue.reminders import Channel, ReminderKind, ReminderSent

AT = datetime(2026, 11, 28, 11, 50, tzinfo=UTC)


def sent(kind: ReminderKind, **ids: str) -> ReminderSent:
    return ReminderSent(
        reminder_id="rem_1",
        program_id="prg_1",
        recipient_id="emp_1",
        kind=kind,
        channel=Channel.EMAIL,
        due_at=AT,
        sent_at=AT,
        **ids,
    )


def test_welcome_back_and_partner_thanks_are_reminder_kinds_the_digest_is_not() -> None:
    assert kind_of("welcome_back") is ReminderKind.WELCOME_BACK
    assert kind_of("partner_thanks") is ReminderKind.PARTNER_THANKS
    assert kind_of("digest") is NoticeKind.DIGEST
    assert kind_of("broadcast") is NoticeKind.BROADCAST
    assert {str(k) for k in NoticeKind} == {"digest", "broadcast"}


def test_a_partner_thanks_event_names_its_action_step() -> None:
    assert sent(ReminderKind.PARTNER_THANKS, action_id="act_1").action_id == "act_1"
    with pytest.raises(ValidationError):
        sent(ReminderKind.PARTNER_THANKS)
    assert sent(ReminderKind.WELCOME_BACK).kind is ReminderKind.WELCOME_BACK
