"""Who belongs to which peer group: the copy of enrollment's groups that decides who may do what."""

from __future__ import annotations

from dataclasses import dataclass, field

from roundtable_shared.http.problems import Conflict, Forbidden


@dataclass(frozen=True)
class Member:
    employee_id: str
    participant_id: str
    display_name: str | None


@dataclass(frozen=True)
class Group:
    group_id: str
    program_id: str
    name: str
    members: tuple[Member, ...] = ()
    withdrawn_participants: frozenset[str] = field(default_factory=frozenset)
    erased_employees: frozenset[str] = field(default_factory=frozenset)
    dissolved: bool = False

    @property
    def member_ids(self) -> list[str]:
        """Current members: a withdrawn enrolment or an erased person no longer counts, whatever
        a late copy says."""
        return [
            m.employee_id
            for m in self.members
            if m.participant_id not in self.withdrawn_participants
            and m.employee_id not in self.erased_employees
        ]

    def is_member(self, employee_id: str) -> bool:
        return employee_id in self.member_ids

    def require_member(self, employee_id: str) -> None:
        if not self.is_member(employee_id):
            raise Forbidden("only members of this peer group may do this")

    def require_active(self) -> None:
        if self.dissolved:
            raise Conflict("this peer group was dissolved; it no longer meets")


def pseudonymised_members(
    members: list[dict[str, object]], employee_id: str
) -> list[dict[str, object]]:
    """The member list with an erased person's display name removed (the opaque id stays)."""
    return [
        {**m, "display_name": None} if m.get("employee_id") == employee_id else m for m in members
    ]
