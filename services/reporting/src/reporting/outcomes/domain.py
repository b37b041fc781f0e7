"""The sponsors' outcome figures of a program, under the disclosure-control rule. Pure.

Survey figures (docs/outcomes.md):

- **response rate** per survey: responses / asked, both released as counts (rule 1), the rate
  from them (rule 2);
- **NPS**: promoters (9-10) minus detractors (0-6), in percentage points of the answers to the
  nps question;
- **means** per scale question; **pre/post change** per built-in question: the mean of the
  post-program survey minus the mean of the pre-program survey; **pulse means** over the
  program's relationship pulses.

An average of answers is said only of a survey that is *closed* (its answers can no longer
change, so no two views differ by one person's answer) and only when at least
``rule.fewest_contributors`` people (k, never fewer than 3) answered that question in that
survey. A figure pooled over several surveys pools only surveys that would be shown alone, so
the difference between two pooled figures is itself a figure of at least k people.

Retention against the company: the share of the program's participants terminated since the
program started, beside the same share among the company's other employees, each share a
ratio of released counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from pydantic import BaseModel, Field

from reporting.disclosure.domain import DisclosureRule

PROMOTER_FROM = 9
DETRACTOR_TO = 6


@dataclass(frozen=True)
class Question:
    question_id: str
    kind: str
    """``nps`` or ``scale``: the questions whose numbers are counted."""
    label: str
    built_in: bool
    scale_min: int | None = None
    scale_max: int | None = None

    def takes(self, value: int) -> bool:
        low = 0 if self.scale_min is None else self.scale_min
        high = 10 if self.scale_max is None else self.scale_max
        return low <= value <= high


@dataclass(frozen=True)
class Survey:
    survey_id: str
    kind: str
    group_id: str | None
    asked: int
    questions: Sequence[Question]
    opened_at: datetime
    closes_at: datetime
    closed_at: datetime | None = None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


@dataclass(frozen=True)
class Tally:
    """What a survey's responses say, counted: how many responded, and per question how many
    gave each number (answers given after the survey closed are in neither)."""

    responded: int = 0
    given: Mapping[str, Mapping[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Answers:
    """The numbers one question of one survey got."""

    values: list[int] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Headcount:
    """The company's counters: employees known, and terminations by day (UTC)."""

    employees: int
    terminated_by_day: Mapping[str, int]


@dataclass(frozen=True)
class Participants:
    """A program's participants (everyone who enrolled): how many, how many the directory
    knows, and their terminations by day (UTC)."""

    participants: int
    known: int
    terminated_by_day: Mapping[str, int]


# --- what is served --------------------------------------------------------------------------


class Nps(BaseModel):
    answers: int = Field(description="Answers to the nps question, released as a count.")
    score: float | None = Field(
        description="Promoters minus detractors in percentage points (-100 to 100); null "
        "until the survey is closed with at least k answers.",
        examples=[42.9],
    )


class QuestionMean(BaseModel):
    question_id: str
    label: str
    answers: int = Field(description="Answers counted in the mean, released as a count.")
    mean: float | None


class SurveyFigures(BaseModel):
    survey_id: str
    kind: str = Field(examples=["post_program"])
    group_id: str | None = None
    status: str = Field(examples=["closed"], description="open or closed")
    opened_at: datetime
    closes_at: datetime
    asked: int
    responses: int
    response_rate: float | None
    nps: Nps | None = Field(description="When the survey has an nps question.")
    means: list[QuestionMean] = Field(description="Per scale question.")


class PrePostChange(BaseModel):
    question_id: str
    label: str
    pre_answers: int
    pre_mean: float | None
    post_answers: int
    post_mean: float | None
    change: float | None = Field(description="post_mean - pre_mean, when both are shown.")


class Retention(BaseModel):
    since: datetime | None = Field(description="When the program started; null before.")
    participants: int
    participants_terminated: int
    participants_terminated_share: float | None
    others: int = Field(description="The company's other employees at the start.")
    others_terminated: int
    others_terminated_share: float | None


class Outcomes(BaseModel):
    program_id: str
    surveys: list[SurveyFigures]
    nps: Nps | None = Field(description="Over the closed post-program surveys.")
    pre_post: list[PrePostChange] = Field(description="Per built-in question in both surveys.")
    pulse: list[QuestionMean] = Field(description="Per question, over the closed pulses.")
    retention: Retention


# --- rules -----------------------------------------------------------------------------------


def answers_of(survey: Survey, tally: Tally) -> dict[str, Answers]:
    """The numbers each scored question of ``survey`` got (only those in its range)."""
    by_question: dict[str, Answers] = {}
    for question in survey.questions:
        given = tally.given.get(question.question_id) or {}
        values = [v for v, n in sorted(given.items()) if question.takes(v) for _ in range(n)]
        by_question[question.question_id] = Answers(values)
    return by_question


def shown(rule: DisclosureRule, survey: Survey, answers: Answers) -> bool:
    """Whether an average of these answers may be said: closed, and enough people."""
    return survey.closed and answers.n >= rule.fewest_contributors


def _mean(values: Sequence[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def nps_score(values: Sequence[int]) -> float | None:
    if not values:
        return None
    promoters = sum(1 for v in values if v >= PROMOTER_FROM)
    detractors = sum(1 for v in values if v <= DETRACTOR_TO)
    return round(100 * (promoters - detractors) / len(values), 1)


def _pooled(rule: DisclosureRule, parts: Iterable[tuple[Survey, Answers]]) -> tuple[int, list[int]]:
    """Answers pooled over the surveys that would show them alone: (all answers, released)."""
    everything = 0
    kept: list[int] = []
    for survey, answers in parts:
        everything += answers.n
        if shown(rule, survey, answers):
            kept += answers.values
    return everything, kept


def survey_figures(
    rule: DisclosureRule, survey: Survey, answers: Mapping[str, Answers], responses: int
) -> SurveyFigures:
    asked, answered = rule.count(survey.asked), rule.count(responses)
    nps: Nps | None = None
    means: list[QuestionMean] = []
    for question in survey.questions:
        got = answers[question.question_id]
        released = got.values if shown(rule, survey, got) else []
        if question.kind == "nps" and nps is None:
            nps = Nps(answers=rule.count(got.n), score=nps_score(released))
        elif question.kind == "scale":
            means.append(
                QuestionMean(
                    question_id=question.question_id,
                    label=question.label,
                    answers=rule.count(got.n),
                    mean=_mean(released),
                )
            )
    return SurveyFigures(
        survey_id=survey.survey_id,
        kind=survey.kind,
        group_id=survey.group_id,
        status="closed" if survey.closed else "open",
        opened_at=survey.opened_at,
        closes_at=survey.closes_at,
        asked=asked,
        responses=answered,
        response_rate=rule.share(answered, asked),
        nps=nps,
        means=means,
    )


def _by_question(
    surveys: Iterable[tuple[Survey, Mapping[str, Answers]]], kind: str, *, built_in_only: bool
) -> dict[str, tuple[Question, list[tuple[Survey, Answers]]]]:
    found: dict[str, tuple[Question, list[tuple[Survey, Answers]]]] = {}
    for survey, answers in surveys:
        if survey.kind != kind:
            continue
        for question in survey.questions:
            if question.kind != "scale" or (built_in_only and not question.built_in):
                continue
            entry = found.setdefault(question.question_id, (question, []))
            entry[1].append((survey, answers[question.question_id]))
    return found


def _question_mean(
    rule: DisclosureRule, question: Question, parts: list[tuple[Survey, Answers]]
) -> QuestionMean:
    everything, kept = _pooled(rule, parts)
    return QuestionMean(
        question_id=question.question_id,
        label=question.label,
        answers=rule.count(everything),
        mean=_mean(kept),
    )


def pre_post(
    rule: DisclosureRule, surveys: Sequence[tuple[Survey, Mapping[str, Answers]]]
) -> list[PrePostChange]:
    """Per built-in scale question asked before and after: both means and their change."""
    pre = _by_question(surveys, "pre_program", built_in_only=True)
    post = _by_question(surveys, "post_program", built_in_only=True)
    changes = []
    for question_id in sorted(pre.keys() & post.keys()):
        before = _question_mean(rule, *pre[question_id])
        after = _question_mean(rule, *post[question_id])
        change = (
            round(after.mean - before.mean, 2)
            if after.mean is not None and before.mean is not None
            else None
        )
        changes.append(
            PrePostChange(
                question_id=question_id,
                label=post[question_id][0].label,
                pre_answers=before.answers,
                pre_mean=before.mean,
                post_answers=after.answers,
                post_mean=after.mean,
                change=change,
            )
        )
    return changes


def pulse_means(
    rule: DisclosureRule, surveys: Sequence[tuple[Survey, Mapping[str, Answers]]]
) -> list[QuestionMean]:
    pulses = _by_question(surveys, "pulse", built_in_only=False)
    return [_question_mean(rule, *pulses[q]) for q in sorted(pulses)]


def program_nps(
    rule: DisclosureRule, surveys: Sequence[tuple[Survey, Mapping[str, Answers]]]
) -> Nps | None:
    """NPS over the post-program surveys' nps answers (each survey as it would show alone)."""
    parts = [
        (survey, answers[q.question_id])
        for survey, answers in surveys
        if survey.kind == "post_program"
        for q in survey.questions
        if q.kind == "nps"
    ]
    if not parts:
        return None
    everything, kept = _pooled(rule, parts)
    return Nps(answers=rule.count(everything), score=nps_score(kept))


def _split(by_day: Mapping[str, int], start: date) -> tuple[int, int]:
    """Terminations before the start day, and on or after it."""
    before = sum(n for day, n in by_day.items() if day < start.isoformat())
    return before, sum(by_day.values()) - before


def retention(
    rule: DisclosureRule,
    started_at: datetime | None,
    company: Headcount,
    program: Participants,
) -> Retention:
    """Participants terminated since the start against the company's other employees."""
    if started_at is None:
        return Retention(
            since=None,
            participants=0,
            participants_terminated=0,
            participants_terminated_share=None,
            others=0,
            others_terminated=0,
            others_terminated_share=None,
        )
    start = started_at.date()
    company_before, company_since = _split(company.terminated_by_day, start)
    # who left before the program started was not at risk during it
    left_before, terminated = _split(program.terminated_by_day, start)
    base, known = program.participants - left_before, program.known - left_before
    others = max(company.employees - company_before - known, 0)
    others_terminated = max(company_since - terminated, 0)
    shown_base, shown_terminated = rule.count(base), rule.count(terminated)
    shown_others, shown_others_terminated = rule.count(others), rule.count(others_terminated)
    return Retention(
        since=started_at,
        participants=shown_base,
        participants_terminated=shown_terminated,
        participants_terminated_share=rule.share(shown_terminated, shown_base),
        others=shown_others,
        others_terminated=shown_others_terminated,
        others_terminated_share=rule.share(shown_others_terminated, shown_others),
    )


def outcomes(
    program_id: str,
    rule: DisclosureRule,
    surveys: Sequence[Survey],
    tallies: Mapping[str, Tally],
    retained: Retention,
) -> Outcomes:
    tally = {s.survey_id: tallies.get(s.survey_id) or Tally() for s in surveys}
    answered = [(s, answers_of(s, tally[s.survey_id])) for s in surveys]
    return Outcomes(
        program_id=program_id,
        surveys=[
            survey_figures(rule, s, answers, tally[s.survey_id].responded)
            for s, answers in answered
        ],
        nps=program_nps(rule, answered),
        pre_post=pre_post(rule, answered),
        pulse=pulse_means(rule, answered),
        retention=retained,
    )
