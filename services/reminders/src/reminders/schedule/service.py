"""Turning enrollment and sessions events into stored plans and cancellations.

Each handler is repeatable: plans have deterministic ids (storing them twice is a no-op),
cancellations are conditional updates, and version-guarded copies tell a stale event from a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from reminders.schedule import domain
from reminders.schedule.copies import SourceCopies
from reminders.schedule.domain import Plan, ProgramRules, Status
from reminders.schedule.reminder import Reminder
from reminders.schedule.repository import ReminderRepository
from roundtable_shared.clock import Clock, utc_now
from roundtable_shared.events.catalogue.enrollment import (
    GroupChanged,
    GroupDissolved,
    GroupFormed,
    ParticipantEnrolled,
    ParticipantPaused,
    ParticipantResumed,
    ParticipantWithdrawn,
    ProgramClosed,
    ProgramCreated,
    ProgramUpdated,
)
from roundtable_shared.events.catalogue.reminders import ReminderKind
from roundtable_shared.events.catalogue.sessions import (
    ActionCommitted,
    ActionCompleted,
    ActionDropped,
    ActionUpdated,
    SessionCancelled,
    SessionCompleted,
    SessionRescheduled,
    SessionScheduled,
)
from roundtable_shared.events.envelope import Envelope, EventData


class ScheduleService:
    def __init__(
        self,
        reminders: ReminderRepository,
        copies: SourceCopies,
        *,
        stale_after: timedelta,
        clock: Clock = utc_now,
        nudge: Callable[[], None] = lambda: None,
    ) -> None:
        self.reminders = reminders
        self.copies = copies
        self.stale_after = stale_after
        self.clock = clock
        self.nudge = nudge
        """Wakes the worker when something is due now."""

    async def store(self, plans: list[Plan]) -> None:
        """Store plans of another concept (survey nudges) with the schedule's own rules: what is
        no longer worth sending is dropped, what a paused participant would get is held."""
        await self._store(plans)

    async def _store(self, plans: list[Plan]) -> None:
        now = self.clock()
        worth = domain.fresh(plans, now, self.stale_after)
        paused = {
            (recipient, program)
            for recipient, program in {(p.recipient_id, p.program_id) for p in worth}
            if await self.is_paused(recipient, program)
        }
        await self.reminders.add(
            [p for p in worth if (p.recipient_id, p.program_id) not in paused], now
        )
        await self.reminders.add(
            [p for p in worth if (p.recipient_id, p.program_id) in paused], now, Status.HELD
        )
        if any(plan.due_at <= now for plan in worth):
            self.nudge()

    async def is_paused(self, employee_id: str, program_id: str) -> bool:
        copy = await self.copies.copy(_pause_id(employee_id, program_id))
        return bool(copy and copy.get("paused"))

    async def rules_for(self, program_id: str) -> ProgramRules:
        copy = await self.copies.copy(f"program:{program_id}")
        if not copy:
            return ProgramRules()
        return ProgramRules(
            before_session_minutes=tuple(copy["before_session_minutes"]),
            before_action_due_hours=tuple(copy["before_action_due_hours"]),
            notify_partner_when_overdue=bool(copy["notify_partner_when_overdue"]),
            overdue_days=int(copy.get("overdue_days", ProgramRules.overdue_days)),
            cadence_days=int(copy["cadence_days"]),
        )

    # --- enrollment -------------------------------------------------------------------------

    async def program_changed(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ProgramCreated | ProgramUpdated)
        rules = ProgramRules.from_program(data.reminders, data.cadence)
        await self.copies.keep_copy(
            f"program:{data.program_id}",
            envelope.aggregateversion,
            {
                "name": data.name,
                "before_session_minutes": list(rules.before_session_minutes),
                "before_action_due_hours": list(rules.before_action_due_hours),
                "notify_partner_when_overdue": rules.notify_partner_when_overdue,
                "overdue_days": rules.overdue_days,
                "cadence_days": rules.cadence_days,
            },
        )

    async def program_closed(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ProgramClosed)
        await self.reminders.cancel({"program_id": data.program_id}, "program_closed")

    async def participant_enrolled(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ParticipantEnrolled)
        await self._store(domain.welcome(data))

    async def participant_withdrawn(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ParticipantWithdrawn)
        await self.reminders.cancel(
            {"recipient_id": data.employee_id, "program_id": data.program_id},
            "participant_withdrawn",
        )

    async def participant_paused(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ParticipantPaused)
        if await self.copies.keep_copy(
            _pause_id(data.employee_id, data.program_id),
            envelope.aggregateversion,
            {"paused": True},
        ):
            await self.reminders.hold(data.employee_id, data.program_id, self.clock())
        else:
            # A redelivery after a crash between the copy and the hold: holding again is harmless.
            copy = await self.copies.copy(_pause_id(data.employee_id, data.program_id))
            if copy and copy.get("paused") and copy.get("version") == envelope.aggregateversion:
                await self.reminders.hold(data.employee_id, data.program_id, self.clock())

    async def participant_resumed(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ParticipantResumed)
        version = envelope.aggregateversion
        pause_id = _pause_id(data.employee_id, data.program_id)
        if not await self.copies.keep_copy(pause_id, version, {"paused": False}):
            copy = await self.copies.copy(pause_id)
            if not copy or copy.get("paused") or copy.get("version") != version:
                return  # an older event than the pause or resumption we know of
        # From here on repeatable: releasing is conditional on "held", the welcome back's id is
        # deterministic.
        now = self.clock()
        for doc in await self.reminders.held(data.employee_id, data.program_id):
            reminder = Reminder.from_document(doc)
            at = domain.released_at(reminder.kind, reminder.due_at, now, self.stale_after)
            await self.reminders.release(reminder.id, reminder.release(at))
        await self._store(domain.welcome_back(data, version))
        self.nudge()

    async def group_formed(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, GroupFormed)
        if await self.copies.keep_copy(
            f"group:{data.group_id}",
            envelope.aggregateversion,
            {"member_ids": [m.employee_id for m in data.members]},
        ):
            await self._store(domain.group_formed(data, await self.rules_for(data.program_id)))

    async def group_changed(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, GroupChanged)
        if await self.copies.keep_copy(
            f"group:{data.group_id}",
            envelope.aggregateversion,
            {"member_ids": [m.employee_id for m in data.members]},
        ):
            for employee_id in data.removed_employee_ids:
                await self.reminders.cancel(
                    {"recipient_id": employee_id, "group_id": data.group_id}, "left_group"
                )

    async def group_dissolved(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, GroupDissolved)
        await self.reminders.cancel(
            {"group_id": data.group_id, "kind": "schedule_next_session"}, "group_dissolved"
        )

    # --- sessions ---------------------------------------------------------------------------

    async def session_scheduled(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, SessionScheduled | SessionRescheduled)
        version = envelope.aggregateversion
        if not await self.copies.keep_copy(
            f"session:{data.session_id}",
            version,
            {"title": data.title, "attendee_ids": list(data.attendee_ids), "status": "scheduled"},
        ):
            return  # an older schedule than the one we planned from
        # A rescheduled session's earlier reminders are replaced, not added to.
        await self.reminders.cancel(
            {
                "session_id": data.session_id,
                "kind": "session_upcoming",
                "source_version": {"$lt": version},
            },
            "session_rescheduled",
        )
        # The group has planned its next session: no nudge needed.
        await self.reminders.cancel(
            {"group_id": data.group_id, "kind": "schedule_next_session"}, "session_scheduled"
        )
        rules = await self.rules_for(data.program_id)
        await self._store(domain.session_upcoming(data, version, rules))

    async def session_cancelled(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, SessionCancelled)
        copy = await self.copies.copy(f"session:{data.session_id}")
        await self.copies.keep_copy(
            f"session:{data.session_id}", envelope.aggregateversion, {"status": "cancelled"}
        )
        await self.reminders.cancel({"session_id": data.session_id}, "session_cancelled")
        attendees = list(copy.get("attendee_ids", [])) if copy else []
        title = copy.get("title") if copy else None
        await self._store(domain.session_cancelled(data, attendees, title))

    async def session_completed(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, SessionCompleted)
        await self.reminders.cancel(
            {"session_id": data.session_id, "kind": "session_upcoming"}, "session_completed"
        )
        rules = await self.rules_for(data.program_id)
        await self._store(domain.session_completed(data, rules))

    async def action_committed(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ActionCommitted | ActionUpdated)
        version = envelope.aggregateversion
        # The owner recorded a step for this session: no prompt to record one.
        await self.reminders.cancel(
            {
                "session_id": data.session_id,
                "recipient_id": data.owner_id,
                "kind": "record_action_steps",
            },
            "action_recorded",
        )
        if not await self.copies.keep_copy(
            f"action:{data.action_id}",
            version,
            # The owner, so that their erasure can find the title they wrote.
            {"status": "open", "title": data.title, "owner_id": data.owner_id},
        ):
            return
        await self.reminders.cancel(
            {"action_id": data.action_id, "source_version": {"$lt": version}}, "action_updated"
        )
        rules = await self.rules_for(data.program_id)
        await self._store(domain.action_steps(data, version, rules))

    async def action_closed(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ActionCompleted | ActionDropped)
        await self.copies.keep_copy(
            f"action:{data.action_id}", envelope.aggregateversion, {"status": "closed"}
        )
        # Not the thanks for its completion: a redelivered completion must not cancel it.
        await self.reminders.cancel(
            {"action_id": data.action_id, "kind": {"$ne": str(ReminderKind.PARTNER_THANKS)}},
            "action_closed",
        )
        if isinstance(data, ActionCompleted):
            copy = await self.copies.copy(f"action:{data.action_id}")
            title = copy.get("title") if copy else None
            await self._store(domain.partner_thanks(data, title))


def _pause_id(employee_id: str, program_id: str) -> str:
    return f"pause:{program_id}:{employee_id}"
