"""k-anonymity with complementary suppression: examples and properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reporting.breakdowns.domain import NOT_REPORTED, Cell, cells_from_people, suppress


def cells(**people: int) -> list[Cell]:
    return [Cell(name, {"participants": n, "active": n}) for name, n in people.items()]


def hidden(result: list[Cell]) -> dict[str, str | None]:
    return {c.value: c.reason for c in result if c.suppressed}


def test_no_cell_below_k_hides_nothing() -> None:
    assert hidden(suppress(cells(Finance=8, Sales=5), 5)) == {}


def test_a_single_small_cell_takes_the_next_smallest_with_it() -> None:
    result = suppress(cells(Finance=8, Legal=3, Sales=6, HR=5), 5)
    assert hidden(result) == {"Legal": "below_k", "HR": "complementary"}
    assert all(c.metrics == {} for c in result if c.suppressed)
    assert {c.value: c.people for c in result if not c.suppressed} == {"Finance": 8, "Sales": 6}


def test_two_small_cells_that_together_stay_below_k_take_a_third() -> None:
    result = suppress(cells(Finance=9, Legal=1, Ops=2, Sales=6), 5)
    assert hidden(result) == {"Legal": "below_k", "Ops": "below_k", "Sales": "complementary"}


def test_two_small_cells_reaching_k_together_are_enough() -> None:
    assert hidden(suppress(cells(Finance=9, Legal=2, Ops=3), 5)) == {
        "Legal": "below_k",
        "Ops": "below_k",
    }


def test_a_program_below_k_shows_nothing() -> None:
    assert hidden(suppress(cells(Finance=2, Legal=1), 5)) == {
        "Finance": "program_below_k",
        "Legal": "program_below_k",
    }


def test_people_without_consent_form_their_own_cell() -> None:
    people = [
        {"attributes": {"department": "Finance"}, "participants": 1, "active": 1},
        {"attributes": None, "participants": 1, "active": 0},
        {"attributes": {"department": None}, "participants": 1, "active": 1},
    ]
    result = {
        c.value: dict(c.metrics)
        for c in cells_from_people(people, "department", ["participants", "active"])
    }
    assert result == {
        "Finance": {"participants": 1, "active": 1},
        NOT_REPORTED: {"participants": 2, "active": 1},
    }


sizes = st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3), st.integers(0, 30), max_size=8)


@given(sizes, st.integers(2, 10))
def test_properties(people: dict[str, int], k: int) -> None:
    result = suppress(cells(**people), k)
    total = sum(people.values())
    shown = [c for c in result if not c.suppressed]
    gone = [c for c in result if c.suppressed]
    hidden_people = sum(people[c.value] for c in gone)
    # every visible cell has k people or more; nothing shown when the program is below k
    assert all(c.people >= k for c in shown)
    if total < k:
        assert not shown
    # complementary: never exactly one hidden cell beside visible ones, and the hidden ones
    # together hold k people or more, so no hidden cell is total minus the visible ones
    if gone and shown:
        assert len(gone) >= 2 and hidden_people >= k
    # nothing is lost or invented: cells with people are all there, once
    assert sorted(c.value for c in result) == sorted(v for v, n in people.items() if n > 0)
    # minimal: a visible cell is never smaller than a complementary-hidden one
    complementary = [people[c.value] for c in gone if c.reason == "complementary"]
    if complementary and shown:
        assert min(c.people for c in shown) >= max(complementary)
