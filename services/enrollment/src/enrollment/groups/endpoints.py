"""Group routes: my groups; admins list, move and unmatch members."""

from __future__ import annotations

from fastapi import APIRouter

from enrollment.groups import domain
from enrollment.groups.domain import PeerGroup, RefillStatus
from enrollment.groups.schemas import GroupView, MoveRequest, RefillView, SwapRequest
from enrollment.groups.service import GroupService
from roundtable_shared.auth import CurrentPrincipal, ProgramAdmin, Role
from roundtable_shared.events.catalogue.enrollment import GroupChangeReason
from roundtable_shared.http.problems import Forbidden


def group_view(group: PeerGroup, version: int, *, admin: bool) -> GroupView:
    refill = group.refill
    return GroupView(
        **group.model_dump(exclude={"refill_candidates", "refill"}),
        refill_candidates=group.refill_candidates if admin else None,
        refill=RefillView(
            **refill.model_dump(exclude={"members_at"}),
            stale=refill.status is RefillStatus.PROPOSED and domain.refill_is_stale(group, refill),
        )
        if admin and refill
        else None,
        version=version,
    )


def groups_router(service: GroupService) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["groups"])

    @router.get("/me/groups", summary="The peer groups I am in")
    async def my_groups(principal: CurrentPrincipal) -> list[GroupView]:
        found = await service.groups.active_of_employee(principal.employee_id)
        return [group_view(g, v, admin=False) for g, v in found]

    @router.get("/groups/{group_id}", summary="A group (its members or admins)")
    async def get_group(group_id: str, principal: CurrentPrincipal) -> GroupView:
        group, version = await service.get(group_id)
        admin = principal.has_role(Role.PROGRAM_ADMIN)
        if not admin and all(m.employee_id != principal.employee_id for m in group.members):
            raise Forbidden("you are not a member of this group")
        return group_view(group, version, admin=admin)

    @router.get("/programs/{program_id}/groups", summary="A program's groups (admins)")
    async def program_groups(program_id: str, _admin: ProgramAdmin) -> list[GroupView]:
        found = await service.groups.of_program(program_id)
        return [group_view(g, v, admin=True) for g, v in found]

    @router.post(
        "/groups/{group_id}/members",
        summary="Move a participant into this group (admins; same checks as matching)",
        description="409 with the broken rules when the move breaks a hard constraint; 403 "
        "when the participant is the admin's own enrolment (membership opens the group's "
        "conversations: an admin takes part by enrolling and being matched).",
    )
    async def move_member(group_id: str, body: MoveRequest, admin: ProgramAdmin) -> GroupView:
        group, version = await service.move(group_id, body.participant_id, admin.employee_id)
        return group_view(group, version, admin=True)

    @router.post(
        "/groups/{group_id}/swap",
        summary="Swap a member with a member of another group (admins; same checks)",
        description="409 with the broken rules when either group would break a hard "
        "constraint; 403 when either participant is the admin's own enrolment.",
    )
    async def swap_members(group_id: str, body: SwapRequest, admin: ProgramAdmin) -> GroupView:
        group, version = await service.swap(
            group_id, body.participant_id, body.with_participant_id, admin.employee_id
        )
        return group_view(group, version, admin=True)

    @router.delete(
        "/groups/{group_id}/members/{participant_id}",
        summary="Unmatch a member (admins); a group left too small is dissolved",
    )
    async def unmatch_member(group_id: str, participant_id: str, _admin: ProgramAdmin) -> GroupView:
        group, version = await service.remove_member(
            group_id, participant_id, GroupChangeReason.ADMIN
        )
        return group_view(group, version, admin=True)

    @router.post(
        "/groups/{group_id}/refills/{refill_id}/accept",
        summary="Accept the proposal to refill a group (admins; emits group.changed)",
        description="The proposed participants join with the same checks as a move (409 with "
        "the broken rules). 409 when the group changed since the proposal (stale), when a "
        "proposed participant was placed or left meanwhile, or when it was declined. Accepting "
        "an accepted proposal again answers 200 with the group and changes nothing. 403 when "
        "a proposed participant is the admin's own enrolment (another admin may accept it).",
    )
    async def accept_refill(group_id: str, refill_id: str, admin: ProgramAdmin) -> GroupView:
        group, version = await service.accept_refill(group_id, refill_id, admin.employee_id)
        return group_view(group, version, admin=True)

    @router.post(
        "/groups/{group_id}/refills/{refill_id}/decline",
        summary="Decline the proposal to refill a group (admins); the group stays as it is",
        description="Declining again answers 200; declining an accepted proposal is a 409.",
    )
    async def decline_refill(group_id: str, refill_id: str, _admin: ProgramAdmin) -> GroupView:
        group, version = await service.decline_refill(group_id, refill_id)
        return group_view(group, version, admin=True)

    return router
