"""The sponsors' outcome figures (GET /v1/programs/{id}/outcomes) from surveys and the HR
directory, against real NATS and FerretDB: every figure worked out here from the events the
test publishes, the disclosure rule (k = 5) applied to them, events redelivered and reordered."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from reporting.rebuild import rebuild
from reporting.settings import ReportingSettings
from roundtable_dev.testing.reporting.history import (
    NOW,
    OTHER_PROGRAM,
    PROGRAM,
    SPONSOR,
    History,
    at,
    reversed_with_repeats,
)
from roundtable_dev.testing.reporting.readmodels import contents, counted
from roundtable_dev.testing.reporting.world import World
from roundtable_shared.events.catalogue import enrollment as en
from roundtable_shared.events.catalogue import reminders as rm
from roundtable_shared.messaging.streams import dead_letter_stream

K = 5
PARTICIPANTS = [f"p{n:02d}" for n in range(1, 13)]  # 12
OTHERS = [f"o{n:02d}" for n in range(1, 29)]  # 28 employees who are not participants
STARTED = at(2)
CONFIDENCE = en.SurveyQuestionOutline(
    question_id="confidence",
    kind=en.SurveyQuestionKind.SCALE,
    label="How confident are you as a leader?",
    scale_min=1,
    scale_max=5,
    built_in=True,
)
OWN = en.SurveyQuestionOutline(
    question_id="own.question",  # a dot: ids are stored as values, never as field names
    kind=en.SurveyQuestionKind.SCALE,
    label="How useful were the sessions?",
    scale_min=1,
    scale_max=5,
    built_in=False,
)
NPS = en.SurveyQuestionOutline(
    question_id="nps",
    kind=en.SurveyQuestionKind.NPS,
    label="Would you recommend the program to a colleague?",
    built_in=True,
)
TRUST = en.SurveyQuestionOutline(
    question_id="trust",
    kind=en.SurveyQuestionKind.SCALE,
    label="I can be open in my group",
    scale_min=1,
    scale_max=5,
    built_in=True,
)
PRE_CONFIDENCE = [2, 3, 3, 4, 2, 3, 3, 2, 4, 3]  # p01..p10
POST_CONFIDENCE = [4, 4, 3, 5, 4, 4, 3, 4, 5]  # p01..p09
POST_OWN = [5, 4, 4, 5, 3, 4, 5, 4, 4]
POST_NPS = [10, 9, 9, 8, 7, 6, 10, 3, 9]
G1, G2 = PARTICIPANTS[:6], PARTICIPANTS[6:10]
TRUST_G1 = [5, 4, 4, 5, 3, 4]
TRUST_G2 = [1, 2, 1, 2]  # four people: below k, never shown, not even inside a pooled mean


def released(n: int) -> int:
    """The disclosure rule's count, worked out by hand: nearest multiple of 5, halves up."""
    return (n + 2) // K * K


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def mean(values: Sequence[int]) -> float:
    return round(sum(values) / len(values), 2)


def nps(values: Sequence[int]) -> float:
    promoters = sum(v >= 9 for v in values)
    detractors = sum(v <= 6 for v in values)
    return round(100 * (promoters - detractors) / len(values), 1)


def survey(
    h: History,
    survey_id: str,
    kind: en.SurveyKind,
    questions: list[en.SurveyQuestionOutline],
    asked: int,
    opened: datetime,
    group_id: str | None = None,
) -> None:
    h.add(
        en.SurveyOpened(
            survey_id=survey_id,
            program_id=PROGRAM,
            kind=kind,
            group_id=group_id,
            questions=questions,
            asked=asked,
            opened_at=opened,
            closes_at=opened + timedelta(days=10),
        ),
        survey_id,
    )


def close(h: History, survey_id: str, when: datetime) -> None:
    h.add(en.SurveyClosed(survey_id=survey_id, program_id=PROGRAM, closed_at=when), survey_id)


def answer(
    h: History,
    survey_id: str,
    kind: en.SurveyKind,
    employee: str,
    scores: dict[str, int],
    when: datetime,
    group_id: str | None = None,
) -> None:
    # opaque, as enrollment's are: the id does not name the person
    response_id = "rsp-" + hashlib.sha256(f"{survey_id}/{employee}".encode()).hexdigest()[:16]
    h.add(
        en.SurveyAnswered(
            survey_id=survey_id,
            response_id=response_id,
            program_id=PROGRAM,
            kind=kind,
            group_id=group_id,
            employee_id=employee,
            scores=scores,
            answered_at=when,
        ),
        response_id,
    )


def employee(h: History, employee_id: str, when: datetime) -> None:
    h.add(
        en.EmployeeUpserted(
            employee_id=employee_id,
            display_name=employee_id,
            email=f"{employee_id}@example.com",
            time_zone="Europe/Berlin",
            employment_status=en.EmploymentStatus.ACTIVE,
            updated_at=when,
        ),
        employee_id,
    )


def offboard(h: History, employee_id: str, when: datetime) -> None:
    h.add(en.EmployeeOffboarded(employee_id=employee_id, offboarded_at=when), employee_id)


def program_history(*, post_closed: bool) -> History:
    h = History()
    h.program(PROGRAM, [SPONSOR])
    h.program(OTHER_PROGRAM, ["e-other-sponsor"])
    for person in PARTICIPANTS + OTHERS:
        employee(h, person, at(0))
    for person in PARTICIPANTS:
        h.enrol(PROGRAM, person, at(1))
    h.add(en.ProgramStarted(program_id=PROGRAM, started_at=STARTED), PROGRAM)
    offboard(h, "o01", at(1))  # before the start: not among the others at risk
    offboard(h, "p12", at(20))
    for person in OTHERS[1:6]:
        offboard(h, person, at(21))
    survey(h, "pre", en.SurveyKind.PRE_PROGRAM, [CONFIDENCE], 12, at(3))
    for person, value in zip(PARTICIPANTS, PRE_CONFIDENCE, strict=False):
        answer(h, "pre", en.SurveyKind.PRE_PROGRAM, person, {"confidence": value}, at(4))
    close(h, "pre", at(13))
    for group_id, members, values in (("g1", G1, TRUST_G1), ("g2", G2, TRUST_G2)):
        pulse = f"pulse-{group_id}"
        survey(h, pulse, en.SurveyKind.PULSE, [TRUST], len(members), at(15), group_id)
        for person, value in zip(members, values, strict=True):
            answer(h, pulse, en.SurveyKind.PULSE, person, {"trust": value}, at(16), group_id)
        close(h, pulse, at(18))
    survey(h, "post", en.SurveyKind.POST_PROGRAM, [CONFIDENCE, NPS, OWN], 12, at(28))
    # p01 first answers otherwise, then changes their answers: the latest counts
    answer(h, "post", en.SurveyKind.POST_PROGRAM, "p01", {"confidence": 1, "nps": 0}, at(29))
    people = PARTICIPANTS[: len(POST_NPS)]
    for person, c, n, o in zip(people, POST_CONFIDENCE, POST_NPS, POST_OWN, strict=True):
        scores = {"confidence": c, "nps": n, "own.question": o}
        answer(h, "post", en.SurveyKind.POST_PROGRAM, person, scores, at(30))
    # p11 answers after the close (dated so): never counted, whether the close is applied
    # before it or after it
    late = {"confidence": 1, "nps": 0, "own.question": 1}
    answer(h, "post", en.SurveyKind.POST_PROGRAM, "p11", late, at(34))
    if post_closed:
        close(h, "post", at(33))
    return h


def expected_outcomes(*, post_closed: bool) -> dict[str, Any]:
    """What the sponsor sees, worked out from the lists above."""
    status = "closed" if post_closed else "open"

    def shown_mean(values: Sequence[int], closed: bool = True) -> float | None:
        return mean(values) if closed and len(values) >= K else None

    def counts(asked: int, responses: int) -> dict[str, Any]:
        return {
            "asked": released(asked),
            "responses": released(responses),
            "response_rate": share(released(responses), released(asked)),
        }

    pre_mean, post_mean = mean(PRE_CONFIDENCE), shown_mean(POST_CONFIDENCE, post_closed)
    post_nps = {
        "answers": released(len(POST_NPS)),
        "score": nps(POST_NPS) if post_closed else None,
    }
    # retention: p12 left after the start; o02..o06 too; o01 before it
    participants, participants_left = len(PARTICIPANTS), 1
    others, others_left = len(OTHERS) - 1, 5
    return {
        "program_id": PROGRAM,
        "surveys": [
            {
                "survey_id": "pre",
                "kind": "pre_program",
                "group_id": None,
                "status": "closed",
                **counts(12, len(PRE_CONFIDENCE)),
                "nps": None,
                "means": [
                    {
                        "question_id": "confidence",
                        "label": CONFIDENCE.label,
                        "answers": released(len(PRE_CONFIDENCE)),
                        "mean": pre_mean,
                    }
                ],
            },
            *(
                {
                    "survey_id": f"pulse-{group_id}",
                    "kind": "pulse",
                    "group_id": group_id,
                    "status": "closed",
                    **counts(len(values), len(values)),
                    "nps": None,
                    "means": [
                        {
                            "question_id": "trust",
                            "label": TRUST.label,
                            "answers": released(len(values)),
                            "mean": shown_mean(values),
                        }
                    ],
                }
                for group_id, values in (("g1", TRUST_G1), ("g2", TRUST_G2))
            ),
            {
                "survey_id": "post",
                "kind": "post_program",
                "group_id": None,
                "status": status,
                **counts(12, len(POST_NPS)),
                "nps": post_nps,
                "means": [
                    {
                        "question_id": q.question_id,
                        "label": q.label,
                        "answers": released(len(values)),
                        "mean": shown_mean(values, post_closed),
                    }
                    for q, values in ((CONFIDENCE, POST_CONFIDENCE), (OWN, POST_OWN))
                ],
            },
        ],
        "nps": post_nps,
        "pre_post": [
            {
                "question_id": "confidence",
                "label": CONFIDENCE.label,
                "pre_answers": released(len(PRE_CONFIDENCE)),
                "pre_mean": pre_mean,
                "post_answers": released(len(POST_CONFIDENCE)),
                "post_mean": post_mean,
                "change": round(post_mean - pre_mean, 2) if post_mean is not None else None,
            }
        ],
        "pulse": [
            {
                "question_id": "trust",
                "label": TRUST.label,
                "answers": released(len(TRUST_G1) + len(TRUST_G2)),
                "mean": mean(TRUST_G1),  # g2's four answers never count
            }
        ],
        "retention": {
            "since": STARTED.isoformat(),
            "participants": released(participants),
            "participants_terminated": released(participants_left),
            "participants_terminated_share": share(
                released(participants_left), released(participants)
            ),
            "others": released(others),
            "others_terminated": released(others_left),
            "others_terminated_share": share(released(others_left), released(others)),
        },
    }


def _without_times(body: dict[str, Any]) -> dict[str, Any]:
    for item in body["surveys"]:
        item.pop("opened_at"), item.pop("closes_at")
    body["retention"]["since"] = (
        datetime.fromisoformat(body["retention"]["since"]).isoformat()
        if body["retention"]["since"]
        else None
    )
    return body


async def _outcomes(client: httpx.AsyncClient, w: World, who: str = SPONSOR) -> dict[str, Any]:
    response = await client.get(
        f"/v1/programs/{PROGRAM}/outcomes", headers=w.headers(who, ["sponsor"])
    )
    assert response.status_code == 200, response.text
    return _without_times(response.json())


async def test_outcome_figures_are_those_of_the_events_under_the_disclosure_rule(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    h = program_history(post_closed=False)
    # reversed (answers before their survey, terminations before the hires), then all again
    await w.publish_all(reversed_with_repeats(h.events))
    await w.settle()
    # While the post-program survey is open, its averages are not said: each new answer would
    # change them by one person's numbers.
    assert await _outcomes(client, w) == expected_outcomes(post_closed=False)

    close(h, "post", at(33))
    await w.publish(h.events[-1])
    await w.publish(h.events[-1], msg_id=f"{h.events[-1].id}-again")  # a redelivery
    await w.settle()
    assert await _outcomes(client, w) == expected_outcomes(post_closed=True)


async def test_a_sponsor_never_reads_one_persons_answer(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    h = program_history(post_closed=True)
    # a closed survey of four answers: its numbers describe fewer than k people
    few = ["p01", "p02", "p03", "p04"]
    survey(h, "few", en.SurveyKind.PRE_PROGRAM, [NPS, TRUST], 4, at(5))
    for person, value in zip(few, [10, 0, 10, 10], strict=True):
        answer(h, "few", en.SurveyKind.PRE_PROGRAM, person, {"nps": value, "trust": 5}, at(6))
    close(h, "few", at(7))
    await w.publish_all(h.events)
    await w.settle()
    body = await _outcomes(client, w)
    few_figures = next(s for s in body["surveys"] if s["survey_id"] == "few")
    assert few_figures["nps"] == {"answers": released(4), "score": None}
    assert few_figures["means"] == [
        {"question_id": "trust", "label": TRUST.label, "answers": released(4), "mean": None}
    ]
    # and a pooled figure leaves them out: the pulse mean is g1's alone, never g1's and g2's,
    # so the two figures never differ by the answers of fewer than k people
    assert body["pulse"][0]["mean"] == mean(TRUST_G1)
    g2 = next(s for s in body["surveys"] if s["survey_id"] == "pulse-g2")
    assert g2["means"][0]["mean"] is None and g2["responses"] == released(len(TRUST_G2))


CALLERS = [
    (SPONSOR, ["sponsor"], PROGRAM, 200),
    ("e-admin", ["program_admin"], PROGRAM, 200),
    ("e-other-sponsor", ["sponsor"], PROGRAM, 404),  # not their program: not even its id
    ("p01", ["participant"], PROGRAM, 403),
    ("e-admin", ["program_admin"], "prg-unknown", 404),
]


async def test_who_reads_the_outcomes(world: tuple[World, httpx.AsyncClient]) -> None:
    w, client = world
    await w.publish_all(program_history(post_closed=True).events)
    await w.settle()
    for who, roles, program, status in CALLERS:
        headers = w.headers(who, roles)
        response = await client.get(f"/v1/programs/{program}/outcomes", headers=headers)
        assert response.status_code == status, (who, program, response.text)
        if status != 200:
            assert response.headers["content-type"].startswith("application/problem+json")


async def test_erasure_and_rebuild_keep_the_figures_and_no_link_to_the_person(
    world: tuple[World, httpx.AsyncClient], settings: ReportingSettings
) -> None:
    w, client = world
    h = program_history(post_closed=True)
    h.add(en.EmployeeErased(employee_id="p03", erased_at=NOW - timedelta(days=1)), "p03")
    await w.publish_all(h.events)
    await w.settle()
    before = await _outcomes(client, w)
    assert before == expected_outcomes(post_closed=True)
    models = await w.app.state.services.generations.current()
    stored = await contents(models)
    for name in ("surveys", "responses", "directory"):
        assert "p03" not in repr(stored[name]), name
    # the directory copy keeps an id and a status, nothing else of the person
    (copy,) = [d for d in stored["employees"] if d["_id"] == "p03"]
    assert set(copy) <= {"_id", "version", "status", "terminated_at", "counted"}
    responses = repr(stored["responses"])
    assert "p03" not in responses and "employee" not in responses

    assert await rebuild(settings) == "g2"
    w.app.state.services.generations._cached = None
    after = await w.app.state.services.generations.current()
    assert after.generation == "g2"
    assert await contents(after) == stored
    assert await _outcomes(client, w) == before


async def test_bad_survey_events_are_dead_lettered_and_the_rest_still_counts(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    h = program_history(post_closed=True)
    await w.publish_all(h.events)
    # A pulse that names no group fails the contract: dead-lettered, not applied, not looping.
    bad = History()
    survey(bad, "pulse-bad", en.SurveyKind.PULSE, [TRUST], 5, at(15), "g9")
    envelope = bad.events[0]
    raw = json.loads(envelope.to_json())
    raw["data"]["group_id"] = None
    headers = {"Nats-Msg-Id": envelope.id}
    await w.js.publish(w.namespace + envelope.type, json.dumps(raw).encode(), headers=headers)
    # Numbers out of any scale are not kept (the contract's ints are unbounded).
    answer(h, "post", en.SurveyKind.POST_PROGRAM, "p10", {"confidence": 10**12, "nps": -4}, at(31))
    await w.publish(h.events[-1])
    await w.settle()
    deadline = time.monotonic() + 20
    while not (await w.js.stream_info(dead_letter_stream(w.namespace))).state.messages:
        assert time.monotonic() < deadline, "the bad pulse was not dead-lettered"
        await asyncio.sleep(0.1)
    body = await _outcomes(client, w)
    assert [s["survey_id"] for s in body["surveys"]] == ["pre", "pulse-g1", "pulse-g2", "post"]
    expected = expected_outcomes(post_closed=True)
    post = expected["surveys"][-1]
    post["responses"] = released(len(POST_NPS) + 1)
    post["response_rate"] = share(post["responses"], post["asked"])
    assert body == expected


async def test_a_survey_nudge_is_counted_as_a_reminder_sent(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, _ = world
    h = History()
    h.program(PROGRAM, [SPONSOR])
    nudge = rm.ReminderSent(
        reminder_id="rem-nudge-1",
        program_id=PROGRAM,
        recipient_id="p01",
        kind=rm.ReminderKind.SURVEY_NUDGE,
        channel=rm.Channel.EMAIL,
        due_at=at(3),
        sent_at=at(3),
    )
    h.add(nudge, "rem-nudge-1")
    await w.publish_all(h.events)
    await w.settle()
    assert (await counted(w.app, PROGRAM))["reminders"] == {"sent": 1, "sent_survey_nudge": 1}
