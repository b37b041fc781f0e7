"""The time rule of confidentiality: who was a member of a peer group when, from its changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sessions.membership.domain import (
    Group,
    Member,
    MembershipChange,
    Period,
    membership_periods,
    overlaps,
)

T0 = datetime(2026, 9, 1, 9, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def change(
    version: int, hours: float, members: str, added: str = "", removed: str = ""
) -> MembershipChange:
    return MembershipChange(
        version, at(hours), frozenset(members), frozenset(added), frozenset(removed)
    )


def group(*changes: MembershipChange) -> Group:
    latest = max(changes, key=lambda c: c.version)
    return Group(
        group_id="g",
        program_id="p",
        name="g",
        members=tuple(Member(e, f"par-{e}", None) for e in sorted(latest.member_ids)),
        changes=changes,
    )


def test_a_member_added_later_was_not_there_before_they_joined() -> None:
    g = group(change(1, 0, "abc", "abc"), change(2, 10, "abcd", "d"))
    assert membership_periods(g.changes, "d") == [Period(at(10), None)]
    assert not g.present_during("d", at(5), at(6))  # a session before they joined
    assert g.present_during("a", at(5), at(6))
    assert g.present_during("d", at(11), at(12))  # one after
    assert g.present_during("d", at(9), at(11))  # joined while it was held
    assert not g.present_during("d", at(9), at(10))  # joined the moment it ended
    assert g.present_members(at(5), at(6)) == ["a", "b", "c"]


def test_someone_who_left_is_not_there_now_even_for_what_they_attended() -> None:
    g = group(change(1, 0, "abc", "abc"), change(2, 10, "ab", removed="c"))
    assert membership_periods(g.changes, "c") == [Period(at(0), at(10))]
    assert not g.present_during("c", at(5), at(6))  # no longer a member: nothing at all


def test_leaving_and_coming_back_covers_only_the_times_in_the_group() -> None:
    g = group(change(1, 0, "ab", "ab"), change(2, 10, "a", removed="b"), change(3, 20, "ab", "b"))
    assert membership_periods(g.changes, "b") == [Period(at(0), at(10)), Period(at(20), None)]
    assert g.present_during("b", at(5), at(6))
    assert not g.present_during("b", at(12), at(13))


def test_changes_arriving_in_any_order_give_the_same_periods() -> None:
    changes = [change(1, 0, "ab", "ab"), change(2, 10, "a", removed="b"), change(3, 20, "ab", "b")]
    assert membership_periods(reversed(changes), "b") == membership_periods(changes, "b")


def test_a_change_dated_before_the_one_it_follows_takes_effect_after_it() -> None:
    # Enrollment's clocks are not ours: the version orders, a time only moves forward.
    changes = [change(1, 10, "ab", "ab"), change(2, 5, "abc", "c")]
    assert membership_periods(changes, "c") == [Period(at(10), None)]


def test_a_missing_addition_makes_the_joiner_join_later() -> None:
    # Version 2 (c joins at 10) has not arrived yet; version 3 (d joins at 20) has.
    changes = [change(1, 0, "ab", "ab"), change(3, 20, "abcd", "d")]
    assert membership_periods(changes, "c") == [Period(at(20), None)]


def test_a_departure_whose_change_is_missing_ends_the_stay_at_the_last_change_seen() -> None:
    # Version 2 (b left at 10) is missing; version 3 (at 20, c joins) no longer lists b.
    changes = [change(1, 0, "ab", "ab"), change(3, 20, "ac", "c")]
    assert membership_periods(changes, "b") == [Period(at(0), at(0))]


def test_a_re_addition_whose_removal_is_missing_ends_the_earlier_stay_early() -> None:
    # Version 2 (b left at 10) is missing; version 3 says b was added again at 20.
    changes = [change(1, 0, "ab", "ab"), change(3, 20, "ab", "b")]
    assert membership_periods(changes, "b") == [Period(at(0), at(0)), Period(at(20), None)]
    assert not overlaps(membership_periods(changes, "b"), at(12), at(13))


def test_no_changes_known_means_no_membership_over_time() -> None:
    # A copy made before membership was logged: fail closed (rebuild it by replaying).
    g = Group(group_id="g", program_id="p", name="g", members=(Member("a", "par-a", None),))
    assert g.is_member("a") and not g.present_during("a", at(0), at(1))


# --- properties ------------------------------------------------------------------------------

PEOPLE = "abcdef"


@st.composite
def histories(draw: st.DrawFn) -> list[MembershipChange]:
    """A group's true history: memberships at rising times, each change naming who it added."""
    count = draw(st.integers(min_value=1, max_value=8))
    hours = sorted(draw(st.lists(st.integers(0, 100), min_size=count, max_size=count)))
    changes: list[MembershipChange] = []
    previous: frozenset[str] = frozenset()
    for version, hour in enumerate(hours, start=1):
        members = frozenset(draw(st.sets(st.sampled_from(PEOPLE), min_size=1)))
        changes.append(
            MembershipChange(version, at(hour), members, members - previous, previous - members)
        )
        previous = members
    return changes


def truly_member(changes: list[MembershipChange], person: str, moment: datetime) -> bool:
    """The definition: a member at a moment when the last change at or before it lists them."""
    before = [c for c in changes if c.at <= moment]
    return bool(before) and person in max(before, key=lambda c: c.version).member_ids


@given(histories(), st.sampled_from(PEOPLE), st.integers(-5, 110))
def test_periods_say_exactly_who_was_a_member_at_each_moment(
    changes: list[MembershipChange], person: str, hour: int
) -> None:
    moment = at(hour)
    periods = membership_periods(changes, person)
    inside = any(p.start <= moment and (p.end is None or moment < p.end) for p in periods)
    # Two changes at the same time: the later version decides.
    assert inside == truly_member(changes, person, moment)


@given(histories(), st.data(), st.integers(-5, 110), st.integers(1, 20))
def test_a_change_not_yet_arrived_never_lets_a_current_member_read_more(
    changes: list[MembershipChange], data: st.DataObject, hour: int, length: int
) -> None:
    missing = data.draw(st.sampled_from(changes[:-1])) if len(changes) > 1 else None
    arrived = [c for c in changes if c is not missing]
    full, partial = group(*changes), group(*arrived)
    for person in PEOPLE:
        if partial.present_during(person, at(hour), at(hour + length)):
            assert full.present_during(person, at(hour), at(hour + length))
