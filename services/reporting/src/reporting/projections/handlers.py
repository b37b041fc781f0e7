"""Event handlers of the projections: what each event changes in the read models.

Every handler is idempotent (effects keyed by business ids through ``ReadModels.add``, copies
guarded by versions, flags that only ever go one way) and order-tolerant (counters commute; an
effect that needs two events, such as days-to-complete, fires on whichever arrives second).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from reporting.projections.domain import (
    Family,
    Stage,
    completed_program,
    completion_days,
    iso_week,
    session_stages,
)
from reporting.projections.readmodel import ReadModels, person_id, set_if_newer
from roundtable_shared.events.catalogue import enrollment as en
from roundtable_shared.events.catalogue import reminders as rm
from roundtable_shared.events.catalogue import sessions as se
from roundtable_shared.events.envelope import Envelope, EventData
from roundtable_shared.messaging.consumer import EventHandler

ModelsProvider = Callable[[], Awaitable[ReadModels]]
E = TypeVar("E", bound=EventData)


def _typed(
    kind: type[E],
    handle: Callable[[ReadModels, Envelope, E], Awaitable[None]],
    models: ModelsProvider,
) -> EventHandler:
    async def handler(envelope: Envelope, data: EventData) -> None:
        if not isinstance(data, kind):  # the registry parsed it from envelope.type
            raise TypeError(f"{envelope.type} carried {type(data).__name__}")
        await handle(await models(), envelope, data)

    return handler


def _as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# --- enrollment ----------------------------------------------------------------------------------


async def program_snapshot(
    m: ReadModels, envelope: Envelope, data: en.ProgramCreated | en.ProgramUpdated
) -> None:
    v = envelope.aggregateversion
    await set_if_newer(
        m,
        "programs",
        data.program_id,
        "snapshot_version",
        v,
        {
            "name": data.name,
            "format": str(data.format),
            "cadence": str(data.cadence),
            "sponsor_ids": list(data.sponsor_ids),
            "capacity": data.capacity,
        },
    )
    await set_if_newer(
        m, "programs", data.program_id, "status_version", v, {"status": str(data.status)}
    )


async def program_created(m: ReadModels, envelope: Envelope, data: en.ProgramCreated) -> None:
    await program_snapshot(m, envelope, data)


async def program_updated(m: ReadModels, envelope: Envelope, data: en.ProgramUpdated) -> None:
    await program_snapshot(m, envelope, data)


async def program_opened(m: ReadModels, envelope: Envelope, data: en.ProgramOpened) -> None:
    await set_if_newer(
        m,
        "programs",
        data.program_id,
        "status_version",
        envelope.aggregateversion,
        {"status": "open"},
    )


async def program_started(m: ReadModels, envelope: Envelope, data: en.ProgramStarted) -> None:
    await set_if_newer(
        m,
        "programs",
        data.program_id,
        "status_version",
        envelope.aggregateversion,
        {"status": "running"},
    )


async def program_closed(m: ReadModels, envelope: Envelope, data: en.ProgramClosed) -> None:
    await set_if_newer(
        m,
        "programs",
        data.program_id,
        "status_version",
        envelope.aggregateversion,
        {"status": "closed"},
    )
    # Closing is final: the flag is set whatever the order of the program's events.
    closed_at = _as_utc(data.closed_at)
    await m.update("programs", data.program_id, {"$set": {"closed_at": closed_at}}, upsert=True)
    cursor = m.persons.find(
        {"program_id": data.program_id, "sessions_n": {"$gte": 3}},
        {"withdrawn": 1, "sessions_n": 1},
    )
    async for person in cursor:
        await _maybe_completed(m, data.program_id, person, closed_at)


async def _maybe_completed(
    m: ReadModels, program_id: str, person: Mapping[str, Any], closed_at: datetime | None
) -> None:
    if closed_at is None or not completed_program(
        program_closed=True,
        withdrawn=bool(person.get("withdrawn")),
        sessions_attended=int(person.get("sessions_n", 0)),
    ):
        return
    await m.add_funnel(program_id, f"completed:{person['_id']}", {Stage.COMPLETED: 1})


async def _participant_status(
    m: ReadModels, envelope: Envelope, data: en._ParticipantEvent, status: str
) -> str:
    pid = person_id(data.program_id, data.employee_id)
    await set_if_newer(
        m,
        "persons",
        pid,
        "status_version",
        envelope.aggregateversion,
        {
            "status": status,
            "participant_id": data.participant_id,
            "program_id": data.program_id,
            "employee_id": data.employee_id,
        },
    )
    return pid


async def _participant_consent(
    m: ReadModels, envelope: Envelope, data: en._ParticipantConsentEvent, pid: str
) -> None:
    if await m.erased.find_one({"_id": data.employee_id}) is not None:
        return  # an erased person's attributes are never stored again
    attributes = (
        data.reporting_attributes.model_dump(mode="json")
        if data.consent_to_reporting and data.reporting_attributes
        else None
    )
    await set_if_newer(
        m,
        "persons",
        pid,
        "consent_version",
        envelope.aggregateversion,
        {"consent": data.consent_to_reporting, "attributes": attributes},
    )


async def participant_enrolled(
    m: ReadModels, envelope: Envelope, data: en.ParticipantEnrolled
) -> None:
    pid = await _participant_status(m, envelope, data, "enrolled")
    await _participant_consent(m, envelope, data, pid)
    await m.update("persons", pid, {"$set": {"enrolled": 1}})
    week = iso_week(data.enrolled_at)
    counts = {"enrolled": 1, "enrolled_from_waitlist": int(data.from_waitlist)}
    await m.add(
        data.program_id, week, Family.PARTICIPANTS, f"enrolled:{data.participant_id}", counts
    )
    await m.add_funnel(data.program_id, f"enrolled:{pid}", {Stage.ENROLLED: 1})


async def participant_updated(
    m: ReadModels, envelope: Envelope, data: en.ParticipantUpdated
) -> None:
    pid = person_id(data.program_id, data.employee_id)
    await _participant_consent(m, envelope, data, pid)


async def participant_withdrawn(
    m: ReadModels, envelope: Envelope, data: en.ParticipantWithdrawn
) -> None:
    pid = await _participant_status(m, envelope, data, "withdrawn")
    await m.update("persons", pid, {"$set": {"withdrawn": 1}})
    await m.add(
        data.program_id,
        iso_week(data.withdrawn_at),
        Family.PARTICIPANTS,
        f"withdrawn:{data.participant_id}",
        {"withdrawn": 1, f"withdrawn_{data.reason}": 1},
    )


async def participant_waitlisted(
    m: ReadModels, envelope: Envelope, data: en.ParticipantWaitlisted
) -> None:
    await _participant_status(m, envelope, data, "waitlisted")
    await m.add(
        data.program_id,
        iso_week(data.waitlisted_at),
        Family.PARTICIPANTS,
        f"waitlisted:{data.participant_id}",
        {"waitlisted": 1},
    )


async def _group_members_matched(
    m: ReadModels, program_id: str, employee_ids: list[str], when: datetime
) -> None:
    for employee_id in employee_ids:
        pid = person_id(program_id, employee_id)
        await m.update(
            "persons",
            pid,
            {"$set": {"matched": 1, "program_id": program_id, "employee_id": employee_id}},
            upsert=True,
        )
        await m.add_funnel(program_id, f"matched:{pid}", {Stage.MATCHED: 1})


async def group_formed(m: ReadModels, envelope: Envelope, data: en.GroupFormed) -> None:
    await set_if_newer(
        m,
        "groups",
        data.group_id,
        "version",
        envelope.aggregateversion,
        {"program_id": data.program_id, "status": "active", "size": len(data.members)},
    )
    await m.add(
        data.program_id,
        iso_week(data.formed_at),
        Family.GROUPS,
        f"formed:{data.group_id}",
        {"formed": 1, "members": len(data.members)},
    )
    await _group_members_matched(
        m, data.program_id, [member.employee_id for member in data.members], data.formed_at
    )


async def group_changed(m: ReadModels, envelope: Envelope, data: en.GroupChanged) -> None:
    await set_if_newer(
        m,
        "groups",
        data.group_id,
        "version",
        envelope.aggregateversion,
        {"program_id": data.program_id, "status": "active", "size": len(data.members)},
    )
    await _group_members_matched(
        m, data.program_id, [member.employee_id for member in data.members], data.changed_at
    )


async def group_dissolved(m: ReadModels, envelope: Envelope, data: en.GroupDissolved) -> None:
    await set_if_newer(
        m,
        "groups",
        data.group_id,
        "version",
        envelope.aggregateversion,
        {"program_id": data.program_id, "status": "dissolved"},
    )
    await m.add(
        data.program_id,
        iso_week(data.dissolved_at),
        Family.GROUPS,
        f"dissolved:{data.group_id}",
        {"dissolved": 1},
    )


async def employee_erased(m: ReadModels, envelope: Envelope, data: en.EmployeeErased) -> None:
    # The counts stay; what could single the person out (consent, attributes) goes.
    await m.update("erased", data.employee_id, {"$set": {"erased": True}}, upsert=True)
    ids = [
        doc["_id"] async for doc in m.persons.find({"employee_id": data.employee_id}, {"_id": 1})
    ]
    for pid in ids:
        await m.update(
            "persons", str(pid), {"$set": {"attributes": None, "consent": False, "erased": 1}}
        )


# --- sessions ------------------------------------------------------------------------------------


async def session_scheduled(m: ReadModels, envelope: Envelope, data: se.SessionScheduled) -> None:
    await m.add(
        data.program_id,
        iso_week(data.starts_at),
        Family.SESSIONS,
        f"scheduled:{data.session_id}",
        {"scheduled": 1},
    )


async def session_cancelled(m: ReadModels, envelope: Envelope, data: se.SessionCancelled) -> None:
    await m.add(
        data.program_id,
        iso_week(data.starts_at),
        Family.SESSIONS,
        f"cancelled:{data.session_id}",
        {"cancelled": 1},
    )


async def session_completed(m: ReadModels, envelope: Envelope, data: se.SessionCompleted) -> None:
    week = iso_week(data.started_at)
    attendees = sorted(set(data.attendee_ids))
    await m.add(
        data.program_id,
        week,
        Family.SESSIONS,
        f"held:{data.session_id}",
        {"held": 1, "attended": len(attendees), "invited": max(data.invited_count, len(attendees))},
    )
    await m.update(
        "groups",
        data.group_id,
        {
            "$max": {"last_met_at": _as_utc(data.started_at)},
            "$set": {"program_id": data.program_id},
        },
        upsert=True,
    )
    await m.add(data.program_id, week, Family.GROUPS, f"met:{data.group_id}:{week}", {"met": 1})
    for employee_id in attendees:
        await _attended(m, data, employee_id, week)


async def _attended(
    m: ReadModels,
    data: se.SessionCompleted,
    employee_id: str,
    week: str,
) -> None:
    pid = person_id(data.program_id, employee_id)
    person = await m.upsert_and_get(
        "persons",
        pid,
        {
            "$addToSet": {"sessions": data.session_id},
            "$set": {"program_id": data.program_id, "employee_id": employee_id},
        },
    )
    attended = len(person.get("sessions", []))
    await m.update("persons", pid, {"$max": {"sessions_n": attended}})
    for stage in session_stages(attended):
        await m.add_funnel(data.program_id, f"{stage}:{pid}", {stage: 1})
    # Read after writing sessions_n, as program_closed reads people after writing closed_at: of
    # two such handlers running at once, at least one sees the other's write.
    program = await m.programs.find_one({"_id": data.program_id}, {"closed_at": 1})
    closed_at = program.get("closed_at") if program else None
    await _maybe_completed(m, data.program_id, {**person, "sessions_n": attended}, closed_at)


async def _action_due(m: ReadModels, envelope: Envelope, data: se._ActionStep) -> None:
    await set_if_newer(
        m,
        "actions",
        data.action_id,
        "due_version",
        envelope.aggregateversion,
        {"program_id": data.program_id, "due_at": _as_utc(data.due_at)},
    )


async def _completion_days(m: ReadModels, action: Mapping[str, Any]) -> None:
    committed_at, completed_at = action.get("committed_at"), action.get("completed_at")
    if committed_at is None or completed_at is None:
        return  # the other event has not arrived yet; it will do this
    days = completion_days(committed_at, completed_at)
    await m.add(
        str(action["program_id"]),
        iso_week(completed_at),
        Family.ACTIONS,
        f"days:{action['_id']}",
        {f"days_{days}": 1},
    )


async def action_committed(m: ReadModels, envelope: Envelope, data: se.ActionCommitted) -> None:
    await _action_due(m, envelope, data)
    action = await m.upsert_and_get(
        "actions",
        data.action_id,
        {"$set": {"committed_at": _as_utc(data.committed_at), "program_id": data.program_id}},
    )
    await m.add(
        data.program_id,
        iso_week(data.committed_at),
        Family.ACTIONS,
        f"committed:{data.action_id}",
        {"committed": 1},
    )
    await _completion_days(m, action)


async def action_updated(m: ReadModels, envelope: Envelope, data: se.ActionUpdated) -> None:
    await _action_due(m, envelope, data)


async def action_completed(m: ReadModels, envelope: Envelope, data: se.ActionCompleted) -> None:
    action = await m.upsert_and_get(
        "actions",
        data.action_id,
        {
            "$set": {
                "done": "completed",
                "completed_at": _as_utc(data.completed_at),
                "program_id": data.program_id,
            }
        },
    )
    await m.add(
        data.program_id,
        iso_week(data.completed_at),
        Family.ACTIONS,
        f"completed:{data.action_id}",
        {"completed": 1},
    )
    await _completion_days(m, action)


async def action_dropped(m: ReadModels, envelope: Envelope, data: se.ActionDropped) -> None:
    await m.update(
        "actions",
        data.action_id,
        {"$set": {"done": "dropped", "program_id": data.program_id}},
        upsert=True,
    )
    await m.add(
        data.program_id,
        iso_week(data.dropped_at),
        Family.ACTIONS,
        f"dropped:{data.action_id}",
        {"dropped": 1, f"dropped_{data.reason}": 1},
    )


async def feedback_submitted(m: ReadModels, envelope: Envelope, data: se.FeedbackSubmitted) -> None:
    counts = {"ratings": 1, "rating_sum": data.rating}
    if data.recommend_score is not None:
        counts |= {"recommend_count": 1, "recommend_sum": data.recommend_score}
    await m.add(
        data.program_id,
        iso_week(data.submitted_at),
        Family.FEEDBACK,
        f"feedback:{data.feedback_id}",
        counts,
    )


# --- reminders -----------------------------------------------------------------------------------


async def reminder_sent(m: ReadModels, envelope: Envelope, data: rm.ReminderSent) -> None:
    await m.add(
        data.program_id,
        iso_week(data.sent_at),
        Family.REMINDERS,
        f"sent:{data.reminder_id}",
        {"sent": 1, f"sent_{data.kind}": 1},
    )


async def reminder_failed(m: ReadModels, envelope: Envelope, data: rm.ReminderFailed) -> None:
    counts = {"failed": 1, f"failed_{data.reason}": 1} if data.final else {"retried": 1}
    await m.add(
        data.program_id,
        iso_week(data.failed_at),
        Family.REMINDERS,
        f"failed:{data.reminder_id}:{data.attempts}",
        counts,
    )


# --- the handler tables, one per producer --------------------------------------------------------


def enrollment_handlers(models: ModelsProvider) -> dict[str, EventHandler]:
    return {
        en.ProgramCreated.event_type: _typed(en.ProgramCreated, program_created, models),
        en.ProgramUpdated.event_type: _typed(en.ProgramUpdated, program_updated, models),
        en.ProgramOpened.event_type: _typed(en.ProgramOpened, program_opened, models),
        en.ProgramStarted.event_type: _typed(en.ProgramStarted, program_started, models),
        en.ProgramClosed.event_type: _typed(en.ProgramClosed, program_closed, models),
        en.ParticipantEnrolled.event_type: _typed(
            en.ParticipantEnrolled, participant_enrolled, models
        ),
        en.ParticipantUpdated.event_type: _typed(
            en.ParticipantUpdated, participant_updated, models
        ),
        en.ParticipantWithdrawn.event_type: _typed(
            en.ParticipantWithdrawn, participant_withdrawn, models
        ),
        en.ParticipantWaitlisted.event_type: _typed(
            en.ParticipantWaitlisted, participant_waitlisted, models
        ),
        en.GroupFormed.event_type: _typed(en.GroupFormed, group_formed, models),
        en.GroupChanged.event_type: _typed(en.GroupChanged, group_changed, models),
        en.GroupDissolved.event_type: _typed(en.GroupDissolved, group_dissolved, models),
        en.EmployeeErased.event_type: _typed(en.EmployeeErased, employee_erased, models),
    }


def sessions_handlers(models: ModelsProvider) -> dict[str, EventHandler]:
    return {
        se.SessionScheduled.event_type: _typed(se.SessionScheduled, session_scheduled, models),
        se.SessionCancelled.event_type: _typed(se.SessionCancelled, session_cancelled, models),
        se.SessionCompleted.event_type: _typed(se.SessionCompleted, session_completed, models),
        se.ActionCommitted.event_type: _typed(se.ActionCommitted, action_committed, models),
        se.ActionUpdated.event_type: _typed(se.ActionUpdated, action_updated, models),
        se.ActionCompleted.event_type: _typed(se.ActionCompleted, action_completed, models),
        se.ActionDropped.event_type: _typed(se.ActionDropped, action_dropped, models),
        se.FeedbackSubmitted.event_type: _typed(se.FeedbackSubmitted, feedback_submitted, models),
    }


def reminders_handlers(models: ModelsProvider) -> dict[str, EventHandler]:
    return {
        rm.ReminderSent.event_type: _typed(rm.ReminderSent, reminder_sent, models),
        rm.ReminderFailed.event_type: _typed(rm.ReminderFailed, reminder_failed, models),
    }


HANDLER_TABLES: Mapping[str, Callable[[ModelsProvider], dict[str, EventHandler]]] = {
    "enrollment": enrollment_handlers,
    "sessions": sessions_handlers,
    "reminders": reminders_handlers,
}
