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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SLOTS_PER_DAY = 48  # half hours
WINDOW = 48
LEVEL_SPAN = 4.0  # levels this far apart score 0 on similarity
UNKNOWN = 0.5  # a pair where one member's value is unknown: neither a match nor a mismatch

Answer = str | int | frozenset[str]
"""A member's answer to a choice or scale question: an option, a number, or chosen options."""


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
    meeting_preference: str = "either"  # remote, in_person or either
    answers: Mapping[str, Answer] = field(default_factory=dict, hash=False)
    """Answers to the program's choice and scale questions (never its short texts)."""


@dataclass(frozen=True)
class Weights:
    similar_level: float = 1.0
    shared_interests: float = 1.0
    different_departments: float = 1.0
    variety: float = 0.5
    meeting_preference: float = 1.0


@dataclass(frozen=True)
class QuestionRule:
    """A preference over one choice or scale question: members with the same answers, with
    different ones, or (scale) near each other."""

    question_id: str
    label: str
    kind: Literal["single_choice", "multiple_choice", "scale"]
    match: Literal["same", "different", "near"]
    weight: float
    span: int = 1  # scale: max - min, the largest distance two answers can be apart


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
    questions: tuple[QuestionRule, ...] = ()

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


def _meeting_fit(a: Candidate, b: Candidate) -> float:
    """1 when two members can meet the way each prefers: not one remote-only and one
    in-person-only, and whoever wants to meet in person works where the other does (an unknown
    location is given the benefit of the doubt)."""
    wants = {a.meeting_preference, b.meeting_preference}
    if {"remote", "in_person"} <= wants:
        return 0.0
    apart = a.location is not None and b.location is not None and a.location != b.location
    return 0.0 if "in_person" in wants and apart else 1.0


def question_fit(rule: QuestionRule, a: Candidate, b: Candidate) -> float:
    """How well two members' answers meet ``rule``, from 0 to 1 (``UNKNOWN`` when either has
    not answered, or answered in a shape the question no longer has)."""
    x, y = a.answers.get(rule.question_id), b.answers.get(rule.question_id)
    if rule.kind == "scale":
        if not isinstance(x, int) or not isinstance(y, int):
            return UNKNOWN
        distance = min(1.0, abs(x - y) / max(1, rule.span))
        if rule.match == "near":
            return 1.0 - distance
        alike = 1.0 if x == y else 0.0
        return alike if rule.match == "same" else distance
    if rule.kind == "multiple_choice":
        if not isinstance(x, frozenset) or not isinstance(y, frozenset) or not (x or y):
            return UNKNOWN
        overlap = _jaccard(x, y)
    else:
        if not isinstance(x, str) or not isinstance(y, str):
            return UNKNOWN
        overlap = 1.0 if x == y else 0.0
    return overlap if rule.match == "same" else 1.0 - overlap


def pair_score(a: Candidate, b: Candidate, rules: Rules) -> float:
    """What a pair of members adds to a group's score: the group's explanation is the mean of
    these over its pairs (variety and departments by their pairwise counterparts)."""
    w = rules.weights
    return (
        w.similar_level * _level_similarity(a, b)
        + w.shared_interests * _jaccard(a.interests, b.interests)
        + w.different_departments * (1.0 if a.department != b.department else 0.0)
        + w.variety * (1.0 if a.location != b.location else 0.0)
        + w.meeting_preference * _meeting_fit(a, b)
        + sum(q.weight * question_fit(q, a, b) for q in rules.questions)
    )


def _spread(values: list[str | None]) -> float:
    """0 when everyone shares one value, 1 when every member's differs."""
    return (len(set(values)) - 1) / max(1, len(values) - 1)


def explain(members: tuple[Candidate, ...], rules: Rules) -> Explanation:
    """A group's score, the weighted mean of its components, each with what it saw.

    Variety and different departments are two rules, not one. Different departments is the
    department mix (the share of pairs from different departments); variety is the spread of
    the members' *locations*, which is what its explanation always said. Computing both over
    departments counted one preference twice and told admins something else than it scored;
    two separate weights let a program want mixed departments within one office (variety 0)."""
    w = rules.weights
    pairs = [(a, b) for i, a in enumerate(members) for b in members[i + 1 :]]
    n_pairs = max(1, len(pairs))

    def mean(fit: Callable[[Candidate, Candidate], float]) -> float:
        return sum(fit(a, b) for a, b in pairs) / n_pairs

    level = mean(_level_similarity)
    interests = mean(lambda a, b: _jaccard(a.interests, b.interests))
    departments = mean(lambda a, b: 1.0 if a.department != b.department else 0.0)
    meeting = mean(_meeting_fit)
    distinct = {m.department for m in members}
    places = {m.location for m in members}
    labels = sorted({m.level_label for m in members if m.level_label})
    counts: dict[str, int] = {}
    for member in members:
        for topic in member.interests:
            counts[topic] = counts.get(topic, 0) + 1
    shared = sorted(t for t, c in counts.items() if c > 1)[:5]
    fitting = sum(1 for a, b in pairs if _meeting_fit(a, b) == 1.0)
    parts = [
        (
            "similar_level",
            level,
            w.similar_level,
            f"levels {', '.join(labels)}" if labels else "levels unknown",
        ),
        (
            "shared_interests",
            interests,
            w.shared_interests,
            f"shared: {', '.join(shared)}" if shared else "no goals or topics in common",
        ),
        (
            "different_departments",
            departments,
            w.different_departments,
            f"{len(distinct)} department(s) among {len(members)}",
        ),
        (
            "variety",
            _spread([m.location for m in members]),
            w.variety,
            f"{len(places)} location(s) among {len(members)}",
        ),
        (
            "meeting_preference",
            meeting,
            w.meeting_preference,
            f"{fitting} of {len(pairs)} pair(s) can meet as both prefer",
        ),
        *(_question_part(rule, members, pairs) for rule in rules.questions),
    ]
    components = tuple(
        Component(name, round(value, 3), weight, detail) for name, value, weight, detail in parts
    )
    total_weight = sum(weight for _, _, weight, _ in parts) or 1.0
    # From the exact values: the rounded ones are for reading.
    score = sum(value * weight for _, value, weight, _ in parts) / total_weight
    return Explanation(round(score, 4), components, overlap_slots(members) / 2)


def _question_part(
    rule: QuestionRule,
    members: tuple[Candidate, ...],
    pairs: list[tuple[Candidate, Candidate]],
) -> tuple[str, float, float, str]:
    """A question rule's part of the score, named after the question; it says how many
    answered, never what anyone answered."""
    value = sum(question_fit(rule, a, b) for a, b in pairs) / max(1, len(pairs))
    answered = sum(1 for m in members if rule.question_id in m.answers)
    return (
        f"question:{rule.question_id}",
        value,
        rule.weight,
        f"{rule.label} ({rule.match}); answered by {answered} of {len(members)}",
    )


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
        partial: dict[str, tuple[int, float]] = {}
        while len(members) < size:
            best = _best(members, mask, free, pool, rules, degree, partial)
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


def _most(rules: Rules) -> float:
    """The most a pair can score: a conflict degree outweighs any preference by this."""
    w = rules.weights
    preferences = (
        w.similar_level + w.shared_interests + w.different_departments + w.variety
    ) + w.meeting_preference
    return preferences + sum(q.weight for q in rules.questions)


def _best(
    members: list[Candidate],
    mask: int,
    free: dict[str, int],
    pool: list[Candidate],
    rules: Rules,
    degree: dict[str, int],
    partial: dict[str, tuple[int, float]],
) -> Candidate | None:
    """The free candidate that fits the group best. ``partial``: per candidate, how many of
    the group's members its pair scores are summed over already, and the sum; the group only
    grows, so each pair is scored once (in the order a plain sum would add them)."""
    urgency = (_most(rules) + 1.0) * 0.5
    for window in (WINDOW, len(pool)):
        best: Candidate | None = None
        best_score = -1.0
        for seen, index in enumerate(free.values()):
            if seen >= window:
                break
            candidate = pool[index]
            if not fits(candidate, members, mask, rules):
                continue
            done, total = partial.get(candidate.participant_id, (0, 0.0))
            for member in members[done:]:
                total += pair_score(candidate, member, rules)
            partial[candidate.participant_id] = (len(members), total)
            score = total / len(members) + urgency * degree[candidate.participant_id]
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
        score = sum(pair_score(candidate, m, rules) for m in members) / len(members)
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
