"""Which events the reminders service consumes, and the handler each goes to."""

from __future__ import annotations

from reminders.people.consumers import PeopleHandlers
from reminders.schedule.service import ScheduleService
from roundtable_shared.messaging.consumer import EventConsumer

E = "roundtable.enrollment."
S = "roundtable.sessions."


def consumers(schedule: ScheduleService, people: PeopleHandlers) -> list[EventConsumer]:
    return [
        EventConsumer(
            name="reminders-enrollment",
            source_service="enrollment",
            handlers={
                E + "employee.upserted": people.upserted,
                E + "employee.offboarded": people.offboarded,
                E + "employee.erased": people.erased,
                E + "program.created": schedule.program_changed,
                E + "program.updated": schedule.program_changed,
                E + "program.closed": schedule.program_closed,
                E + "participant.enrolled": schedule.participant_enrolled,
                E + "participant.withdrawn": schedule.participant_withdrawn,
                E + "participant.paused": schedule.participant_paused,
                E + "participant.resumed": schedule.participant_resumed,
                E + "group.formed": schedule.group_formed,
                E + "group.changed": schedule.group_changed,
                E + "group.dissolved": schedule.group_dissolved,
            },
        ),
        EventConsumer(
            name="reminders-sessions",
            source_service="sessions",
            handlers={
                S + "session.scheduled": schedule.session_scheduled,
                S + "session.rescheduled": schedule.session_scheduled,
                S + "session.cancelled": schedule.session_cancelled,
                S + "session.completed": schedule.session_completed,
                S + "action.committed": schedule.action_committed,
                S + "action.updated": schedule.action_committed,
                S + "action.completed": schedule.action_closed,
                S + "action.dropped": schedule.action_closed,
            },
        ),
    ]
