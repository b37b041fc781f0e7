"""Matching participants into peer pairs and roundtables. Pure and deterministic.

Hard constraints (never broken by a group this module returns):
- nobody shares a group with their manager, their manager's manager, or a peer with the same
  direct manager (each configurable);
- every group's size is within the program's bounds (a pairs program that takes leftovers as a
  triad allows 3);
- all members share at least ``min_overlap_hours`` of working hours, across time zones.

Preferences are scored with the program's weights; every group carries the explanation of its
score. The result depends only on the input set (candidates are sorted first), never its order.

Algorithm: candidates sorted by working-hours position in UTC, then level, then department, so
neighbours are likely compatible and at a similar stage. Groups are filled one by one: each takes
the first free candidate, then repeatedly the best-scoring compatible candidate from a window of
the next free ones (the whole pool when the window has none). Groups left too small are dissolved
and their members placed where they fit best; who fits nowhere is reported with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SLOTS_PER_DAY = 48  # half hours
WINDOW = 48
LEVEL_SPAN = 4.0  # levels this far apart score 0 on similarity


@dataclass(frozen=True)
class Candidate:
    participant_id: str
    employee_id: str
    display_name: str
    manager_id: str | None = None
    skip_manager_id: str | None = None
    level: float | None = None
    level_label: str | None = None
    department: str | None = None
    location: str | None = None
    interests: frozenset[str] = frozenset()
    hours: int = 0  # bit i set: available in UTC half hour i of the day


@dataclass(frozen=True)
class Weights:
    similar_level: float = 1.0
    shared_interests: float = 1.0
    different_departments: float = 1.0
    variety: float = 0.5


@dataclass(frozen=True)
class Rules:
    min_size: int
    max_size: int
    leftover_joins: bool = True  # an odd participant joins a group as an extra member
    separate_manager_and_report: bool = True
    separate_skip_level: bool = True
    separate_same_manager: bool = True
    min_overlap_slots: int = 4
    weights: Weights = field(default_factory=Weights)

    @property
    def largest(self) -> int:
        """The largest group allowed: one more than max for pairs taking a leftover."""
        if self.leftover_joins and self.max_size == 2:
            return 3
        return self.max_size


@dataclass(frozen=True)
class Component:
    name: str
    value: float
    weight: float
    detail: str


@dataclass(frozen=True)
class Explanation:
    score: float
    components: tuple[Component, ...]
    overlap_hours: float


@dataclass(frozen=True)
class Group:
    members: tuple[Candidate, ...]
    explanation: Explanation


@dataclass(frozen=True)
class Result:
    groups: tuple[Group, ...]
    unmatched: tuple[tuple[Candidate, str], ...]


# --- working hours -------------------------------------------------------------------------------


def hours_mask(time_zone: str | None, start: str, end: str, on: date) -> int:
    """The UTC half hours of a local working day (``"09:00"``-``"17:00"``) on a given date."""
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    begin = datetime.combine(on, time.fromisoformat(start), zone)
    finish = datetime.combine(on, time.fromisoformat(end), zone)
    offset = begin.utcoffset() or timedelta(0)
    first = int((begin.hour * 60 + begin.minute - offset.total_seconds() / 60) // 30)
    count = max(0, int((finish - begin).total_seconds() // 1800))
    mask = 0
    for slot in range(first, first + min(count, SLOTS_PER_DAY)):
        mask |= 1 << (slot % SLOTS_PER_DAY)
    return mask


def overlap_slots(members: tuple[Candidate, ...] | list[Candidate]) -> int:
    mask = (1 << SLOTS_PER_DAY) - 1
    for member in members:
        mask &= member.hours
    return mask.bit_count()


def _first_slot(mask: int) -> int:
    return (mask & -mask).bit_length() - 1 if mask else SLOTS_PER_DAY


# --- hard constraints ----------------------------------------------------------------------------


def conflict(a: Candidate, b: Candidate, rules: Rules) -> str | None:
    """Why two people may not share a group (None: they may)."""
    if rules.separate_manager_and_report and (
        a.manager_id == b.employee_id or b.manager_id == a.employee_id
    ):
        return "manager and report"
    if rules.separate_skip_level and (
        (a.skip_manager_id is not None and a.skip_manager_id == b.employee_id)
        or (b.skip_manager_id is not None and b.skip_manager_id == a.employee_id)
    ):
        return "manager's manager and report"
    if rules.separate_same_manager and a.manager_id is not None and a.manager_id == b.manager_id:
        return "same direct manager"
    return None


def violations(members: list[Candidate] | tuple[Candidate, ...], rules: Rules) -> list[str]:
    """Every hard constraint a group breaks (empty: a valid group)."""
    found: list[str] = []
    if not rules.min_size <= len(members) <= rules.largest:
        found.append(f"{len(members)} members, outside {rules.min_size}-{rules.largest}")
    ids = [m.employee_id for m in members]
    if len(set(ids)) != len(ids):
        found.append("the same employee twice")
    for i, a in enumerate(members):
        for b in members[i + 1 :]:
            reason = conflict(a, b, rules)
            if reason:
                found.append(f"{a.employee_id} and {b.employee_id}: {reason}")
    if overlap_slots(members) < rules.min_overlap_slots:
        found.append(
            f"{overlap_slots(members) / 2:g} shared working hours, "
            f"below {rules.min_overlap_slots / 2:g}"
        )
    return found


def fits(candidate: Candidate, members: list[Candidate], mask: int, rules: Rules) -> bool:
    if (mask & candidate.hours).bit_count() < rules.min_overlap_slots:
        return False
    return all(conflict(candidate, member, rules) is None for member in members)


# --- preferences ---------------------------------------------------------------------------------


def _level_similarity(a: Candidate, b: Candidate) -> float:
    if a.level is None or b.level is None:
        return 0.5
    return max(0.0, 1.0 - abs(a.level - b.level) / LEVEL_SPAN)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def pair_score(a: Candidate, b: Candidate, weights: Weights) -> float:
    return (
        weights.similar_level * _level_similarity(a, b)
        + weights.shared_interests * _jaccard(a.interests, b.interests)
        + weights.different_departments * (1.0 if a.department != b.department else 0.0)
    )


def explain(members: tuple[Candidate, ...], rules: Rules) -> Explanation:
    w = rules.weights
    pairs = [(a, b) for i, a in enumerate(members) for b in members[i + 1 :]]
    n_pairs = max(1, len(pairs))
    level = sum(_level_similarity(a, b) for a, b in pairs) / n_pairs
    interests = sum(_jaccard(a.interests, b.interests) for a, b in pairs) / n_pairs
    departments = sum(1.0 for a, b in pairs if a.department != b.department) / n_pairs
    distinct = {m.department for m in members}
    variety = (len(distinct) - 1) / max(1, len(members) - 1)
    labels = sorted({m.level_label for m in members if m.level_label})
    counts: dict[str, int] = {}
    for member in members:
        for topic in member.interests:
            counts[topic] = counts.get(topic, 0) + 1
    shared = sorted(t for t, c in counts.items() if c > 1)[:5]
    components = (
        Component(
            "similar_level",
            round(level, 3),
            w.similar_level,
            f"levels {', '.join(labels)}" if labels else "levels unknown",
        ),
        Component(
            "shared_interests",
            round(interests, 3),
            w.shared_interests,
            f"shared: {', '.join(shared)}" if shared else "no goals or topics in common",
        ),
        Component(
            "different_departments",
            round(departments, 3),
            w.different_departments,
            f"{len(distinct)} department(s) among {len(members)}",
        ),
        Component(
            "variety",
            round(variety, 3),
            w.variety,
            f"{len({m.location for m in members})} location(s)",
        ),
    )
    total_weight = sum(c.weight for c in components) or 1.0
    score = sum(c.value * c.weight for c in components) / total_weight
    return Explanation(round(score, 4), components, overlap_slots(members) / 2)


# --- matching ------------------------------------------------------------------------------------


def group_sizes(n: int, rules: Rules) -> list[int]:
    if n < rules.min_size:
        return []
    count = math.ceil(n / rules.max_size)
    if n // count < rules.min_size:
        count = max(1, n // rules.min_size)
    base, extra = divmod(n, count)
    sizes = [min(rules.max_size, base + (1 if i < extra else 0)) for i in range(count)]
    return [s for s in sizes if s >= rules.min_size]


def match(candidates: list[Candidate], rules: Rules) -> Result:
    unique = {c.participant_id: c for c in candidates}
    pool = sorted(
        unique.values(),
        key=lambda c: (
            _first_slot(c.hours),
            c.level if c.level is not None else math.inf,
            c.department or "",
            c.participant_id,
        ),
    )
    free: dict[str, int] = {c.participant_id: i for i, c in enumerate(pool)}  # insertion-ordered
    degree = _conflict_degrees(pool, rules)
    unmatched: list[tuple[Candidate, str]] = []
    groups: list[list[Candidate]] = []
    for size in group_sizes(len(pool), rules):
        if not free:
            break
        window = [pool[i] for _, i in zip(range(WINDOW), free.values(), strict=False)]
        seed = max(window, key=lambda c: degree[c.participant_id])  # first of the most constrained
        del free[seed.participant_id]
        members = [seed]
        mask = seed.hours
        while len(members) < size:
            best = _best(members, mask, free, pool, rules, degree)
            if best is None:
                break
            del free[best.participant_id]
            members.append(best)
            mask &= best.hours
        groups.append(members)
    kept: list[list[Candidate]] = []
    retry: list[Candidate] = [pool[i] for i in free.values()]
    for members in groups:
        if len(members) >= rules.min_size:
            kept.append(members)
        else:
            retry.extend(members)
    for candidate in sorted(retry, key=lambda c: c.participant_id):
        target = _best_group(candidate, kept, rules)
        if target is None:
            unmatched.append((candidate, _why_unmatched(candidate, kept, rules)))
        else:
            target.append(candidate)
    formed: list[Group] = []
    for members in kept:
        broken = violations(members, rules)
        if broken:  # a safety net: the steps above only ever add members that fit
            unmatched.extend((m, "; ".join(broken)) for m in members)
        else:
            formed.append(Group(tuple(members), explain(tuple(members), rules)))
    return Result(tuple(formed), tuple(sorted(unmatched, key=lambda u: u[0].participant_id)))


def _conflict_degrees(pool: list[Candidate], rules: Rules) -> dict[str, int]:
    """How many others each candidate may not share a group with (reporting lines): the most
    constrained are placed first, while there is still room for them."""
    by_manager: dict[str, int] = {}
    by_skip: dict[str, int] = {}
    for c in pool:
        if c.manager_id:
            by_manager[c.manager_id] = by_manager.get(c.manager_id, 0) + 1
        if c.skip_manager_id:
            by_skip[c.skip_manager_id] = by_skip.get(c.skip_manager_id, 0) + 1
    degrees: dict[str, int] = {}
    for c in pool:
        degree = 0
        if rules.separate_same_manager and c.manager_id:
            degree += by_manager[c.manager_id] - 1
        if rules.separate_manager_and_report:
            degree += by_manager.get(c.employee_id, 0) + (1 if c.manager_id else 0)
        if rules.separate_skip_level:
            degree += by_skip.get(c.employee_id, 0) + (1 if c.skip_manager_id else 0)
        degrees[c.participant_id] = degree
    return degrees


def _best(
    members: list[Candidate],
    mask: int,
    free: dict[str, int],
    pool: list[Candidate],
    rules: Rules,
    degree: dict[str, int],
) -> Candidate | None:
    w = rules.weights
    urgency = (w.similar_level + w.shared_interests + w.different_departments + 1.0) * 0.5
    for window in (WINDOW, len(pool)):
        best: Candidate | None = None
        best_score = -1.0
        for seen, index in enumerate(free.values()):
            if seen >= window:
                break
            candidate = pool[index]
            if not fits(candidate, members, mask, rules):
                continue
            score = sum(pair_score(candidate, m, w) for m in members) / len(members)
            score += urgency * degree[candidate.participant_id]
            if score > best_score:
                best, best_score = candidate, score
        if best is not None:
            return best
    return None


def _best_group(
    candidate: Candidate, groups: list[list[Candidate]], rules: Rules
) -> list[Candidate] | None:
    limit = rules.largest if rules.leftover_joins else rules.max_size
    best: list[Candidate] | None = None
    best_score = -1.0
    for members in groups:
        if len(members) >= limit:
            continue
        mask = (1 << SLOTS_PER_DAY) - 1
        for member in members:
            mask &= member.hours
        if not fits(candidate, members, mask, rules):
            continue
        score = sum(pair_score(candidate, m, rules.weights) for m in members) / len(members)
        if score > best_score:
            best, best_score = members, score
    return best


def _why_unmatched(candidate: Candidate, groups: list[list[Candidate]], rules: Rules) -> str:
    limit = rules.largest if rules.leftover_joins else rules.max_size
    if not groups:
        return "too few compatible participants to form a group"
    if all(len(g) >= limit for g in groups):
        return "every group is full; waits for the next round"
    return "no group with room fits the constraints (reporting line or working hours)"


def check_move(candidate: Candidate, members: list[Candidate], rules: Rules) -> list[str]:
    """What adding ``candidate`` to a group would break (for admins' moves and swaps)."""
    return violations([*members, candidate], rules)
