"""Sponsor outcome figures (``GET /v1/programs/{id}/outcomes``): latency over a program of
``--participants`` people in a company of ``--employees``.

Run: ``uv run python -m bench.reporting_outcomes [--participants N] [--employees N] [--requests N]``.

The read model is built by the projections' own code (``handlers.apply_batch``, batches of 50
events, as the consumers call it): the company's employees (1 in 20 terminated after the
program started), the participants, groups of 5, a pre-program and a post-program survey asking
everyone (4 in 5 answer, 3 questions each), and a pulse per group (4 of 5 answer). Each request
is what the endpoint does after the token check: read the program copy, authorize, read the
program's surveys and responses (by the indexed program id), its participants and their
directory copies (by id) and the company's counters, compute under the disclosure rule.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time
from datetime import UTC, datetime, timedelta

from bench.ceiling import servers
from reporting.disclosure.domain import DisclosureRule
from reporting.outcomes import service
from reporting.projections.handlers import apply_batch
from reporting.projections.readmodel import ReadModels, generation_indexes
from roundtable_dev.testing.reporting.history import History
from roundtable_shared.auth.tokens import Principal
from roundtable_shared.events.catalogue import enrollment as en
from roundtable_shared.events.registry import parse_data
from roundtable_shared.storage.mongo import apply_indexes, connect

PROGRAM = "prg-bench"
GROUP = 5


def _question(qid: str, kind: en.SurveyQuestionKind) -> en.SurveyQuestionOutline:
    bounds = {} if kind is en.SurveyQuestionKind.NPS else {"scale_min": 1, "scale_max": 5}
    return en.SurveyQuestionOutline(question_id=qid, kind=kind, label=qid, built_in=True, **bounds)


QUESTIONS = [
    _question("nps", en.SurveyQuestionKind.NPS),
    _question("confidence", en.SurveyQuestionKind.SCALE),
    _question("belonging", en.SurveyQuestionKind.SCALE),
]


def history(participants: int, employees: int, now: datetime) -> History:
    h = History()
    start = now - timedelta(days=120)
    h.program(PROGRAM, ["e-sponsor"])
    h.add(en.ProgramStarted(program_id=PROGRAM, started_at=start), PROGRAM)
    for n in range(employees):
        employee_id = f"e{n}"
        h.add(
            en.EmployeeUpserted(
                employee_id=employee_id,
                display_name=employee_id,
                email=f"{employee_id}@example.com",
                time_zone="Europe/Berlin",
                employment_status=en.EmploymentStatus.ACTIVE,
                updated_at=start - timedelta(days=30),
            ),
            employee_id,
        )
        if n % 20 == 0:
            offboarded = en.EmployeeOffboarded(
                employee_id=employee_id, offboarded_at=start + timedelta(days=n % 90)
            )
            h.add(offboarded, employee_id)
    people = [f"e{n}" for n in range(participants)]
    for person in people:
        h.enrol(PROGRAM, person, start)
    surveys: list[tuple[str, en.SurveyKind, str | None, list[str], datetime]] = [
        ("pre", en.SurveyKind.PRE_PROGRAM, None, people, start + timedelta(days=1)),
        ("post", en.SurveyKind.POST_PROGRAM, None, people, start + timedelta(days=100)),
    ]
    for g in range(0, participants, GROUP):
        members = people[g : g + GROUP]
        h.group(PROGRAM, f"g{g}", members, start + timedelta(days=2))
        surveys.append(
            (f"pulse-{g}", en.SurveyKind.PULSE, f"g{g}", members, start + timedelta(days=50))
        )
    for survey_id, kind, group_id, asked, opened in surveys:
        questions = QUESTIONS[1:2] if kind is en.SurveyKind.PULSE else QUESTIONS
        h.add(
            en.SurveyOpened(
                survey_id=survey_id,
                program_id=PROGRAM,
                kind=kind,
                group_id=group_id,
                questions=questions,
                asked=len(asked),
                opened_at=opened,
                closes_at=opened + timedelta(days=14),
            ),
            survey_id,
        )
        for n, person in enumerate(asked):
            if n % 5 == 4:
                continue
            response_id = f"r-{survey_id}-{n}"
            h.add(
                en.SurveyAnswered(
                    survey_id=survey_id,
                    response_id=response_id,
                    program_id=PROGRAM,
                    kind=kind,
                    group_id=group_id,
                    employee_id=person,
                    scores={
                        q.question_id: (n % 11 if q.kind == "nps" else 1 + n % 5) for q in questions
                    },
                    answered_at=opened + timedelta(days=2),
                ),
                response_id,
            )
        closed = en.SurveyClosed(
            survey_id=survey_id, program_id=PROGRAM, closed_at=opened + timedelta(days=14)
        )
        h.add(closed, survey_id)
    return h


async def run(participants: int, employees: int, requests: int) -> None:
    with servers() as local:
        client = connect(local.mongodb_uri, app_name="bench")
        db = client["bench_reporting_outcomes"]
        await client.drop_database(db.name)
        models = ReadModels(db, "g1")
        await apply_indexes(db, generation_indexes(models.generation))
        now = datetime.now(UTC)
        events = [(e, parse_data(e)) for e in history(participants, employees, now).events]
        t = time.perf_counter()
        for first in range(0, len(events), 50):
            await apply_batch(models, events[first : first + 50])
        print(f"{len(events):,} events projected in {time.perf_counter() - t:.1f} s")
        sponsor = Principal("e-sponsor", frozenset({"sponsor"}))
        rule = DisclosureRule(5, now)
        for _ in range(min(5, requests)):  # warm-up
            result = await service.outcomes(models, sponsor, PROGRAM, rule)
        timings = []
        for _ in range(requests):
            t = time.perf_counter()
            result = await service.outcomes(models, sponsor, PROGRAM, rule)
            timings.append((time.perf_counter() - t) * 1000)
        timings.sort()
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        print(
            f"surveys {len(result.surveys)}, nps {result.nps}, retention {result.retention.participants_terminated_share} vs {result.retention.others_terminated_share}"
        )
        print(
            f"outcomes of {participants:,} participants among {employees:,} employees, {requests} requests: p50 {statistics.median(timings):.1f} ms, p99 {p99:.1f} ms, max {timings[-1]:.1f} ms"
        )
        print(
            f"machine: {platform.platform()}, python {platform.python_version()}; servers: {local.mongo.kind or 'MONGODB_URI'}"
        )
        await client.drop_database(db.name)
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reporting_outcomes")
    parser.add_argument("--participants", type=int, default=1_000)
    parser.add_argument("--employees", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(run(args.participants, args.employees, args.requests))


if __name__ == "__main__":
    main()
