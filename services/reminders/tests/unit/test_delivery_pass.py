"""A delivery pass without servers: claimed reminders in, what the pass writes and sends out.
Claims and channels are fakes here; their behaviour against the real servers is tested in
test_due_reminders.py, test_worker_crash.py and test_delivery_email.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from reminders.delivery.messages import Message
from reminders.delivery.pass_runner import DeliveryPass, WorkerStats
from reminders.people.repository import Recipient, names_of
from reminders.preferences.domain import ChannelName, DailyDigest, Preferences, QuietHours
from reminders.schedule.claims import ClaimOutcome, Finished
from reminders.schedule.domain import Plan
from reminders.schedule.reminder import Outcome
from reminders.schedule.repository import plan_document
from reminders.settings import RemindersSettings
from roundtable_dev.testing.reminders_fakes import FakeReminderRepository
from roundtable_shared.events.catalogue.reminders import FailureReason, ReminderKind

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


class FakeClaims:
    """Hands out the documents it is given as this pass's claims; records what is finished."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs
        self.finished: dict[str, ClaimOutcome] = {}

    async def claim(self, now: datetime, worker: str, *_: Any) -> list[dict[str, Any]]:
        claimed = [doc | {"status": "claimed", "claim": 1, "worker": worker} for doc in self.docs]
        self.docs = []
        return claimed

    async def finish(self, outcomes: list[ClaimOutcome]) -> Finished:
        self.finished |= {outcome.doc["_id"]: outcome for outcome in outcomes}
        return Finished({outcome.doc["_id"] for outcome in outcomes}, "batch")


@dataclass
class FakePeople:
    people: dict[str, Recipient]

    async def get_many(self, ids: Any) -> dict[str, Recipient]:
        return {i: self.people[i] for i in ids if i in self.people}

    async def names(self, ids: list[str]) -> dict[str, str]:
        return names_of(await self.get_many(ids))


@dataclass
class FakePreferences:
    preferences: dict[str, Preferences]

    async def get_many(self, ids: Any) -> dict[str, Preferences]:
        return {i: self.preferences[i] for i in ids if i in self.preferences}


@dataclass
class FakeDispatcher:
    answer: Outcome = field(default_factory=Outcome.ok)
    sent: list[tuple[str, ChannelName, Message]] = field(default_factory=list)

    async def send_all(
        self,
        doc: dict[str, Any],
        channels: list[ChannelName],
        email: str | None,
        preferences: Preferences,
        message: Message,
    ) -> dict[ChannelName, Outcome]:
        self.sent += [(doc["_id"], channel, message) for channel in channels]
        return {channel: self.answer for channel in channels}


def person(employee_id: str, **fields: Any) -> Recipient:
    base = {
        "employee_id": employee_id,
        "display_name": f"Name {employee_id}",
        "email": f"{employee_id}@example.com",
        "time_zone": "UTC",
        "active": True,
        "erased": False,
    }
    return Recipient(**(base | fields))


def welcome(employee_id: str) -> dict[str, Any]:
    plan = Plan(
        key=f"welcome:{employee_id}",
        kind=ReminderKind.WELCOME,
        recipient_id=employee_id,
        program_id="prg_1",
        due_at=NOW - timedelta(seconds=5),
    )
    return plan_document(plan, NOW - timedelta(days=1))


def delivery_pass(
    docs: list[dict[str, Any]],
    people: dict[str, Recipient],
    preferences: dict[str, Preferences] | None = None,
    dispatcher: FakeDispatcher | None = None,
) -> tuple[DeliveryPass, FakeClaims, FakeDispatcher, FakeReminderRepository]:
    claims, reminders = FakeClaims(docs), FakeReminderRepository()
    dispatcher = dispatcher or FakeDispatcher()
    runner = DeliveryPass(
        RemindersSettings(),
        reminders,  # type: ignore[arg-type]
        claims,  # type: ignore[arg-type]
        FakePeople(people),  # type: ignore[arg-type]
        FakePreferences(preferences or {}),  # type: ignore[arg-type]
        dispatcher,  # type: ignore[arg-type]
        name="worker-1",
        events_written=lambda collection, document_id: None,
        clock=lambda: NOW,
        stats=WorkerStats(),
    )
    return runner, claims, dispatcher, reminders


async def test_a_pass_sends_each_claimed_reminder_and_records_its_outcome_and_event() -> None:
    runner, claims, dispatcher, _ = delivery_pass(
        [welcome("emp_a"), welcome("emp_b")], {"emp_a": person("emp_a"), "emp_b": person("emp_b")}
    )
    assert await runner.run() == 2
    assert sorted((rid, channel) for rid, channel, _ in dispatcher.sent) == sorted(
        (doc_id, ChannelName.EMAIL) for doc_id in claims.finished
    )
    assert {m.greeting for _, _, m in dispatcher.sent} == {"Hello Name emp_a,", "Hello Name emp_b,"}
    for outcome in claims.finished.values():
        assert outcome.changes["status"] == "sent"
        assert [e.type for e in outcome.events] == ["roundtable.reminders.reminder.sent"]
        assert outcome.events[0].aggregateversion == 1
    assert runner.stats.sent == 2


async def test_an_erased_recipient_is_not_sent_to_and_quiet_hours_defer() -> None:
    quiet = Preferences(quiet_hours=QuietHours(start=time(11, 0), end=time(13, 0)))
    erased, asleep = welcome("emp_erased"), welcome("emp_quiet")
    runner, claims, dispatcher, _ = delivery_pass(
        [erased, asleep],
        {"emp_erased": person("emp_erased", erased=True), "emp_quiet": person("emp_quiet")},
        {"emp_quiet": quiet},
    )
    await runner.run()
    assert dispatcher.sent == []
    assert claims.finished[erased["_id"]].changes["cancel_reason"] == "recipient_erased"
    deferred = claims.finished[asleep["_id"]].changes
    assert deferred["status"] == "pending" and deferred["next_at"] == NOW.replace(hour=13)
    assert claims.finished[asleep["_id"]].events == []


async def test_a_failure_worth_retrying_sets_the_reminder_pending_with_a_failed_event() -> None:
    timeout = FakeDispatcher(Outcome.failed(FailureReason.TIMEOUT, None, retry=True))
    doc = welcome("emp_a")
    runner, claims, _, _ = delivery_pass([doc], {"emp_a": person("emp_a")}, dispatcher=timeout)
    await runner.run()
    outcome = claims.finished[doc["_id"]]
    assert outcome.changes["status"] == "pending" and outcome.changes["next_at"] > NOW
    assert [e.type for e in outcome.events] == ["roundtable.reminders.reminder.failed"]


async def test_a_person_taking_a_digest_has_the_reminder_bundled_and_the_digest_planned() -> None:
    digest = Preferences(daily_digest=DailyDigest(at=time(17, 0)))
    doc = welcome("emp_a")
    runner, claims, dispatcher, reminders = delivery_pass(
        [doc], {"emp_a": person("emp_a")}, {"emp_a": digest}
    )
    await runner.run()
    assert dispatcher.sent == []
    bundled = claims.finished[doc["_id"]].changes
    assert bundled["status"] == "bundled"
    planned = reminders.docs[bundled["digest_id"]]
    assert planned["kind"] == "digest" and planned["due_at"] == NOW.replace(hour=17)
