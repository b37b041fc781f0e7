"""A paused participant's reminders are held and released with a welcome back when they resume;
a completed action step thanks its accountability partner. Real NATS, FerretDB and SMTP."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from nats.aio.client import Client as NatsClient

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.reminders import World, now, reminders_world
from roundtable_shared.events.catalogue.enrollment import (
    ParticipantPaused,
    ParticipantResumed,
    PauseReason,
)
from roundtable_shared.events.catalogue.sessions import (
    ActionCommitted,
    ActionCompleted,
    ActionDropped,
    ActionDropReason,
)

PAR = "par_p"


async def pause(w: World, version: int) -> None:
    await w.publish(
        ParticipantPaused(
            participant_id=PAR,
            program_id="prg_1",
            employee_id="emp_p",
            reason=PauseReason.ON_LEAVE,
            paused_at=now(),
        ),
        subject=PAR,
        version=version,
    )


async def resume(w: World, version: int) -> None:
    await w.publish(
        ParticipantResumed(
            participant_id=PAR, program_id="prg_1", employee_id="emp_p", resumed_at=now()
        ),
        subject=PAR,
        version=version,
    )


async def test_a_paused_persons_reminders_are_held_then_released_with_a_welcome_back(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, smtp_port=smtp.port
    ) as w:
        await w.employee("emp_p")
        await w.employee("emp_q")
        # The 1-hour reminder of ses_1 comes due in 3 seconds.
        await w.session("ses_1", ["emp_p", "emp_q"], now() + timedelta(minutes=60, seconds=3))
        await w.until(lambda: _n(w.reminders(session_id="ses_1"), 2))
        await pause(w, version=2)
        await w.until(lambda: _n(w.reminders(recipient_id="emp_p", status="held"), 1))

        # Planned while paused: held from the start (ses_2's reminders, due in a day or two).
        await w.session("ses_2", ["emp_p"], now() + timedelta(days=2))
        later = await w.until(lambda: _n(w.reminders(session_id="ses_2"), 2))
        assert {d["status"] for d in later} == {"held"}

        # ses_1's time passes: the peer is reminded, the paused person is not.
        await w.until(lambda: _n(_async(smtp.to("emp_q@example.com")), 1), timeout=20)
        await asyncio.sleep(1.0)
        assert smtp.to("emp_p@example.com") == []

        await resume(w, version=3)
        # What fell due while paused and is still worth saying goes out now, with a welcome back.
        await w.until(lambda: _n(_async(smtp.to("emp_p@example.com")), 2), timeout=20)
        subjects = sorted(m["Subject"] for m in smtp.to("emp_p@example.com"))
        assert subjects == [
            "Coming up: Roundtable 1: session 1",
            "Welcome back to your peer program",
        ]
        # What is still ahead waits for its own time.
        later = await w.reminders(session_id="ses_2")
        assert {d["status"] for d in later} == {"pending"}
        assert all(d["next_at"] == d["due_at"] > now() + timedelta(hours=20) for d in later)

        # A replayed resumption (a redelivery under a new event id) and a stale pause that
        # arrives late change nothing: no second welcome back, nothing held.
        await resume(w, version=3)
        await pause(w, version=2)
        await w.employee("emp_z")  # a later event on the same stream: the two above are handled
        await asyncio.sleep(0.5)
        assert len(smtp.to("emp_p@example.com")) == 2
        assert await w.reminders(recipient_id="emp_p", status="held") == []
        # The welcome back is a reminder the sponsor counts like any other: one reminder.sent.
        sent = await w.until(lambda: _n(w.events("roundtable.reminders.reminder.sent"), 3))
        assert sorted(e.data["kind"] for e in sent) == ["session_upcoming"] * 2 + ["welcome_back"]
        [back] = [e.data for e in sent if e.data["kind"] == "welcome_back"]
        assert (back["recipient_id"], back["program_id"]) == ("emp_p", "prg_1")


async def test_completing_an_action_step_thanks_the_partner_with_owner_and_title_only(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, smtp_port=smtp.port
    ) as w:
        await w.employee("emp_owner")
        await w.employee("emp_partner")
        for action_id in ("act_done", "act_dropped"):
            await w.publish(
                ActionCommitted(
                    action_id=action_id,
                    session_id="ses_1",
                    group_id="grp_1",
                    program_id="prg_1",
                    owner_id="emp_owner",
                    accountability_partner_id="emp_partner",
                    title=f"Book a skip-level 1:1 ({action_id})",
                    due_at=now() + timedelta(days=7),
                    committed_at=now(),
                ),
                subject=action_id,
            )
        await w.until(lambda: _n(w.reminders(action_id="act_dropped"), 4))
        common = {
            "session_id": "ses_1",
            "group_id": "grp_1",
            "program_id": "prg_1",
            "owner_id": "emp_owner",
        }
        await w.publish(
            ActionDropped(
                action_id="act_dropped", reason=ActionDropReason.OWNER, dropped_at=now(), **common
            ),
            subject="act_dropped",
            version=2,
        )
        completed = ActionCompleted(
            action_id="act_done",
            accountability_partner_id="emp_partner",
            completed_at=now(),
            **common,
        )
        await w.publish(completed, subject="act_done", version=2)
        await w.publish(completed, subject="act_done", version=2)  # redelivered

        [thanks] = await w.until(lambda: _n(_async(smtp.to("emp_partner@example.com")), 1))
        assert thanks["Subject"] == "Person emp_owner completed an action step"
        text = thanks.get_payload()[0].get_payload(decode=True).decode()
        assert "\u201cBook a skip-level 1:1 (act_done)\u201d" in text
        assert "act_dropped" not in text
        await asyncio.sleep(1.0)
        # One thanks, only for the completed step; the owner hears nothing; pending reminders of
        # both steps are cancelled.
        assert len(smtp.messages) == 1
        for action_id in ("act_done", "act_dropped"):
            docs = await w.reminders(action_id=action_id, kind={"$ne": "partner_thanks"})
            assert {d["status"] for d in docs} == {"cancelled"}
        [doc] = await w.reminders(kind="partner_thanks")
        assert doc["status"] == "sent" and doc["recipient_id"] == "emp_partner"
        assert set(doc["context"]) == {"owner_id", "title"}
        # Counted by reporting like every reminder: one reminder.sent, about the step.
        sent = await w.until(lambda: w.events("roundtable.reminders.reminder.sent"))
        assert [(e.data["kind"], e.data["action_id"], e.subject) for e in sent] == [
            ("partner_thanks", "act_done", doc["_id"])
        ]


async def _async(value: Any) -> Any:
    return value


async def _n(found: Any, n: int) -> list[Any]:
    items = list(await found)
    assert len(items) <= n, f"more than {n}: {items}"
    return items if len(items) == n else []
