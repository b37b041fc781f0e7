"""Erasure's pure rules: what an enrolment and a group forget, and that forgetting twice is a no-op."""

from __future__ import annotations

from datetime import UTC, datetime

from enrollment.groups.domain import GroupStatus, PeerGroup, forget_name
from enrollment.participants.domain import Answers, Participant, ParticipantStatus
from roundtable_shared.events.catalogue.enrollment import (
    GroupMember,
    ReportingAttributes,
    WithdrawReason,
)

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def test_a_withdrawn_enrolment_forgets_its_answers_once() -> None:
    participant = Participant(
        participant_id="par_1",
        program_id="p",
        employee_id="e-1",
        status=ParticipantStatus.WITHDRAWN,
        withdrawn_reason=WithdrawReason.TERMINATED,
        answers=Answers(goals=["Delegate"], challenges="A reorg", consent_to_reporting=True),
        reporting_attributes=ReportingAttributes(department="Eng"),
        updated_at=NOW,
    )
    assert participant.forget_answers() is True
    assert participant.answers == Answers()
    assert participant.reporting_attributes is None
    assert participant.withdrawn_reason is WithdrawReason.TERMINATED
    assert participant.forget_answers() is False


def test_a_dissolved_group_keeps_its_size_and_loses_the_name_once() -> None:
    members = [
        GroupMember(employee_id=e, participant_id=f"par_{e}", display_name=f"Name {e}")
        for e in ("e-1", "e-2")
    ]
    group = PeerGroup(
        group_id="grp_1",
        program_id="p",
        name="Roundtable 1",
        members=members,
        status=GroupStatus.DISSOLVED,
        explanation={},
        formed_at=NOW,
    )
    assert forget_name(group, "e-1", "Erased employee") is True
    assert [m.display_name for m in group.members] == ["Erased employee", "Name e-2"]
    assert forget_name(group, "e-1", "Erased employee") is False
    assert forget_name(group, "e-9", "Erased employee") is False
