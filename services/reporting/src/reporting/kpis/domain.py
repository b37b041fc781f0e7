"""Pure KPI computations from weekly counters: the summary, the weekly series, the funnel.

Input is what the rollups hold: per ISO week, per family, a mapping of counter names to numbers.
Nothing here reads a database; every figure is a sum or a ratio of counters (and the median of a
histogram), so a query costs the number of weeks, not the number of events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, Field

from reporting.disclosure.domain import (
    DisclosureRule,
    WeekContribution,
    released_average,
    released_histogram,
)
from reporting.projections.domain import Family, Stage, iso_week

Counts = Mapping[str, int]


@dataclass(frozen=True)
class WeekRow:
    """One rollup: a week's counters of one family."""

    week: str
    family: str
    counts: Counts


class Weeks:
    """Counters by week and family, with totals."""

    def __init__(self, rows: Iterable[WeekRow]) -> None:
        self._by_week: dict[str, dict[str, dict[str, int]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(int))
        )
        self._totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for row in rows:
            total = self._totals[row.family]
            for name, value in row.counts.items():
                total[name] += int(value)
            if row.family == Family.FUNNEL:
                continue  # kept per program (in shards), not per week
            week = self._by_week[row.week][row.family]
            for name, value in row.counts.items():
                week[name] += int(value)

    @property
    def weeks(self) -> list[str]:
        return sorted(self._by_week)

    def week(self, week: str, family: Family) -> Mapping[str, int]:
        return self._by_week.get(week, {}).get(family, {})

    def total(self, family: Family) -> Mapping[str, int]:
        return self._totals.get(family, {})


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator`` rounded to 4 places; None when there is nothing to divide by."""
    return round(numerator / denominator, 4) if denominator else None


def histogram(counts: Counts, prefix: str = "days_") -> dict[int, int]:
    return {
        int(name.removeprefix(prefix)): int(n)
        for name, n in counts.items()
        if name.startswith(prefix) and n > 0
    }


def median_from_histogram(buckets: Mapping[int, int]) -> float | None:
    """The median of values given as {value: how many}; the mean of the two middle ones if even."""
    total = sum(n for n in buckets.values() if n > 0)
    if total == 0:
        return None
    lower_rank, upper_rank = (total - 1) // 2, total // 2  # 0-based ranks of the middle value(s)
    lower = upper = None
    seen = 0
    for value in sorted(buckets):
        n = buckets[value]
        if n <= 0:
            continue
        if lower is None and lower_rank < seen + n:
            lower = value
        if upper_rank < seen + n:
            upper = value
            break
        seen += n
    assert lower is not None and upper is not None
    return (lower + upper) / 2


class CurrentState(BaseModel):
    """What is counted now rather than per week (from the day buckets of the totals)."""

    overdue_actions: int = 0
    active_groups: int = 0
    engaged_groups: int = 0


class ParticipantKpis(BaseModel):
    enrolled: int = Field(description="Enrolments so far (including those withdrawn since).")
    active: int = Field(description="Enrolled and not withdrawn.")
    withdrawn: int
    withdrawn_by_reason: dict[str, int]
    waitlisted: int = Field(description="On a waitlist now (joined minus enrolled from it).")
    retention: float | None = Field(description="active / enrolled.")


class GroupKpis(BaseModel):
    formed: int
    dissolved: int
    active: int
    engaged: int = Field(description="Active groups that met within their program's cadence.")
    engaged_share: float | None


class SessionKpis(BaseModel):
    scheduled: int
    held: int
    cancelled: int
    attendance_rate: float | None = Field(
        description="Attendees / members expected, held sessions."
    )


class ActionKpis(BaseModel):
    committed: int
    completed: int
    dropped: int
    open: int
    overdue: int
    completion_rate: float | None = Field(description="completed / committed.")
    median_days_to_complete: float | None


class FeedbackKpis(BaseModel):
    ratings: int
    average_rating: float | None = Field(description="1 to 5.")
    average_recommend_score: float | None = Field(description="0 to 10.")


class ReminderKpis(BaseModel):
    sent: int
    failed: int
    failure_rate: float | None = Field(description="failed / (sent + failed).")


class Summary(BaseModel):
    program_id: str
    participants: ParticipantKpis
    groups: GroupKpis
    sessions: SessionKpis
    actions: ActionKpis
    feedback: FeedbackKpis
    reminders: ReminderKpis


WITHDRAW_REASONS = ("self", "terminated", "admin", "erased")


class WeeklyCounters(Protocol):
    """Counters week by week: ``Weeks``, or the weekly part of a program's totals document."""

    @property
    def weeks(self) -> list[str]: ...

    def week(self, week: str, family: Family) -> Mapping[str, int]: ...


class WeeksOfTotals:
    """The totals document's ``w.<week>.<family>.<name>`` counters, read as they are (no copy:
    the summary asks them on every request)."""

    def __init__(self, by_week: Mapping[str, Mapping[str, Mapping[str, int]]]) -> None:
        self._by_week = by_week

    @property
    def weeks(self) -> list[str]:
        return sorted(self._by_week)

    def week(self, week: str, family: Family) -> Mapping[str, int]:
        return self._by_week.get(week, {}).get(family, {})


def ratings(weeks: WeeklyCounters) -> list[WeekContribution]:
    """What each week adds to the average rating, and how many people rated."""
    return _contributions(weeks, "ratings", "rating_sum", "raters")


def recommend_scores(weeks: WeeklyCounters) -> list[WeekContribution]:
    return _contributions(weeks, "recommend_count", "recommend_sum", "recommenders")


def completions(weeks: WeeklyCounters) -> list[WeekContribution]:
    """Each week's histogram of days to complete a step, and how many people completed one."""
    out = []
    for week in weeks.weeks:
        a = weeks.week(week, Family.ACTIONS)
        days = histogram(a)
        n = sum(days.values())
        out.append(WeekContribution(week, int(a.get("completers", 0)), n, 0, days))
    return out


def _contributions(
    weeks: WeeklyCounters, n: str, total: str, people: str
) -> list[WeekContribution]:
    return [
        WeekContribution(
            week,
            int(f.get(people, 0)),
            int(f.get(n, 0)),
            int(f.get(total, 0)),
        )
        for week in weeks.weeks
        for f in [weeks.week(week, Family.FEEDBACK)]
    ]


def summary(
    program_id: str,
    totals: Weeks,
    by_week: WeeklyCounters,
    now: CurrentState,
    rule: DisclosureRule,
) -> Summary:
    """The program's figures to date, every one released by ``rule`` (reporting.disclosure):
    counts in steps of k, ratios of released counts, averages of released weeks only."""
    p, g, s = (
        totals.total(Family.PARTICIPANTS),
        totals.total(Family.GROUPS),
        totals.total(Family.SESSIONS),
    )
    a, r = totals.total(Family.ACTIONS), totals.total(Family.REMINDERS)
    count = rule.count
    enrolled = count(p.get("enrolled", 0))
    active = count(p.get("enrolled", 0) - p.get("withdrawn", 0))
    committed, completed = count(a.get("committed", 0)), count(a.get("completed", 0))
    dropped = count(a.get("dropped", 0))
    open_steps = a.get("committed", 0) - a.get("completed", 0) - a.get("dropped", 0)
    sent, failed = count(r.get("sent", 0)), count(r.get("failed", 0))
    attempts = count(r.get("sent", 0) + r.get("failed", 0))
    active_groups, engaged_groups = count(now.active_groups), count(now.engaged_groups)
    rated, average_rating = released_average(rule, ratings(by_week))
    _, average_recommend = released_average(rule, recommend_scores(by_week))
    return Summary(
        program_id=program_id,
        participants=ParticipantKpis(
            enrolled=enrolled,
            active=active,
            withdrawn=count(p.get("withdrawn", 0)),
            withdrawn_by_reason={
                reason: count(p.get(f"withdrawn_{reason}", 0)) for reason in WITHDRAW_REASONS
            },
            waitlisted=count(p.get("waitlisted", 0) - p.get("enrolled_from_waitlist", 0)),
            retention=rule.share(active, enrolled),
        ),
        groups=GroupKpis(
            formed=count(g.get("formed", 0)),
            dissolved=count(g.get("dissolved", 0)),
            active=active_groups,
            engaged=engaged_groups,
            engaged_share=rule.share(engaged_groups, active_groups),
        ),
        sessions=SessionKpis(
            scheduled=count(s.get("scheduled", 0)),
            held=count(s.get("held", 0)),
            cancelled=count(s.get("cancelled", 0)),
            attendance_rate=rule.share(count(s.get("attended", 0)), count(s.get("invited", 0))),
        ),
        actions=ActionKpis(
            committed=committed,
            completed=completed,
            dropped=dropped,
            open=count(open_steps),
            overdue=count(now.overdue_actions),
            completion_rate=rule.share(completed, committed),
            median_days_to_complete=median_from_histogram(
                released_histogram(rule, completions(by_week))
            ),
        ),
        feedback=FeedbackKpis(
            ratings=rated,
            average_rating=average_rating,
            average_recommend_score=average_recommend,
        ),
        reminders=ReminderKpis(sent=sent, failed=failed, failure_rate=rule.share(failed, attempts)),
    )


class WeekPoint(BaseModel):
    """One ISO week of a program. Stock figures (active, retention) are as at the week's end."""

    week: str = Field(examples=["2026-W05"])
    enrolled: int
    withdrawn: int
    active: int
    waitlisted: int
    retention: float | None
    groups_formed: int
    groups_met: int = Field(description="Groups that held at least one session that week.")
    sessions_scheduled: int
    sessions_held: int
    sessions_cancelled: int
    attendance_rate: float | None
    actions_committed: int
    actions_completed: int
    actions_dropped: int
    completion_rate: float | None = Field(description="Cumulative completed / committed.")
    median_days_to_complete: float | None = Field(description="Of the steps completed that week.")
    average_rating: float | None
    reminders_sent: int
    reminders_failed: int


def all_weeks_between(first: str, last: str) -> list[str]:
    """Every ISO week from ``first`` to ``last`` inclusive (both ``YYYY-Www``)."""
    from datetime import date, timedelta

    def monday(week: str) -> date:
        year, number = week.split("-W")
        return date.fromisocalendar(int(year), int(number), 1)

    start, end = monday(first), monday(last)
    out = []
    while start <= end:
        iso = start.isocalendar()
        out.append(f"{iso.year:04d}-W{iso.week:02d}")
        start += timedelta(days=7)
    return out


def time_series(
    weeks: Weeks, rule: DisclosureRule, first: str | None = None, last: str | None = None
) -> list[WeekPoint]:
    """One point per week from ``first`` to ``last`` (default: from the first week with data to
    the week of ``rule.now``, or the last with data if later), gaps as zeros, every figure
    released by ``rule``: a week's average rating and median only once the week is closed and
    had enough people.

    The default span never ends at the last week with data before now: a lone event in a quiet
    week would otherwise show by the week appearing.
    Stock figures accumulate from the program's first week, whatever ``first`` is.
    """
    known = weeks.weeks
    if not known and (first is None or last is None):
        return []
    this_week = iso_week(rule.now) if known and last is None else None
    span_first = min([w for w in (first, known[0] if known else None) if w])
    span_last = max([w for w in (last, known[-1] if known else None, this_week) if w])
    rated = {c.week: c for c in ratings(weeks)}
    completed_in = {c.week: c for c in completions(weeks)}
    count = rule.count
    points: list[WeekPoint] = []
    enrolled = withdrawn = waitlisted = committed = completed = 0
    for week in all_weeks_between(span_first, span_last):
        p, g, s = (
            weeks.week(week, fam) for fam in (Family.PARTICIPANTS, Family.GROUPS, Family.SESSIONS)
        )
        a, r = weeks.week(week, Family.ACTIONS), weeks.week(week, Family.REMINDERS)
        enrolled += p.get("enrolled", 0)
        withdrawn += p.get("withdrawn", 0)
        waitlisted += p.get("waitlisted", 0) - p.get("enrolled_from_waitlist", 0)
        committed += a.get("committed", 0)
        completed += a.get("completed", 0)
        if (first and week < first) or (last and week > last):
            continue
        active = count(enrolled - withdrawn)
        no_values = WeekContribution(week, 0)
        points.append(
            WeekPoint(
                week=week,
                enrolled=count(p.get("enrolled", 0)),
                withdrawn=count(p.get("withdrawn", 0)),
                active=active,
                waitlisted=count(waitlisted),
                retention=rule.share(active, count(enrolled)),
                groups_formed=count(g.get("formed", 0)),
                groups_met=count(g.get("met", 0)),
                sessions_scheduled=count(s.get("scheduled", 0)),
                sessions_held=count(s.get("held", 0)),
                sessions_cancelled=count(s.get("cancelled", 0)),
                attendance_rate=rule.share(count(s.get("attended", 0)), count(s.get("invited", 0))),
                actions_committed=count(a.get("committed", 0)),
                actions_completed=count(a.get("completed", 0)),
                actions_dropped=count(a.get("dropped", 0)),
                completion_rate=rule.share(count(completed), count(committed)),
                median_days_to_complete=median_from_histogram(
                    released_histogram(rule, [completed_in.get(week, no_values)])
                ),
                average_rating=released_average(rule, [rated.get(week, no_values)])[1],
                reminders_sent=count(r.get("sent", 0)),
                reminders_failed=count(r.get("failed", 0)),
            )
        )
    return points


class FunnelStage(BaseModel):
    stage: Stage
    people: int
    share_of_enrolled: float | None
    share_of_previous: float | None


class Funnel(BaseModel):
    program_id: str
    stages: list[FunnelStage]


def funnel(program_id: str, weeks: Weeks, rule: DisclosureRule) -> Funnel:
    """The stages' people released by ``rule`` (in steps of k); the shares are ratios of those
    released figures."""
    totals = weeks.total(Family.FUNNEL)
    enrolled = rule.count(totals.get(Stage.ENROLLED, 0))
    stages: list[FunnelStage] = []
    previous: int | None = None
    for stage in Stage:
        people = rule.count(totals.get(stage, 0))
        stages.append(
            FunnelStage(
                stage=stage,
                people=people,
                share_of_enrolled=rule.share(people, enrolled),
                share_of_previous=rule.share(people, previous) if previous is not None else None,
            )
        )
        previous = people
    return Funnel(program_id=program_id, stages=stages)
