"""Event handlers of the projections: what each event changes in the read models.

Handlers run on a ``Batch``: the copies an event needs are loaded before (``load_for``), the
handler changes them in memory and records counter changes, and the batch writes everything at
the end. Every handler is idempotent (facts keyed by business ids, copies guarded by versions,
flags that only ever go one way, contributions reconciled from state) and order-tolerant
(counters commute; an effect that needs two events, such as days-to-complete, fires on
whichever arrives second).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from reporting.projections.batch import Batch, apply_pending
from reporting.projections.domain import (
    Family,
    Stage,
    completed_program,
    completion_days,
    contributor_key,
    due_key,
    iso_week,
    person_digest,
    session_stages,
)
from reporting.projections.lease import NotTheWriter
from reporting.projections.outcomes import (
    OUTCOME_HANDLERS,
    load_for_outcomes,
    participant_retention,
)
from reporting.projections.readmodel import ReadModels, person_id
from roundtable_shared.events.catalogue import enrollment as en
from roundtable_shared.events.catalogue import reminders as rm
from roundtable_shared.events.catalogue import sessions as se
from roundtable_shared.events.envelope import Envelope, EventData

E = TypeVar("E", bound=EventData)
Handler = Callable[[Batch, Envelope, Any], None]


def _as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _day(moment: datetime) -> str:
    return _as_utc(moment).date().isoformat()


# --- state contributions -------------------------------------------------------------------------


def person_changed(b: Batch, pid: str) -> None:
    """The funnel stages a person counts in, from their copy and their program's."""
    person = b.doc("persons", pid)
    program_id = person.get("program_id")
    if not program_id:
        return
    attended = len(person.get("sessions") or [])
    program = b.doc("programs", str(program_id))
    stages = {
        Stage.ENROLLED: bool(person.get("enrolled")),
        Stage.MATCHED: bool(person.get("matched")),
    }
    stages |= dict.fromkeys(session_stages(attended), True)
    stages[Stage.COMPLETED] = program.get("closed_at") is not None and completed_program(
        program_closed=True, withdrawn=bool(person.get("withdrawn")), sessions_attended=attended
    )
    desired = {str(stage): int(on) for stage, on in stages.items()}
    b.reconcile("persons", pid, "counted", desired, [(b.totals(str(program_id)), "c.funnel.")])


def group_changed_state(b: Batch, group_id: str) -> None:
    """An active group counts in ``groups_active``, and in ``met.<day>`` once it has met."""
    group = b.doc("groups", group_id)
    program_id = group.get("program_id")
    if not program_id:
        return
    desired: dict[str, int] = {}
    if group.get("status") == "active":
        desired["groups_active"] = 1
        if group.get("last_met_at") is not None:
            desired[f"met.{_day(group['last_met_at'])}"] = 1
    b.reconcile("groups", group_id, "counted", desired, [(b.totals(str(program_id)), "")])


def action_changed(b: Batch, action_id: str) -> None:
    """An open action step counts in ``due.<its due instant>`` (see ``due_key``)."""
    action = b.doc("actions", action_id)
    program_id = action.get("program_id")
    if not program_id:
        return
    desired: dict[str, int] = {}
    if "done" not in action and action.get("due_at") is not None:
        desired[f"due.{due_key(action['due_at'])}"] = 1
    b.reconcile("actions", action_id, "counted", desired, [(b.totals(str(program_id)), "")])


def session_attendance_changed(b: Batch, session_id: str) -> None:
    """A held session's attendance (the latest said) counts in its week's attended/invited."""
    session = b.doc("sessions", session_id)
    program_id, week = session.get("program_id"), session.get("week")
    if not program_id or not week:
        return
    attendees = session.get("attendees") or []
    desired = {
        "attended": len(attendees),
        "invited": max(int(session.get("invited", 0)), len(attendees)),
    }
    targets = [
        (b.rollup(str(program_id), str(week), Family.SESSIONS), "c."),
        (b.totals(str(program_id)), f"c.{Family.SESSIONS}."),
    ]
    b.reconcile("sessions", session_id, "counted", desired, targets)


# --- enrollment ----------------------------------------------------------------------------------


def program_snapshot(
    b: Batch, envelope: Envelope, data: en.ProgramCreated | en.ProgramUpdated
) -> None:
    v = envelope.aggregateversion
    fields = {
        "name": data.name,
        "format": str(data.format),
        "cadence": str(data.cadence),
        "sponsor_ids": list(data.sponsor_ids),
        "capacity": data.capacity,
    }
    b.set_if_newer("programs", data.program_id, "snapshot_version", v, fields)
    b.set_if_newer("programs", data.program_id, "status_version", v, {"status": str(data.status)})


def _status(status: str) -> Handler:
    def handle(b: Batch, envelope: Envelope, data: Any) -> None:
        b.set_if_newer(
            "programs",
            data.program_id,
            "status_version",
            envelope.aggregateversion,
            {"status": status},
        )

    return handle


def program_closed(b: Batch, envelope: Envelope, data: en.ProgramClosed) -> None:
    v = envelope.aggregateversion
    b.set_if_newer("programs", data.program_id, "status_version", v, {"status": "closed"})
    # Closing is final: the flag is set whatever the order of the program's events.
    b.set_fields("programs", data.program_id, {"closed_at": _as_utc(data.closed_at)})
    for person in b.docs("persons"):
        if person.get("program_id") == data.program_id:
            person_changed(b, str(person["_id"]))


def _participant_status(b: Batch, envelope: Envelope, data: Any, status: str) -> str:
    pid = person_id(data.program_id, data.employee_id)
    fields = {
        "status": status,
        "participant_id": data.participant_id,
        "program_id": data.program_id,
        "employee_id": data.employee_id,
    }
    b.set_if_newer("persons", pid, "status_version", envelope.aggregateversion, fields)
    return pid


def _participant_consent(b: Batch, envelope: Envelope, data: Any, pid: str) -> None:
    if b.doc("erased", data.employee_id).get("erased"):
        return  # an erased person's attributes are never stored again
    attributes = (
        data.reporting_attributes.model_dump(mode="json")
        if data.consent_to_reporting and data.reporting_attributes
        else None
    )
    fields = {"consent": data.consent_to_reporting, "attributes": attributes}
    b.set_if_newer("persons", pid, "consent_version", envelope.aggregateversion, fields)


def participant_enrolled(b: Batch, envelope: Envelope, data: en.ParticipantEnrolled) -> None:
    pid = _participant_status(b, envelope, data, "enrolled")
    _participant_consent(b, envelope, data, pid)
    b.set_fields("persons", pid, {"enrolled": 1, "program_id": data.program_id})
    counts = {"enrolled": 1, "enrolled_from_waitlist": int(data.from_waitlist)}
    b.effect(
        data.program_id,
        iso_week(data.enrolled_at),
        Family.PARTICIPANTS,
        f"enrolled:{data.participant_id}",
        counts,
    )
    person_changed(b, pid)
    participant_retention(b, pid)


def participant_updated(b: Batch, envelope: Envelope, data: en.ParticipantUpdated) -> None:
    _participant_consent(b, envelope, data, person_id(data.program_id, data.employee_id))


def participant_withdrawn(b: Batch, envelope: Envelope, data: en.ParticipantWithdrawn) -> None:
    pid = _participant_status(b, envelope, data, "withdrawn")
    b.set_fields("persons", pid, {"withdrawn": 1})
    b.effect(
        data.program_id,
        iso_week(data.withdrawn_at),
        Family.PARTICIPANTS,
        f"withdrawn:{data.participant_id}",
        {"withdrawn": 1, f"withdrawn_{data.reason}": 1},
    )
    person_changed(b, pid)


def participant_waitlisted(b: Batch, envelope: Envelope, data: en.ParticipantWaitlisted) -> None:
    _participant_status(b, envelope, data, "waitlisted")
    b.effect(
        data.program_id,
        iso_week(data.waitlisted_at),
        Family.PARTICIPANTS,
        f"waitlisted:{data.participant_id}",
        {"waitlisted": 1},
    )


def _members_matched(b: Batch, program_id: str, employee_ids: Sequence[str]) -> None:
    for employee_id in employee_ids:
        pid = person_id(program_id, employee_id)
        b.set_fields(
            "persons", pid, {"matched": 1, "program_id": program_id, "employee_id": employee_id}
        )
        person_changed(b, pid)


def _group_copy(b: Batch, envelope: Envelope, data: en.GroupFormed | en.GroupChanged) -> None:
    fields = {"program_id": data.program_id, "status": "active", "size": len(data.members)}
    b.set_if_newer("groups", data.group_id, "version", envelope.aggregateversion, fields)
    b.set_fields("groups", data.group_id, {"program_id": data.program_id})
    group_changed_state(b, data.group_id)
    _members_matched(b, data.program_id, [m.employee_id for m in data.members])


def group_formed(b: Batch, envelope: Envelope, data: en.GroupFormed) -> None:
    _group_copy(b, envelope, data)
    b.effect(
        data.program_id,
        iso_week(data.formed_at),
        Family.GROUPS,
        f"formed:{data.group_id}",
        {"formed": 1, "members": len(data.members)},
    )


def group_changed(b: Batch, envelope: Envelope, data: en.GroupChanged) -> None:
    _group_copy(b, envelope, data)


def group_dissolved(b: Batch, envelope: Envelope, data: en.GroupDissolved) -> None:
    fields = {"program_id": data.program_id, "status": "dissolved"}
    b.set_if_newer("groups", data.group_id, "version", envelope.aggregateversion, fields)
    group_changed_state(b, data.group_id)
    b.effect(
        data.program_id,
        iso_week(data.dissolved_at),
        Family.GROUPS,
        f"dissolved:{data.group_id}",
        {"dissolved": 1},
    )


def employee_erased(b: Batch, envelope: Envelope, data: en.EmployeeErased) -> None:
    # The counts stay; what could single the person out (consent, attributes) goes.
    b.set_fields("erased", data.employee_id, {"erased": True})
    for person in b.docs("persons"):
        if person.get("employee_id") == data.employee_id:
            fields = {"attributes": None, "consent": False, "erased": 1}
            b.set_fields("persons", str(person["_id"]), fields)


# --- sessions ------------------------------------------------------------------------------------


def session_scheduled(b: Batch, envelope: Envelope, data: se.SessionScheduled) -> None:
    b.effect(
        data.program_id,
        iso_week(data.starts_at),
        Family.SESSIONS,
        f"scheduled:{data.session_id}",
        {"scheduled": 1},
    )


def session_cancelled(b: Batch, envelope: Envelope, data: se.SessionCancelled) -> None:
    b.effect(
        data.program_id,
        iso_week(data.starts_at),
        Family.SESSIONS,
        f"cancelled:{data.session_id}",
        {"cancelled": 1},
    )


def _attendance(
    b: Batch,
    envelope: Envelope,
    data: se.SessionCompleted | se.SessionAttendanceCorrected,
) -> None:
    """Store the session's attendance if this is the latest said; move people's sessions."""
    session = b.doc("sessions", data.session_id)
    before = set(session.get("attendees") or [])
    attendees = sorted(set(data.attendee_ids))
    fields = {
        "program_id": data.program_id,
        "week": iso_week(data.started_at),
        "attendees": attendees,
        "invited": max(data.invited_count, len(attendees)),
    }
    if not b.set_if_newer(
        "sessions", data.session_id, "version", envelope.aggregateversion, fields
    ):
        return
    session_attendance_changed(b, data.session_id)
    for employee_id in sorted(before | set(attendees)):
        pid = person_id(data.program_id, employee_id)
        person = b.doc("persons", pid)
        sessions = set(person.get("sessions") or [])
        if employee_id in attendees:
            sessions.add(data.session_id)
        else:
            sessions.discard(data.session_id)
        b.set_fields(
            "persons",
            pid,
            {
                "sessions": sorted(sessions),
                "sessions_n": len(sessions),
                "program_id": data.program_id,
                "employee_id": employee_id,
            },
        )
        person_changed(b, pid)


def session_completed(b: Batch, envelope: Envelope, data: se.SessionCompleted) -> None:
    week = iso_week(data.started_at)
    b.effect(data.program_id, week, Family.SESSIONS, f"held:{data.session_id}", {"held": 1})
    group = b.doc("groups", data.group_id)
    started = _as_utc(data.started_at)
    last = group.get("last_met_at")
    if last is None or _as_utc(last) < started:
        b.set_fields("groups", data.group_id, {"last_met_at": started})
    b.set_fields("groups", data.group_id, {"program_id": data.program_id})
    group_changed_state(b, data.group_id)
    b.effect(data.program_id, week, Family.GROUPS, f"met:{data.group_id}:{week}", {"met": 1})
    _attendance(b, envelope, data)


def attendance_corrected(b: Batch, envelope: Envelope, data: se.SessionAttendanceCorrected) -> None:
    # Held (and the group's meeting) counted from session.completed; only who attended changes.
    _attendance(b, envelope, data)


def _action_due(b: Batch, envelope: Envelope, data: Any) -> None:
    fields = {"program_id": data.program_id, "due_at": _as_utc(data.due_at)}
    b.set_if_newer("actions", data.action_id, "due_version", envelope.aggregateversion, fields)


def _completion_days(b: Batch, action_id: str) -> None:
    action = b.doc("actions", action_id)
    committed_at, completed_at = action.get("committed_at"), action.get("completed_at")
    if committed_at is None or completed_at is None:
        return  # the other event has not arrived yet; it will do this
    days = completion_days(_as_utc(committed_at), _as_utc(completed_at))
    program_id, week = str(action["program_id"]), iso_week(completed_at)
    # weekly in the totals too: the summary releases medians per closed week, in one read
    counts = {f"days_{days}": 1}
    b.effect(program_id, week, Family.ACTIONS, f"days:{action_id}", counts, weekly_in_totals=True)
    owner = action.get("owner")
    if owner:  # distinct people per week, for the disclosure rule's medians
        key = contributor_key("completer", program_id, week, str(owner))
        b.effect(program_id, week, Family.ACTIONS, key, {"completers": 1}, weekly_in_totals=True)


def action_committed(b: Batch, envelope: Envelope, data: se.ActionCommitted) -> None:
    _action_due(b, envelope, data)
    b.set_fields(
        "actions",
        data.action_id,
        {
            "committed_at": _as_utc(data.committed_at),
            "program_id": data.program_id,
            "owner": person_digest(data.owner_id),
        },
    )
    b.effect(
        data.program_id,
        iso_week(data.committed_at),
        Family.ACTIONS,
        f"committed:{data.action_id}",
        {"committed": 1},
    )
    _completion_days(b, data.action_id)
    action_changed(b, data.action_id)


def action_updated(b: Batch, envelope: Envelope, data: se.ActionUpdated) -> None:
    _action_due(b, envelope, data)
    action_changed(b, data.action_id)


def action_completed(b: Batch, envelope: Envelope, data: se.ActionCompleted) -> None:
    fields = {
        "done": "completed",
        "completed_at": _as_utc(data.completed_at),
        "program_id": data.program_id,
        "owner": person_digest(data.owner_id),
    }
    b.set_fields("actions", data.action_id, fields)
    b.effect(
        data.program_id,
        iso_week(data.completed_at),
        Family.ACTIONS,
        f"completed:{data.action_id}",
        {"completed": 1},
    )
    _completion_days(b, data.action_id)
    action_changed(b, data.action_id)


def action_dropped(b: Batch, envelope: Envelope, data: se.ActionDropped) -> None:
    b.set_fields("actions", data.action_id, {"done": "dropped", "program_id": data.program_id})
    b.effect(
        data.program_id,
        iso_week(data.dropped_at),
        Family.ACTIONS,
        f"dropped:{data.action_id}",
        {"dropped": 1, f"dropped_{data.reason}": 1},
    )
    action_changed(b, data.action_id)


def feedback_submitted(b: Batch, envelope: Envelope, data: se.FeedbackSubmitted) -> None:
    counts = {"ratings": 1, "rating_sum": data.rating}
    if data.recommend_score is not None:
        counts |= {"recommend_count": 1, "recommend_sum": data.recommend_score}
    week, program = iso_week(data.submitted_at), data.program_id
    # weekly in the totals too: the summary releases averages per closed week, in one read
    effect_key = f"feedback:{data.feedback_id}"
    b.effect(program, week, Family.FEEDBACK, effect_key, counts, weekly_in_totals=True)
    # distinct people per week: what the disclosure rule needs before an average may count
    person = person_digest(data.employee_id)
    kinds = {"rater": "raters"} | (
        {"recommender": "recommenders"} if data.recommend_score is not None else {}
    )
    for kind, counter in kinds.items():
        key = contributor_key(kind, program, week, person)
        b.effect(program, week, Family.FEEDBACK, key, {counter: 1}, weekly_in_totals=True)


# --- reminders -----------------------------------------------------------------------------------


def reminder_sent(b: Batch, envelope: Envelope, data: rm.ReminderSent) -> None:
    b.effect(
        data.program_id,
        iso_week(data.sent_at),
        Family.REMINDERS,
        f"sent:{data.reminder_id}",
        {"sent": 1, f"sent_{data.kind}": 1},
    )


def reminder_failed(b: Batch, envelope: Envelope, data: rm.ReminderFailed) -> None:
    counts = {"failed": 1, f"failed_{data.reason}": 1} if data.final else {"retried": 1}
    b.effect(
        data.program_id,
        iso_week(data.failed_at),
        Family.REMINDERS,
        f"failed:{data.reminder_id}:{data.attempts}",
        counts,
    )


# --- the handler tables, one per producer --------------------------------------------------------

HANDLER_TABLES: Mapping[str, Mapping[type[EventData], Handler]] = {
    "enrollment": {
        en.ProgramCreated: program_snapshot,
        en.ProgramUpdated: program_snapshot,
        en.ProgramOpened: _status("open"),
        en.ProgramClosed: program_closed,
        en.ParticipantEnrolled: participant_enrolled,
        en.ParticipantUpdated: participant_updated,
        en.ParticipantWithdrawn: participant_withdrawn,
        en.ParticipantWaitlisted: participant_waitlisted,
        en.GroupFormed: group_formed,
        en.GroupChanged: group_changed,
        en.GroupDissolved: group_dissolved,
        en.EmployeeErased: employee_erased,
        **OUTCOME_HANDLERS,  # program.started, the directory's counts, surveys
    },
    "sessions": {
        se.SessionScheduled: session_scheduled,
        se.SessionCancelled: session_cancelled,
        se.SessionCompleted: session_completed,
        se.SessionAttendanceCorrected: attendance_corrected,
        se.ActionCommitted: action_committed,
        se.ActionUpdated: action_updated,
        se.ActionCompleted: action_completed,
        se.ActionDropped: action_dropped,
        se.FeedbackSubmitted: feedback_submitted,
    },
    "reminders": {
        rm.ReminderSent: reminder_sent,
        rm.ReminderFailed: reminder_failed,
    },
}
HANDLERS: Mapping[type[EventData], Handler] = {
    kind: handler for table in HANDLER_TABLES.values() for kind, handler in table.items()
}


async def _load_for(b: Batch, events: Sequence[tuple[Envelope, EventData]]) -> None:
    """Read every copy the batch's handlers will look at: one query per collection."""
    ids: dict[str, set[str]] = {n: set() for n in ("programs", "groups", "actions", "sessions")}
    people: set[str] = set()
    erased: set[str] = set()
    for _, data in events:
        d: Any = data
        program_id = getattr(d, "program_id", None)
        if program_id:
            ids["programs"].add(program_id)
        for name, attribute in (("groups", "group_id"), ("actions", "action_id")):
            if getattr(d, attribute, None):
                ids[name].add(getattr(d, attribute))
        if isinstance(d, se.SessionCompleted | se.SessionAttendanceCorrected):
            ids["sessions"].add(d.session_id)
            people |= {person_id(d.program_id, e) for e in d.attendee_ids}
        if isinstance(d, en.GroupFormed | en.GroupChanged):
            people |= {person_id(d.program_id, m.employee_id) for m in d.members}
        if (
            program_id
            and getattr(d, "employee_id", None)
            and not isinstance(d, se.FeedbackSubmitted | en.SurveyAnswered)
        ):
            people.add(person_id(program_id, d.employee_id))
        if isinstance(d, en._ParticipantEvent | en.EmployeeErased):
            erased.add(d.employee_id)
    for name, wanted in ids.items():
        await b.load(name, wanted)
    await load_for_outcomes(b, events)
    await b.load("erased", erased)
    # The people a corrected session had before: their session lists change too.
    for session in b.docs("sessions"):
        if session.get("program_id"):
            people |= {
                person_id(str(session["program_id"]), e) for e in session.get("attendees") or []
            }
    await b.load("persons", people)
    for _, data in events:  # rare events that touch many people: found by indexed fields
        if isinstance(data, en.ProgramClosed):
            await b.load_where("persons", {"program_id": data.program_id})
        elif isinstance(data, en.EmployeeErased):
            await b.load_where("persons", {"employee_id": data.employee_id})
    programs = {str(p["program_id"]) for p in b.docs("persons") if p.get("program_id")}
    await b.load("programs", programs)


async def apply_batch(
    models: ReadModels,
    events: Sequence[tuple[Envelope, EventData]],
    may_write: Callable[[], bool] | None = None,
) -> None:
    """Apply a batch of new events (in stream order) to the read models; when ``may_write`` is
    given, only if it still says so once the write lock is held (the writer lease)."""
    async with models.lock:
        if may_write is not None and not may_write():
            raise NotTheWriter("this process no longer holds the projection writer lease")
        await apply_pending(models)  # a batch a crash interrupted comes first
        b = Batch(models)
        await _load_for(b, events)
        for envelope, data in events:
            handler = HANDLERS.get(type(data))
            if handler is not None:
                handler(b, envelope, data)
        await b.flush()
