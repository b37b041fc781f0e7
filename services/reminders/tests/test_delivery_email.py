"""Events -> schedule -> email over real SMTP, with reminder.sent/failed, retries and failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from nats.aio.client import Client as NatsClient

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.reminders import World, now, reminders_world


def world(
    make_settings: Any,
    nats_client: NatsClient,
    namespace: str,
    dev_issuer: DevIssuer,
    smtp: Any,
    **kw: Any,
):  # type: ignore[no-untyped-def]
    return reminders_world(
        make_settings, nats_client, namespace, dev_issuer, smtp_port=smtp.port, **kw
    )


async def test_a_session_reminder_reaches_each_attendee_once_with_sent_events(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    async with world(make_settings, nats_client, namespace, dev_issuer, smtp) as w:
        await w.employee("emp_a")
        await w.employee("emp_b")
        # The 1-hour reminder comes due in one second; the 24-hour one is already past: not sent.
        await w.session("ses_1", ["emp_a", "emp_b"], now() + timedelta(minutes=60, seconds=1))
        await w.until(lambda: _count(smtp.messages, 2), timeout=20)
        message = smtp.to("emp_a@example.com")[0]
        assert message["Subject"] == "Coming up: Roundtable 1: session 1"
        assert message["Message-ID"].startswith("<rem_")
        assert message.is_multipart()
        text = message.get_payload()[0].get_payload(decode=True).decode()
        html = message.get_payload()[1].get_payload(decode=True).decode()
        assert "Hello Person emp_a," in text and "https://meet.example.com/abc" in text
        assert "/sessions/ses_1" in text and "/settings/reminders" in text
        assert "<a href=" in html and "/settings/reminders" in html

        sent = await w.until(lambda: _at_least(w.events("roundtable.reminders.reminder.sent"), 2))
        assert {e.data["recipient_id"] for e in sent} == {"emp_a", "emp_b"}
        assert {e.data["kind"] for e in sent} == {"session_upcoming"}
        assert all(e.data["session_id"] == "ses_1" and e.data["channel"] == "email" for e in sent)
        docs = await w.reminders(session_id="ses_1")
        assert sorted(d["status"] for d in docs) == ["sent", "sent"]
        assert len(smtp.messages) == 2


async def test_a_4xx_answer_is_retried_with_backoff_until_the_server_takes_it(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    smtp.answer = "451 4.3.0 try again later"
    async with world(make_settings, nats_client, namespace, dev_issuer, smtp, max_attempts=5) as w:
        await w.employee("emp_a")
        await w.session("ses_1", ["emp_a"], now() + timedelta(minutes=60))
        failed = await w.until(
            lambda: _at_least(w.events("roundtable.reminders.reminder.failed"), 1)
        )
        assert failed[0].data["reason"] == "rejected"
        assert failed[0].data["error_code"] == "451"
        assert failed[0].data["final"] is False
        doc = (await w.reminders(session_id="ses_1"))[0]
        assert doc["status"] in ("pending", "claimed")
        smtp.answer = "250 OK"
        await w.until(lambda: _count(smtp.messages, 1), timeout=20)
        await w.until(lambda: _status(w, "ses_1", "sent"))
        assert (await w.reminders(session_id="ses_1"))[0]["attempts"] >= 2


async def test_a_5xx_answer_fails_for_good_with_the_reason_and_no_retry(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    smtp.answer = "550 5.1.1 no such mailbox"
    async with world(make_settings, nats_client, namespace, dev_issuer, smtp) as w:
        await w.employee("emp_a")
        await w.session("ses_1", ["emp_a"], now() + timedelta(minutes=60))
        await w.until(lambda: _status(w, "ses_1", "failed"))
        failed = await w.until(
            lambda: _at_least(w.events("roundtable.reminders.reminder.failed"), 1)
        )
        assert [(e.data["reason"], e.data["error_code"], e.data["final"]) for e in failed] == [
            ("invalid_address", "550", True)
        ]
        assert (await w.reminders(session_id="ses_1"))[0]["attempts"] == 1


async def test_an_smtp_server_that_is_down_is_retried_then_failed_never_lost(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    from roundtable_dev.local.servers import free_port

    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, smtp_port=free_port(), max_attempts=2
    ) as w:
        await w.employee("emp_a")
        await w.session("ses_1", ["emp_a"], now() + timedelta(minutes=60))
        await w.until(lambda: _status(w, "ses_1", "failed"))
        failed = await w.until(
            lambda: _at_least(w.events("roundtable.reminders.reminder.failed"), 2)
        )
        assert [(e.data["reason"], e.data["attempts"], e.data["final"]) for e in failed] == [
            ("unreachable", 1, False),
            ("unreachable", 2, True),
        ]


async def test_an_unknown_recipient_is_retried_and_delivered_once_the_directory_knows_them(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    async with world(make_settings, nats_client, namespace, dev_issuer, smtp, max_attempts=10) as w:
        await w.session("ses_1", ["emp_late"], now() + timedelta(minutes=60))
        failed = await w.until(
            lambda: _at_least(w.events("roundtable.reminders.reminder.failed"), 1)
        )
        assert failed[0].data["reason"] == "recipient_unknown"
        await w.employee("emp_late")
        await w.until(lambda: _count(smtp.messages, 1), timeout=20)
        assert smtp.to("emp_late@example.com")


async def _count(items: list[Any], n: int) -> bool:
    assert len(items) <= n, f"more than {n}: {len(items)}"
    return len(items) == n


async def _at_least(events: Any, n: int) -> list[Any] | None:
    found = await events
    return found if len(found) >= n else None


async def _status(w: World, session_id: str, status: str) -> bool:
    docs = await w.reminders(session_id=session_id)
    return bool(docs) and all(d["status"] == status for d in docs)
