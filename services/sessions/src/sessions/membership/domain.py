"""Who belongs to which peer group: the copy of enrollment's groups that decides who may do what.

Besides who is a member now, the copy keeps every membership enrollment announced (one entry per
group version), so the service can tell who was a member *when*: conversation content is for the
members who were in the group while the session was held (see ``present_during``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from roundtable_shared.http.problems import Conflict, Forbidden


@dataclass(frozen=True)
class Member:
    employee_id: str
    participant_id: str
    display_name: str | None


@dataclass(frozen=True)
class MembershipChange:
    """One membership enrollment announced (group.formed or group.changed): who was in the group
    from ``at`` on, as of the group's ``version``; who the change added and who it removed."""

    version: int
    at: datetime
    member_ids: frozenset[str]
    added_ids: frozenset[str] = frozenset()
    removed_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Period:
    """A stretch of membership: from ``start`` until ``end`` (None: still a member)."""

    start: datetime
    end: datetime | None


EARLIEST = datetime.min.replace(tzinfo=UTC)


def membership_periods(changes: Iterable[MembershipChange], employee_id: str) -> list[Period]:
    """When the person was a member, by the changes known so far, never longer than the truth.

    The changes are taken in version order (events arrive in any order; the version is the
    group's own order), each at the latest time seen so far (a change cannot take effect before
    the one it follows). A change still missing only shortens what is derived: someone it added
    shows as joining at the next change known; someone it removed (a later change no longer
    lists them without being the one that removed them, or adds them again) is taken to have
    left right after the last change that listed them.
    """
    periods: list[Period] = []
    start: datetime | None = None
    seen_at = EARLIEST
    previous_at = EARLIEST
    for change in sorted(changes, key=lambda c: c.version):
        at = max(change.at, seen_at)
        seen_at = at
        present = employee_id in change.member_ids
        if start is not None and (not present or employee_id in change.added_ids):
            removed_here = not present and employee_id in change.removed_ids
            periods.append(Period(start, at if removed_here else previous_at))
            start = None
        if present and start is None:
            start = at
        previous_at = at
    if start is not None:
        periods.append(Period(start, None))
    return periods


def overlaps(periods: Iterable[Period], start: datetime, end: datetime) -> bool:
    """Whether any of the periods shares a moment with ``[start, end)``."""
    return any(p.start < end and (p.end is None or p.end > start) for p in periods)


@dataclass(frozen=True)
class Group:
    group_id: str
    program_id: str
    name: str
    members: tuple[Member, ...] = ()
    withdrawn_participants: frozenset[str] = field(default_factory=frozenset)
    erased_employees: frozenset[str] = field(default_factory=frozenset)
    dissolved: bool = False
    changes: tuple[MembershipChange, ...] = ()
    # Each person's periods, derived once per copy (a copy is cached and read by many requests).
    _periods: dict[str, list[Period]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @cached_property
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

    def present_during(self, employee_id: str, start: datetime, end: datetime) -> bool:
        """Whether the person is a member now and was one at some moment of ``[start, end)``.

        The rule of confidentiality over time: a session's content is for those who were in
        the group while it was held, not for whoever joins later (see docs/confidentiality.md).
        """
        return self.is_member(employee_id) and overlaps(self.periods_of(employee_id), start, end)

    def periods_of(self, employee_id: str) -> list[Period]:
        found = self._periods.get(employee_id)
        if found is None:
            found = self._periods[employee_id] = membership_periods(self.changes, employee_id)
        return found

    def present_members(self, start: datetime, end: datetime) -> list[str]:
        """The current members who were members at some moment of ``[start, end)``."""
        return [e for e in self.member_ids if self.present_during(e, start, end)]

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
