"""A program admin's broadcast, against real NATS, FerretDB and SMTP, on a test clock: it reaches
each active participant of the chosen status once, in a real email with their name, after their
quiet hours; a retried request sends nothing again; paused, withdrawn and unenrolled people get
nothing; a participant who takes a daily digest gets it in her digest."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.client import Client as NatsClient

from reminders.delivery.worker import DeliveryWorker
from reminders.people.repository import RecipientRepository
from reminders.preferences.repository import PreferencesRepository
from reminders.schedule.repository import ReminderRepository
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.reminders import PROBLEM_JSON, World, program, reminders_world, text_of
from roundtable_shared.events.catalogue import enrollment as en
from roundtable_shared.events.catalogue.sessions import (
    SessionCancelled,
    SessionCancelReason,
    SessionScheduled,
)

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
"""The test's "now": 21:00 in Tokyo, inside emp_q's quiet hours (20:00 to 07:00 there)."""
QUIET_END = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)
"""07:00 in Tokyo."""
BROADCASTS = "/v1/programs/prg_1/broadcasts"


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def participant(w: World, employee_id: str, *events: type[Any]) -> None:
    """Enrolled at T0 less a week (its welcome is long past, so not sent), then ``events``."""
    ids = {
        "participant_id": f"par_{employee_id}",
        "program_id": "prg_1",
        "employee_id": employee_id,
    }
    await w.publish(
        en.ParticipantEnrolled(
            **ids, consent_to_reporting=False, enrolled_at=T0 - timedelta(days=7)
        ),
        subject=ids["participant_id"],
    )
    for version, event in enumerate(events, start=2):
        if event is en.ParticipantPaused:
            data: Any = en.ParticipantPaused(
                **ids, reason=en.PauseReason.ON_LEAVE, paused_at=T0 - timedelta(days=1)
            )
        else:
            data = en.ParticipantWithdrawn(
                **ids, reason=en.WithdrawReason.SELF, withdrawn_at=T0 - timedelta(days=1)
            )
        await w.publish(data, subject=ids["participant_id"], version=version)


async def session(w: World, session_id: str, attendees: list[str], starts_at: datetime) -> None:
    await w.publish(
        SessionScheduled(
            session_id=session_id,
            group_id="grp_1",
            program_id="prg_1",
            title="Pair 1: session",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=1),
            time_zone="Europe/Berlin",
            attendee_ids=attendees,
        ),
        subject=session_id,
    )


async def test_a_broadcast_reaches_each_active_participant_once_after_their_quiet_hours(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    clock = Clock(T0)  # the request's "now" (and "this month")
    async with reminders_world(
        make_settings,
        nats_client,
        namespace,
        dev_issuer,
        clock=clock,
        smtp_port=smtp.port,
        worker_enabled=False,
    ) as w:
        admin = w.token("emp_admin", "program_admin")
        await program(w, "prg_1")
        for employee_id in ("emp_a", "emp_d", "emp_g", "emp_p", "emp_w", "emp_outsider"):
            await w.employee(employee_id)
        await w.employee("emp_q", time_zone="Asia/Tokyo")
        r = await w.client.put(
            "/v1/me/preferences",
            json={"quiet_hours": {"start": "20:00", "end": "07:00"}},
            headers={**w.token("emp_q"), "If-Match": '"0"'},
        )
        assert r.status_code == 200, r.text
        r = await w.client.put(
            "/v1/me/preferences",
            json={"daily_digest": {"at": "08:00"}},  # in Berlin
            headers={**w.token("emp_d"), "If-Match": '"0"'},
        )
        assert r.status_code == 200, r.text
        await participant(w, "emp_a")
        await participant(w, "emp_d")
        await participant(w, "emp_q")
        await participant(w, "emp_g")
        await participant(w, "emp_p", en.ParticipantPaused)
        await participant(w, "emp_w", en.ParticipantWithdrawn)
        # emp_g and emp_a are a pair; emp_g and emp_d meet in March, emp_a only in April, and
        # emp_q's March session was cancelled.
        await w.publish(
            en.GroupFormed(
                group_id="grp_1",
                program_id="prg_1",
                name="Pair 1",
                members=[
                    en.GroupMember(employee_id=e, participant_id=f"par_{e}", display_name=e)
                    for e in ("emp_a", "emp_g")
                ],
                formed_at=T0 - timedelta(days=5),
            ),
            subject="grp_1",
        )
        await session(w, "ses_march", ["emp_g", "emp_d"], datetime(2026, 3, 20, 9, tzinfo=UTC))
        await session(w, "ses_april", ["emp_a"], datetime(2026, 4, 2, 9, tzinfo=UTC))
        await session(w, "ses_cancelled", ["emp_q"], datetime(2026, 3, 12, 9, tzinfo=UTC))
        await w.publish(
            SessionCancelled(
                session_id="ses_cancelled",
                group_id="grp_1",
                program_id="prg_1",
                starts_at=datetime(2026, 3, 12, 9, tzinfo=UTC),
                reason=SessionCancelReason.MEMBER,
                cancelled_at=T0 - timedelta(days=1),
            ),
            subject="ses_cancelled",
            version=2,
        )
        await w.until(lambda: _roster_complete(w))

        message = {
            "subject": "{{ program_name }}: mid-program check-in",
            "body": "Hello {{ participant_name }},\n\nTell us how your peer group is doing.",
        }
        key = {**admin, "Idempotency-Key": "check-in-1"}
        r = await w.client.post(BROADCASTS, json=message, headers=key)
        assert r.status_code == 201, r.text
        sent = r.json()
        assert sent["audience"] == "everyone" and sent["recipients"] == 4
        # Only those in none of the program's groups.
        unmatched = {**message, "audience": "unmatched"}
        r = await w.client.post(
            BROADCASTS, json=unmatched, headers={**admin, "Idempotency-Key": "unmatched-1"}
        )
        assert r.status_code == 201 and r.json()["recipients"] == 2
        # Nobody with a session this month: emp_a (April), emp_q (cancelled); not emp_g, emp_d.
        no_session = {**message, "audience": "no_session_this_month"}
        r = await w.client.post(
            BROADCASTS, json=no_session, headers={**admin, "Idempotency-Key": "no-session-1"}
        )
        assert r.status_code == 201 and r.json()["recipients"] == 2
        planned = Counter(
            (d["context"]["broadcast_id"], d["recipient_id"])
            for d in await w.reminders(kind="broadcast")
        )
        assert set(planned.values()) == {1}
        by_broadcast: dict[str, set[str]] = {}
        for broadcast_id, employee_id in planned:
            by_broadcast.setdefault(broadcast_id, set()).add(employee_id)
        assert sorted(map(sorted, by_broadcast.values())) == [
            ["emp_a", "emp_d", "emp_g", "emp_q"],
            ["emp_a", "emp_q"],
            ["emp_d", "emp_q"],
        ]

        # The retry of the first: the same broadcast, 200, nothing planned again.
        r = await w.client.post(BROADCASTS, json=message, headers=key)
        assert r.status_code == 200 and r.json()["broadcast_id"] == sent["broadcast_id"]
        r = await w.client.post(BROADCASTS, json={**message, "body": "Other"}, headers=key)
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM_JSON
        assert len(await w.reminders(kind="broadcast")) == 8
        r = await w.client.get(f"{BROADCASTS}/{sent['broadcast_id']}", headers=admin)
        assert r.status_code == 200 and r.json() == sent

        worker = DeliveryWorker(
            w.settings,
            ReminderRepository(w.db),
            RecipientRepository(w.db),
            PreferencesRepository(w.db),
            clock=clock,
        )
        try:
            clock.at = T0 + timedelta(seconds=1)
            await _drain(worker)
            # emp_a: the first and the third; emp_g: the first; emp_q: nothing yet (quiet hours);
            # emp_d: nothing yet (her digest).
            assert Counter(m["To"] for m in smtp.messages) == {
                "emp_a@example.com": 2,
                "emp_g@example.com": 1,
            }
            email = smtp.to("emp_g@example.com")[0]
            assert email["Subject"] == "Program prg_1: mid-program check-in"
            assert "Hello Person emp_g," in text_of(email)
            assert "Tell us how your peer group is doing." in text_of(email)
            held = await w.reminders(kind="broadcast", recipient_id="emp_q")
            assert {d["status"] for d in held} == {"pending"}
            assert {d["next_at"] for d in held} == {QUIET_END}

            clock.at = QUIET_END - timedelta(seconds=1)
            await _drain(worker)
            assert not smtp.to("emp_q@example.com")
            clock.at = QUIET_END + timedelta(seconds=1)
            await _drain(worker)
            # Her three broadcasts, and the cancellation of her session (still ahead on the
            # service's clock), all held until her quiet hours ended.
            subjects = sorted(m["Subject"] for m in smtp.to("emp_q@example.com"))
            assert subjects == [
                "Cancelled: Pair 1: session",
                *["Program prg_1: mid-program check-in"] * 3,
            ]
            # Later passes, and another retry of the request, send nothing more.
            r = await w.client.post(BROADCASTS, json=message, headers=key)
            assert r.status_code == 200
            clock.at = QUIET_END + timedelta(minutes=5)
            await _drain(worker)
            # emp_d takes a daily digest: both of hers arrive in it, at 08:00 in Berlin.
            assert not smtp.to("emp_d@example.com")
            clock.at = datetime(2026, 3, 11, 7, 0, 1, tzinfo=UTC)
            await _drain(worker)
            digest = smtp.to("emp_d@example.com")
            assert [m["Subject"] for m in digest] == ["Your Roundtable digest: 2 reminders"]
            lines = text_of(digest[0])
            assert lines.count("Program prg_1: mid-program check-in: Hello Person emp_d,") == 2
        finally:
            await worker.close()
        assert Counter(m["To"] for m in smtp.messages) == {
            "emp_a@example.com": 2,
            "emp_d@example.com": 1,
            "emp_g@example.com": 1,
            "emp_q@example.com": 4,  # three broadcasts and her session's cancellation
        }
        statuses = Counter(d["status"] for d in await w.reminders(kind="broadcast"))
        assert statuses == {"sent": 8}
        # A broadcast is no reminder: no reminder.sent for it (sponsors count reminders).
        assert await w.events("roundtable.reminders.reminder.sent") == []

        # Once the program closed, nobody in it is messaged: a 409, nothing planned.
        await w.publish(
            en.ProgramClosed(program_id="prg_1", closed_at=T0 + timedelta(days=1)),
            subject="prg_1",
            version=2,
        )
        await w.until(lambda: w.db["roster_programs"].find_one({"_id": "prg_1", "closed": True}))
        r = await w.client.post(
            BROADCASTS, json=message, headers={**admin, "Idempotency-Key": "after-close"}
        )
        assert r.status_code == 409 and r.headers["content-type"] == PROBLEM_JSON
        assert len(await w.reminders(kind="broadcast")) == 8


async def _drain(worker: DeliveryWorker) -> None:
    while await worker.run_once():
        pass


async def _roster_complete(w: World) -> bool:
    participants = await w.db["roster_participants"].count_documents({"program_id": "prg_1"})
    withdrawn = await w.db["roster_participants"].find_one({"_id": "par_emp_w", "version": 2})
    paused = await w.db["roster_participants"].find_one({"_id": "par_emp_p", "version": 2})
    sessions = await w.db["roster_sessions"].count_documents({"program_id": "prg_1"})
    cancelled = await w.db["roster_sessions"].find_one({"_id": "ses_cancelled", "version": 2})
    group = await w.db["roster_groups"].find_one({"_id": "grp_1"})
    return bool(
        participants == 6 and withdrawn and paused and sessions == 3 and cancelled and group
    )
