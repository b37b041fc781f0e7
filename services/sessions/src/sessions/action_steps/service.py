"""Action-step handlers: commit, edit, progress, complete, drop, comment, list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

from roundtable_shared.auth.tokens import Principal
from roundtable_shared.clock import Clock
from roundtable_shared.events.catalogue.sessions import ActionDropReason
from roundtable_shared.events.envelope import EventData
from roundtable_shared.http.concurrency import stale_write
from roundtable_shared.http.idempotency import ensure_same_request, fingerprint, new_resource_id
from roundtable_shared.http.pagination import PageRequest
from roundtable_shared.http.problems import Forbidden, NotFound
from roundtable_shared.storage.aggregates import AlreadyExists
from roundtable_shared.storage.retry import until_saved
from sessions.action_steps import domain
from sessions.action_steps.domain import ActionStatus, ActionStep, HeldSession
from sessions.action_steps.repository import ActionStepRepository
from sessions.action_steps.schemas import CommitRequest, EditRequest, ProgressRequest
from sessions.membership.service import MembershipService

Decision = tuple[ActionStep, list[EventData]]
"""An action step as a change leaves it, and the events the change raises."""


class Role(StrEnum):
    OWNER = "owner"
    PARTNER = "partner"


class ActionStepService:
    def __init__(
        self,
        steps: ActionStepRepository,
        membership: MembershipService,
        clock: Clock,
    ) -> None:
        self.steps = steps
        self.membership = membership
        self.clock = clock

    async def _session(self, session_id: str) -> HeldSession:
        session = await self.steps.held_session(session_id)
        if session is None:
            raise NotFound(f"no session {session_id!r}")
        return session

    async def load(self, action_id: str) -> ActionStep:
        step = await self.steps.get(action_id)
        if step is None:
            raise NotFound(f"no action step {action_id!r}")
        return step

    async def visible(self, action_id: str, principal: Principal) -> ActionStep:
        """Its owner, its partner and the members who were there see a step; nobody else does
        (admins count them)."""
        step = await self.load(action_id)
        group = await self.membership.member_group(step.group_id, principal)
        domain.require_visible(
            step, await self._session(step.session_id), group, principal.employee_id
        )
        return step

    async def commit(
        self, session_id: str, request: CommitRequest, principal: Principal, key: str | None
    ) -> ActionStep:
        session = await self._session(session_id)
        group = await self.membership.member_group(session.group_id, principal)
        owner_id = request.owner_id or principal.employee_id
        payload = request.model_dump(mode="json")
        action_id = new_resource_id(f"action:{session_id}", principal.employee_id, key)
        if key is not None:
            existing = await self.steps.get(action_id)
            if existing is not None:
                ensure_same_request(existing.request_fingerprint, payload)
                return existing
        step, events = domain.commit(
            action_id,
            session,
            group,
            principal.employee_id,
            owner_id=owner_id,
            partner_id=request.accountability_partner_id,
            title=request.title,
            description=request.description,
            due_on=request.due_on,
            due_by=request.due_by,
            owner_time_zone=await self.membership.employees.time_zone(owner_id),
            now=self.clock(),
            fingerprint=fingerprint(payload) if key else None,
        )
        try:
            return await self.steps.add(step, events)
        except AlreadyExists:
            existing = await self.load(action_id)
            ensure_same_request(existing.request_fingerprint, payload)
            return existing

    async def _change(
        self,
        action_id: str,
        principal: Principal,
        version: int | None,
        decide: Callable[[ActionStep], Awaitable[Decision]],
    ) -> ActionStep:
        """The change ``decide`` makes to a step the caller sees, saved with its events: on the
        version their If-Match names (412 when stale), or without one on the step as it stands,
        decided again on a fresh read when someone else changed it first (``until_saved``:
        ``StillStale``, a 409, when it keeps changing; nothing of this change is written)."""

        async def attempt() -> ActionStep | None:
            step = await self.visible(action_id, principal)
            expected = step.version if version is None else version
            if step.version != expected:
                raise stale_write(step.version)
            changed, events = await decide(step)
            if changed == step:
                return step  # nothing to write
            saved = await self.steps.save(step, changed, events)
            if saved is None and version is not None:
                raise stale_write((await self.load(step.id)).version)
            return saved

        return await until_saved(attempt, what=f"action step {action_id}")

    async def edit(
        self, action_id: str, request: EditRequest, principal: Principal, version: int
    ) -> ActionStep:
        fields = request.model_dump(exclude_unset=True)

        async def decide(step: ActionStep) -> Decision:
            session = await self._session(step.session_id)
            group = await self.membership.group(step.group_id)
            return domain.edit(step, session, group, principal.employee_id, fields, self.clock())

        return await self._change(action_id, principal, version, decide)

    async def progress(
        self, action_id: str, request: ProgressRequest, principal: Principal, version: int | None
    ) -> ActionStep:
        async def decide(step: ActionStep) -> Decision:
            reported = domain.report_progress(
                step, principal.employee_id, request.progress, request.note, self.clock()
            )
            return reported, []

        return await self._change(action_id, principal, version, decide)

    async def complete(
        self, action_id: str, principal: Principal, version: int | None
    ) -> ActionStep:
        async def decide(step: ActionStep) -> Decision:
            return domain.complete(step, principal.employee_id, self.clock())

        return await self._change(action_id, principal, version, decide)

    async def drop(
        self, action_id: str, note: str, principal: Principal, version: int | None
    ) -> ActionStep:
        async def decide(step: ActionStep) -> Decision:
            if principal.employee_id != step.owner_id:
                raise Forbidden("only the owner of an action step drops it")
            return domain.drop(step, ActionDropReason.OWNER, note, self.clock())

        return await self._change(action_id, principal, version, decide)

    async def comment(self, action_id: str, text: str, principal: Principal) -> ActionStep:
        async def decide(step: ActionStep) -> Decision:
            return domain.comment(step, principal.employee_id, text, self.clock()), []

        return await self._change(action_id, principal, None, decide)

    async def of_session(self, session_id: str, principal: Principal) -> list[ActionStep]:
        session = await self._session(session_id)
        group = await self.membership.member_group(session.group_id, principal)
        steps = await self.steps.of_session(session_id)
        return [s for s in steps if domain.may_see(s, session, group, principal.employee_id)]

    async def mine(
        self,
        principal: Principal,
        role: Role,
        status: ActionStatus | None,
        overdue: bool,
        page: PageRequest,
    ) -> tuple[list[ActionStep], str | None]:
        field = "owner_id" if role is Role.OWNER else "accountability_partner_id"
        return await self.steps.listing(
            field=field,
            employee_id=principal.employee_id,
            status=status,
            overdue_at=self.clock() if overdue else None,
            page=page,
        )

    # --- from enrollment's events -----------------------------------------------------------

    async def drop_all(self, steps: list[ActionStep], reason: ActionDropReason) -> None:
        for step in steps:

            def decide(current: ActionStep) -> Decision | None:
                if current.status is not ActionStatus.OPEN:
                    return None  # completed or dropped meanwhile: nothing to do
                return domain.drop(current, reason, None, self.clock())

            await self._save(step, decide)

    async def owner_withdrew(self, owner_id: str, group_id: str) -> None:
        steps = await self.steps.open_of_owner_in_group(owner_id, group_id)
        await self.drop_all(steps, ActionDropReason.OWNER_WITHDRAWN)

    async def erase(self, employee_id: str) -> None:
        for step in await self.steps.touching(employee_id):
            if step.owner_id == employee_id:
                await self.drop_all([step], ActionDropReason.OWNER_ERASED)
                step = await self.load(step.id)

            def decide(current: ActionStep) -> Decision | None:
                scrubbed = domain.scrubbed(current, employee_id)
                return None if scrubbed is None else (scrubbed, [])

            await self._save(step, decide)

    async def _save(
        self, step: ActionStep, decide: Callable[[ActionStep], Decision | None]
    ) -> bool:
        """The change ``decide`` makes to the step (for enrollment's events), saved; decided
        again on a fresh read when the step changed meanwhile, until ``until_saved`` gives up
        (``StillStale``: the event is redelivered). Whether anything changed."""
        unread = [step]  # the first attempt decides on what the caller read

        async def attempt() -> bool | None:
            current = unread.pop() if unread else await self.load(step.id)
            decision = decide(current)
            if decision is None:
                return False
            changed, events = decision
            saved = await self.steps.save(current, changed, events)
            return None if saved is None else True

        return await until_saved(attempt, what=f"action step {step.id}")
