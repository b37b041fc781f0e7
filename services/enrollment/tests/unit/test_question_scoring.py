"""The scoring rules of matching, pure: question rules (same, different, near), meeting
preferences, variety over locations. Every expected number is worked out by hand below."""

from __future__ import annotations

import pytest

from enrollment.matching.domain import (
    Candidate,
    QuestionRule,
    Rules,
    Weights,
    explain,
    pair_score,
    question_fit,
)

LANGUAGE = QuestionRule("language", "Working language", "single_choice", "same", 2.0)
FOCUS = QuestionRule("focus", "What to work on", "multiple_choice", "different", 1.0)
EXPERIENCE = QuestionRule("experience", "Experience", "scale", "near", 3.0, span=4)


def person(pid: str, **fields: object) -> Candidate:
    return Candidate(participant_id=pid, employee_id=f"e-{pid}", display_name=pid, **fields)  # type: ignore[arg-type]


# A: L5, Eng, Berlin, remote; B: L5, Sales, Berlin, either; C: L3, Eng, Paris, in person.
A = person(
    "a",
    level=5.0,
    level_label="L5",
    department="Eng",
    location="Berlin",
    interests=frozenset({"feedback"}),
    meeting_preference="remote",
    answers={"language": "en", "focus": frozenset({"delegation", "feedback"}), "experience": 1},
)
B = person(
    "b",
    level=5.0,
    level_label="L5",
    department="Sales",
    location="Berlin",
    interests=frozenset({"feedback", "hiring"}),
    meeting_preference="either",
    answers={"language": "en", "focus": frozenset({"feedback"}), "experience": 3},
)
C = person(
    "c",
    level=3.0,
    level_label="L3",
    department="Eng",
    location="Paris",
    meeting_preference="in_person",
    answers={"language": "de", "experience": 5},  # no answer to focus
)


@pytest.mark.parametrize(
    ("rule", "x", "y", "expected"),
    [
        (LANGUAGE, "en", "en", 1.0),
        (LANGUAGE, "en", "de", 0.0),
        (QuestionRule("language", "L", "single_choice", "different", 1.0), "en", "de", 1.0),
        # {delegation, feedback} vs {feedback}: 1 shared of 2 chosen in all
        (QuestionRule("focus", "F", "multiple_choice", "same", 1.0), ["d", "f"], ["f"], 0.5),
        (FOCUS, ["d", "f"], ["f"], 0.5),
        (FOCUS, ["d"], ["f"], 1.0),
        # scale 1..5 (span 4): 1 and 2 are a quarter of the span apart
        (EXPERIENCE, 1, 2, 0.75),
        (EXPERIENCE, 1, 5, 0.0),
        (QuestionRule("experience", "E", "scale", "same", 1.0, span=4), 2, 2, 1.0),
        (QuestionRule("experience", "E", "scale", "same", 1.0, span=4), 2, 3, 0.0),
        (QuestionRule("experience", "E", "scale", "different", 1.0, span=4), 1, 4, 0.75),
        # unanswered, or an answer of another shape (the question changed type): unknown
        (LANGUAGE, "en", None, 0.5),
        (EXPERIENCE, 3, "three", 0.5),
    ],
)
def test_question_fit_of_a_pair(rule: QuestionRule, x: object, y: object, expected: float) -> None:
    def answers(value: object) -> dict[str, object]:
        if value is None:
            return {}
        return {rule.question_id: frozenset(value) if isinstance(value, list) else value}

    a = person("x", answers=answers(x))
    b = person("y", answers=answers(y))
    assert question_fit(rule, a, b) == pytest.approx(expected)
    assert question_fit(rule, b, a) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("first", "second", "fits"),
    [
        (("remote", "Berlin"), ("remote", "Paris"), 1.0),
        (("remote", "Berlin"), ("in_person", "Berlin"), 0.0),
        (("in_person", "Berlin"), ("either", "Berlin"), 1.0),
        (("in_person", "Berlin"), ("either", "Paris"), 0.0),
        (("in_person", "Berlin"), ("in_person", None), 1.0),  # unknown place: maybe nearby
        (("either", "Berlin"), ("either", "Paris"), 1.0),
    ],
)
def test_meeting_preference_counts_in_a_pair(
    first: tuple[str, str | None], second: tuple[str, str | None], fits: float
) -> None:
    only_meeting = Rules(2, 2, weights=Weights(0.0, 0.0, 0.0, 0.0, meeting_preference=2.0))
    a = person("a", meeting_preference=first[0], location=first[1])
    b = person("b", meeting_preference=second[0], location=second[1])
    assert pair_score(a, b, only_meeting) == 2.0 * fits


def test_pair_score_adds_every_weighted_rule() -> None:
    rules = Rules(2, 3, weights=Weights(), questions=(LANGUAGE, FOCUS, EXPERIENCE))
    # A and B: level 1, interests 1/2, departments differ 1, same location 0, meeting fits 1,
    # language same 1 (x2), focus different 1/2 (x1), experience 1 vs 3 near 1/2 (x3).
    expected = 1.0 * 1 + 1.0 * 0.5 + 1.0 * 1 + 0.5 * 0 + 1.0 * 1 + 2 * 1 + 1 * 0.5 + 3 * 0.5
    assert pair_score(A, B, rules) == pytest.approx(expected)  # 7.5


def test_explanation_names_each_question_and_scores_by_hand() -> None:
    rules = Rules(3, 3, weights=Weights(), questions=(LANGUAGE, FOCUS, EXPERIENCE))
    explanation = explain((A, B, C), rules)
    parts = {c.name: c for c in explanation.components}
    # Pairs AB, AC, BC.
    # level: AB 1, AC 1-2/4 = 0.5, BC 0.5 -> 2/3
    # interests: AB 1/2, AC 0, BC 0 -> 1/6
    # departments: AB differ, AC same, BC differ -> 2/3
    # variety: locations {Berlin, Paris}: (2-1)/(3-1) = 1/2
    # meeting: AB remote+either 1, AC remote+in person 0, BC in person, Berlin vs Paris 0 -> 1/3
    # language same: AB 1, AC 0, BC 0 -> 1/3
    # focus different: AB 1-1/2, AC and BC unknown 1/2 -> 1/2
    # experience near (span 4): AB 1-2/4, AC 1-4/4, BC 1-2/4 -> 1/3
    expected_values = {
        "similar_level": 0.667,
        "shared_interests": 0.167,
        "different_departments": 0.667,
        "variety": 0.5,
        "meeting_preference": 0.333,
        "question:language": 0.333,
        "question:focus": 0.5,
        "question:experience": 0.333,
    }
    assert {name: c.value for name, c in parts.items()} == expected_values
    assert parts["variety"].detail == "2 location(s) among 3"
    assert parts["different_departments"].detail == "2 department(s) among 3"
    assert parts["meeting_preference"].detail == "1 of 3 pair(s) can meet as both prefer"
    assert parts["question:language"].detail == "Working language (same); answered by 3 of 3"
    assert parts["question:focus"].detail == "What to work on (different); answered by 2 of 3"
    assert parts["question:experience"].weight == 3.0
    # weights 1, 1, 1, 0.5, 1, 2, 1, 3 (sum 10.5):
    # (2/3 + 1/6 + 2/3 + 0.5*1/2 + 1/3 + 2*1/3 + 1/2 + 3*1/3) / 10.5 = 4.25 / 10.5
    assert explanation.score == round(4.25 / 10.5, 4) == 0.4048


def test_variety_counts_locations_not_departments() -> None:
    only_variety = Rules(3, 3, weights=Weights(0.0, 0.0, 0.0, 1.0, 0.0))
    # three departments in one place: no variety; one department in three places: full variety
    one_place = tuple(
        person(p, department=d, location="Berlin") for p, d in zip("abc", "XYZ", strict=True)
    )
    three_places = tuple(
        person(p, department="X", location=loc)
        for p, loc in zip("abc", ["Berlin", "Paris", "Oslo"], strict=True)
    )
    assert explain(one_place, only_variety).score == 0.0
    assert explain(three_places, only_variety).score == 1.0
