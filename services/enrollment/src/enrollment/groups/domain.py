"""Peer groups (pairs and roundtables) once published: membership changes and their events. Pure."""

from __future__ import annotations

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


class GroupStatus(StrEnum):
    ACTIVE = "active"
    DISSOLVED = "dissolved"


class PeerGroup(BaseModel):
    group_id: str
    program_id: str
    name: str
    members: list[GroupMember]
    status: GroupStatus = GroupStatus.ACTIVE
    explanation: dict[str, Any]
    formed_at: datetime
    refill_candidates: list[str] = []
    """Participant ids proposed to refill the group after a member left (admins decide)."""

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
    return [
        GroupChanged(
            group_id=group.group_id,
            program_id=group.program_id,
            name=group.name,
            members=group.members,
            removed_employee_ids=[leaving.employee_id],
            reason=reason,
            changed_at=at,
        )
    ], []


def add(
    group: PeerGroup, member: GroupMember, reason: GroupChangeReason, at: datetime
) -> list[EventData]:
    group.members = [*group.members, member]
    group.refill_candidates = [p for p in group.refill_candidates if p != member.participant_id]
    return [
        GroupChanged(
            group_id=group.group_id,
            program_id=group.program_id,
            name=group.name,
            members=group.members,
            added_employee_ids=[member.employee_id],
            reason=reason,
            changed_at=at,
        )
    ]


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
    return [
        GroupChanged(
            group_id=group.group_id,
            program_id=group.program_id,
            name=group.name,
            members=group.members,
            added_employee_ids=[joining.employee_id],
            removed_employee_ids=[leaving.employee_id],
            reason=reason,
            changed_at=at,
        )
    ]
