"""The matching algorithm: hard constraints as properties (hypothesis), determinism, leftovers."""

from __future__ import annotations

import random
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from enrollment.matching.domain import (
    Candidate,
    Rules,
    Weights,
    conflict,
    hours_mask,
    match,
    overlap_slots,
    violations,
)

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Asia/Kolkata"]
ON = date(2026, 3, 2)


@st.composite
def populations(draw: st.DrawFn) -> tuple[list[Candidate], Rules]:
    n = draw(st.integers(0, 40))
    ids = [f"e{i}" for i in range(n)]
    managers = [*ids, "m1", "m2", "m3", None]
    people: list[Candidate] = []
    manager_of: dict[str, str | None] = {}
    for eid in ids:
        manager = draw(st.sampled_from(managers))
        manager_of[eid] = manager if manager != eid else None
    for i, eid in enumerate(ids):
        manager = manager_of[eid]
        zone = draw(st.sampled_from(ZONES))
        start = draw(st.sampled_from(["07:00", "09:00", "11:00"]))
        people.append(
            Candidate(
                participant_id=f"p{i}",
                employee_id=eid,
                display_name=eid,
                manager_id=manager,
                skip_manager_id=manager_of.get(manager) if manager else None,
                level=draw(st.sampled_from([None, 2.0, 3.0, 4.0, 5.0, 6.0])),
                department=draw(st.sampled_from(["eng", "sales", "hr"])),
                interests=frozenset(draw(st.lists(st.sampled_from("abcdef"), max_size=3))),
                hours=hours_mask(zone, start, "17:00", ON),
            )
        )
    pairs = draw(st.booleans())
    low = 2 if pairs else draw(st.integers(3, 6))
    rules = Rules(
        min_size=low,
        max_size=2 if pairs else draw(st.integers(low, 8)),
        leftover_joins=draw(st.booleans()),
        separate_manager_and_report=draw(st.booleans()),
        separate_skip_level=draw(st.booleans()),
        separate_same_manager=draw(st.booleans()),
        min_overlap_slots=draw(st.sampled_from([0, 2, 4, 8])),
        weights=Weights(draw(st.floats(0, 3)), draw(st.floats(0, 3)), draw(st.floats(0, 3))),
    )
    return people, rules


@settings(max_examples=300, deadline=None)
@given(populations())
def test_no_group_ever_breaks_a_hard_constraint(case: tuple[list[Candidate], Rules]) -> None:
    people, rules = case
    result = match(people, rules)
    placed = [m.participant_id for g in result.groups for m in g.members]
    for group in result.groups:
        assert violations(group.members, rules) == []
        assert rules.min_size <= len(group.members) <= rules.largest
        for i, a in enumerate(group.members):
            for b in group.members[i + 1 :]:
                assert conflict(a, b, rules) is None
        assert overlap_slots(group.members) >= rules.min_overlap_slots
    # everyone is either placed once or reported unmatched with a reason
    unmatched = [c.participant_id for c, _ in result.unmatched]
    assert len(placed) == len(set(placed))
    assert sorted(placed + unmatched) == sorted(p.participant_id for p in people)
    assert all(reason for _, reason in result.unmatched)


@settings(max_examples=100, deadline=None)
@given(populations(), st.randoms(use_true_random=False))
def test_same_input_same_groups_whatever_the_order(
    case: tuple[list[Candidate], Rules], rnd: random.Random
) -> None:
    people, rules = case
    shuffled = list(people)
    rnd.shuffle(shuffled)
    assert match(people, rules) == match(shuffled, rules)


def person(i: int, **fields: object) -> Candidate:
    values: dict[str, object] = {
        "participant_id": f"p{i}",
        "employee_id": f"e{i}",
        "display_name": f"E{i}",
        "hours": hours_mask("UTC", "09:00", "17:00", ON),
        **fields,
    }
    return Candidate(**values)  # type: ignore[arg-type]


def test_odd_participant_joins_a_pair_as_a_triad_or_waits() -> None:
    people = [person(i) for i in range(5)]
    triad = match(people, Rules(min_size=2, max_size=2, leftover_joins=True))
    assert sorted(len(g.members) for g in triad.groups) == [2, 3]
    assert triad.unmatched == ()
    wait = match(people, Rules(min_size=2, max_size=2, leftover_joins=False))
    assert sorted(len(g.members) for g in wait.groups) == [2, 2]
    assert [reason for _, reason in wait.unmatched] == [
        "every group is full; waits for the next round"
    ]


def test_reporting_lines_and_time_zones_are_kept_apart() -> None:
    boss = person(0)
    report = person(1, manager_id="e0")
    tokyo = person(2, hours=hours_mask("Asia/Tokyo", "09:00", "17:00", ON))
    rules = Rules(min_size=2, max_size=2, leftover_joins=False, min_overlap_slots=4)
    result = match([boss, report, tokyo], rules)
    assert result.groups == ()
    assert len(result.unmatched) == 3


def test_explanation_names_what_the_group_shares() -> None:
    a = person(0, level=5.0, level_label="L5", department="eng", interests=frozenset({"x", "y"}))
    b = person(1, level=5.0, level_label="L5", department="hr", interests=frozenset({"x"}))
    c = person(2, level=4.0, level_label="L4", department="ops", interests=frozenset({"x"}))
    (group,) = match([a, b, c], Rules(min_size=3, max_size=3)).groups
    details = {c.name: c.detail for c in group.explanation.components}
    assert details["shared_interests"] == "shared: x"
    assert details["similar_level"] == "levels L4, L5"
    assert group.explanation.overlap_hours == 8
    assert 0 < group.explanation.score <= 1


def test_working_hours_across_zones() -> None:
    berlin = hours_mask("Europe/Berlin", "09:00", "17:00", ON)  # 08:00-16:00 UTC in March
    new_york = hours_mask("America/New_York", "09:00", "17:00", ON)  # 14:00-22:00 UTC
    assert (berlin & new_york).bit_count() == 4  # two hours
