"""Group handlers: admins move and unmatch members (same checks as matching); withdrawals."""

from __future__ import annotations

import structlog

from enrollment.directory.domain import ERASED_NAME
from enrollment.groups import domain
from enrollment.groups.domain import GroupStatus, PeerGroup, Refill, RefillStatus
from enrollment.groups.repository import GroupRepository
from enrollment.matching import domain as matching
from enrollment.matching.service import MatchingService, rules_of
from enrollment.participants.domain import Participant, ParticipantStatus
from enrollment.participants.repository import ParticipantRepository
from enrollment.participants.service import change_participant
from roundtable_shared.clock import Clock, utc_now
from roundtable_shared.events.catalogue.enrollment import (
    GroupChangeReason,
    GroupMember,
    WithdrawReason,
)
from roundtable_shared.events.envelope import EventData
from roundtable_shared.faults import crash_point
from roundtable_shared.http.problems import Conflict, NotFound
from roundtable_shared.storage.retry import StillStale, until_saved

log = structlog.get_logger(__name__)

REFILL_PROPOSALS = 5


class GroupService:
    def __init__(
        self,
        groups: GroupRepository,
        participants: ParticipantRepository,
        matching_service: MatchingService,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.clock = clock
        self.groups = groups
        self.participants = participants
        self.matching = matching_service

    async def get(self, group_id: str) -> tuple[PeerGroup, int]:
        loaded = await self.groups.load(group_id)
        if loaded is None:
            raise NotFound(f"no group {group_id}")
        return loaded

    async def _participant(self, participant_id: str) -> tuple[Participant, int]:
        loaded = await self.participants.load(participant_id)
        if loaded is None:
            raise NotFound(f"no participant {participant_id}")
        return loaded[0], loaded[1]

    async def remove_member(
        self, group_id: str, participant_id: str, reason: GroupChangeReason
    ) -> tuple[PeerGroup, int]:
        async def attempt() -> tuple[PeerGroup, int, list[GroupMember]] | None:
            group, version = await self.get(group_id)
            if group.member(participant_id) is None:
                raise NotFound(f"{participant_id} is not a member of {group_id}")
            program = await self.matching.program(group.program_id)
            rules = rules_of(program)
            wanted = domain.pending_refill_size(group) + 1  # the earlier proposal's, and this one
            now = self.clock()
            events, released = domain.remove(group, participant_id, reason, rules.min_size, now)
            if group.status is GroupStatus.ACTIVE:
                group.refill_candidates, joining = await self._refill(group, wanted)
                group.refill = domain.propose_refill(group, joining, now)
            saved = await self.groups.save(group, version, events)
            return None if saved is None else (group, saved, released)

        group, saved, released = await until_saved(attempt, what="the group")
        for left in [participant_id, *(m.participant_id for m in released)]:
            await self._clear_group(left, group_id)
        return group, saved

    async def _clear_group(self, participant_id: str, group_id: str) -> None:
        def clear(participant: Participant, _: int) -> list[EventData] | None:
            if participant.group_id != group_id:
                return None
            participant.group_id = None
            return []

        await change_participant(self.participants, participant_id, clear)

    async def _refill(self, group: PeerGroup, wanted: int) -> tuple[list[str], list[str]]:
        """Unassigned participants who would fit the group, best first, and the ones proposed
        to join: up to ``wanted``, each fitting with the members and the others proposed."""
        program = await self.matching.program(group.program_id)
        rules = rules_of(program)
        if len(group.members) >= rules.max_size:
            return [], []
        members = await self._candidates_of(group)
        free = await self.matching.unassigned(group.program_id)
        pool = await self.matching.candidates(program, [p for p, _ in free])
        fitting = [c for c in pool if not _breaks(c, members, rules)]
        fitting.sort(
            key=lambda c: (
                -sum(matching.pair_score(c, m, rules) for m in members),
                c.participant_id,
            )
        )
        joining: list[matching.Candidate] = []
        for candidate in fitting:
            if len(joining) >= wanted:
                break
            if not _breaks(candidate, [*members, *joining], rules):
                joining.append(candidate)
        return [c.participant_id for c in fitting[:REFILL_PROPOSALS]], [
            c.participant_id for c in joining
        ]

    async def accept_refill(self, group_id: str, refill_id: str, by: str) -> tuple[PeerGroup, int]:
        """Put the proposed people into the group, with the checks of a move.

        Accepting an accepted proposal again answers the group as it is (a retry is safe);
        a declined one, or one made before the group changed, is a 409."""
        group, version = await self.get(group_id)
        refill = self._refill_of(group, refill_id)
        if refill.status is RefillStatus.ACCEPTED:
            return group, version
        if refill.status is RefillStatus.DECLINED:
            raise Conflict("the proposal was declined")
        if domain.refill_is_stale(group, refill):
            raise Conflict("the group changed since this proposal; unmatch or move instead")
        program = await self.matching.program(group.program_id)
        rules = rules_of(program)
        people = []
        for pid in refill.participant_ids:
            participant, _ = await self._participant(pid)
            if (
                participant.program_id != group.program_id
                or participant.status is not ParticipantStatus.ENROLLED
                or participant.group_id is not None
            ):
                raise Conflict(
                    "a proposed participant is no longer free to join; the proposal is stale",
                    participant_id=pid,
                )
            people.append(participant)
        domain.forbid_self_placement(by, [p.employee_id for p in people])
        joining = await self.matching.candidates(program, people)
        broken = matching.violations([*await self._candidates_of(group), *joining], rules)
        if broken:
            raise Conflict(
                "the proposal breaks the program's rules: " + "; ".join(broken), violations=broken
            )
        members = [
            GroupMember(
                employee_id=c.employee_id,
                participant_id=c.participant_id,
                display_name=c.display_name,
            )
            for c in joining
        ]
        events = domain.accept_refill(group, members, self.clock())
        saved = await self.groups.save(group, version, events)
        if saved is None:
            raise Conflict("the group changed meanwhile; look at it again")
        for member in members:
            await self._set_group(member.participant_id, group_id)
        return group, saved

    async def decline_refill(self, group_id: str, refill_id: str) -> tuple[PeerGroup, int]:
        """Drop the proposal; declining twice is harmless, an accepted one is a 409."""
        group, version = await self.get(group_id)
        refill = self._refill_of(group, refill_id)
        if refill.status is RefillStatus.DECLINED:
            return group, version
        if refill.status is RefillStatus.ACCEPTED:
            raise Conflict("the proposal was accepted already")
        domain.decline_refill(group, self.clock())
        saved = await self.groups.save(group, version, [])
        if saved is None:
            raise Conflict("the group changed meanwhile; look at it again")
        return group, saved

    @staticmethod
    def _refill_of(group: PeerGroup, refill_id: str) -> Refill:
        if group.refill is None or group.refill.refill_id != refill_id:
            raise NotFound(f"no refill proposal {refill_id} for group {group.group_id}")
        return group.refill

    async def _set_group(self, participant_id: str, group_id: str) -> None:
        def place(participant: Participant, _: int) -> list[EventData] | None:
            if participant.group_id == group_id:
                return None
            participant.group_id = group_id
            return []

        if await change_participant(self.participants, participant_id, place) is None:
            raise NotFound(f"no participant {participant_id}")

    async def _candidates_of(self, group: PeerGroup) -> list[matching.Candidate]:
        program = await self.matching.program(group.program_id)
        people = []
        for member in group.members:
            loaded = await self.participants.load(member.participant_id)
            if loaded:
                people.append(loaded[0])
        return await self.matching.candidates(program, people)

    async def move(self, group_id: str, participant_id: str, by: str) -> tuple[PeerGroup, int]:
        """Add an enrolled participant to a group (taking them out of their current one)."""
        group, _ = await self.get(group_id)
        if group.status is not GroupStatus.ACTIVE:
            raise Conflict("the group is dissolved")
        participant, _ = await self._participant(participant_id)
        domain.forbid_self_placement(by, [participant.employee_id])
        if participant.program_id != group.program_id:
            raise Conflict("the participant is in another program")
        if participant.status is not ParticipantStatus.ENROLLED:
            raise Conflict(f"the participant is {participant.status.value}")
        if group.member(participant_id):
            raise Conflict("already a member of this group")
        program = await self.matching.program(group.program_id)
        rules = rules_of(program)
        (candidate,) = await self.matching.candidates(program, [participant])
        members = await self._candidates_of(group)
        broken = _breaks(candidate, members, rules)
        if broken:
            raise Conflict(
                "the move breaks the program's rules: " + "; ".join(broken), violations=broken
            )
        if participant.group_id:
            await self.remove_member(participant.group_id, participant_id, GroupChangeReason.ADMIN)
        member = GroupMember(
            employee_id=candidate.employee_id,
            participant_id=participant_id,
            display_name=candidate.display_name,
        )

        async def attempt() -> tuple[PeerGroup, int] | None:
            group, version = await self.get(group_id)
            events = domain.add(group, member, GroupChangeReason.ADMIN, self.clock())
            saved = await self.groups.save(group, version, events)
            return None if saved is None else (group, saved)

        group, saved = await until_saved(attempt, what="the group")
        await self._set_group(participant_id, group_id)
        return group, saved

    async def swap(
        self, group_id: str, participant_id: str, other_id: str, by: str
    ) -> tuple[PeerGroup, int]:
        """Exchange a member of this group with a member of another group of the program.

        The change spans four documents (two groups, then two enrolments). A swap a crash
        interrupted is finished by the same request made again: the admin's retry."""
        group, version = await self.get(group_id)
        other, _ = await self._participant(other_id)
        moving, _ = await self._participant(participant_id)
        # Both move: neither may be the admin's own enrolment.
        domain.forbid_self_placement(by, [moving.employee_id, other.employee_id])
        if group.member(participant_id) is None:
            if group.member(other_id) is not None and other.group_id not in (None, group_id):
                return await self._finish_swap(group, version, participant_id, other)
            raise NotFound(f"{participant_id} is not a member of {group_id}")
        if other.group_id is None or other.group_id == group_id:
            raise Conflict("swap with a member of another group")
        other_group, other_version = await self.get(other.group_id)
        if other_group.program_id != group.program_id:
            raise Conflict("the groups are in different programs")
        program = await self.matching.program(group.program_id)
        rules = rules_of(program)
        mine = await self._candidates_of(group)
        theirs = await self._candidates_of(other_group)
        me = next(c for c in mine if c.participant_id == participant_id)
        them = next(c for c in theirs if c.participant_id == other_id)
        broken = matching.violations(
            [*(c for c in mine if c is not me), them], rules
        ) + matching.violations([*(c for c in theirs if c is not them), me], rules)
        if broken:
            raise Conflict(
                "the swap breaks the program's rules: " + "; ".join(broken), violations=broken
            )
        now = self.clock()
        member_me, member_them = group.member(participant_id), other_group.member(other_id)
        assert member_me is not None and member_them is not None
        events = domain.replace(group, participant_id, member_them, GroupChangeReason.ADMIN, now)
        saved = await self.groups.save(group, version, events)
        if saved is None:
            raise Conflict("the group changed meanwhile; retry")
        crash_point("enrollment.swap.first_group_saved")
        events = domain.replace(other_group, other_id, member_me, GroupChangeReason.ADMIN, now)
        if await self.groups.save(other_group, other_version, events) is None:
            # The first half is saved: undo it, so the other member is not left in two groups.
            # The swap was checked against the other group as it was read; the admin retries
            # it against the group as it is now.
            await self._swap_back(group_id, other_id, member_me)
            raise Conflict("the other group changed meanwhile; nothing was swapped, retry")
        await self._set_group(participant_id, other_group.group_id)
        await self._set_group(other_id, group_id)
        return group, saved

    async def _finish_swap(
        self, group: PeerGroup, version: int, participant_id: str, other: Participant
    ) -> tuple[PeerGroup, int]:
        """The rest of a swap whose first group was saved (it lists ``other`` in place of
        ``participant_id``, and ``other``'s enrolment still names the other group)."""
        assert other.group_id is not None
        me, _ = await self._participant(participant_id)
        if me.program_id != group.program_id or me.group_id not in (group.group_id, other.group_id):
            # not the member this group's half of a swap took out: nothing to finish
            raise NotFound(f"{participant_id} is not a member of {group.group_id}")
        other_group_id = other.group_id

        async def attempt() -> bool | None:
            other_group, other_version = await self.get(other_group_id)
            if other_group.member(participant_id) is not None:
                if other_group.member(other.participant_id) is not None:
                    # a member of the other group all along, not the one this swap took out
                    raise NotFound(f"{participant_id} is not a member of {group.group_id}")
                return True  # the second group was saved too
            if other_group.member(other.participant_id) is None:
                raise Conflict("the other member has left their group since; nothing to finish")
            program = await self.matching.program(group.program_id)
            (candidate,) = await self.matching.candidates(program, [me])
            member_me = GroupMember(
                employee_id=candidate.employee_id,
                participant_id=participant_id,
                display_name=candidate.display_name,
            )
            events = domain.replace(
                other_group, other.participant_id, member_me, GroupChangeReason.ADMIN, self.clock()
            )
            saved = await self.groups.save(other_group, other_version, events)
            return None if saved is None else True

        await until_saved(attempt, what="the group")
        await self._set_group(participant_id, other.group_id)
        await self._set_group(other.participant_id, group.group_id)
        return group, version

    async def _swap_back(self, group_id: str, other_id: str, member_me: GroupMember) -> None:
        """Put ``member_me`` back in the place the first half of a swap gave ``other_id``."""

        async def attempt() -> bool | None:
            group, version = await self.get(group_id)
            events = domain.replace(
                group, other_id, member_me, GroupChangeReason.ADMIN, self.clock()
            )
            if not events:
                return True
            return None if await self.groups.save(group, version, events) is None else True

        try:
            await until_saved(attempt, what="the group")
        except StillStale:
            log.error("swap: the first group could not be put back", group_id=group_id)

    async def forget_member_name(self, employee_id: str) -> None:
        """An erased employee's name leaves every group still listing them (a group dissolved
        with them in it keeps its members, so its size stays right). No event: the groups'
        consumers learn of the erasure from ``employee.erased``. Repeating it writes nothing."""
        for group, version in await self.groups.naming(employee_id):
            loaded: tuple[PeerGroup, int] | None = (group, version)

            async def attempt(group_id: str = group.group_id) -> bool | None:
                nonlocal loaded
                current, version = loaded or await self.get(group_id)
                loaded = None
                if not domain.forget_name(current, employee_id, ERASED_NAME):
                    return True
                return None if await self.groups.save(current, version, []) is None else True

            await until_saved(attempt, what="the group")

    async def on_participant_left(self, participant: Participant, reason: WithdrawReason) -> None:
        if participant.group_id is None:
            return
        why = (
            GroupChangeReason.MEMBER_ERASED
            if reason is WithdrawReason.ERASED
            else GroupChangeReason.MEMBER_WITHDRAWN
        )
        try:
            await self.remove_member(participant.group_id, participant.participant_id, why)
        except NotFound:
            return  # already out of it


def _breaks(
    candidate: matching.Candidate, members: list[matching.Candidate], rules: matching.Rules
) -> list[str]:
    """Hard constraints a group with ``candidate`` added would break (its size only upwards)."""
    broken = [
        v
        for v in matching.check_move(candidate, members, rules)
        if not v.endswith(f"outside {rules.min_size}-{rules.largest}")
    ]
    if len(members) + 1 > rules.largest:
        broken.append(f"the group is full ({rules.largest})")
    return broken
