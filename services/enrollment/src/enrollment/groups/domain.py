"""Peer groups (pairs and roundtables) once published: membership changes and their events. Pure."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from roundtable_shared.events.catalogue.enrollment import (
    DissolveReason,
    GroupChanged,
    GroupChangeReason,
    GroupDissolved,
    GroupFormed,
    GroupMember,
)
from roundtable_shared.events.envelope import EventData
from roundtable_shared.http.problems import Forbidden


def forbid_self_placement(admin_employee_id: str, placed_employee_ids: list[str]) -> None:
    """A program admin never places themselves into a group by an admin action.

    Membership opens a group's conversations; an admin's power to move people must not be a way
    to read them. An admin who takes part enrols like everyone and is matched (or another admin
    places them: two people, not one)."""
    if admin_employee_id in placed_employee_ids:
        raise Forbidden(
            "a program admin cannot place their own enrolment into a group; enrol and be "
            "matched, or ask another admin"
        )


class GroupStatus(StrEnum):
    ACTIVE = "active"
    DISSOLVED = "dissolved"


class RefillStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Refill(BaseModel):
    """Who would join a group after members left: proposed by the service, decided by an admin."""

    refill_id: str
    participant_ids: list[str]
    members_at: list[str]
    """The group's participant ids when proposed: any change of membership since makes it stale."""
    status: RefillStatus = RefillStatus.PROPOSED
    proposed_at: datetime
    decided_at: datetime | None = None


class PeerGroup(BaseModel):
    group_id: str
    program_id: str
    name: str
    members: list[GroupMember]
    status: GroupStatus = GroupStatus.ACTIVE
    explanation: dict[str, Any]
    formed_at: datetime
    refill_candidates: list[str] = []
    """Participant ids that would fit the group after a member left, best first."""
    refill: Refill | None = None
    """The proposal an admin accepts or declines (the best fitting of the candidates)."""

    def member(self, participant_id: str) -> GroupMember | None:
        return next((m for m in self.members if m.participant_id == participant_id), None)


def formed(group: PeerGroup) -> GroupFormed:
    return GroupFormed(
        group_id=group.group_id,
        program_id=group.program_id,
        name=group.name,
        members=group.members,
        formed_at=group.formed_at,
    )


def remove(
    group: PeerGroup, participant_id: str, reason: GroupChangeReason, min_size: int, at: datetime
) -> tuple[list[EventData], list[GroupMember]]:
    """Take a member out; dissolve the group when too few stay. (events, members released)."""
    leaving = group.member(participant_id)
    if leaving is None or group.status is GroupStatus.DISSOLVED:
        return [], []
    group.members = [m for m in group.members if m.participant_id != participant_id]
    if len(group.members) < min_size:
        released = list(group.members)
        group.status = GroupStatus.DISSOLVED
        return [
            GroupDissolved(
                group_id=group.group_id,
                program_id=group.program_id,
                reason=DissolveReason.TOO_FEW_MEMBERS,
                dissolved_at=at,
            )
        ], released
    return [_changed(group, reason, at, removed=[leaving.employee_id])], []


def add(
    group: PeerGroup, member: GroupMember, reason: GroupChangeReason, at: datetime
) -> list[EventData]:
    group.members = [*group.members, member]
    group.refill_candidates = [p for p in group.refill_candidates if p != member.participant_id]
    return [_changed(group, reason, at, added=[member.employee_id])]


def dissolve(group: PeerGroup, reason: DissolveReason, at: datetime) -> list[EventData]:
    if group.status is GroupStatus.DISSOLVED:
        return []
    group.status = GroupStatus.DISSOLVED
    return [
        GroupDissolved(
            group_id=group.group_id, program_id=group.program_id, reason=reason, dissolved_at=at
        )
    ]


def replace(
    group: PeerGroup, leaving_id: str, joining: GroupMember, reason: GroupChangeReason, at: datetime
) -> list[EventData]:
    """One member out, another in (an admin's swap): one change, one event."""
    leaving = group.member(leaving_id)
    if leaving is None:
        return []
    group.members = [joining if m.participant_id == leaving_id else m for m in group.members]
    return [_changed(group, reason, at, added=[joining.employee_id], removed=[leaving.employee_id])]


def forget_name(group: PeerGroup, employee_id: str, placeholder: str) -> bool:
    """An erased member stays listed (the group's size stays right) under ``placeholder`` only;
    False when no name was left to replace."""
    changed = False
    for index, member in enumerate(group.members):
        if member.employee_id == employee_id and member.display_name != placeholder:
            group.members[index] = member.model_copy(update={"display_name": placeholder})
            changed = True
    return changed


def member_ids(group: PeerGroup) -> list[str]:
    return sorted(m.participant_id for m in group.members)


def propose_refill(group: PeerGroup, joining: list[str], at: datetime) -> Refill | None:
    """The proposal to put ``joining`` into the group as it is now (None: nobody to propose)."""
    if not joining or group.status is GroupStatus.DISSOLVED:
        return None
    members = member_ids(group)
    key = f"{group.group_id}|{','.join(members)}|{','.join(joining)}|{at.isoformat()}"
    return Refill(
        refill_id="ref_" + hashlib.sha256(key.encode()).hexdigest()[:16],
        participant_ids=list(joining),
        members_at=members,
        proposed_at=at,
    )


def refill_is_stale(group: PeerGroup, refill: Refill) -> bool:
    """The group changed since the proposal: it was made for other members."""
    return group.status is GroupStatus.DISSOLVED or member_ids(group) != refill.members_at


def pending_refill_size(group: PeerGroup) -> int:
    """How many the still undecided proposal wanted to add (a new one replaces it)."""
    refill = group.refill
    if refill is None or refill.status is not RefillStatus.PROPOSED:
        return 0
    return len(refill.participant_ids)


def accept_refill(group: PeerGroup, joining: list[GroupMember], at: datetime) -> list[EventData]:
    """The admin accepted the proposal: its people join, in one change and one event."""
    assert group.refill is not None
    group.members = [*group.members, *joining]
    added = {m.participant_id for m in joining}
    group.refill_candidates = [p for p in group.refill_candidates if p not in added]
    group.refill.status = RefillStatus.ACCEPTED
    group.refill.decided_at = at
    return [_changed(group, GroupChangeReason.ADMIN, at, added=[m.employee_id for m in joining])]


def decline_refill(group: PeerGroup, at: datetime) -> None:
    assert group.refill is not None
    group.refill.status = RefillStatus.DECLINED
    group.refill.decided_at = at


def _changed(
    group: PeerGroup,
    reason: GroupChangeReason,
    at: datetime,
    *,
    added: list[str] | None = None,
    removed: list[str] | None = None,
) -> GroupChanged:
    """The group as it is now, and who joined or left it."""
    return GroupChanged(
        group_id=group.group_id,
        program_id=group.program_id,
        name=group.name,
        members=group.members,
        added_employee_ids=added or [],
        removed_employee_ids=removed or [],
        reason=reason,
        changed_at=at,
    )
