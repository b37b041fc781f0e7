"""Who is in a program, as far as reminders needs to know for a broadcast: version-guarded copies
of enrolments (status only), peer groups (member ids) and sessions (start, expected attendees).

Ids and times only: no name, no title, nothing anyone wrote. Built with ``upsert_if_newer``, so a
redelivered or late event changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo import ASCENDING, IndexModel

from reminders.broadcasts.domain import ParticipantStatus, ProgramRoster, month_of
from roundtable_shared.events.catalogue.enrollment import (
    GroupChanged,
    GroupDissolved,
    GroupFormed,
    ParticipantEnrolled,
    ParticipantPaused,
    ParticipantResumed,
    ParticipantWithdrawn,
    ProgramClosed,
)
from roundtable_shared.events.catalogue.sessions import (
    SessionCancelled,
    SessionCompleted,
    SessionRescheduled,
    SessionScheduled,
)
from roundtable_shared.events.envelope import Envelope, EventData
from roundtable_shared.storage.mongo import Collection, Database, Indexes, upsert_if_newer

ROSTER_PARTICIPANTS = "roster_participants"
ROSTER_GROUPS = "roster_groups"
ROSTER_SESSIONS = "roster_sessions"
ROSTER_PROGRAMS = "roster_programs"
"""Programs that closed: no broadcast goes out in them."""

ROSTER_INDEXES = [
    Indexes(ROSTER_PARTICIPANTS, [IndexModel([("program_id", ASCENDING)])]),
    Indexes(ROSTER_GROUPS, [IndexModel([("program_id", ASCENDING)])]),
    Indexes(ROSTER_SESSIONS, [IndexModel([("program_id", ASCENDING)])]),
]

_STATUS_OF = {
    ParticipantEnrolled: ParticipantStatus.ENROLLED,
    ParticipantResumed: ParticipantStatus.ENROLLED,
    ParticipantPaused: ParticipantStatus.PAUSED,
    ParticipantWithdrawn: ParticipantStatus.WITHDRAWN,
}


class Roster:
    def __init__(self, db: Database) -> None:
        self.participants: Collection = db[ROSTER_PARTICIPANTS]
        self.groups: Collection = db[ROSTER_GROUPS]
        self.sessions: Collection = db[ROSTER_SESSIONS]
        self.programs: Collection = db[ROSTER_PROGRAMS]

    # --- event handlers (each repeatable, order-tolerant) ---------------------------------------

    async def participant(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(
            data,
            ParticipantEnrolled | ParticipantResumed | ParticipantPaused | ParticipantWithdrawn,
        )
        await upsert_if_newer(
            self.participants,
            data.participant_id,
            envelope.aggregateversion,
            {
                "program_id": data.program_id,
                "employee_id": data.employee_id,
                "status": str(_STATUS_OF[type(data)]),
            },
        )

    async def group(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, GroupFormed | GroupChanged | GroupDissolved)
        fields: dict[str, object] = {"program_id": data.program_id}
        if isinstance(data, GroupDissolved):
            fields["dissolved"] = True
        else:
            fields |= {"member_ids": [m.employee_id for m in data.members], "dissolved": False}
        await upsert_if_newer(self.groups, data.group_id, envelope.aggregateversion, fields)

    async def session(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(
            data, SessionScheduled | SessionRescheduled | SessionCancelled | SessionCompleted
        )
        fields: dict[str, object] = {"program_id": data.program_id}
        if isinstance(data, SessionCancelled):
            fields |= {"cancelled": True, "starts_at": data.starts_at}
        elif isinstance(data, SessionCompleted):
            fields |= {
                "cancelled": False,
                "starts_at": data.started_at,
                "attendee_ids": list(data.attendee_ids),
            }
        else:
            fields |= {
                "cancelled": False,
                "starts_at": data.starts_at,
                "attendee_ids": list(data.attendee_ids),
            }
        await upsert_if_newer(self.sessions, data.session_id, envelope.aggregateversion, fields)

    async def program_closed(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ProgramClosed)
        # Closing is final: setting it again (a redelivery) changes nothing.
        await self.programs.update_one(
            {"_id": data.program_id}, {"$set": {"closed": True}}, upsert=True
        )

    # --- reading -------------------------------------------------------------------------------

    async def is_closed(self, program_id: str) -> bool:
        doc = await self.programs.find_one({"_id": program_id})
        return bool(doc and doc.get("closed"))

    async def group_members(self, group_id: str) -> list[str]:
        """A peer group's members as last known; none once it is dissolved."""
        doc = await self.groups.find_one({"_id": group_id})
        if not doc or doc.get("dissolved"):
            return []
        return [str(member) for member in doc.get("member_ids") or []]

    async def of_program(self, program_id: str, now: datetime) -> ProgramRoster:
        """The program's participants as of ``now`` (whose month "this month" is)."""
        active: set[str] = set()
        async for doc in self.participants.find({"program_id": program_id}):
            if doc.get("status") == ParticipantStatus.ENROLLED:
                active.add(str(doc["employee_id"]))
        grouped: set[str] = set()
        async for doc in self.groups.find({"program_id": program_id}):
            if not doc.get("dissolved"):
                grouped.update(doc.get("member_ids") or [])
        start, end = month_of(now)
        met: set[str] = set()
        # The month is compared here, not in the query: the read is by the indexed program id
        # either way, and the dates of a program's sessions are few.
        async for doc in self.sessions.find({"program_id": program_id}):
            starts = doc.get("starts_at")
            if doc.get("cancelled") or not isinstance(starts, datetime):
                continue
            if start <= _aware(starts) < end:
                met.update(doc.get("attendee_ids") or [])
        return ProgramRoster(frozenset(active), frozenset(grouped), frozenset(met))


def _aware(value: datetime) -> datetime:
    # PyMongo hands back naive UTC datetimes unless the client is tz-aware.
    return value if value.tzinfo else value.replace(tzinfo=UTC)
