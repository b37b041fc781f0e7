"""Pure KPI computations from weekly counters: the summary, the weekly series, the funnel.

Input is what the rollups hold: per ISO week, per family, a mapping of counter names to numbers.
Nothing here reads a database; every figure is a sum or a ratio of counters (and the median of a
histogram), so a query costs the number of weeks, not the number of events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel, Field

from reporting.projections.domain import Family, Stage

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


def summary(program_id: str, weeks: Weeks, now: CurrentState) -> Summary:
    p, g, s = (
        weeks.total(Family.PARTICIPANTS),
        weeks.total(Family.GROUPS),
        weeks.total(Family.SESSIONS),
    )
    a, f, r = (
        weeks.total(Family.ACTIONS),
        weeks.total(Family.FEEDBACK),
        weeks.total(Family.REMINDERS),
    )
    enrolled, withdrawn = p.get("enrolled", 0), p.get("withdrawn", 0)
    active = max(enrolled - withdrawn, 0)
    committed, completed, dropped = (
        a.get("committed", 0),
        a.get("completed", 0),
        a.get("dropped", 0),
    )
    sent, failed = r.get("sent", 0), r.get("failed", 0)
    return Summary(
        program_id=program_id,
        participants=ParticipantKpis(
            enrolled=enrolled,
            active=active,
            withdrawn=withdrawn,
            withdrawn_by_reason={
                reason: p.get(f"withdrawn_{reason}", 0) for reason in WITHDRAW_REASONS
            },
            waitlisted=max(p.get("waitlisted", 0) - p.get("enrolled_from_waitlist", 0), 0),
            retention=ratio(active, enrolled),
        ),
        groups=GroupKpis(
            formed=g.get("formed", 0),
            dissolved=g.get("dissolved", 0),
            active=now.active_groups,
            engaged=now.engaged_groups,
            engaged_share=ratio(now.engaged_groups, now.active_groups),
        ),
        sessions=SessionKpis(
            scheduled=s.get("scheduled", 0),
            held=s.get("held", 0),
            cancelled=s.get("cancelled", 0),
            attendance_rate=ratio(s.get("attended", 0), s.get("invited", 0)),
        ),
        actions=ActionKpis(
            committed=committed,
            completed=completed,
            dropped=dropped,
            open=max(committed - completed - dropped, 0),
            overdue=now.overdue_actions,
            completion_rate=ratio(completed, committed),
            median_days_to_complete=median_from_histogram(histogram(a)),
        ),
        feedback=FeedbackKpis(
            ratings=f.get("ratings", 0),
            average_rating=ratio(f.get("rating_sum", 0), f.get("ratings", 0)),
            average_recommend_score=ratio(f.get("recommend_sum", 0), f.get("recommend_count", 0)),
        ),
        reminders=ReminderKpis(sent=sent, failed=failed, failure_rate=ratio(failed, sent + failed)),
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


def time_series(weeks: Weeks, first: str | None = None, last: str | None = None) -> list[WeekPoint]:
    """One point per week from ``first`` to ``last`` (default: the weeks with data), gaps as zeros.

    Stock figures accumulate from the program's first week, whatever ``first`` is.
    """
    known = weeks.weeks
    if not known and (first is None or last is None):
        return []
    span_first = min([w for w in (first, known[0] if known else None) if w])
    span_last = max([w for w in (last, known[-1] if known else None) if w])
    points: list[WeekPoint] = []
    enrolled = withdrawn = waitlisted = committed = completed = 0
    for week in all_weeks_between(span_first, span_last):
        p, g, s = (
            weeks.week(week, fam) for fam in (Family.PARTICIPANTS, Family.GROUPS, Family.SESSIONS)
        )
        a, f, r = (
            weeks.week(week, fam) for fam in (Family.ACTIONS, Family.FEEDBACK, Family.REMINDERS)
        )
        enrolled += p.get("enrolled", 0)
        withdrawn += p.get("withdrawn", 0)
        waitlisted += p.get("waitlisted", 0) - p.get("enrolled_from_waitlist", 0)
        committed += a.get("committed", 0)
        completed += a.get("completed", 0)
        if (first and week < first) or (last and week > last):
            continue
        active = max(enrolled - withdrawn, 0)
        points.append(
            WeekPoint(
                week=week,
                enrolled=p.get("enrolled", 0),
                withdrawn=p.get("withdrawn", 0),
                active=active,
                waitlisted=max(waitlisted, 0),
                retention=ratio(active, enrolled),
                groups_formed=g.get("formed", 0),
                groups_met=g.get("met", 0),
                sessions_scheduled=s.get("scheduled", 0),
                sessions_held=s.get("held", 0),
                sessions_cancelled=s.get("cancelled", 0),
                attendance_rate=ratio(s.get("attended", 0), s.get("invited", 0)),
                actions_committed=a.get("committed", 0),
                actions_completed=a.get("completed", 0),
                actions_dropped=a.get("dropped", 0),
                completion_rate=ratio(completed, committed),
                median_days_to_complete=median_from_histogram(histogram(a)),
                average_rating=ratio(f.get("rating_sum", 0), f.get("ratings", 0)),
                reminders_sent=r.get("sent", 0),
                reminders_failed=r.get("failed", 0),
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


def funnel(program_id: str, weeks: Weeks) -> Funnel:
    totals = weeks.total(Family.FUNNEL)
    enrolled = totals.get(Stage.ENROLLED, 0)
    stages, previous = [], None
    for stage in Stage:
        people = totals.get(stage, 0)
        stages.append(
            FunnelStage(
                stage=stage,
                people=people,
                share_of_enrolled=ratio(people, enrolled),
                share_of_previous=ratio(people, previous) if previous is not None else None,
            )
        )
        previous = people
    return Funnel(program_id=program_id, stages=stages)
