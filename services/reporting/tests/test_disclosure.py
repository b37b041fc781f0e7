"""The disclosure-control rule on the real service, endpoint by endpoint (docs/disclosure.md).

The sponsor plays the attacker: polls every figure reporting serves (JSON, CSV, the dashboard),
waits for one person's change (a lone rating, a pair's ratings, a termination, an erasure that
moves them to "(not reported)"), polls again and subtracts.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx

from roundtable_dev.testing.reporting.history import (
    NOW,
    PROGRAM,
    SPONSOR,
    History,
    at,
    known_history,
)
from roundtable_dev.testing.reporting.world import World
from roundtable_shared.events.catalogue import enrollment as en

K = 5  # the default k
JSON = ("summary", "timeseries", "funnel", *(f"breakdowns/{d}" for d in ("department", "level")))
CSV = ("summary.csv", "timeseries.csv", "funnel.csv", "breakdowns/department.csv")
DEPARTMENTS = {"Finance": 10, "Legal": 3, "Sales": 7}  # 20 people


def numbers(value: Any, path: str = "") -> dict[str, float]:
    """Every number in an answer, by path (list items by their week, stage or value)."""
    if isinstance(value, dict):
        key = value.get("week") or value.get("stage") or value.get("value") or ""
        out: dict[str, float] = {}
        for name, v in value.items():
            out |= numbers(v, f"{path}{key}.{name}." if key else f"{path}{name}.")
        return out
    if isinstance(value, list):
        out = {}
        for v in value:
            out |= numbers(v, path)
        return out
    if isinstance(value, bool) or not isinstance(value, int | float):
        return {}
    return {path.rstrip("."): value}


async def everything(w: World, client: httpx.AsyncClient) -> dict[str, Any]:
    """Every figure a sponsor can get of the program, by endpoint."""
    headers = w.headers(SPONSOR, ["sponsor"])
    seen: dict[str, Any] = {}
    for path in JSON:
        response = await client.get(f"/v1/programs/{PROGRAM}/{path}", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        seen[path] = {k: v for k, v in numbers(body).items() if k != "k"}
    for path in CSV:
        response = await client.get(f"/v1/programs/{PROGRAM}/{path}", headers=headers)
        assert response.status_code == 200, response.text
        rows = list(csv.DictReader(io.StringIO(response.text)))
        seen[path] = {
            f"{n}.{column}": int(cell)
            for n, row in enumerate(rows)
            for column, cell in row.items()
            if re.fullmatch(r"-?\d+", cell or "")
        }
    page = await client.get(f"/dashboard?program={PROGRAM}", headers=headers)
    assert page.status_code == 200, page.text
    # the tiles, the breakdown table and the funnel's labels: every whole number on the page
    shown = re.findall(
        r'class="value">([^<%]*)<|class="num">(\d+)<|<title>[^<:]*: (\d+)<', page.text
    )
    seen["dashboard"] = {
        f"{n}.{i}": int(token)
        for n, groups in enumerate(shown)
        for i, token in enumerate(" ".join(groups).replace("/", " ").split())
        if token.isdigit()
    }
    return seen


def counts(seen: dict[str, Any]) -> dict[str, int]:
    return {
        f"{endpoint} {path}": int(v)
        for endpoint, figures in seen.items()
        for path, v in figures.items()
        if isinstance(v, int)
    }


def assert_in_steps_of_k(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Every count, and every difference of two snapshots' counts, is 0 or k or more."""
    old, new = counts(before), counts(after)
    assert all(n % K == 0 for n in (*old.values(), *new.values())), {
        p: n for p, n in {**old, **new}.items() if n % K
    }
    for path in old.keys() | new.keys():
        assert (new.get(path, 0) - old.get(path, 0)) % K == 0, path


def population(h: History, *, program: bool = True) -> None:
    if program:
        h.program(PROGRAM, [SPONSOR])
    n = 0
    for department, size in DEPARTMENTS.items():
        for _ in range(size):
            n += 1
            h.enrol(PROGRAM, f"e{n}", at(1), {"department": department, "level": "L3"})


async def test_every_endpoint_serves_counts_in_steps_of_k_only(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    """Summary, series, funnel, breakdowns, their CSV and the dashboard: no count 1 to k-1, no
    lone rating, no suppression reason. Before the rule the summary served 7 enrolled, 1
    withdrawn by reason self, 2 groups, and a lone person's average rating of 4.0."""
    w, client = world
    history = known_history()
    population(history, program=False)
    await w.publish_all(history.events)
    await w.settle()
    seen = await everything(w, client)
    assert_in_steps_of_k(seen, seen)
    assert seen["summary"]["participants.enrolled"] == 25  # 7 + 20 people
    summary = (
        await client.get(f"/v1/programs/{PROGRAM}/summary", headers=w.headers(SPONSOR, ["sponsor"]))
    ).json()
    assert summary["feedback"] == {
        "ratings": 0,
        "average_rating": None,
        "average_recommend_score": None,
    }
    breakdown = await client.get(
        f"/v1/programs/{PROGRAM}/breakdowns/department", headers=w.headers(SPONSOR, ["sponsor"])
    )
    assert "Legal" not in breakdown.text and "suppress" not in breakdown.text
    assert "below_k" not in breakdown.text and "complementary" not in breakdown.text


async def test_polling_around_a_lone_rating_or_a_pairs_ratings_recovers_nothing(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    """A closed week rated by five people shows its average; then one person rates now, and a
    pair rates a closed week of their own: every figure served stays exactly the same, so
    neither the lone rating nor either member's rating can be worked out."""
    w, client = world
    h = History()
    population(h)
    for n, rating in enumerate((4, 5, 3, 4, 4)):  # five people, one closed week
        h.feedback(PROGRAM, n, rating, 8, employee=f"e{n + 1}", when=at(15))
    await w.publish_all(h.events)
    await w.settle()
    before = await everything(w, client)
    assert before["summary"]["feedback.average_rating"] == 4.0
    assert before["summary"]["feedback.ratings"] == 5

    later = History(versions=h.versions)
    later.feedback(PROGRAM, 10, 1, 0, employee="e9", when=NOW)  # a lone rating, this week
    later.feedback(PROGRAM, 11, 1, 0, employee="e10", when=at(22))  # a pair, a closed week
    later.feedback(PROGRAM, 12, 5, 10, employee="e11", when=at(22))
    await w.publish_all(later.events)
    await w.settle()
    after = await everything(w, client)
    assert after == before


async def test_a_termination_and_an_erasure_between_two_snapshots_show_in_no_figure(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    """One Legal person is terminated, one Finance person erased (moved to "(not reported)"):
    the sponsor's two snapshots differ in whole steps of k at most; here (20 active become 18,
    Finance 10 becomes 9, both still nearest to 20 and 10) in nothing at all, so
    neither the reason nor the hidden department can be derived. Before the rule the
    snapshots differed by 1 terminated and 1 "(not reported)"."""
    w, client = world
    h = History()
    population(h)
    await w.publish_all(h.events)
    await w.settle()
    before = await everything(w, client)

    later = History(versions=h.versions)
    legal = f"e{DEPARTMENTS['Finance'] + 1}"
    later.add(
        en.ParticipantWithdrawn(
            participant_id=f"par-{PROGRAM}-{legal}",
            program_id=PROGRAM,
            employee_id=legal,
            reason=en.WithdrawReason.TERMINATED,
            withdrawn_at=at(20),
        ),
        f"par-{PROGRAM}-{legal}",
    )
    later.add(en.EmployeeErased(employee_id="e1", erased_at=at(21)), "e1")
    await w.publish_all(later.events)
    await w.settle()
    after = await everything(w, client)
    assert_in_steps_of_k(before, after)
    assert after == before
    persons = (await w.app.state.services.generations.current()).persons
    assert (await persons.find_one({"employee_id": "e1"}))["attributes"] is None  # it happened


async def test_a_change_that_crosses_a_step_moves_figures_by_k(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    """The other side: when a change does show, it shows as a whole step of k."""
    w, client = world
    h = History()
    population(h)  # Finance 10
    await w.publish_all(h.events)
    await w.settle()
    before = await everything(w, client)
    later = History(versions=h.versions)
    for n in (1, 2, 3):  # three Finance people erased: 7 left, shown as 5
        later.add(en.EmployeeErased(employee_id=f"e{n}", erased_at=at(21)), f"e{n}")
    await w.publish_all(later.events)
    await w.settle()
    after = await everything(w, client)
    assert_in_steps_of_k(before, after)
    finance = "breakdowns/department"
    assert before[finance]["cells.Finance.participants"] == 10
    assert after[finance]["cells.Finance.participants"] == 5
