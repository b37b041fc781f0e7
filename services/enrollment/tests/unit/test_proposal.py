"""A match proposal forgets an erased person's name and keeps its counts."""

from __future__ import annotations

from datetime import UTC, datetime

from enrollment.directory.domain import ERASED_NAME
from enrollment.matching.proposal import Proposal, ProposedGroup, ProposedMember, Unplaced


def proposal() -> Proposal:
    members = [
        ProposedMember(participant_id=f"par_{n}", employee_id=f"e-{n}", display_name=f"Name {n}")
        for n in range(3)
    ]
    return Proposal(
        proposal_id="prop_1",
        program_id="prg_1",
        created_at=datetime(2026, 2, 1, tzinfo=UTC),
        groups=[ProposedGroup(members=members, explanation={"score": 0.5})],
        unmatched=[Unplaced(participant_id="par_9", employee_id="e-9", reason="full")],
    )


def test_an_erased_member_stays_as_the_placeholder_once() -> None:
    found = proposal()
    assert found.forget_name("e-1", ERASED_NAME) is True
    names = [m.display_name for m in found.groups[0].members]
    assert names == ["Name 0", ERASED_NAME, "Name 2"]
    assert found.forget_name("e-1", ERASED_NAME) is False  # a repeat writes nothing
    assert found.participant_ids() == {"par_0", "par_1", "par_2"}


def test_publishing_records_the_groups_formed() -> None:
    found = proposal()
    found.published(["grp_1"])
    assert (found.status, found.published_group_ids) == ("published", ["grp_1"])
