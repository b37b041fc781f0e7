"""The no-session nudge end to end: a group formed under a weekly program that schedules nothing
within cadence plus grace is nudged by email; a group that schedules in time is not.

The service's clock is the real one; the groups are formed "in the past" (10 days ago, less a few
seconds) so that cadence (7 days) plus grace (3 days) comes due while the test runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.client import Client as NatsClient

from reminders.schedule.domain import ProgramRules
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.reminders import World, now, reminders_world
from roundtable_shared.events.catalogue import enrollment as en
from roundtable_shared.events.catalogue.sessions import SessionScheduled

WEEKLY_PLUS_GRACE = timedelta(days=7 + ProgramRules.grace_days)


async def program(w: World, program_id: str, cadence: en.Cadence) -> None:
    await w.publish(
        en.ProgramCreated(
            program_id=program_id,
            name=f"Program {program_id}",
            status=en.ProgramStatus.RUNNING,
            format=en.ProgramFormat.PAIRS,
            group_size_min=2,
            group_size_max=2,
            cadence=cadence,
            session_duration_minutes=60,
            time_zone="Europe/Berlin",
            sponsor_ids=["emp_sponsor"],
            reminders=en.ReminderSettings(
                before_session_minutes=[60], before_action_due_hours=[24]
            ),
            created_at=now() - timedelta(days=30),
        ),
        subject=program_id,
    )
    # Group events must find the program's cadence, not the defaults.
    await w.until(lambda: w.db["source_copies"].find_one({"_id": f"program:{program_id}"}))


async def group(
    w: World, program_id: str, group_id: str, members: list[str], formed_at: datetime
) -> None:
    await w.publish(
        en.GroupFormed(
            group_id=group_id,
            program_id=program_id,
            name=f"Pair {group_id}",
            members=[
                en.GroupMember(employee_id=m, participant_id=f"par_{m}", display_name=m)
                for m in members
            ],
            formed_at=formed_at,
        ),
        subject=group_id,
    )


async def test_a_group_idle_past_cadence_and_grace_is_nudged_one_that_scheduled_is_not(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, smtp_port=smtp.port
    ) as w:
        for person in ("emp_idle_1", "emp_idle_2", "emp_busy_1", "emp_busy_2"):
            await w.employee(person)
        await program(w, "prg_weekly", en.Cadence.WEEKLY)
        formed_at = now() - WEEKLY_PLUS_GRACE + timedelta(seconds=3)
        nudge_due = formed_at + WEEKLY_PLUS_GRACE

        # The busy pair schedules its first session before the nudge comes due.
        await group(w, "prg_weekly", "grp_busy", ["emp_busy_1", "emp_busy_2"], formed_at)
        await w.until(lambda: w.reminders(group_id="grp_busy", kind="schedule_next_session"))
        await w.publish(
            SessionScheduled(
                session_id="ses_busy",
                group_id="grp_busy",
                program_id="prg_weekly",
                title="Pair grp_busy: session 1",
                starts_at=now() + timedelta(days=2),
                ends_at=now() + timedelta(days=2, hours=1),
                time_zone="Europe/Berlin",
                attendee_ids=["emp_busy_1", "emp_busy_2"],
            ),
            subject="ses_busy",
        )
        await w.until(lambda: _nudges(w, "grp_busy", "cancelled", 2))
        await group(w, "prg_weekly", "grp_idle", ["emp_idle_1", "emp_idle_2"], formed_at)

        # The idle pair: planned at formed + 7 days (weekly) + 3 days grace, per member.
        planned = await w.until(lambda: _nudges(w, "grp_idle", None, 2))
        assert {d["recipient_id"] for d in planned} == {"emp_idle_1", "emp_idle_2"}
        assert all(abs(_utc(d["due_at"]) - nudge_due) < timedelta(seconds=1) for d in planned)
        assert all(d["context"]["cadence_days"] == 7 for d in planned)
        # The introductions are from 10 days ago: too stale to send now.
        assert await w.reminders(group_id="grp_idle", kind="group_introduction") == []

        await w.until(lambda: _nudges(w, "grp_idle", "sent", 2), timeout=20)
        for person in ("emp_idle_1", "emp_idle_2"):
            [message] = smtp.to(f"{person}@example.com")
            assert message["Subject"] == "Time to schedule your next session"
            text = message.get_payload()[0].get_payload(decode=True).decode()
            assert "7-day rhythm" in text and "/groups/grp_idle" in text
        sent = await w.until(
            lambda: _events(w, "roundtable.reminders.reminder.sent", "grp_idle", 2)
        )
        assert {e.data["kind"] for e in sent} == {"schedule_next_session"}

        # Well past the busy pair's nudge time: nothing reached them.
        assert now() > nudge_due
        await asyncio.sleep(1.0)
        assert smtp.to("emp_busy_1@example.com") == []
        assert smtp.to("emp_busy_2@example.com") == []
        assert len(smtp.messages) == 2


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _nudges(w: World, group_id: str, status: str | None, n: int) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"group_id": group_id, "kind": "schedule_next_session"}
    if status:
        query["status"] = status
    docs = await w.reminders(**query)
    return docs if len(docs) == n else []


async def _events(w: World, event_type: str, group_id: str, n: int) -> list[Any]:
    found = [e for e in await w.events(event_type) if e.data.get("group_id") == group_id]
    return found if len(found) >= n else []
