"""Survey nudges against real NATS, FerretDB and SMTP, on a test clock: the people a survey asked
who have not answered are nudged by email through the normal delivery (and counted as a
reminder.sent of kind survey_nudge); nobody who answered, was not asked (a pulse: only its
group), is paused, withdrew, or whose survey closed; every event delivered twice changes nothing
the second time."""

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
from roundtable_dev.testing.reminders import World, program, reminders_world, text_of
from roundtable_shared.events.catalogue import enrollment as en
from roundtable_shared.events.envelope import EventData

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
QUESTION = en.SurveyQuestionOutline(
    question_id="nps",
    kind=en.SurveyQuestionKind.NPS,
    label="Would you recommend it?",
    built_in=True,
)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def twice(w: World, data: EventData, subject: str, version: int = 1) -> None:
    """Published, then delivered again under another event id (the consumer must drop it)."""
    first = await w.publish(data, subject=subject, version=version)
    await w.publish(data, subject=subject, version=version, event_id=f"{first.id}-again")


async def participant(w: World, employee_id: str, then: type[Any] | None = None) -> None:
    ids = {
        "participant_id": f"par_{employee_id}",
        "program_id": "prg_1",
        "employee_id": employee_id,
    }
    enrolled = en.ParticipantEnrolled(**ids, consent_to_reporting=False, enrolled_at=T0 - 7 * DAY)
    await w.publish(enrolled, subject=ids["participant_id"])
    if then is en.ParticipantPaused:
        data: Any = en.ParticipantPaused(**ids, reason=en.PauseReason.ON_LEAVE, paused_at=T0 - DAY)
        await w.publish(data, subject=ids["participant_id"], version=2)
    elif then is en.ParticipantWithdrawn:
        data = en.ParticipantWithdrawn(**ids, reason=en.WithdrawReason.SELF, withdrawn_at=T0 - DAY)
        await w.publish(data, subject=ids["participant_id"], version=2)


def opened(survey_id: str, kind: en.SurveyKind, days: int, group: str | None = None) -> Any:
    return en.SurveyOpened(
        survey_id=survey_id,
        program_id="prg_1",
        kind=kind,
        group_id=group,
        questions=[QUESTION],
        asked=3,
        opened_at=T0,
        closes_at=T0 + days * DAY,
    )


def answered(
    survey_id: str, kind: en.SurveyKind, employee_id: str, group: str | None = None
) -> Any:
    return en.SurveyAnswered(
        survey_id=survey_id,
        response_id=f"rsp_{survey_id}_{employee_id}",
        program_id="prg_1",
        kind=kind,
        group_id=group,
        employee_id=employee_id,
        scores={"nps": 9},
        answered_at=T0 + DAY,
    )


async def nudges(w: World, **query: Any) -> Counter[tuple[str, str, datetime]]:
    docs = await w.reminders(kind="survey_nudge", **query)
    return Counter((d["context"]["survey_id"], d["recipient_id"], d["due_at"]) for d in docs)


async def roster_ready(w: World) -> bool:
    paused = await w.db["roster_participants"].find_one({"_id": "par_emp_p", "version": 2})
    withdrawn = await w.db["roster_participants"].find_one({"_id": "par_emp_w", "version": 2})
    count = await w.db["roster_participants"].count_documents({"program_id": "prg_1"})
    group = await w.db["roster_groups"].find_one({"_id": "grp_1"})
    return bool(paused and withdrawn and count == 5 and group)


async def test_the_people_owing_an_answer_are_nudged_once_each_time_and_no_one_else(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    clock = Clock(T0)
    async with reminders_world(
        make_settings,
        nats_client,
        namespace,
        dev_issuer,
        clock=clock,
        smtp_port=smtp.port,
        worker_enabled=False,
    ) as w:
        await program(w, "prg_1")
        for employee_id in ("emp_a", "emp_b", "emp_c", "emp_p", "emp_w", "emp_x"):
            await w.employee(employee_id)
        for employee_id in ("emp_a", "emp_b", "emp_c"):
            await participant(w, employee_id)
        await participant(w, "emp_p", en.ParticipantPaused)
        await participant(w, "emp_w", en.ParticipantWithdrawn)
        members = [
            en.GroupMember(employee_id=e, participant_id=f"par_{e}", display_name=e)
            for e in ("emp_a", "emp_b")
        ]
        group = en.GroupFormed(
            group_id="grp_1",
            program_id="prg_1",
            name="Pair 1",
            members=members,
            formed_at=T0 - 5 * DAY,
        )
        await w.publish(group, subject="grp_1")
        await w.until(lambda: roster_ready(w))

        # emp_b answers the pre-program survey before reminders learns it opened
        pre, pulse, post = (
            en.SurveyKind.PRE_PROGRAM,
            en.SurveyKind.PULSE,
            en.SurveyKind.POST_PROGRAM,
        )
        await twice(w, answered("srv_pre", pre, "emp_b"), "rsp_srv_pre_emp_b")
        await w.until(lambda: w.db["survey_answers"].find_one({"_id": "rsp_srv_pre_emp_b"}))
        await twice(w, opened("srv_pre", pre, 14), "srv_pre")
        # a pulse asks its group only: emp_a and emp_b (four days: one nudge, two days before)
        await twice(w, opened("srv_pulse", pulse, 4, "grp_1"), "srv_pulse")
        # a survey closed before reminders learns it opened nudges nobody
        closed = en.SurveyClosed(survey_id="srv_post", program_id="prg_1", closed_at=T0 + DAY)
        await twice(w, closed, "srv_post", version=2)
        await w.until(lambda: w.db["survey_nudges"].find_one({"_id": "srv_post"}))
        await twice(w, opened("srv_post", post, 14), "srv_post")

        expected = Counter(
            {
                ("srv_pre", "emp_a", T0 + 3 * DAY): 1,
                ("srv_pre", "emp_a", T0 + 12 * DAY): 1,
                ("srv_pre", "emp_c", T0 + 3 * DAY): 1,
                ("srv_pre", "emp_c", T0 + 12 * DAY): 1,
                ("srv_pulse", "emp_a", T0 + 2 * DAY): 1,
                ("srv_pulse", "emp_b", T0 + 2 * DAY): 1,
            }
        )

        async def planned() -> bool:
            done = await w.db["survey_nudges"].count_documents({"planned": True})
            return done == 2 and await nudges(w) == expected

        await w.until(planned)
        # Not asked, so never nudged: emp_p (paused), emp_w (withdrawn), emp_x (not enrolled).
        post_doc = await w.db["survey_nudges"].find_one({"_id": "srv_post"})
        assert post_doc is not None and post_doc["closed"] and not post_doc.get("planned")

        # emp_a answers the pre-program survey (delivered twice); the pulse closes
        await twice(w, answered("srv_pre", pre, "emp_a"), "rsp_srv_pre_emp_a")
        closed_pulse = en.SurveyClosed(
            survey_id="srv_pulse", program_id="prg_1", closed_at=T0 + DAY
        )
        await twice(w, closed_pulse, "srv_pulse", version=2)

        async def settled() -> bool:
            return await nudges(w, status="pending") == Counter(
                {("srv_pre", "emp_c", T0 + 3 * DAY): 1, ("srv_pre", "emp_c", T0 + 12 * DAY): 1}
            )

        await w.until(settled)
        assert await nudges(w) == expected  # cancelled, not deleted: nothing planned again

        worker = DeliveryWorker(
            w.settings,
            ReminderRepository(w.db),
            RecipientRepository(w.db),
            PreferencesRepository(w.db),
            clock=clock,
        )
        try:
            clock.at = T0 + 3 * DAY + timedelta(seconds=1)
            while await worker.run_once():
                pass
        finally:
            await worker.close()
        assert [m["To"] for m in smtp.messages] == ["emp_c@example.com"]
        email = smtp.messages[0]
        assert email["Subject"] == "A few minutes for the pre-program survey?"
        assert "You have not answered the pre-program survey yet." in text_of(email)
        assert "/surveys/srv_pre" in text_of(email)

        # counted as a reminder like any other: reminder.sent of kind survey_nudge
        sent = await w.until(lambda: w.events("roundtable.reminders.reminder.sent"))
        assert [(e.data["kind"], e.data["recipient_id"]) for e in sent] == [
            ("survey_nudge", "emp_c")
        ]

        # Erasure: reminders forgets which surveys asked emp_a and which she answered
        erased = en.EmployeeErased(employee_id="emp_a", erased_at=clock.at)
        await twice(w, erased, "emp_a", version=2)

        async def forgotten() -> bool:
            answer = await w.db["survey_answers"].find_one({"employee_id": "emp_a"})
            asked = await w.db["survey_nudges"].find_one({"asked_ids": "emp_a"})
            return answer is None and asked is None

        await w.until(forgotten)
        pre_doc = await w.db["survey_nudges"].find_one({"_id": "srv_pre"})
        assert pre_doc is not None and pre_doc["asked_ids"] == ["emp_b", "emp_c"]
