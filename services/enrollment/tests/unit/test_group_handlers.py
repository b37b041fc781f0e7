"""Peer groups through the handlers over the fakes: placing the enrolled by a published preview,
a member leaving (the group goes on, or dissolves under its minimum), an admin's move."""

from __future__ import annotations

from typing import Any

import pytest

from enrollment.directory.domain import ERASED_NAME
from enrollment.groups.domain import GroupStatus, RefillStatus
from enrollment.participants.domain import ParticipantStatus, participant_id
from roundtable_shared.events.catalogue.enrollment import (
    DissolveReason,
    GroupChanged,
    GroupChangeReason,
    GroupDissolved,
    GroupFormed,
    WithdrawReason,
)
from roundtable_shared.http.problems import Conflict, Forbidden

P = "p-1"


def pid(employee_id: str) -> str:
    return participant_id(P, employee_id)


async def placed(fakes: Any, *employees: str) -> str:
    """The employees enrolled in a roundtable program (3 to 6) and placed in one group."""
    await fakes.open_program(P)
    for employee in employees:
        await fakes.hire(employee)
        await fakes.enrol(P, employee)
    proposal = await fakes.matching.preview(P)
    published = await fakes.matching.publish(P, proposal.proposal_id)
    (group_id,) = published.published_group_ids
    return str(group_id)


async def test_a_published_preview_places_everyone_once(fakes: Any) -> None:
    await fakes.open_program(P)
    for employee in ("e-a", "e-b", "e-c", "e-d"):
        await fakes.hire(employee)
        await fakes.enrol(P, employee)

    proposal = await fakes.matching.preview(P)
    assert [len(g.members) for g in proposal.groups] == [4]
    assert proposal.unmatched == []
    published = await fakes.matching.publish(P, proposal.proposal_id)
    again = await fakes.matching.publish(P, proposal.proposal_id)  # a retried request

    (group_id,) = published.published_group_ids
    assert (published.status, again.published_group_ids) == ("published", [group_id])
    group, _ = await fakes.groups.get(group_id)
    assert (group.name, group.status) == ("Roundtable 1", GroupStatus.ACTIVE)
    assert sorted(m.employee_id for m in group.members) == ["e-a", "e-b", "e-c", "e-d"]
    assert sorted(m.display_name for m in group.members) == ["E-A", "E-B", "E-C", "E-D"]
    for employee in ("e-a", "e-b", "e-c", "e-d"):
        assert fakes.participant(pid(employee)).group_id == group_id
    assert list(fakes.group_store.documents) == [group_id]
    (formed,) = fakes.group_store.raised(GroupFormed)
    assert formed.group_id == group_id
    assert await fakes.matching.unassigned(P) == []


async def test_a_member_who_withdraws_leaves_the_group_which_goes_on(fakes: Any) -> None:
    group_id = await placed(fakes, "e-a", "e-b", "e-c", "e-d")
    fakes.clock.advance(days=7)

    await fakes.participants.withdraw(pid("e-a"), WithdrawReason.SELF)

    group, version = await fakes.groups.get(group_id)
    assert group.status is GroupStatus.ACTIVE
    assert sorted(m.employee_id for m in group.members) == ["e-b", "e-c", "e-d"]
    assert (group.refill_candidates, group.refill) == ([], None)  # nobody free to refill it
    assert version == 2  # formed (1 event), one member out (1 event)
    (changed,) = fakes.group_store.raised(GroupChanged)
    assert (changed.removed_employee_ids, changed.reason, changed.changed_at) == (
        ["e-a"],
        GroupChangeReason.MEMBER_WITHDRAWN,
        fakes.clock(),
    )
    gone = fakes.participant(pid("e-a"))
    assert (gone.group_id, gone.leaving_group_id) == (None, None)
    assert fakes.participant(pid("e-b")).group_id == group_id


async def test_a_group_left_under_its_minimum_dissolves_and_frees_the_others(
    fakes: Any,
) -> None:
    group_id = await placed(fakes, "e-a", "e-b", "e-c")

    await fakes.participants.withdraw(pid("e-a"), WithdrawReason.SELF)
    await fakes.participants.withdraw(pid("e-a"), WithdrawReason.SELF)  # again: no-op

    group, _ = await fakes.groups.get(group_id)
    assert group.status is GroupStatus.DISSOLVED
    (dissolved,) = fakes.group_store.raised(GroupDissolved)
    assert (dissolved.group_id, dissolved.reason) == (group_id, DissolveReason.TOO_FEW_MEMBERS)
    assert fakes.group_store.raised(GroupChanged) == []
    for employee in ("e-b", "e-c"):
        stays = fakes.participant(pid(employee))
        assert (stays.status, stays.group_id) == (ParticipantStatus.ENROLLED, None)
    free = await fakes.matching.unassigned(P)
    assert sorted(p.employee_id for p, _ in free) == ["e-b", "e-c"]


async def test_an_admin_moves_a_free_participant_into_a_group(fakes: Any) -> None:
    group_id = await placed(fakes, "e-a", "e-b", "e-c")
    await fakes.hire("e-d")
    await fakes.enrol(P, "e-d")

    group, version = await fakes.groups.move(group_id, pid("e-d"), by="e-admin")

    assert sorted(m.employee_id for m in group.members) == ["e-a", "e-b", "e-c", "e-d"]
    assert version == 2
    assert fakes.participant(pid("e-d")).group_id == group_id
    (changed,) = fakes.group_store.raised(GroupChanged)
    assert (changed.added_employee_ids, changed.reason) == (["e-d"], GroupChangeReason.ADMIN)


async def test_an_erased_member_stays_in_a_dissolved_group_only_as_a_placeholder(
    fakes: Any,
) -> None:
    group_id = await placed(fakes, "e-a", "e-b", "e-c")
    await fakes.participants.withdraw(pid("e-b"), WithdrawReason.SELF)  # 2 left of 3: dissolved
    await fakes.directory.erase("e-a")

    await fakes.participants.withdraw_everywhere("e-a", WithdrawReason.ERASED)
    versions = {g: d["version"] for g, d in fakes.group_store.documents.items()}
    await fakes.groups.forget_member_name("e-a")  # again: writes nothing

    group, _ = await fakes.groups.get(group_id)
    assert group.status is GroupStatus.DISSOLVED
    # A group dissolved with them in it keeps its members (its size stays right), not the name.
    assert {m.employee_id: m.display_name for m in group.members} == {
        "e-a": ERASED_NAME,
        "e-c": "E-C",
    }
    assert {g: d["version"] for g, d in fakes.group_store.documents.items()} == versions
    preview = next(iter(fakes.repositories.proposals.documents.values()))
    names = {m["employee_id"]: m["display_name"] for m in preview["groups"][0]["members"]}
    assert names == {"e-a": ERASED_NAME, "e-b": "E-B", "e-c": "E-C"}


async def test_who_is_free_is_proposed_to_refill_a_group_and_joins_once_accepted(
    fakes: Any,
) -> None:
    group_id = await placed(fakes, "e-a", "e-b", "e-c", "e-d")
    await fakes.hire("e-e")
    await fakes.enrol(P, "e-e")  # after matching: free
    await fakes.participants.withdraw(pid("e-a"), WithdrawReason.SELF)
    group, _ = await fakes.groups.get(group_id)
    assert group.refill is not None
    assert (group.refill_candidates, group.refill.participant_ids) == ([pid("e-e")], [pid("e-e")])
    assert group.refill.status is RefillStatus.PROPOSED

    with pytest.raises(Forbidden):  # an admin never places their own enrolment
        await fakes.groups.accept_refill(group_id, group.refill.refill_id, by="e-e")
    accepted, version = await fakes.groups.accept_refill(
        group_id, group.refill.refill_id, by="e-admin"
    )
    again = await fakes.groups.accept_refill(group_id, group.refill.refill_id, by="e-admin")

    assert again == (accepted, version)  # a retry answers the group as it is
    assert sorted(m.employee_id for m in accepted.members) == ["e-b", "e-c", "e-d", "e-e"]
    assert accepted.refill is not None and accepted.refill.status is RefillStatus.ACCEPTED
    assert accepted.refill_candidates == []
    assert fakes.participant(pid("e-e")).group_id == group_id
    removed, added = fakes.group_store.raised(GroupChanged)
    assert (removed.removed_employee_ids, added.added_employee_ids) == (["e-a"], ["e-e"])


async def test_a_declined_refill_is_never_accepted(fakes: Any) -> None:
    group_id = await placed(fakes, "e-a", "e-b", "e-c", "e-d")
    await fakes.hire("e-e")
    await fakes.enrol(P, "e-e")
    await fakes.participants.withdraw(pid("e-a"), WithdrawReason.SELF)
    group, _ = await fakes.groups.get(group_id)
    assert group.refill is not None
    refill_id = group.refill.refill_id

    declined, version = await fakes.groups.decline_refill(group_id, refill_id)
    assert await fakes.groups.decline_refill(group_id, refill_id) == (declined, version)

    with pytest.raises(Conflict):
        await fakes.groups.accept_refill(group_id, refill_id, by="e-admin")
    assert fakes.participant(pid("e-e")).group_id is None
    assert sorted(m.employee_id for m in declined.members) == ["e-b", "e-c", "e-d"]


async def test_an_admin_swaps_members_of_two_groups(fakes: Any) -> None:
    first = await placed(fakes, "e-a", "e-b", "e-c")
    for employee in ("e-d", "e-e", "e-f"):
        await fakes.hire(employee)
        await fakes.enrol(P, employee)
    proposal = await fakes.matching.preview(P)
    (second,) = (await fakes.matching.publish(P, proposal.proposal_id)).published_group_ids

    with pytest.raises(Forbidden):
        await fakes.groups.swap(first, pid("e-a"), pid("e-d"), by="e-d")
    await fakes.groups.swap(first, pid("e-a"), pid("e-d"), by="e-admin")

    one, _ = await fakes.groups.get(first)
    two, _ = await fakes.groups.get(second)
    assert (one.name, two.name) == ("Roundtable 1", "Roundtable 2")
    assert sorted(m.employee_id for m in one.members) == ["e-b", "e-c", "e-d"]
    assert sorted(m.employee_id for m in two.members) == ["e-a", "e-e", "e-f"]
    assert (fakes.participant(pid("e-a")).group_id, fakes.participant(pid("e-d")).group_id) == (
        second,
        first,
    )
