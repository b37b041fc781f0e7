"""The pure rules of surveys: built-in questions, the owner's questions, opening and closing,
answers checked, and what the events carry (numbers and option ids, never text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from enrollment.questions.domain import MultipleChoice, Option, Scale, ShortText, SingleChoice
from enrollment.surveys import domain
from enrollment.surveys.domain import (
    BUILT_IN,
    CloseReason,
    Nps,
    Survey,
    SurveyRefused,
    SurveyResponse,
    SurveyStatus,
)
from roundtable_shared.events.catalogue.enrollment import (
    MAX_SURVEY_QUESTIONS,
    SurveyClosed,
    SurveyKind,
    SurveyQuestionKind,
)

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
FOCUS = MultipleChoice(
    id="focus",
    label="What did you work on?",
    options=[Option(id="delegation", label="Delegation"), Option(id="hiring", label="Hiring")],
)
NOTE = ShortText(id="note", label="Anything else?")


def post_survey(*own: domain.SurveyQuestion) -> Survey:
    return Survey(
        survey_id="srv-1",
        program_id="p-1",
        kind=SurveyKind.POST_PROGRAM,
        questions=domain.survey_questions(SurveyKind.POST_PROGRAM, list(own)),
        asked=["e-1", "e-2"],
        opened_at=T0,
        closes_at=T0 + timedelta(days=7),
    )


def test_pre_and_post_share_their_scales_and_only_post_asks_the_nps() -> None:
    def scales(kind: SurveyKind) -> list[str]:
        return [q.id for q in BUILT_IN[kind] if isinstance(q, Scale)]

    assert scales(SurveyKind.PRE_PROGRAM) == scales(SurveyKind.POST_PROGRAM)
    assert len(scales(SurveyKind.PRE_PROGRAM)) >= 3
    nps = [q for kind in SurveyKind for q in BUILT_IN[kind] if isinstance(q, Nps)]
    assert [q.id for q in nps] == ["rt_recommend"]
    assert domain.RECOMMEND in BUILT_IN[SurveyKind.POST_PROGRAM]
    every = [q.id for kind in SurveyKind for q in BUILT_IN[kind]]
    assert all(i.startswith(domain.BUILT_IN_PREFIX) for i in every)
    pulse = BUILT_IN[SurveyKind.PULSE]
    assert all(isinstance(q, Scale) and (q.min, q.max) == (1, 5) for q in pulse)


@pytest.mark.parametrize(
    ("kind", "own", "named"),
    [
        (SurveyKind.PULSE, [NOTE], None),
        (SurveyKind.PRE_PROGRAM, [NOTE.model_copy(update={"id": "rt_note"})], "rt_note"),
        (SurveyKind.PRE_PROGRAM, [NOTE, NOTE], "note"),
        (SurveyKind.POST_PROGRAM, [Scale(id="energy", label="Energy", min=0, max=20)], "energy"),
        (SurveyKind.POST_PROGRAM, [Scale(id="mood", label="Mood", min=-2, max=2)], "mood"),
        (
            SurveyKind.POST_PROGRAM,
            [NOTE.model_copy(update={"id": f"q{n}"}) for n in range(MAX_SURVEY_QUESTIONS)],
            None,
        ),
    ],
)
def test_the_owners_questions_keep_the_rules(
    kind: SurveyKind, own: list[domain.SurveyQuestion], named: str | None
) -> None:
    with pytest.raises(SurveyRefused) as refused:
        domain.survey_questions(kind, own)
    assert refused.value.question_id == named


def test_the_owners_questions_follow_the_built_in_ones() -> None:
    questions = domain.survey_questions(SurveyKind.PRE_PROGRAM, [FOCUS])
    assert questions == [*BUILT_IN[SurveyKind.PRE_PROGRAM], FOCUS]


def test_the_outline_says_how_to_count_each_question_and_which_are_built_in() -> None:
    outlines = {o.question_id: o for o in post_survey(FOCUS, NOTE).opened().questions}
    assert (outlines["rt_recommend"].kind, outlines["rt_recommend"].scale_max) == (
        SurveyQuestionKind.NPS,
        10,
    )
    assert outlines["rt_leadership_confidence"].kind is SurveyQuestionKind.SCALE
    assert outlines["rt_action_steps_done"].option_ids == ["none", "some", "most", "all"]
    assert outlines["focus"].kind is SurveyQuestionKind.MULTIPLE_CHOICE
    assert not outlines["focus"].built_in and outlines["rt_keep_doing"].built_in
    assert outlines["note"].kind is SurveyQuestionKind.SHORT_TEXT


def test_answers_are_checked_against_the_questions_the_nps_as_0_to_10() -> None:
    survey = post_survey(FOCUS)
    valid = {
        **dict.fromkeys(
            [q.id for q in BUILT_IN[SurveyKind.POST_PROGRAM] if isinstance(q, Scale)], 3
        ),
        "rt_recommend": 0,
        "rt_action_steps_done": "all",
    }
    assert survey.problems(valid) == []
    problems = survey.problems({**valid, "rt_recommend": 11, "focus": ["cooking"]})
    assert [(p.question_id, p.message) for p in problems] == [
        ("rt_recommend", "out of range: from 0 to 10"),
        ("focus", "unknown option(s) cooking"),
    ]
    missing = {k: v for k, v in valid.items() if k != "rt_recommend"}
    assert [p.question_id for p in survey.problems(missing)] == ["rt_recommend"]


def test_the_answered_event_carries_numbers_and_option_ids_never_text() -> None:
    survey = post_survey(FOCUS, NOTE)
    response = SurveyResponse(
        response_id=domain.response_id("srv-1", "e-1"),
        survey_id="srv-1",
        program_id="p-1",
        employee_id="e-1",
        answers={},
        first_answered_at=T0,
        answered_at=T0,
    )
    given = {
        "rt_recommend": 9,
        "rt_leadership_confidence": 4,
        "rt_action_steps_done": "most",
        "focus": ["hiring"],
        "note": "private words",
        "rt_keep_doing": "more private words",
    }
    assert response.replace(given, T0)
    event = response.answered(survey)
    assert event.scores == {"rt_recommend": 9, "rt_leadership_confidence": 4}
    assert event.choices == {"rt_action_steps_done": ["most"], "focus": ["hiring"]}
    assert "private" not in event.model_dump_json()

    later = T0 + timedelta(minutes=3)
    assert not response.replace(given, later)  # the same answers: no change, no event
    assert response.answered_at == T0
    assert response.replace({**given, "rt_recommend": 10, "note": " "}, later)
    assert response.answered_at == later and "note" not in response.answers
    assert response.forget() and response.answers == {} and response.erased
    assert not response.forget()  # a repeated erasure writes nothing


def test_a_survey_stops_taking_answers_at_its_close_time_and_closes_once() -> None:
    survey = post_survey()
    closes_at = survey.closes_at
    assert survey.is_open(closes_at - timedelta(seconds=1))
    assert not survey.is_open(closes_at) and survey.due(closes_at)
    (closed,) = survey.close(closes_at + timedelta(hours=5), CloseReason.DUE)
    assert isinstance(closed, SurveyClosed)
    assert closed.closed_at == closes_at  # closed at its time, whenever the pass recorded it
    assert survey.status is SurveyStatus.CLOSED and not survey.due(closes_at)
    assert survey.close(closes_at, CloseReason.ADMIN) == []
    assert survey.close_reason is CloseReason.DUE

    early = post_survey()
    (by_admin,) = early.close(T0 + timedelta(days=1), CloseReason.ADMIN)
    assert isinstance(by_admin, SurveyClosed)
    assert by_admin.closed_at == T0 + timedelta(days=1)


def test_one_open_survey_per_kind_and_group_and_ids_per_person_and_group() -> None:
    pulse = post_survey().model_copy(update={"kind": SurveyKind.PULSE, "group_id": "g-1"})
    other_group = pulse.model_copy(update={"survey_id": "srv-2", "group_id": "g-2"})
    same_group = pulse.model_copy(update={"survey_id": "srv-3"})
    post = post_survey().model_copy(update={"survey_id": "srv-4"})
    slots = [domain.open_slot(s) for s in (pulse, other_group, same_group, post)]
    assert slots[0] == slots[2] and len(set(slots)) == 3
    pulse.close(T0, CloseReason.ADMIN)
    assert domain.open_slot(pulse) == "srv-1"  # closed: the slot is free for the next
    assert domain.response_id("s", "e-1") == domain.response_id("s", "e-1")
    assert domain.response_id("s", "e-1") != domain.response_id("s", "e-2")
    assert domain.survey_id_for_group("s", "g-1") != domain.survey_id_for_group("s", "g-2")


def test_a_single_choice_outline_lists_its_options_in_order() -> None:
    fit = SingleChoice(
        id="fit", label="Fit?", options=[Option(id="b", label="B"), Option(id="a", label="A")]
    )
    assert domain.outline(fit).option_ids == ["b", "a"]
