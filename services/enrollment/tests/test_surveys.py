"""Surveys through the API, on real NATS and FerretDB: admins open (a pulse per group), list with
counts and close; participants answer the surveys that ask them (422 naming the question and
nothing written, 404 when not asked or withdrawn, 409 once closed); surveys close at their time
and with their program; the events carry numbers and option ids only; erasure forgets answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from enrollment.app import build_app
from enrollment.settings import EnrollmentSettings
from roundtable_dev.testing.enrollment import (
    enrollment_events,
    hired,
    match_program,
    open_program,
    send_hr,
    wait_for,
)
from roundtable_dev.testing.http import running_app
from roundtable_shared.events.envelope import Envelope
from roundtable_shared.storage.mongo import connect

# A fixed instant: no outcome depends on the day or hour the test runs.
T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
SECRET_TAKEAWAY = "my skip-level still scares me"
FORMAT_FIT = {
    "id": "format_fit",
    "label": "Did the monthly roundtable suit your calendar?",
    "type": "single_choice",
    "required": True,
    "options": [{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}],
}
PRE_POST = [
    "rt_leadership_confidence",
    "rt_next_steps_clarity",
    "rt_people_to_think_with",
    "rt_challenges_shared",
]
OPENED, ANSWERED, CLOSED = (
    f"roundtable.enrollment.survey.{verb}" for verb in ("opened", "answered", "closed")
)


class Clock:
    """The service's clock: fixed until the test moves it."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(settings: EnrollmentSettings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """The service on the test's clock."""
    async with running_app(build_app(settings, clock=clock)) as http:
        yield http


def post_answers(recommend: int = 9, **more: Any) -> dict[str, Any]:
    scales = dict.fromkeys(PRE_POST, 3)
    return {
        "answers": {
            **scales,
            "rt_recommend": recommend,
            "rt_action_steps_done": "most",
            "format_fit": "yes",
            **more,
        }
    }


async def enrolled_program(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    people: list[str],
    **settings: Any,
) -> str:
    pid = await open_program(client, admin, **settings)
    for eid in people:
        await send_hr(client, hired(eid))
        made = await client.post(f"/v1/programs/{pid}/enrolments", json={}, headers=token(eid))
        assert made.status_code == 201, made.text
    return pid


def of_type(events: list[Envelope], kind: str) -> list[dict[str, Any]]:
    return [e.data for e in events if e.type == kind]


async def published(
    nats_client: NatsClient, namespace: str, enough: Callable[[list[Envelope]], bool]
) -> list[Envelope]:
    """The enrollment stream once ``enough`` holds of it (the relay publishes after the write)."""
    found: list[Envelope] = []

    async def arrived() -> bool:
        nonlocal found
        found = await enrollment_events(nats_client, namespace, at_least=0)
        return enough(found)

    await wait_for(arrived)
    return found


async def test_a_post_program_survey_from_opening_to_close(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    clock: Clock,
    nats_client: NatsClient,
    namespace: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    pid = await enrolled_program(client, admin, token, ["e-1", "e-2", "e-3"])
    await send_hr(client, hired("e-9"))  # an employee who did not enrol
    surveys = f"/v1/programs/{pid}/surveys"
    closes_at = (T0 + timedelta(days=7)).isoformat()
    body = {"kind": "post_program", "questions": [FORMAT_FIT], "closes_at": closes_at}

    sponsor = token("e-8", "participant", "sponsor")
    for who in (token("e-1"), sponsor):
        assert (await client.post(surveys, json=body, headers=who)).status_code == 403
        assert (await client.get(surveys, headers=who)).status_code == 403
    opened = await client.post(surveys, json=body, headers={**admin, "Idempotency-Key": "k-1"})
    assert opened.status_code == 201, opened.text
    (survey,) = opened.json()["surveys"]
    sid = survey["survey_id"]
    assert (survey["asked"], survey["responded"], survey["status"]) == (3, 0, "open")
    ids = [q["id"] for q in survey["questions"]]
    assert ids == [*PRE_POST, "rt_recommend", "rt_action_steps_done", "rt_keep_doing", "format_fit"]
    retried = await client.post(surveys, json=body, headers={**admin, "Idempotency-Key": "k-1"})
    assert retried.status_code == 201
    assert retried.json()["surveys"][0]["survey_id"] == sid
    again = await client.post(surveys, json=body, headers=admin)
    assert again.status_code == 409  # one open post-program survey at a time

    mine = (await client.get("/v1/me/surveys", headers=token("e-1"))).json()
    assert [(s["survey_id"], s["response"]) for s in mine] == [(sid, None)]
    assert (await client.get("/v1/me/surveys", headers=token("e-9"))).json() == []
    answer = f"/v1/me/surveys/{sid}/response"
    not_asked = await client.put(answer, json=post_answers(), headers=token("e-9"))
    assert not_asked.status_code == 404
    assert not_asked.headers["content-type"] == "application/problem+json"
    unknown = await client.put(
        "/v1/me/surveys/nope/response", json=post_answers(), headers=token("e-1")
    )
    assert unknown.status_code == 404

    for bad, question in (
        (
            {
                "answers": {
                    k: v for k, v in post_answers()["answers"].items() if k != "rt_recommend"
                }
            },
            "rt_recommend",
        ),  # required, missing
        (post_answers(recommend=11), "rt_recommend"),
        (post_answers(format_fit="maybe"), "format_fit"),
        (post_answers(colour="red"), "colour"),
        (post_answers(rt_keep_doing="x" * 501), "rt_keep_doing"),
    ):
        refused = await client.put(answer, json=bad, headers=token("e-1"))
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"].startswith(f"question {question}:")
        assert refused.json()["errors"][0]["field"] == f"answers.{question}"
    assert (
        await client.put(answer, json={"answers": "9"}, headers=token("e-1"))
    ).status_code == 422
    mine = (await client.get("/v1/me/surveys", headers=token("e-1"))).json()
    assert mine[0]["response"] is None  # nothing was written

    first = await client.put(
        answer, json=post_answers(rt_keep_doing=SECRET_TAKEAWAY), headers=token("e-1")
    )
    assert first.status_code == 201, first.text
    rid = first.json()["response_id"]
    same = await client.put(
        answer, json=post_answers(rt_keep_doing=SECRET_TAKEAWAY), headers=token("e-1")
    )
    assert same.status_code == 200
    assert same.json()["version"] == first.json()["version"]  # a retry: no change, no event
    clock.advance(minutes=5)
    stale = await client.put(
        answer, json=post_answers(recommend=6), headers={**token("e-1"), "If-Match": '"7"'}
    )
    assert stale.status_code == 412
    changed = await client.put(
        answer,
        json=post_answers(recommend=6, rt_keep_doing=SECRET_TAKEAWAY),
        headers={**token("e-1"), "If-Match": first.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["response_id"] == rid
    assert changed.json()["answered_at"] > first.json()["answered_at"]
    mine = (await client.get("/v1/me/surveys", headers=token("e-1"))).json()
    assert mine[0]["response"]["answers"]["rt_keep_doing"] == SECRET_TAKEAWAY  # mine to see
    assert (
        await client.put(answer, json=post_answers(10), headers=token("e-2"))
    ).status_code == 201
    theirs = (await client.get("/v1/me/surveys", headers=token("e-2"))).json()
    assert theirs[0]["response"]["answers"]["rt_recommend"] == 10  # each sees their own only
    assert theirs[0]["response"]["response_id"] != rid
    assert (await client.get("/v1/me/surveys", headers=sponsor)).json() == []

    listed = await client.get(surveys, headers=admin)
    assert listed.status_code == 200
    assert [(s["asked"], s["responded"]) for s in listed.json()["items"]] == [(3, 2)]
    assert SECRET_TAKEAWAY not in listed.text

    close = f"{surveys}/{sid}/close"
    for who in (token("e-1"), sponsor):
        assert (await client.post(close, headers=who)).status_code == 403
    closed = await client.post(close, headers=admin)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert (await client.post(close, headers=admin)).status_code == 200  # a repeat: no event
    late = await client.put(answer, json=post_answers(), headers=token("e-3"))
    assert late.status_code == 409
    assert (await client.get("/v1/me/surveys", headers=token("e-1"))).json() == []

    events = await published(
        nats_client,
        namespace,
        lambda e: len(of_type(e, ANSWERED)) == 3 and bool(of_type(e, CLOSED)),
    )
    (opened_event,) = of_type(events, OPENED)
    assert opened_event["asked"] == 3
    outline = {q["question_id"]: q for q in opened_event["questions"]}
    assert outline["rt_recommend"]["kind"] == "nps"
    assert (outline["rt_recommend"]["scale_min"], outline["rt_recommend"]["scale_max"]) == (0, 10)
    assert outline["rt_recommend"]["built_in"] and not outline["format_fit"]["built_in"]
    assert outline["format_fit"]["option_ids"] == ["yes", "no"]
    answered = of_type(events, ANSWERED)
    assert [(a["employee_id"], a["scores"]["rt_recommend"]) for a in answered] == [
        ("e-1", 9),
        ("e-1", 6),
        ("e-2", 10),
    ]
    assert answered[0]["response_id"] == answered[1]["response_id"] == rid
    assert answered[0]["choices"] == {"rt_action_steps_done": ["most"], "format_fit": ["yes"]}
    assert "rt_keep_doing" not in answered[0]["scores"]
    assert [c["survey_id"] for c in of_type(events, CLOSED)] == [sid]
    assert not any(SECRET_TAKEAWAY in e.model_dump_json() for e in events)
    assert SECRET_TAKEAWAY not in "".join(capfd.readouterr())  # nor in any log line


async def test_a_pulse_asks_each_group_its_own_and_bad_openings_are_refused(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    people = [f"e-{n}" for n in range(1, 7)]
    pid = await enrolled_program(client, admin, token, people, group_size_max=3)
    surveys = f"/v1/programs/{pid}/surveys"
    later = (T0 + timedelta(days=3)).isoformat()
    pulse = {"kind": "pulse", "closes_at": later}
    assert (await client.post(surveys, json=pulse, headers=admin)).status_code == 409  # no groups
    group_ids = await match_program(client, admin, pid)
    assert len(group_ids) == 2

    draft = (await client.post("/v1/programs", json={"name": "Draft"}, headers=admin)).json()
    bad_openings = [
        ("/v1/programs/nope/surveys", pulse, 404),
        (f"/v1/programs/{draft['program_id']}/surveys", pulse, 409),
        (surveys, {**pulse, "closes_at": (T0 - timedelta(hours=1)).isoformat()}, 422),
        (surveys, {**pulse, "closes_at": "2026-09-09T10:00:00"}, 422),  # no offset
        (surveys, {**pulse, "questions": [FORMAT_FIT]}, 422),
        (surveys, {**pulse, "kind": "weekly"}, 422),
        (surveys, {"kind": "pre_program", "closes_at": later, "group_id": group_ids[0]}, 422),
        (surveys, {**pulse, "group_id": "grp_none"}, 404),
        (
            surveys,
            {
                "kind": "pre_program",
                "closes_at": later,
                "questions": [{**FORMAT_FIT, "id": "rt_mine"}],
            },
            422,
        ),
        (
            surveys,
            {
                "kind": "pre_program",
                "closes_at": later,
                "questions": [{"id": "energy", "label": "Energy", "type": "scale", "max": 20}],
            },
            422,
        ),
    ]
    for path, body, status in bad_openings:
        refused = await client.post(path, json=body, headers=admin)
        assert refused.status_code == status, (body, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    reserved = await client.post(surveys, json=bad_openings[8][1], headers=admin)
    assert reserved.json()["detail"].startswith("question rt_mine:")
    not_json = {**admin, "Content-Type": "application/json"}
    assert (await client.post(surveys, content=b"{", headers=not_json)).status_code == 400

    opened = await client.post(surveys, json=pulse, headers=admin)
    assert opened.status_code == 201, opened.text
    pulses = {s["group_id"]: s for s in opened.json()["surveys"]}
    assert sorted(pulses) == sorted(group_ids)
    assert [s["asked"] for s in pulses.values()] == [3, 3]
    assert [q["id"] for q in pulses[group_ids[0]]["questions"]] == [
        "rt_sessions_useful",
        "rt_group_trust",
        "rt_inquiry_before_advice",
    ]
    one_more = await client.post(surveys, json={**pulse, "group_id": group_ids[0]}, headers=admin)
    assert one_more.status_code == 409
    everyone_again = await client.post(surveys, json=pulse, headers=admin)
    assert everyone_again.status_code == 409
    first_page = await client.get(surveys, params={"limit": 1}, headers=admin)
    assert first_page.status_code == 200
    cursor = first_page.json()["next_cursor"]
    second_page = await client.get(surveys, params={"limit": 1, "cursor": cursor}, headers=admin)
    listed = [*first_page.json()["items"], *second_page.json()["items"]]
    assert sorted(s["survey_id"] for s in listed) == sorted(s["survey_id"] for s in pulses.values())
    forged = await client.get(surveys, params={"cursor": cursor + "x"}, headers=admin)
    assert forged.status_code == 400

    groups = {g: (await client.get(f"/v1/groups/{g}", headers=admin)).json() for g in group_ids}
    member = groups[group_ids[0]]["members"][0]
    mine = (await client.get("/v1/me/surveys", headers=token(member["employee_id"]))).json()
    assert [s["survey_id"] for s in mine] == [pulses[group_ids[0]]["survey_id"]]
    other_pulse = pulses[group_ids[1]]["survey_id"]
    scores = {"rt_sessions_useful": 4, "rt_group_trust": 5, "rt_inquiry_before_advice": 3}
    foreign = await client.put(
        f"/v1/me/surveys/{other_pulse}/response",
        json={"answers": scores},
        headers=token(member["employee_id"]),
    )
    assert foreign.status_code == 404  # another group's pulse is not theirs to see

    # A withdrawn participant is asked no more.
    withdrawn = await client.post(
        f"/v1/participants/{member['participant_id']}/withdraw",
        headers=token(member["employee_id"]),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert (await client.get("/v1/me/surveys", headers=token(member["employee_id"]))).json() == []
    gone = await client.put(
        f"/v1/me/surveys/{pulses[group_ids[0]]['survey_id']}/response",
        json={"answers": scores},
        headers=token(member["employee_id"]),
    )
    assert gone.status_code == 404

    events = await published(nats_client, namespace, lambda e: len(of_type(e, OPENED)) == 2)
    opened_events = of_type(events, OPENED)
    assert sorted((e["group_id"], e["kind"], e["asked"]) for e in opened_events) == sorted(
        (g, "pulse", 3) for g in group_ids
    )


async def test_surveys_close_at_their_time(
    settings: EnrollmentSettings,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    clock: Clock,
    nats_client: NatsClient,
    namespace: str,
) -> None:
    quick = settings.model_copy(update={"survey_close_seconds": 0.05})  # the pass, run often
    async with running_app(build_app(quick, clock=clock)) as client:
        pid = await enrolled_program(client, admin, token, ["e-1", "e-2"])
        surveys = f"/v1/programs/{pid}/surveys"
        closes_at = T0 + timedelta(days=2)
        pre = {"kind": "pre_program", "closes_at": closes_at.isoformat()}
        opened = await client.post(surveys, json=pre, headers=admin)
        assert opened.status_code == 201, opened.text
        sid = opened.json()["surveys"][0]["survey_id"]
        answer = f"/v1/me/surveys/{sid}/response"
        answers = {"answers": dict.fromkeys(PRE_POST, 2)}
        assert (await client.put(answer, json=answers, headers=token("e-1"))).status_code == 201

        clock.advance(days=2)  # the close time: answers are refused from now on
        assert (await client.put(answer, json=answers, headers=token("e-2"))).status_code == 409
        assert (await client.get("/v1/me/surveys", headers=token("e-2"))).json() == []

        async def closed_by_the_pass() -> bool:
            listed = (await client.get(surveys, headers=admin)).json()["items"]
            return bool(listed[0]["closed_at"] is not None)

        await wait_for(closed_by_the_pass)
        listed = (await client.get(surveys, headers=admin)).json()["items"]
        assert (listed[0]["status"], listed[0]["responded"]) == ("closed", 1)
        assert datetime.fromisoformat(listed[0]["closed_at"]) == closes_at
        events = await published(nats_client, namespace, lambda e: bool(of_type(e, CLOSED)))
        (closed,) = of_type(events, CLOSED)
        assert closed["survey_id"] == sid
        assert datetime.fromisoformat(closed["closed_at"]) == closes_at


async def test_surveys_close_with_their_program(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    # The closing pass of this app waits 30 s between rounds: only the program's close can
    # close these surveys within the test.
    pid = await enrolled_program(client, admin, token, ["e-1", "e-2"])
    surveys = f"/v1/programs/{pid}/surveys"
    closes_at = (T0 + timedelta(days=5)).isoformat()
    # Two admins open a pre-program survey at the same moment: one is opened.
    both = await asyncio.gather(
        *(
            client.post(
                surveys, json={"kind": "pre_program", "closes_at": closes_at}, headers=admin
            )
            for _ in range(2)
        )
    )
    assert sorted(r.status_code for r in both) == [201, 409]
    for kind in ("post_program",):
        opened = await client.post(
            surveys, json={"kind": kind, "closes_at": closes_at}, headers=admin
        )
        assert opened.status_code == 201, opened.text
    assert (await client.post(f"/v1/programs/{pid}/close", headers=admin)).status_code == 200
    after = (await client.get(surveys, headers=admin)).json()["items"]
    assert [(s["status"], s["closed_at"] is not None) for s in after] == [("closed", True)] * 2
    sid = after[0]["survey_id"]
    late = await client.put(
        f"/v1/me/surveys/{sid}/response",
        json={"answers": dict.fromkeys(PRE_POST, 2)},
        headers=token("e-1"),
    )
    assert late.status_code == 409
    refused = await client.post(
        surveys, json={"kind": "pre_program", "closes_at": closes_at}, headers=admin
    )
    assert refused.status_code == 409  # a closed program asks nothing more

    events = await published(nats_client, namespace, lambda e: len(of_type(e, CLOSED)) >= 2)
    assert sorted(c["survey_id"] for c in of_type(events, CLOSED)) == sorted(
        s["survey_id"] for s in after
    )


@pytest.mark.cascade
async def test_erasure_forgets_survey_answers(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    settings: EnrollmentSettings,
) -> None:
    pid = await enrolled_program(client, admin, token, ["e-1"])
    surveys = f"/v1/programs/{pid}/surveys"
    pre = {"kind": "pre_program", "closes_at": (T0 + timedelta(days=2)).isoformat()}
    sid = (await client.post(surveys, json=pre, headers=admin)).json()["surveys"][0]["survey_id"]
    answers = {**dict.fromkeys(PRE_POST, 2), "rt_challenge_to_bring": SECRET_TAKEAWAY}
    answered = await client.put(
        f"/v1/me/surveys/{sid}/response", json={"answers": answers}, headers=token("e-1")
    )
    assert answered.status_code == 201, answered.text
    assert (await client.post("/v1/employees/e-1/erasure", headers=admin)).status_code == 200

    mongo = connect(settings.mongodb_uri, app_name="tests")
    responses = mongo[settings.database_name].survey_responses
    try:

        async def forgotten() -> bool:
            stored = await responses.find_one({"_id": answered.json()["response_id"]})
            return stored is not None and stored["answers"] == {} and stored["erased"]

        await wait_for(forgotten)
        everything = await responses.find({}).to_list()
        assert SECRET_TAKEAWAY not in repr(everything)
    finally:
        await mongo.close()
    listed = (await client.get(surveys, headers=admin)).json()["items"]
    assert listed[0]["responded"] == 1  # still counted, nobody's answers
