"""A program's template across the services running as separate processes: an admin sets up a
program (its guide on sessions, its welcome message on reminders), saves it as a template and
makes a new program from it, clones it, and starts one from a built-in template; the guide and
the message follow each copy by enrollment's real events over NATS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.local.supervisor import RunningSystem
from roundtable_dev.testing.journey import ADMIN_ID, Api, ok, running_system, wait_for

pytestmark = pytest.mark.slow

GUIDE = {
    "title": "Our hot seat",
    "steps": [
        {
            "key": "hot_seat",
            "title": "The hot seat: the challenge, the results wanted, the obstacles",
            "minutes": 15,
            "per_hot_seat": True,
            "record_fields": ["hot_seats.challenge", "hot_seats.obstacles"],
        },
        {
            "key": "commitments",
            "title": "Commitments with an accountability partner",
            "minutes": 10,
            "per_hot_seat": True,
            "action_step_fields": ["title", "accountability_partner_id", "due_on"],
        },
    ],
}
WELCOME = {"subject": "Welcome to {{ program_name }}", "body": "Bring one real challenge."}


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    yield from running_system(tmp_path_factory, "templates")


def known(admin: Api, service: str, path: str) -> Any:
    """The resource once the service has heard of the program (404 before)."""
    response = admin.get(service, path)
    return response if response.status_code == 200 else None


def guide_and_welcome(admin: Api, program_id: str, title: str, subject: str) -> None:
    wait_for(
        f"the guide of {program_id}",
        lambda: (
            (g := known(admin, "sessions", f"/v1/programs/{program_id}/guide"))
            and g.json()["title"] == title
        ),
        timeout=30,
    )
    wait_for(
        f"the welcome of {program_id}",
        lambda: (
            (m := known(admin, "reminders", f"/v1/programs/{program_id}/messages/welcome"))
            and m.json()["subject"] == subject
        ),
        timeout=30,
    )


def test_a_template_and_a_clone_take_the_guide_and_the_messages_along(
    system: RunningSystem,
) -> None:
    issuer = DevIssuer(system.config.data_dir, system.config.issuer_url)
    admin = Api(system, issuer.mint(ADMIN_ID, ["participant", "program_admin"]))
    source = ok(
        admin.post("enrollment", "/v1/programs", {"name": "Source", "cadence": "monthly"}), 201
    )
    source_id = source["program_id"]
    wait_for(
        "sessions to know it",
        lambda: known(admin, "sessions", f"/v1/programs/{source_id}/guide"),
        30,
    )
    ok(
        admin.client.put(
            admin.url("sessions", f"/v1/programs/{source_id}/guide"),
            json=GUIDE,
            headers={"If-Match": '"0"'},
        )
    )
    welcome = f"/v1/programs/{source_id}/messages/welcome"
    wait_for("reminders to know it", lambda: known(admin, "reminders", welcome), 30)
    ok(admin.client.put(admin.url("reminders", welcome), json=WELCOME, headers={"If-Match": '"0"'}))

    template = ok(
        admin.post(
            "enrollment",
            "/v1/program-templates",
            {"name": "Our roundtables", "from_program_id": source_id},
        ),
        201,
    )
    new = {"name": "Next round", "starts_on": "2027-02-01"}
    made = ok(
        admin.post("enrollment", f"/v1/program-templates/{template['template_id']}/programs", new),
        201,
    )
    clone = ok(admin.post("enrollment", f"/v1/programs/{source_id}/clone", new), 201)
    for program in (made, clone):
        assert program["status"] == "draft" and program["cadence"] == "monthly"
        guide_and_welcome(admin, program["program_id"], GUIDE["title"], WELCOME["subject"])

    kit = ok(
        admin.post(
            "enrollment", "/v1/program-templates/builtin-new-manager-roundtables/programs", new
        ),
        201,
    )
    assert (kit["group_size_min"], kit["group_size_max"]) == (5, 8)
    guide_and_welcome(
        admin, kit["program_id"], "Roundtable peer-coaching guide", "Welcome to your peer program"
    )
    hot_seat = ok(admin.get("sessions", f"/v1/programs/{kit['program_id']}/guide"))
    assert hot_seat["built_in"] is True
    assert [s["key"] for s in hot_seat["steps"]][1:4] == ["hot_seat", "inquiry", "suggestions"]
