"""Enrolment questions through the API: admins define them (If-Match, 403, 404, 422), they show
in my programs, enrolment and edits are held to them (422 naming the question, nothing
written), matching groups on them and names them, short texts never travel, erasure drops them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from roundtable_dev.testing.enrollment import (
    enrollment_events,
    hired,
    open_program,
    send_hr,
    wait_for,
)

LANGUAGE = {
    "id": "language",
    "label": "Working language",
    "type": "single_choice",
    "required": True,
    "options": [{"id": "en", "label": "English"}, {"id": "de", "label": "German"}],
}
EXPERIENCE = {"id": "experience", "label": "Years managing", "type": "scale", "min": 1, "max": 5}
HOPE = {"id": "hope", "label": "What would make it worth it?", "type": "short_text"}
SECRET_HOPE = "to stop dreading my skip-level one-on-ones"


async def program_with_questions(
    client: httpx.AsyncClient, admin: dict[str, str], **settings: Any
) -> str:
    return await open_program(
        client, admin, questions=[LANGUAGE, EXPERIENCE, HOPE], group_size_min=3, **settings
    )


def enrolment(language: str, experience: int = 3, **more: Any) -> dict[str, Any]:
    return {"question_answers": {"language": language, "experience": experience, **more}}


async def test_admins_define_questions_and_everyone_sees_them(
    client: httpx.AsyncClient, admin: dict[str, str], token: Callable[..., dict[str, str]]
) -> None:
    await send_hr(client, hired("e-1"))
    pid = await program_with_questions(client, admin)
    mine = (await client.get("/v1/me/programs", headers=token("e-1"))).json()
    assert [q["id"] for q in mine[0]["questions"]] == ["language", "experience", "hope"]

    path = f"/v1/programs/{pid}/questions"
    shown = await client.get(path, headers=token("e-1"))
    assert shown.status_code == 200
    etag = shown.headers["ETag"]
    changed = {"questions": [LANGUAGE, {**EXPERIENCE, "label": "Years leading people"}]}
    as_participant = await client.put(
        path, json=changed, headers={**token("e-1"), "If-Match": etag}
    )
    assert as_participant.status_code == 403
    as_sponsor = {**token("e-9", "participant", "sponsor"), "If-Match": etag}
    assert (await client.put(path, json=changed, headers=as_sponsor)).status_code == 403
    assert (await client.put(path, json=changed, headers=admin)).status_code == 428
    unknown = await client.put(
        "/v1/programs/nope/questions", json=changed, headers={**admin, "If-Match": etag}
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    twice = {"questions": [LANGUAGE, LANGUAGE]}
    bad = await client.put(path, json=twice, headers={**admin, "If-Match": etag})
    assert bad.status_code == 422
    assert "language" in bad.json()["detail"]
    no_options = {"questions": [{**LANGUAGE, "options": []}]}
    assert (
        await client.put(path, json=no_options, headers={**admin, "If-Match": etag})
    ).status_code == 422

    edited = await client.put(path, json=changed, headers={**admin, "If-Match": etag})
    assert edited.status_code == 200, edited.text
    assert edited.json()["questions"][1]["label"] == "Years leading people"
    assert edited.headers["ETag"] != etag
    stale = await client.put(path, json=changed, headers={**admin, "If-Match": etag})
    assert stale.status_code == 412
    program = (await client.get(f"/v1/programs/{pid}", headers=admin)).json()
    assert [q["id"] for q in program["questions"]] == ["language", "experience"]

    # A rule may not lose its question: removing it while a rule uses it is refused.
    ruled = await client.patch(
        f"/v1/programs/{pid}",
        json={"matching": {"questions": [{"question_id": "experience", "match": "near"}]}},
        headers={**admin, "If-Match": edited.headers["ETag"]},
    )
    assert ruled.status_code == 200, ruled.text
    orphaned = await client.put(
        path, json={"questions": [LANGUAGE]}, headers={**admin, "If-Match": ruled.headers["ETag"]}
    )
    assert orphaned.status_code == 422
    assert "experience" in orphaned.json()["detail"]

    started = await client.post(f"/v1/programs/{pid}/start", headers=admin)
    assert started.status_code == 200
    late = await client.put(
        path, json=changed, headers={**admin, "If-Match": started.headers["ETag"]}
    )
    assert late.status_code == 409


async def test_enrolment_and_edits_are_held_to_the_questions(
    client: httpx.AsyncClient, admin: dict[str, str], token: Callable[..., dict[str, str]]
) -> None:
    await send_hr(client, hired("e-1"))
    pid = await program_with_questions(client, admin)
    enrol = f"/v1/programs/{pid}/enrolments"
    for body, question in (
        ({"question_answers": {"experience": 2}}, "language"),  # required, missing
        (enrolment("fr"), "language"),  # no such option
        (enrolment("en", 9), "experience"),  # out of range
        (enrolment("en", hope="x" * 201), "hope"),  # longer than the question allows
        (enrolment("en", colour="red"), "colour"),  # no such question
    ):
        refused = await client.post(enrol, json=body, headers=token("e-1"))
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"].startswith(f"question {question}:")
        assert refused.json()["errors"][0]["field"] == f"question_answers.{question}"
    scale_as_bool = await client.post(
        enrol,
        json=enrolment("en", experience=True),
        headers=token("e-1"),
    )
    assert scale_as_bool.status_code == 422
    assert (await client.get("/v1/me/enrolments", headers=token("e-1"))).json() == []

    created = await client.post(enrol, json=enrolment("en", 2, hope=" "), headers=token("e-1"))
    assert created.status_code == 201, created.text
    assert created.json()["answers"]["question_answers"] == {"language": "en", "experience": 2}
    assert created.json()["answers_version"] == 1
    one = f"/v1/participants/{created.json()['participant_id']}"
    sponsor = token("e-9", "participant", "sponsor")
    assert (await client.get(one, headers=sponsor)).status_code == 403  # nobody else's answers
    assert (
        await client.get(f"/v1/programs/{pid}/participants", headers=sponsor)
    ).status_code == 403
    path = f"/v1/participants/{created.json()['participant_id']}/answers"
    etag = created.headers["ETag"]
    wrong = await client.put(
        path, json=enrolment("en", 0), headers={**token("e-1"), "If-Match": etag}
    )
    assert wrong.status_code == 422
    assert wrong.json()["detail"].startswith("question experience:")
    edited = await client.put(
        path, json=enrolment("de", 4), headers={**token("e-1"), "If-Match": etag}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["answers_version"] == 2
    assert edited.json()["answers"]["question_answers"] == {"language": "de", "experience": 4}

    # The admin drops the scale: the answers read before, sent back as they were, still save
    # (without the retired answer); a new answer to it is refused.
    questions = f"/v1/programs/{pid}/questions"
    program_etag = (await client.get(questions, headers=admin)).headers["ETag"]
    dropped = await client.put(
        questions, json={"questions": [LANGUAGE, HOPE]}, headers={**admin, "If-Match": program_etag}
    )
    assert dropped.status_code == 200, dropped.text
    etag = edited.headers["ETag"]
    changed = await client.put(
        path, json=enrolment("de", 5), headers={**token("e-1"), "If-Match": etag}
    )
    assert changed.status_code == 422
    assert changed.json()["detail"] == "question experience: the program asks no such question"
    resent = await client.put(
        path, json=enrolment("en", 4), headers={**token("e-1"), "If-Match": etag}
    )
    assert resent.status_code == 200, resent.text
    assert resent.json()["answers"]["question_answers"] == {"language": "en"}
    assert resent.json()["answers_version"] == 3

    # Once the program runs, its groups formed on the answers: they stay as they are, while the
    # participant's other answers (their hours, say) still change.
    assert (await client.post(f"/v1/programs/{pid}/start", headers=admin)).status_code == 200
    running = {**token("e-1"), "If-Match": resent.headers["ETag"]}
    after_start = await client.put(path, json=enrolment("de"), headers=running)
    assert after_start.status_code == 409
    hours = {"working_hours_start": "08:00", "working_hours_end": "16:00"}
    same = {"question_answers": {"language": "en"}, "availability": hours}
    moved = await client.put(path, json=same, headers=running)
    assert moved.status_code == 200, moved.text
    assert moved.json()["answers"]["availability"] == hours
    assert moved.json()["answers"]["question_answers"] == {"language": "en"}
    assert moved.json()["answers_version"] == 4


async def test_matching_groups_on_a_question_and_names_it(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    # Only the language rule weighs: six people, two languages, groups of three.
    weights = {
        "similar_level": 0,
        "shared_interests": 0,
        "different_departments": 0,
        "variety": 0,
        "meeting_preference": 0,
    }
    rules = {"weights": weights, "questions": [{"question_id": "language", "match": "same"}]}
    pid = await program_with_questions(client, admin, group_size_max=3, matching=rules)
    speaks = {"e-1": "en", "e-2": "de", "e-3": "en", "e-4": "de", "e-5": "en", "e-6": "de"}
    for eid, language in speaks.items():
        await send_hr(client, hired(eid))
        body = enrolment(language, hope=f"{SECRET_HOPE} ({eid})")
        made = await client.post(f"/v1/programs/{pid}/enrolments", json=body, headers=token(eid))
        assert made.status_code == 201, made.text
    preview = await client.post(f"/v1/programs/{pid}/matching/previews", headers=admin)
    assert preview.status_code == 201, preview.text
    groups = preview.json()["groups"]
    languages = [{speaks[m["employee_id"]] for m in g["members"]} for g in groups]
    assert sorted(len(g["members"]) for g in groups) == [3, 3]
    assert languages == [{"en"}, {"de"}] or languages == [{"de"}, {"en"}]
    for group in groups:
        parts = {c["name"]: c for c in group["explanation"]["components"]}
        rule = parts["question:language"]
        assert rule["value"] == 1.0
        assert rule["detail"] == "Working language (same); answered by 3 of 3"
        assert group["explanation"]["score"] == 1.0  # the only weighed rule, fully met

    events = await enrollment_events(nats_client, namespace, at_least=8)
    assert events
    assert not any(SECRET_HOPE in e.model_dump_json() for e in events)


@pytest.mark.cascade
async def test_erasure_drops_the_question_answers(
    client: httpx.AsyncClient, admin: dict[str, str], token: Callable[..., dict[str, str]]
) -> None:
    await send_hr(client, hired("e-1"))
    pid = await program_with_questions(client, admin)
    made = await client.post(
        f"/v1/programs/{pid}/enrolments",
        json=enrolment("en", hope=SECRET_HOPE),
        headers=token("e-1"),
    )
    assert made.status_code == 201, made.text
    par = made.json()["participant_id"]
    assert (await client.post("/v1/employees/e-1/erasure", headers=admin)).status_code == 200

    async def forgotten() -> bool:
        answer = (await client.get(f"/v1/participants/{par}", headers=admin)).json()
        return bool(answer["status"] == "withdrawn" and answer["answers"]["question_answers"] == {})

    await wait_for(forgotten)
    assert SECRET_HOPE not in (await client.get(f"/v1/participants/{par}", headers=admin)).text
