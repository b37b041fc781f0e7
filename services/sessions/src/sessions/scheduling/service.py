"""Scheduling handlers: load, ask the domain, save with the outbox."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from roundtable_shared.auth.tokens import Principal
from roundtable_shared.clock import Clock
from roundtable_shared.events.catalogue.sessions import SessionCancelReason
from roundtable_shared.events.envelope import EventData
from roundtable_shared.http.concurrency import stale_write
from roundtable_shared.http.idempotency import ensure_same_request, fingerprint, new_resource_id
from roundtable_shared.http.pagination import PageRequest
from roundtable_shared.http.problems import Forbidden, NotFound, Problem
from roundtable_shared.storage.aggregates import AlreadyExists
from roundtable_shared.storage.retry import until_saved
from sessions.membership.service import MembershipService
from sessions.scheduling import domain, ics
from sessions.scheduling.domain import Plan, Session, SessionStatus
from sessions.scheduling.repository import CalendarFeedRepository, SessionRepository
from sessions.scheduling.schemas import RescheduleRequest, ScheduleRequest

FEED_PAST = timedelta(days=90)

StepCount = Callable[[str], Awaitable[int]]
AgendaFor = Callable[[str], Awaitable[str]]
"""The agenda a program's new session carries when it is given none (its session guide)."""
Decision = tuple[Session, list[EventData]]
"""A session as a change leaves it, and the events the change raises."""


@dataclass(frozen=True)
class Saved:
    """What one attempt of ``_save`` ended with: the session as saved, or None (no change)."""

    session: Session | None


class SchedulingService:
    def __init__(
        self,
        sessions: SessionRepository,
        feeds: CalendarFeedRepository,
        membership: MembershipService,
        clock: Clock,
        step_count: StepCount,
        agenda_for: AgendaFor | None = None,
    ) -> None:
        """``step_count``: how many action steps a held session has (metadata, admins see it
        too), answered by the action steps' repository. ``agenda_for``: the agenda of a session
        scheduled without one, answered by the program's session guide (none without it)."""
        self.sessions = sessions
        self.feeds = feeds
        self.membership = membership
        self.clock = clock
        self.step_count = step_count
        self.agenda_for = agenda_for

    async def load(self, session_id: str) -> Session:
        session = await self.sessions.get(session_id)
        if session is None:
            raise NotFound(f"no session {session_id!r}")
        return session

    async def schedule(
        self, group_id: str, request: ScheduleRequest, principal: Principal, key: str | None
    ) -> Session:
        group = await self.membership.member_group(group_id, principal)
        payload = request.model_dump(mode="json")
        session_id = new_resource_id(f"session:{group_id}", principal.employee_id, key)
        ends_at = request.ends_at or request.starts_at + timedelta(
            minutes=request.duration_minutes or 0
        )
        plan = Plan(
            title=request.title or group.name,
            starts_at=request.starts_at,
            ends_at=ends_at,
            time_zone=request.time_zone,
            location=request.location,
            join_url=request.join_url,
            agenda=request.agenda,
        )
        request_print = fingerprint(payload) if key else None
        guide_agenda = None
        if request.agenda is None and self.agenda_for is not None:
            guide_agenda = await self.agenda_for(group.program_id)
        # The insert is the idempotency check (the key decides the id): no read before it.
        try:
            session, events = domain.schedule(
                session_id,
                group,
                principal.employee_id,
                plan,
                self.clock(),
                request_print,
                guide_agenda,
            )
        except Problem:
            # A retry may come when its plan no longer passes (its start has gone by): it is
            # still answered with what the first request created.
            if key is not None and (existing := await self.sessions.get(session_id)) is not None:
                ensure_same_request(existing.request_fingerprint, payload)
                return existing
            raise
        try:
            return await self.sessions.add(session, events)
        except AlreadyExists:
            # A retry, or the same key racing itself: answer with what the first one created.
            existing = await self.load(session_id)
            ensure_same_request(existing.request_fingerprint, payload)
            return existing

    async def visible(
        self, session_id: str, principal: Principal
    ) -> tuple[Session, bool, list[str] | None, int | None]:
        """The session, whether the caller is a member, who attended and how many action steps
        (the last two once held)."""
        found = await self.sessions.with_attendance(session_id)
        if found is None:
            raise NotFound(f"no session {session_id!r}")
        session, attendees = found
        group, member = await self.membership.group_for_metadata(session.group_id, principal)
        member = member and domain.content_visible(session, group, principal.employee_id)
        steps = await self.step_count(session_id) if attendees is not None else None
        return session, member, attendees, steps

    async def of_group(
        self, group_id: str, principal: Principal, page: PageRequest
    ) -> tuple[list[tuple[Session, bool]], str | None]:
        """A page of the group's sessions, each with whether the caller sees its content (a
        member who was in the group when it was held) or its metadata only (admins, and
        members who joined after it)."""
        group, member = await self.membership.group_for_metadata(group_id, principal)
        sessions, cursor = await self.sessions.page_of_group(group_id, page)
        shown = [
            (s, member and domain.content_visible(s, group, principal.employee_id))
            for s in sessions
        ]
        return shown, cursor

    async def reschedule(
        self, session_id: str, request: RescheduleRequest, principal: Principal, version: int
    ) -> Session:
        session = await self.load(session_id)
        group = await self.membership.member_group(session.group_id, principal)
        if session.version != version:
            raise stale_write(session.version)
        given = request.model_dump(exclude_unset=True)
        starts_at = request.starts_at or session.starts_at
        if request.ends_at is not None:
            ends_at = request.ends_at
        elif request.duration_minutes is not None:
            ends_at = starts_at + timedelta(minutes=request.duration_minutes)
        else:
            ends_at = starts_at + (session.ends_at - session.starts_at)
        plan = session.plan().model_copy(
            update={
                **{k: v for k, v in given.items() if k in Plan.model_fields},
                "starts_at": starts_at,
                "ends_at": ends_at,
            }
        )
        moved, events = domain.reschedule(session, group, principal.employee_id, plan, self.clock())
        # No read back for the answer: the write was conditional on the version we changed.
        saved = await self.sessions.save(session, moved, events)
        if saved is None:
            raise stale_write((await self.load(session_id)).version)
        return saved

    async def cancel(
        self, session_id: str, note: str | None, principal: Principal, version: int | None
    ) -> Session:
        """Cancelled by a member: on the version their If-Match names (412 when stale), or
        without one on the session as it stands (decided again if it changes meanwhile)."""
        session = await self.load(session_id)
        await self.membership.member_group(session.group_id, principal)
        if version is not None and version != session.version:
            raise stale_write(session.version)
        now = self.clock()

        def decide(current: Session) -> Decision:
            if version is not None and current.version != version:
                raise stale_write(current.version)
            return domain.cancel(
                current, SessionCancelReason.MEMBER, principal.employee_id, note, now
            )

        cancelled = await self._save(session, decide)
        assert cancelled is not None  # decide always changes the session (or raises)
        return cancelled

    async def cancel_upcoming_of_dissolved_group(self, group_id: str) -> int:
        """A dissolved group no longer meets: its future sessions are cancelled (idempotent)."""
        now = self.clock()

        def decide(session: Session) -> Decision | None:
            if session.status is not SessionStatus.SCHEDULED or session.starts_at <= now:
                return None  # cancelled, held or begun meanwhile: nothing to do
            return domain.cancel(session, SessionCancelReason.GROUP_DISSOLVED, None, None, now)

        return await self._save_each(await self.sessions.upcoming_of_group(group_id, now), decide)

    async def reinvite_upcoming(self, group_id: str) -> int:
        """The group's future sessions invite its current members (idempotent, order-tolerant:
        the invitees are recomputed from the version-guarded copy, never from the event)."""
        group = await self.membership.groups.get(group_id)
        if group is None:
            return 0
        now = self.clock()
        upcoming = await self.sessions.upcoming_of_group(group_id, now)
        return await self._save_each(upcoming, lambda s: domain.reinvite(s, group, now))

    async def erase_words(self, employee_id: str) -> int:
        """Erasure: what the person wrote on any session leaves it (repeatable)."""
        now = self.clock()
        sessions = await self.sessions.with_words_of(employee_id)
        return await self._save_each(sessions, lambda s: domain.erase_words(s, employee_id, now))

    async def _save_each(
        self, sessions: list[Session], decide: Callable[[Session], Decision | None]
    ) -> int:
        """``_save`` for each session; how many changed. A session that keeps changing raises
        ``StillStale`` (the event is redelivered; what was saved before stays, and is not
        changed again, as each decision is repeatable)."""
        return sum([await self._save(session, decide) is not None for session in sessions])

    async def _save(
        self, session: Session, decide: Callable[[Session], Decision | None]
    ) -> Session | None:
        """The change ``decide`` makes to the session, saved with its events; decided again on
        a fresh read when someone else changed the session first, until ``until_saved`` gives
        up (``StillStale``: nothing of this change written). The session as saved, or None when
        ``decide`` finds nothing to change."""
        unread = [session]  # the first attempt decides on what the caller read

        async def attempt() -> Saved | None:
            current = unread.pop() if unread else await self.load(session.id)
            decision = decide(current)
            if decision is None:
                return Saved(None)
            changed, events = decision
            saved = await self.sessions.save(current, changed, events)
            return None if saved is None else Saved(saved)

        return (await until_saved(attempt, what=f"session {session.id}")).session

    # --- calendars ------------------------------------------------------------------------------

    async def ics(self, session_id: str, principal: Principal) -> bytes:
        session = await self.load(session_id)
        group = await self.membership.member_group(session.group_id, principal)
        if not domain.content_visible(session, group, principal.employee_id):
            raise Forbidden("this session was held before you joined the group")
        return ics.calendar([session], self.clock())

    async def new_feed(self, principal: Principal) -> str:
        token = secrets.token_urlsafe(32)
        await self.feeds.replace(principal.employee_id, token, self.clock())
        return token

    async def revoke_feed(self, employee_id: str) -> bool:
        return await self.feeds.revoke(employee_id)

    async def feed(self, token: str) -> bytes:
        employee_id = await self.feeds.owner_of(token)
        if employee_id is None:
            raise NotFound("no calendar feed at this address (it may have been revoked)")
        groups = await self.membership.groups.groups_of(employee_id)
        now = self.clock()
        sessions = await self.sessions.of_groups([g.group_id for g in groups], now - FEED_PAST)
        # Not the place and link of sessions held before the person joined their group.
        of = {g.group_id: g for g in groups}
        sessions = [s for s in sessions if domain.content_visible(s, of[s.group_id], employee_id)]
        return ics.calendar(sessions, now, name="Roundtable sessions")
