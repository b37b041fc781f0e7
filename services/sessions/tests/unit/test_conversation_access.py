"""Who reads a session's conversation: those who were there, and later members once all agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from roundtable_shared.http.problems import Forbidden
from sessions.conversations import domain
from sessions.conversations.domain import (
    Conversation,
    HotSeat,
    Record,
    Revision,
    SharedNote,
    Suggestion,
)
from sessions.membership.domain import Group, Member, MembershipChange
from sessions.scheduling.domain import SessionStatus

T0 = datetime(2026, 9, 1, 9, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def group(members: str, *, joined_later: str = "", erased: frozenset[str] = frozenset()) -> Group:
    changes = [MembershipChange(1, at(0), frozenset(members), frozenset(members))]
    if joined_later:
        everyone = frozenset(members + joined_later)
        changes.append(MembershipChange(2, at(48), everyone, frozenset(joined_later)))
    return Group(
        group_id="g",
        program_id="p",
        name="g",
        members=tuple(Member(e, f"par-{e}", None) for e in sorted(members + joined_later)),
        erased_employees=erased,
        changes=tuple(changes),
    )


def record(attendees: str, **fields: object) -> Record:
    return Record.model_validate(
        {
            "attendee_ids": list(attendees),
            "started_at": at(24),
            "ended_at": at(25),
            "recorded_by": attendees[0],
            "recorded_at": at(25),
            **fields,
        }
    )


def conversation(record_: Record | None = None, history: tuple[Revision, ...] = ()) -> Conversation:
    return Conversation.model_validate(
        {
            "_id": "s",
            "group_id": "g",
            "program_id": "p",
            "status": SessionStatus.HELD,
            "starts_at": at(24),
            "ends_at": at(25),
            "invited_ids": ["a", "b", "c"],
            "record": record_,
            "history": list(history),
            "version": 2,
        }
    )


def agreed(c: Conversation, g: Group, *people: str) -> Conversation:
    for person in people:
        agreeing = domain.consent_to_share(c, g, person, at(50))
        assert agreeing is not None
        c = agreeing
    return c


def test_those_who_were_there_read_and_a_later_member_does_not() -> None:
    g, c = group("abc", joined_later="d"), conversation(record("ab"))
    assert [domain.may_read(c, g, e) for e in "abcd"] == [True, True, True, False]
    with pytest.raises(Forbidden):
        domain.require_readable(c, g, "d")
    with pytest.raises(Forbidden):
        domain.require_writer(c, g, "d")


def test_sharing_needs_every_member_who_was_there_and_opens_reading_not_writing() -> None:
    g, c = group("abc", joined_later="d"), conversation(record("ab"))
    assert domain.consent_needed(c, g) == {"a", "b", "c"}
    assert not domain.shared_with_later_members(agreed(c, g, "a", "b"), g)
    shared = agreed(c, g, "a", "b", "c")
    assert domain.may_read(shared, g, "d")
    with pytest.raises(Forbidden):
        domain.require_writer(shared, g, "d")
    with pytest.raises(Forbidden):
        domain.consent_to_share(c, g, "d", at(50))  # not theirs to give
    assert domain.consent_to_share(shared, g, "a", at(51)) is None  # agreeing twice


def test_everyone_the_record_or_its_history_holds_the_words_of_must_agree() -> None:
    seat = HotSeat(employee_id="b", challenge="x", suggestions=[Suggestion(by="e", text="y")])
    note = SharedNote(note_id="n", author_id="f", text="z", written_at=at(25))
    old = record("ab", shared_notes=[note])
    revision = Revision(version=2, replaced_by="a", replaced_at=at(26), record=old)
    c = conversation(record("ab", hot_seats=[seat]), (revision,))
    g = group("ab", joined_later="d")
    # e and f left the group (or were never members): they cannot agree, so it stays unshared.
    assert domain.consent_needed(c, g) == {"a", "b", "e", "f"}
    assert not domain.shared_with_later_members(agreed(c, g, "a", "b"), g)


def test_an_erased_persons_agreement_is_not_needed_their_words_are_gone() -> None:
    g = group("abc", joined_later="d", erased=frozenset("c"))
    c = conversation(record("abc"))
    assert domain.consent_needed(c, g) == {"a", "b"}
    assert domain.shared_with_later_members(agreed(c, g, "a", "b"), g)


def test_a_withdrawn_agreement_unshares() -> None:
    g, c = group("ab", joined_later="d"), conversation(record("ab"))
    shared = agreed(c, g, "a", "b")
    withdrawn = domain.withdraw_consent(shared, g, "b")
    assert withdrawn is not None and [x.employee_id for x in withdrawn.sharing] == ["a"]
    assert not domain.shared_with_later_members(withdrawn, g)
    assert domain.withdraw_consent(c, g, "b") is None
