"""The email a reminder becomes, read back as a mail client reads it: names and subjects that are
not ASCII arrive intact, both alternatives carry the rendered text, and the idempotency key is the
Message-ID."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from reminders.delivery.channels import EmailChannel, Outcome, message_id
from reminders.delivery.messages import Message, compose, email_html, email_text
from roundtable_shared.events.catalogue.reminders import FailureReason, ReminderKind


def introduction() -> Message:
    return compose(
        ReminderKind.GROUP_INTRODUCTION,
        {
            "group_name": "Zoë\u2019s Grüppe \u2013 a long name, folded over more than one header line",
            "peer_ids": ["emp_2"],
        },
        recipient_name="Ngā Tāne",
        recipient_zone="Pacific/Auckland",
        names={"emp_2": "Łukasz Żółć"},
        frontend_url="http://127.0.0.1:8080",
        reminder_id="rem_1",
        group_id="grp_1",
    )


def session_upcoming(title: str) -> Message:
    return compose(
        ReminderKind.SESSION_UPCOMING,
        {"title": title, "starts_at": None},
        recipient_name="Ana",
        recipient_zone="UTC",
        names={},
        frontend_url="http://127.0.0.1:8080",
        reminder_id="rem_1",
        session_id="ses_1",
    )


def read_back(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_a_message_that_is_not_ascii_reads_back_as_written() -> None:
    message = introduction()
    channel = EmailChannel("127.0.0.1", 25, "Roundtable Café <reminders@example.com>", 5.0)

    raw = channel.build("ngā@example.com".replace("ā", "a"), message, "rem_1.email")

    assert raw.isascii()  # 7-bit clean: any relay takes it
    assert max(len(line) for line in raw.splitlines()) <= 78
    parsed = read_back(raw)
    assert parsed["Subject"] == message.subject
    assert "Grüppe" in message.subject
    assert parsed["From"].addresses[0].display_name == "Roundtable Café"
    assert parsed["From"].addresses[0].addr_spec == "reminders@example.com"
    assert parsed["To"] == "nga@example.com"
    assert parsed["Message-ID"] == message_id("rem_1.email")
    assert parsed["X-Roundtable-Reminder"] == "rem_1.email"
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content() == email_text(message)
    assert html.get_content() == email_html(message)
    assert "Łukasz Żółć" in text.get_content()
    assert "Ngā Tāne" in text.get_content()


def test_each_message_has_its_own_boundary_and_date() -> None:
    channel = EmailChannel("127.0.0.1", 25, "reminders@example.com", 5.0)
    first, second = (
        read_back(channel.build("a@example.com", introduction(), f"rem_{n}.email")) for n in (1, 2)
    )
    assert first.get_boundary() != second.get_boundary()
    assert first["Date"] is not None and first["From"] == "reminders@example.com"


def test_a_title_typed_with_a_line_break_cannot_add_a_header() -> None:
    message = session_upcoming("Quarterly review\r\nBcc: everyone@example.com")
    channel = EmailChannel("127.0.0.1", 25, "reminders@example.com", 5.0)

    parsed = read_back(channel.build("ana@example.com", message, "rem_1.email"))

    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Coming up: Quarterly review Bcc: everyone@example.com"


def test_a_long_ascii_subject_is_folded_not_encoded() -> None:
    message = session_upcoming("A session with a title long enough to need folding " * 2)
    raw = EmailChannel("127.0.0.1", 25, "reminders@example.com", 5.0).build(
        "ana@example.com", message, "rem_1.email"
    )

    assert b"=?" not in raw
    assert max(len(line) for line in raw.splitlines()) <= 78
    assert read_back(raw)["Subject"] == " ".join(message.subject.split())


async def test_an_address_that_is_not_ascii_fails_for_good_before_any_connection() -> None:
    # Nothing listens on port 9: the answer comes before any attempt to connect.
    channel = EmailChannel("127.0.0.1", 9, "reminders@example.com", 5.0)

    outcome = await channel.send("zoë@example.com", introduction(), "rem_1.email")

    assert outcome == Outcome.failed(FailureReason.INVALID_ADDRESS, None, retry=False)
