"""The program owner's journey, end to end, across the four services running as separate processes.

An admin starts a program from the built-in new-manager roundtables template -> its enrolment
question (how long have you been managing people?) comes along with the rule that matches on it
-> the admin words the group introduction -> employees enrol answering the question -> matching
names the question in the group's explanation -> each member gets the admin's introduction by
email -> the first session, scheduled without an agenda, carries the hot-seat guide -> the
post-program survey is answered by everyone and closed -> the sponsor's outcome figures are
exactly those of the answers given, as the disclosure rule releases them.

Only HTTP and SMTP, on real NATS JetStream and a real MongoDB-wire server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.local.supervisor import RunningSystem
from roundtable_dev.testing.journey import (
    ADMIN_ID,
    PEOPLE,
    SPONSOR,
    Api,
    MailCatcher,
    email_of,
    hire,
    ok,
    released,
    running_system,
    wait_for,
)

pytestmark = pytest.mark.slow

TEMPLATE = "builtin-new-manager-roundtables"
QUESTION = "management_experience"  # the template's scale question, 1 to 5, matched "near"
INTRODUCTION = {
    "subject": "Meet {{ group_name }}, your new-manager roundtable",
    "body": "Your peers: {{ peer_names }}. Bring one real challenge to the hot seat.",
}
K = 5  # reporting's default k (REPORTING_K_ANONYMITY)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    yield from running_system(tmp_path_factory, "owner")


def answers_of(index: int) -> dict[str, Any]:
    """Each person's post-program answers: different numbers, so the figures mean something."""
    recommend = [10, 9, 9, 8, 7, 6, 3, 10][index]
    confidence = [4, 5, 3, 4, 5, 4, 2, 5][index]
    return {
        "rt_recommend": recommend,
        "rt_leadership_confidence": confidence,
        "rt_next_steps_clarity": 4,
        "rt_people_to_think_with": 5,
        "rt_challenges_shared": 3 + index % 2,
        "rt_action_steps_done": "most",
        "rt_keep_doing": f"Private words of person {index}",
    }


def test_a_program_from_a_template_to_the_sponsors_outcomes(system: RunningSystem) -> None:
    issuer = DevIssuer(system.config.data_dir, system.config.issuer_url)
    admin = Api(system, issuer.mint(ADMIN_ID, ["participant", "program_admin"]))
    sponsor = Api(system, issuer.mint(SPONSOR["id"], ["participant", "sponsor"]))
    people = {p["id"]: p for p in PEOPLE}
    member_api = {p["id"]: Api(system, issuer.mint(p["id"], ["participant"])) for p in PEOPLE}
    mail = MailCatcher(system.config.mail_ui_port)

    hired_at = datetime.now(UTC) - timedelta(days=1)
    for person in [*PEOPLE, SPONSOR]:
        hire(system, person, hired_at)

    # 1. A draft from the built-in template: its question and matching rule come along.
    program = ok(
        admin.post(
            "enrollment",
            f"/v1/program-templates/{TEMPLATE}/programs",
            {"name": "New managers, winter", "sponsor_ids": [SPONSOR["id"]]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ),
        201,
    )
    program_id = program["program_id"]
    assert program["status"] == "draft"
    assert program["copied_from"] == {"kind": "built_in_template", "id": TEMPLATE}
    assert [q["id"] for q in program["questions"]] == [QUESTION]
    assert any(rule["question_id"] == QUESTION for rule in program["matching"]["questions"]), (
        program["matching"]
    )

    # 2. The admin words the group introduction (reminders hears of the program by event).
    messages = f"/v1/programs/{program_id}/messages/group_introduction"
    wait_for(
        "reminders to know the program",
        lambda: admin.get("reminders", messages).status_code == 200,
        timeout=30,
    )
    ok(admin.client.put(admin.url("reminders", messages), json=INTRODUCTION,
                        headers={"If-Match": '"0"'}))  # fmt: skip
    ok(admin.post("enrollment", f"/v1/programs/{program_id}/open"))

    # 3. Everyone enrols, answering the template's question.
    experience = {person_id: 1 + i % 5 for i, person_id in enumerate(people)}
    for person_id, api in member_api.items():
        mine = ok(api.get("enrollment", "/v1/me/programs"))
        offered = next(p for p in mine if p["program_id"] == program_id)
        assert [q["id"] for q in offered["questions"]] == [QUESTION]
        enrolment = ok(
            api.post(
                "enrollment",
                f"/v1/programs/{program_id}/enrolments",
                {
                    "goals": ["Lead my first team well"],
                    "topics": ["delegation", "feedback"],
                    "time_zone": people[person_id]["tz"],
                    "consent_to_reporting": True,
                    "question_answers": {QUESTION: experience[person_id]},
                },
                headers={"Idempotency-Key": uuid.uuid4().hex},
            ),
            201,
        )
        assert enrolment["status"] == "enrolled", enrolment

    # 4. Matching on the question: the explanation names it, never an answer.
    preview = ok(admin.post("enrollment", f"/v1/programs/{program_id}/matching/previews"), 201)
    assert preview["groups"], preview
    for proposed in preview["groups"]:
        component = next(
            c for c in proposed["explanation"]["components"] if c["name"] == f"question:{QUESTION}"
        )
        assert "(near)" in component["detail"]
    ok(
        admin.post(
            "enrollment",
            f"/v1/programs/{program_id}/matching/previews/{preview['proposal_id']}/publish",
        )
    )
    group = ok(admin.get("enrollment", f"/v1/programs/{program_id}/groups"))[0]
    members = [m["employee_id"] for m in group["members"]]
    assert len(members) >= 5

    # 5. Each member gets the admin's wording of the introduction.
    subject = f"Meet {group['name']}, your new-manager roundtable"

    def introduced() -> list[dict[str, str]] | None:
        found = [mail.to(email_of(people[m]), subject) for m in members]
        return [f[0] for f in found] if all(found) else None

    letters = wait_for(f"'{subject}' to {members}", introduced, timeout=60)
    body = mail.body(letters[0]["name"])
    assert "Bring one real challenge to the hot seat." in body

    # 6. The first session, scheduled without an agenda, carries the hot-seat guide.
    scheduler = members[0]
    guide = wait_for(
        "the program's guide on sessions",
        lambda: (
            (r := member_api[scheduler].get("sessions", f"/v1/programs/{program_id}/guide"))
            and r.status_code == 200
            and r.json()
        ),
        timeout=30,
    )
    assert guide["built_in"] is True
    assert "hot seat" in guide["agenda"].lower()
    wait_for(
        "sessions to know the group",
        lambda: member_api[scheduler].get("sessions", f"/v1/groups/{group['group_id']}/sessions")
        .status_code == 200,
        timeout=30,
    )  # fmt: skip
    zone = people[scheduler]["tz"]
    starts_at = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    session = ok(
        member_api[scheduler].post(
            "sessions",
            f"/v1/groups/{group['group_id']}/sessions",
            {
                "title": "First roundtable",
                "starts_at": starts_at.astimezone(ZoneInfo(zone)).isoformat(),
                "time_zone": zone,
                "duration_minutes": 90,
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ),
        201,
    )
    assert session["agenda"] == guide["agenda"]

    # 7. The post-program survey: everyone enrolled is asked and answers; the admin closes it.
    opened = ok(
        admin.post(
            "enrollment",
            f"/v1/programs/{program_id}/surveys",
            {
                "kind": "post_program",
                "closes_at": (datetime.now(UTC) + timedelta(days=14)).isoformat(),
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ),
        201,
    )
    survey = opened["surveys"][0]
    assert survey["asked"] == len(people)
    given = {person_id: answers_of(i) for i, person_id in enumerate(people)}
    for person_id, api in member_api.items():
        ok(
            api.client.put(
                api.url("enrollment", f"/v1/me/surveys/{survey['survey_id']}/response"),
                json={"answers": given[person_id]},
            ),
            201,
        )
    # Wait for reporting to have every answer before the close, as an owner would.
    outcomes_path = f"/v1/programs/{program_id}/outcomes"

    def reporting_has_the_survey() -> dict[str, Any] | None:
        figures: dict[str, Any] = ok(sponsor.get("reporting", outcomes_path))
        return figures if figures["surveys"] else None

    wait_for("reporting to know the survey", reporting_has_the_survey, timeout=30)
    closed = ok(
        admin.post("enrollment", f"/v1/programs/{program_id}/surveys/{survey['survey_id']}/close")
    )
    assert closed["status"] == "closed"

    # 8. The sponsor's figures, computed here from the answers given and the disclosure rule.
    recommend = [a["rt_recommend"] for a in given.values()]
    confidence = [a["rt_leadership_confidence"] for a in given.values()]
    promoters = sum(score >= 9 for score in recommend)
    detractors = sum(score <= 6 for score in recommend)
    expected_nps = round(100 * (promoters - detractors) / len(recommend), 1)
    expected_confidence = round(sum(confidence) / len(confidence), 2)

    def closed_figures() -> dict[str, Any] | None:
        figures: dict[str, Any] = ok(sponsor.get("reporting", outcomes_path))
        found = [s for s in figures["surveys"] if s["survey_id"] == survey["survey_id"]]
        return figures if found and found[0]["status"] == "closed" else None

    figures = wait_for("the closed survey's figures", closed_figures, timeout=30)
    post = next(s for s in figures["surveys"] if s["survey_id"] == survey["survey_id"])
    assert post["asked"] == released(len(people), K)
    assert post["responses"] == released(len(people), K)
    assert post["response_rate"] == 1.0
    assert post["nps"] == {"answers": released(len(recommend), K), "score": expected_nps}
    means = {m["question_id"]: m for m in post["means"]}
    assert means["rt_leadership_confidence"]["mean"] == expected_confidence
    assert figures["nps"]["score"] == expected_nps
    # Never the words, never one person's answer.
    text = str(figures)
    assert "Private words" not in text
    assert not any(person_id in text for person_id in people)
