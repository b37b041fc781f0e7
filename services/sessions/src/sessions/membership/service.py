"""Membership: keeping the copies current, and answering "may this person act on this group?"."""

from __future__ import annotations

from roundtable_shared.auth.tokens import Principal, Role
from roundtable_shared.events.catalogue.enrollment import (
    EmployeeUpserted,
    GroupChanged,
    GroupDissolved,
    GroupFormed,
    ParticipantWithdrawn,
)
from roundtable_shared.http.problems import Forbidden, NotFound
from sessions.membership.domain import Group, MembershipChange
from sessions.membership.repository import EmployeeRepository, GroupRepository


class MembershipService:
    def __init__(self, groups: GroupRepository, employees: EmployeeRepository) -> None:
        self.groups = groups
        self.employees = employees

    # --- copies from enrollment's events -------------------------------------------------------

    async def group_formed(self, version: int, data: GroupFormed | GroupChanged) -> bool:
        if isinstance(data, GroupFormed):
            at, added, removed = data.formed_at, [m.employee_id for m in data.members], []
        else:
            at, added, removed = data.changed_at, data.added_employee_ids, data.removed_employee_ids
        member_ids = [m.employee_id for m in data.members]
        # First the change in the membership log, unguarded (a late older version still tells
        # who was in the group when) and idempotent (one entry per version); it makes the copy's
        # document if there was none.
        await self.groups.store_membership(
            data.group_id,
            MembershipChange(
                version=version,
                at=at,
                member_ids=frozenset(member_ids),
                added_ids=frozenset(added),
                removed_ids=frozenset(removed),
            ),
        )
        # Then an erasure that came first: before the copy lists the person, so no reader of the
        # new copy ever takes an erased person for a member.
        for employee_id in await self.employees.erased_among(member_ids):
            await self.groups.store_erasure(data.group_id, employee_id)
        # Last the copy, version-guarded. A crash in between is healed by the redelivery.
        return await self.groups.store_members(
            data.group_id, version, program_id=data.program_id, name=data.name, members=data.members
        )

    async def employee_erased(self, employee_id: str, version: int) -> list[str]:
        """Erased from the copies; the ids of the groups the person was in."""
        await self.employees.store_erased(employee_id, version)
        return await self.groups.pseudonymise(employee_id)

    async def group_dissolved(self, version: int, data: GroupDissolved) -> bool:
        return await self.groups.store_dissolved(data.group_id, version, program_id=data.program_id)

    async def participant_withdrawn(self, data: ParticipantWithdrawn) -> None:
        if data.group_id is not None:
            await self.groups.store_withdrawal(data.group_id, data.participant_id)

    async def employee_upserted(self, version: int, data: EmployeeUpserted) -> None:
        await self.employees.store(
            data.employee_id, version, display_name=data.display_name, time_zone=data.time_zone
        )

    # --- access -------------------------------------------------------------------------------

    async def group(self, group_id: str) -> Group:
        group = await self.groups.get(group_id)
        if group is None:
            raise NotFound(f"no peer group {group_id!r}")
        return group

    async def member_group(self, group_id: str, principal: Principal) -> Group:
        """The group, when the caller is one of its current members; 403 otherwise."""
        group = await self.group(group_id)
        group.require_member(principal.employee_id)
        return group

    async def group_for_metadata(self, group_id: str, principal: Principal) -> tuple[Group, bool]:
        """The group and whether the caller is a member; program admins see metadata only."""
        group = await self.group(group_id)
        if group.is_member(principal.employee_id):
            return group, True
        if principal.has_role(Role.PROGRAM_ADMIN):
            return group, False
        raise Forbidden("only members of this peer group (or program admins) may see this")
