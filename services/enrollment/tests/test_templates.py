"""Program templates over HTTP, against real NATS and the MongoDB-wire server: built-in and saved
templates, programs made from them and clones of programs, who may do it, and bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from nats.aio.client import Client as NatsClient

from roundtable_dev.testing.enrollment import enrollment_events
from roundtable_shared.events.registry import parse_data

TEMPLATES = "/v1/program-templates"
SOURCE: dict[str, Any] = {
    "name": "LEADForward 2026",
    "sponsor_ids": ["e-0042"],
    "format": "roundtable",
    "group_size_min": 4,
    "group_size_max": 6,
    "eligibility": {"levels": ["L4"], "allow_list": ["e-2001"]},
    "capacity": 40,
    "cadence": "monthly",
    "session_duration_minutes": 90,
    "time_zone": "Europe/Berlin",
    "starts_on": "2026-02-02",
    "reminders": {"before_session_minutes": [120], "before_action_due_hours": [24]},
    "matching": {"questions": [{"question_id": "function", "match": "different", "weight": 3}]},
    "questions": [
        {
            "id": "function",
            "label": "Your function?",
            "type": "single_choice",
            "options": [{"id": "sales", "label": "Sales"}, {"id": "ops", "label": "Ops"}],
        }
    ],
}
NEW = {"name": "LEADForward 2027", "starts_on": "2027-02-01", "ends_on": "2027-06-30"}
COPIED = ("format", "group_size_min", "group_size_max", "capacity", "cadence", "questions")


async def source_program(client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    created = await client.post("/v1/programs", json=SOURCE, headers=admin)
    assert created.status_code == 201, created.text
    return str(created.json()["program_id"])


async def test_a_program_from_each_built_in_template(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    listed = await client.get(TEMPLATES, headers=admin)
    assert listed.status_code == 200, listed.text
    built_in = {t["template_id"]: t for t in listed.json()["items"] if t["built_in"]}
    assert set(built_in) == {"builtin-new-manager-roundtables", "builtin-peer-pairs"}

    roundtables = await client.post(
        f"{TEMPLATES}/builtin-new-manager-roundtables/programs", json=NEW, headers=admin
    )
    assert roundtables.status_code == 201, roundtables.text
    program = roundtables.json()
    assert roundtables.headers["Location"] == f"/v1/programs/{program['program_id']}"
    assert (program["status"], program["name"], program["starts_on"]) == (
        "draft",
        "LEADForward 2027",
        "2027-02-01",
    )
    assert (program["format"], program["group_size_min"], program["group_size_max"]) == (
        "roundtable",
        5,
        8,
    )
    assert program["cadence"] == "monthly"
    assert program["copied_from"] == {
        "kind": "built_in_template",
        "id": "builtin-new-manager-roundtables",
    }

    pairs = await client.post(
        f"{TEMPLATES}/builtin-peer-pairs/programs", json={"name": "Pairs"}, headers=admin
    )
    assert pairs.status_code == 201, pairs.text
    assert (pairs.json()["format"], pairs.json()["cadence"]) == ("pairs", "biweekly")
    read = await client.get(f"/v1/programs/{pairs.json()['program_id']}", headers=admin)
    assert read.json()["copied_from"]["id"] == "builtin-peer-pairs"


async def test_a_saved_template_and_a_clone_copy_the_design_never_the_people_or_dates(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    source_id = await source_program(client, admin)
    saved = await client.post(
        TEMPLATES,
        json={"name": "Our roundtables", "from_program_id": source_id},
        headers={**admin, "Idempotency-Key": "t1"},
    )
    assert saved.status_code == 201, saved.text
    template = saved.json()
    template_id = template["template_id"]
    assert saved.headers["Location"] == f"{TEMPLATES}/{template_id}"
    assert (template["built_in"], template["from_program_id"]) == (False, source_id)
    assert template["design"]["eligibility"]["allow_list"] == []
    assert "sponsor_ids" not in template["design"] and "starts_on" not in template["design"]
    retried = await client.post(
        TEMPLATES,
        json={"name": "Our roundtables", "from_program_id": source_id},
        headers={**admin, "Idempotency-Key": "t1"},
    )
    assert retried.status_code == 201 and retried.json()["template_id"] == template_id

    listed = (await client.get(TEMPLATES, headers=admin)).json()["items"]
    assert template_id in [t["template_id"] for t in listed]
    assert (await client.get(f"{TEMPLATES}/{template_id}", headers=admin)).status_code == 200

    from_template = await client.post(
        f"{TEMPLATES}/{template_id}/programs", json=NEW, headers=admin
    )
    clone = await client.post(f"/v1/programs/{source_id}/clone", json=NEW, headers=admin)
    source = (await client.get(f"/v1/programs/{source_id}", headers=admin)).json()
    for made, origin in ((from_template, "template"), (clone, "program")):
        assert made.status_code == 201, made.text
        program = made.json()
        assert program["program_id"] != source_id and program["status"] == "draft"
        assert {k: program[k] for k in COPIED} == {k: source[k] for k in COPIED}
        assert program["matching"] == source["matching"]
        assert program["reminders"] == source["reminders"]
        assert program["eligibility"]["levels"] == ["L4"]
        assert program["eligibility"]["allow_list"] == []
        assert program["sponsor_ids"] == [] and program["enrolled_count"] == 0
        assert (program["name"], program["ends_on"]) == ("LEADForward 2027", "2027-06-30")
        assert program["copied_from"]["kind"] == origin

    events = await enrollment_events(nats_client, namespace, 4)
    data = {e.type.split(".", 2)[2]: (e, parse_data(e)) for e in events}
    envelope, saved_event = data["program_template.saved"]
    assert envelope.subject == template_id
    assert saved_event.model_dump(include={"template_id", "program_id"}) == {
        "template_id": template_id,
        "program_id": source_id,
    }
    created = [parse_data(e) for e in events if e.type.endswith("program.created")]
    origins = {str(c.model_dump(mode="json")["copied_from"]) for c in created}
    assert origins == {
        "None",
        str({"kind": "template", "id": template_id}),
        str({"kind": "program", "id": source_id}),
    }


async def test_deleting_a_template(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    source_id = await source_program(client, admin)
    template_id = (
        await client.post(
            TEMPLATES, json={"name": "Ours", "from_program_id": source_id}, headers=admin
        )
    ).json()["template_id"]
    other_admin = token("e-other", "program_admin")
    assert (await client.get(f"{TEMPLATES}/{template_id}", headers=other_admin)).status_code == 404
    assert (
        await client.delete(f"{TEMPLATES}/{template_id}", headers=other_admin)
    ).status_code == 404
    builtin = await client.delete(f"{TEMPLATES}/builtin-peer-pairs", headers=admin)
    assert builtin.status_code == 409
    assert builtin.headers["content-type"].startswith("application/problem+json")
    assert (await client.delete(f"{TEMPLATES}/{template_id}", headers=admin)).status_code == 204
    assert (await client.get(f"{TEMPLATES}/{template_id}", headers=admin)).status_code == 404
    assert (await client.delete(f"{TEMPLATES}/{template_id}", headers=admin)).status_code == 404
    made = await client.post(f"{TEMPLATES}/{template_id}/programs", json=NEW, headers=admin)
    assert made.status_code == 404
    listed = (await client.get(TEMPLATES, headers=admin)).json()["items"]
    assert template_id not in [t["template_id"] for t in listed]

    events = await enrollment_events(nats_client, namespace, 3)
    deleted = [parse_data(e) for e in events if e.type.endswith("program_template.deleted")]
    assert [(d.model_dump()["template_id"], d.model_dump()["program_id"]) for d in deleted] == [
        (template_id, source_id)
    ]


async def test_only_program_admins_use_templates(
    client: httpx.AsyncClient, admin: dict[str, str], token: Callable[..., dict[str, str]]
) -> None:
    source_id = await source_program(client, admin)
    for outsider in (token("e-1"), token("e-0042", "participant", "sponsor")):
        assert (await client.get(TEMPLATES, headers=outsider)).status_code == 403
        assert (
            await client.get(f"{TEMPLATES}/builtin-peer-pairs", headers=outsider)
        ).status_code == 403
        saved = await client.post(
            TEMPLATES, json={"name": "Mine", "from_program_id": source_id}, headers=outsider
        )
        assert saved.status_code == 403
        assert (
            await client.delete(f"{TEMPLATES}/builtin-peer-pairs", headers=outsider)
        ).status_code == 403
        made = await client.post(
            f"{TEMPLATES}/builtin-peer-pairs/programs", json=NEW, headers=outsider
        )
        assert made.status_code == 403
        clone = await client.post(f"/v1/programs/{source_id}/clone", json=NEW, headers=outsider)
        assert clone.status_code == 403
    assert (await client.get(TEMPLATES)).status_code == 401
    programs = (await client.get("/v1/programs", headers=admin)).json()["items"]
    assert [p["program_id"] for p in programs] == [source_id]  # nothing half-made


async def test_bad_template_input_is_a_problem_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    source_id = await source_program(client, admin)
    cases: list[tuple[str, Any, int, str]] = [
        (TEMPLATES, {"name": "", "from_program_id": source_id}, 422, "name"),
        (TEMPLATES, {"name": "x"}, 422, "from_program_id"),
        (TEMPLATES, {"name": "x", "from_program_id": source_id, "extra": 1}, 422, "extra"),
        (TEMPLATES, {"name": "x", "from_program_id": "prg_unknown"}, 404, ""),
        (TEMPLATES, [1, 2], 422, ""),
        (f"{TEMPLATES}/builtin-peer-pairs/programs", {}, 422, "name"),
        (
            f"{TEMPLATES}/builtin-peer-pairs/programs",
            {**NEW, "starts_on": "soon"},
            422,
            "starts_on",
        ),
        (
            f"{TEMPLATES}/builtin-peer-pairs/programs",
            {**NEW, "starts_on": "2027-07-01", "ends_on": "2027-01-01"},
            422,
            "ends_on",
        ),
        (f"{TEMPLATES}/builtin-peer-pairs/programs", {**NEW, "format": "pairs"}, 422, "format"),
        (f"{TEMPLATES}/no-such-template/programs", NEW, 404, ""),
        ("/v1/programs/prg_unknown/clone", NEW, 404, ""),
        (
            f"/v1/programs/{source_id}/clone",
            {
                **NEW,
                "enrolment_opens_at": "2027-01-10T00:00:00Z",
                "enrolment_closes_at": "2027-01-01T00:00:00Z",
            },
            422,
            "enrolment_closes_at",
        ),
        (f"/v1/programs/{source_id}/clone", {**NEW, "sponsor_ids": "e-1"}, 422, "sponsor_ids"),
    ]
    for path, body, status, field in cases:
        response = await client.post(path, json=body, headers=admin)
        assert response.status_code == status, (path, body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in response.text, (path, body, response.text)
    programs = (await client.get("/v1/programs", headers=admin)).json()["items"]
    assert [p["program_id"] for p in programs] == [source_id]  # nothing half-made
    templates = (await client.get(TEMPLATES, headers=admin)).json()["items"]
    assert all(t["built_in"] for t in templates)


async def test_templates_page_by_id_and_a_retried_creation_makes_one_program(
    client: httpx.AsyncClient, admin: dict[str, str], token: Callable[..., dict[str, str]]
) -> None:
    source_id = await source_program(client, admin)
    own = []
    for n in range(2):
        saved = await client.post(
            TEMPLATES, json={"name": f"Ours {n}", "from_program_id": source_id}, headers=admin
        )
        own.append(saved.json()["template_id"])
    theirs = token("e-other", "program_admin")
    await client.post(
        TEMPLATES, json={"name": "Theirs", "from_program_id": source_id}, headers=theirs
    )
    seen: list[str] = []
    path = f"{TEMPLATES}?limit=1"
    while path:
        page = (await client.get(path, headers=admin)).json()
        assert len(page["items"]) <= 1
        seen += [t["template_id"] for t in page["items"]]
        path = f"{TEMPLATES}?limit=1&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert seen == sorted(["builtin-new-manager-roundtables", "builtin-peer-pairs", *own])

    key = {**admin, "Idempotency-Key": "from-kit-1"}
    first = await client.post(f"{TEMPLATES}/builtin-peer-pairs/programs", json=NEW, headers=key)
    again = await client.post(f"{TEMPLATES}/builtin-peer-pairs/programs", json=NEW, headers=key)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json()["program_id"] == again.json()["program_id"]
    other = await client.post(
        f"{TEMPLATES}/builtin-new-manager-roundtables/programs", json=NEW, headers=key
    )
    assert other.status_code == 422  # the same key for another template
    programs = (await client.get("/v1/programs", headers=admin)).json()["items"]
    assert len(programs) == 2
