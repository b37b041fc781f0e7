"""Benchmark: matching 2,000 participants into roundtables. Target: under 5 s.

Run: ``uv run python -m bench.enrollment_matching [--participants N] [--runs R]``.

A synthetic organisation (a manager per 8 people, a director per 8 managers, 5 time zones on
three continents, levels L2-L7, 8 departments, goals and topics from a list of 20) enrols in a
roundtable program of 4 to 6 with every hard constraint on. Times ``matching.domain.match``, the
algorithm the preview endpoint runs, then checks that no group breaks a hard constraint and that
the same input gives the same groups.

``--questions``: every participant also states a meeting preference and answers three
enrolment questions (a single choice of 4 options, a multiple choice of 3 from 8, a scale of
1 to 5) that three rules weigh (same, different, near): the cost of question rules.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date

from bench.enrollment_support import machine
from enrollment.matching.domain import (
    Answer,
    Candidate,
    QuestionRule,
    Rules,
    hours_mask,
    match,
    violations,
)

ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "Asia/Kolkata", "Europe/Madrid"]
TOPICS = [f"topic-{i}" for i in range(20)]
DEPARTMENTS = ["Eng", "Sales", "Finance", "HR", "Ops", "Legal", "Marketing", "Support"]


QUESTION_RULES = (
    QuestionRule("language", "Working language", "single_choice", "same", 2.0),
    QuestionRule("focus", "Focus", "multiple_choice", "different", 1.0),
    QuestionRule("experience", "Experience", "scale", "near", 1.5, span=4),
)


def answers(rnd: random.Random) -> dict[str, Answer]:
    return {
        "language": rnd.choice(["en", "de", "fr", "es"]),
        "focus": frozenset(rnd.sample([f"f{i}" for i in range(8)], 3)),
        "experience": rnd.randint(1, 5),
    }


def organisation(n: int, seed: int = 7, questions: bool = False) -> list[Candidate]:
    rnd = random.Random(seed)
    people = []
    for i in range(n):
        manager = f"m-{i // 8}"
        extra = (
            {
                "meeting_preference": rnd.choice(["remote", "in_person", "either"]),
                "answers": answers(rnd),
            }
            if questions
            else {}
        )
        people.append(
            Candidate(
                participant_id=f"par-{i:05d}",
                employee_id=f"e-{i:05d}",
                display_name=f"Employee {i}",
                manager_id=manager,
                skip_manager_id=f"d-{i // 64}",
                level=float(rnd.randint(2, 7)),
                level_label=None,
                department=rnd.choice(DEPARTMENTS),
                location=rnd.choice(["Berlin", "London", "NYC", "Pune"]),
                interests=frozenset(rnd.sample(TOPICS, 3)),
                hours=hours_mask(rnd.choice(ZONES), "09:00", "17:00", date(2026, 3, 2)),
                **extra,  # type: ignore[arg-type]
            )
        )
    return people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--questions", action="store_true", help="answers and 3 question rules")
    args = parser.parse_args()
    people = organisation(args.participants, questions=args.questions)
    rules = Rules(
        min_size=4,
        max_size=6,
        min_overlap_slots=4,
        questions=QUESTION_RULES if args.questions else (),
    )
    with_questions = ", 3 question rules" if args.questions else ""
    print(
        f"enrollment matching benchmark: {args.participants:,} participants{with_questions}; "
        f"{machine()}"
    )
    timings = []
    results = []
    for _ in range(args.runs):
        started = time.perf_counter()
        results.append(match(people, rules))
        timings.append(time.perf_counter() - started)
    result = results[0]
    broken = sum(1 for g in result.groups if violations(g.members, rules))
    same = all(r == result for r in results)
    sizes = sorted({len(g.members) for g in result.groups})
    mean_score = statistics.mean(g.explanation.score for g in result.groups)
    print(
        f"match: median {statistics.median(timings):.2f} s, max {max(timings):.2f} s "
        f"over {args.runs} runs"
    )
    print(
        f"{len(result.groups)} groups of sizes {sizes}, {len(result.unmatched)} unmatched, "
        f"mean score {mean_score:.3f}; groups breaking a hard constraint: {broken}; "
        f"deterministic: {same}"
    )
    verdict = "PASS" if max(timings) < 5 and broken == 0 and same else "FAIL"
    print(f"target: under 5 s, no broken constraint, deterministic: {verdict}")


if __name__ == "__main__":
    main()
