"""SCIM 2.0 provisioning against the real service (NATS, FerretDB): the request sequences Okta and
Microsoft Entra ID send, as their public guides show them, change the one employee directory,
raise the directory's events and offboard as an HR termination does."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient
from pymongo import monitoring
from scim2_client.engines.asgi import ASGISCIMClient
from scim2_models import SCIMException, SearchRequest

from enrollment.app import build_app
from enrollment.scim.domain import LINKED, to_query
from enrollment.settings import EnrollmentSettings
from roundtable_dev.local.supervisor import RunningSystem, SystemConfig
from roundtable_dev.testing.enrollment import (
    enrollment_events,
    hired,
    open_program,
    send_hr,
    wait_for,
)
from roundtable_dev.testing.http import running_app
from roundtable_shared.storage.mongo import connect

SCIM = "application/scim+json"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """SCIM changes take effect when they arrive: the tests fix when that is."""
    monkeypatch.setattr("enrollment.scim.service.utcnow", lambda: NOW)


@pytest.fixture
def directory_admin(token: Callable[..., dict[str, str]]) -> dict[str, str]:
    return token("e-it", "participant", "directory_admin")


@pytest.fixture
async def idp(client: httpx.AsyncClient, directory_admin: dict[str, str]) -> dict[str, str]:
    """Headers of an identity provider's connection, as the IdP sends them."""
    created = await client.post(
        "/v1/scim/connections", json={"name": "Test IdP"}, headers=directory_admin
    )
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}", "Content-Type": SCIM}


class EmployeeCommands(monitoring.CommandListener):
    """The commands any client of this process sends to the employees collection, while on."""

    def __init__(self) -> None:
        self.recording = False
        self.seen: list[tuple[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.recording and event.command.get(event.command_name) == "employees":
            self.seen.append((event.command_name, event.command.get("filter")))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


_EMPLOYEE_COMMANDS: list[EmployeeCommands] = []


@pytest.fixture
def employee_commands() -> EmployeeCommands:
    """Request it before ``client``: a listener sees the clients made after it is registered
    (pymongo has no unregister, so one listener serves every test)."""
    if not _EMPLOYEE_COMMANDS:
        _EMPLOYEE_COMMANDS.append(EmployeeCommands())
        monitoring.register(_EMPLOYEE_COMMANDS[0])
    listener = _EMPLOYEE_COMMANDS[0]
    listener.seen.clear()
    return listener


def event_types(events: list[Any], subject: str) -> list[str]:
    return [e.type.split(".", 2)[2] for e in events if e.subject == subject]


async def test_entra_id_provisions_updates_and_deprovisions_a_user(
    client: httpx.AsyncClient,
    idp: dict[str, str],
    admin: dict[str, str],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    user_name = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"
    # 1. Entra ID looks the user up by its matching attribute.
    query = await client.get(
        "/scim/v2/Users", params={"filter": f'userName eq "{user_name}"'}, headers=idp
    )
    assert query.status_code == 200, query.text
    assert query.headers["content-type"].startswith(SCIM)
    assert query.json()["totalResults"] == 0 and query.json()["Resources"] == []
    # 2. Not found: it creates it (the body of Microsoft's SCIM tutorial, with the enterprise
    # extension its default mappings fill).
    created = await client.post(
        "/scim/v2/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": user_name,
            "active": True,
            "emails": [{"primary": True, "type": "work", "value": "Test_User_fd0e@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {
                "formatted": "givenName familyName",
                "familyName": "familyName",
                "givenName": "givenName",
            },
            "roles": [],
            ENTERPRISE: {"employeeNumber": "e-501", "department": "Engineering"},
        },
        headers=idp,
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["id"] == "e-501"
    assert created.headers["Location"].endswith("/scim/v2/Users/e-501")
    assert created.headers["ETag"] == user["meta"]["version"] == 'W/"1"'
    assert user["userName"] == user_name and user["active"] is True
    # 3. It reads it back, and finds it by its userName in any case.
    fetched = await client.get("/scim/v2/Users/e-501", headers=idp)
    assert fetched.status_code == 200 and fetched.json()["externalId"] == user["externalId"]
    found = await client.get(
        "/scim/v2/Users", params={"filter": f'userName eq "{user_name.upper()}"'}, headers=idp
    )
    assert [r["id"] for r in found.json()["Resources"]] == ["e-501"]
    # 4. Attribute changes: capitalised ops, a value-filter path, a path into the enterprise
    # extension by URN, the manager as a bare id.
    changed = await client.patch(
        "/scim/v2/Users/e-501",
        json={
            "schemas": [PATCH_OP],
            "Operations": [
                {
                    "op": "Replace",
                    "path": 'emails[type eq "work"].value',
                    "value": "updatedEmail@microsoft.com",
                },
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
                {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Sales"},
                {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "e-42"},
            ],
        },
        headers=idp,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["emails"][0]["value"] == "updatedEmail@microsoft.com"
    assert changed.json()["name"]["familyName"] == "updatedFamilyName"
    employee = (await client.get("/v1/employees/e-501", headers=admin)).json()
    assert employee["email"] == "updatedEmail@microsoft.com"
    assert employee["department"] == "Sales" and employee["manager_id"] == "e-42"
    # 5. Disabled in Entra ID: "active" as the string "False".
    disabled = await client.patch(
        "/scim/v2/Users/e-501",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        },
        headers=idp,
    )
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["active"] is False
    employee = (await client.get("/v1/employees/e-501", headers=admin)).json()
    assert employee["employment_status"] == "terminated"
    # 6. Deleted: gone for SCIM (404, SCIM error), the HR record stays, terminated.
    deleted = await client.delete("/scim/v2/Users/e-501", headers=idp)
    assert deleted.status_code == 204, deleted.text
    gone = await client.get("/scim/v2/Users/e-501", headers=idp)
    assert gone.status_code == 404 and gone.json()["schemas"] == [ERROR]
    assert gone.json()["status"] == "404"
    assert (await client.get("/v1/employees/e-501", headers=admin)).json()["version"] >= 4

    events = await enrollment_events(nats_client, namespace, 3)
    assert event_types(events, "e-501") == [
        "employee.upserted",
        "employee.upserted",
        "employee.upserted",
        "employee.offboarded",
    ]
    upserts = [e.data for e in events if e.type.endswith("upserted")]
    assert [u["email"] for u in upserts] == [
        "Test_User_fd0e@testuser.com",
        "updatedEmail@microsoft.com",
        "updatedEmail@microsoft.com",
    ]
    assert upserts[-1]["employment_status"] == "terminated"


async def test_okta_provisions_replaces_deactivates_and_reactivates(
    client: httpx.AsyncClient,
    idp: dict[str, str],
    admin: dict[str, str],
    nats_client: NatsClient,
    namespace: str,
) -> None:
    user_name = "test.user@okta.local"
    query = await client.get(
        "/scim/v2/Users",
        params={"filter": f'userName eq "{user_name}"', "startIndex": 1, "count": 100},
        headers=idp,
    )
    assert query.json()["totalResults"] == 0
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
    created = await client.post("/scim/v2/Users", json=body, headers=idp)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert "password" not in created.json()
    # Okta retries a create it did not see answered: the userName is taken (409 uniqueness).
    again = await client.post("/scim/v2/Users", json=body, headers=idp)
    assert again.status_code == 409 and again.json()["scimType"] == "uniqueness"
    # Profile push: the whole user, by PUT.
    put = await client.put(
        f"/scim/v2/Users/{user_id}",
        json={**body, "id": user_id, "title": "Engineering Manager", "displayName": "Tess User"},
        headers={**idp, "If-Match": created.headers["ETag"]},
    )
    assert put.status_code == 200, put.text
    assert put.json()["title"] == "Engineering Manager"
    assert put.json()["meta"]["version"] == 'W/"2"'
    # A write against the version before is refused.
    stale = await client.put(
        f"/scim/v2/Users/{user_id}",
        json={**body, "title": "Director"},
        headers={**idp, "If-Match": created.headers["ETag"]},
    )
    assert stale.status_code == 412, stale.text
    # Deactivation, then reactivation: Okta's PATCH without a path.
    for active, status in ((False, "terminated"), (True, "active")):
        answer = await client.patch(
            f"/scim/v2/Users/{user_id}",
            json={
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "value": {"active": active}}],
            },
            headers=idp,
        )
        assert answer.status_code == 200, answer.text
        employee = (await client.get(f"/v1/employees/{user_id}", headers=admin)).json()
        assert employee["employment_status"] == status
        assert employee["display_name"] == "Tess User"
    events = await enrollment_events(nats_client, namespace, 5)
    assert event_types(events, user_id) == [
        "employee.upserted",
        "employee.upserted",
        "employee.upserted",
        "employee.offboarded",
        "employee.upserted",
    ]


async def test_one_person_whether_hr_or_the_idp_speaks_first(
    client: httpx.AsyncClient, idp: dict[str, str], admin: dict[str, str]
) -> None:
    # HR hired e-7 first; the IdP provisions them by employeeNumber: the same employee.
    await send_hr(client, hired("e-7", at="2026-01-01T00:00:00Z", title="Analyst"))
    linked = await client.post(
        "/scim/v2/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": "e7@example.com",
            "emails": [{"value": "e-7@example.com", "primary": True}],
            "active": True,
            ENTERPRISE: {"employeeNumber": "e-7"},
        },
        headers=idp,
    )
    assert linked.status_code == 201, linked.text
    assert linked.json()["id"] == "e-7"
    assert linked.json()["title"] == "Analyst"  # HR's field, which the IdP did not state
    assert linked.json()["urn:roundtable:params:scim:schemas:extension:roundtable:2.0:User"] == {
        "level": "L5",
        "location": "Berlin",
    }
    # HR hired e-8 with no employee number in the IdP: linked by its (unique) email.
    await send_hr(client, hired("e-8"))
    by_email = await client.post(
        "/scim/v2/Users",
        json={"userName": "e8", "emails": [{"value": "E-8@example.com"}]},  # no "active"
        headers=idp,
    )
    assert by_email.status_code == 201 and by_email.json()["id"] == "e-8"
    # A later HR change is seen through SCIM; an older one does not overwrite the IdP's.
    await send_hr(
        client,
        {
            "event_id": "u-1",
            "type": "employee.updated",
            "employee_id": "e-7",
            "effective_at": "2026-04-01T00:00:00Z",
            "employee": {"title": "Lead Analyst"},
        },
    )
    await client.patch(
        "/scim/v2/Users/e-8",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "title", "value": "CTO"}],
        },
        headers=idp,
    )
    await send_hr(
        client,
        {
            "event_id": "u-2",
            "type": "employee.updated",
            "employee_id": "e-8",
            "effective_at": "2026-02-01T00:00:00Z",  # before the IdP's change (NOW)
            "employee": {"title": "Intern"},
        },
    )
    assert (await client.get("/scim/v2/Users/e-7", headers=idp)).json()["title"] == "Lead Analyst"
    assert (await client.get("/v1/employees/e-8", headers=admin)).json()["title"] == "CTO"
    listed = (await client.get("/v1/employees", headers=admin)).json()["items"]
    assert sorted(e["employee_id"] for e in listed) == ["e-7", "e-8"]


async def test_filters_paging_and_attribute_selection(
    client: httpx.AsyncClient, idp: dict[str, str]
) -> None:
    for n, active in ((1, True), (2, True), (3, False), (4, True)):
        answer = await client.post(
            "/scim/v2/Users",
            json={
                "userName": f"user{n}@corp.example",
                "externalId": f"ext-{n}",
                "emails": [{"value": f"User{n}@Corp.example", "type": "work"}],
                "displayName": f"User {n}",
                "active": active,
            },
            headers=idp,
        )
        assert answer.status_code == 201, answer.text

    async def ids(filter_text: str, **params: Any) -> list[str]:
        answer = await client.get(
            "/scim/v2/Users", params={"filter": filter_text, **params}, headers=idp
        )
        assert answer.status_code == 200, answer.text
        return [r["externalId"] for r in answer.json()["Resources"]]

    assert await ids('externalId eq "ext-2"') == ["ext-2"]
    assert sorted(await ids('emails.value eq "user3@corp.example"')) == ["ext-3"]
    assert sorted(await ids('emails[type eq "work" and value co "ER4"]')) == ["ext-4"]
    assert sorted(await ids('userName sw "USER" and active eq false')) == ["ext-3"]
    assert sorted(await ids('externalId eq "ext-1" or userName co "r4@"')) == ["ext-1", "ext-4"]
    assert sorted(await ids("externalId pr and not (active eq true)")) == ["ext-3"]
    assert sorted(await ids('userName co ".*"')) == []  # a value, never a pattern
    page = await client.get(
        "/scim/v2/Users",
        params={"filter": "userName pr", "startIndex": 2, "count": 2},
        headers=idp,
    )
    body = page.json()
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (4, 2, 2)
    only = await client.get(
        "/scim/v2/Users",
        params={"filter": 'externalId eq "ext-1"', "attributes": "userName,emails"},
        headers=idp,
    )
    resource = only.json()["Resources"][0]
    assert set(resource) <= {"schemas", "id", "userName", "emails", "meta"}, resource
    assert "displayName" not in resource
    without = await client.get(
        "/scim/v2/Users",
        params={"filter": 'externalId eq "ext-1"', "excludedAttributes": "emails"},
        headers=idp,
    )
    assert "emails" not in without.json()["Resources"][0]
    assert without.json()["Resources"][0]["displayName"] == "User 1"


@pytest.mark.parametrize(
    "filter_text",
    ['userName eqq "x"', 'nickName eq "x"', 'userName gt "a"', 'active eq "yes"', "(("],
)
async def test_a_bad_filter_is_a_400_invalid_filter(
    client: httpx.AsyncClient, idp: dict[str, str], filter_text: str
) -> None:
    answer = await client.get("/scim/v2/Users", params={"filter": filter_text}, headers=idp)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith(SCIM)
    assert answer.json()["scimType"] == "invalidFilter"
    assert answer.json()["schemas"] == [ERROR]


async def test_errors_speak_scim(client: httpx.AsyncClient, idp: dict[str, str]) -> None:
    for headers in ({}, {"Authorization": "Bearer rtscim.nope.nope"}, {"Authorization": "Basic x"}):
        answer = await client.get("/scim/v2/Users", headers=headers)
        assert answer.status_code == 401, answer.text
        assert answer.json()["schemas"] == [ERROR] and answer.json()["status"] == "401"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    missing = await client.get("/scim/v2/Users/nobody", headers=idp)
    assert missing.status_code == 404 and missing.json()["schemas"] == [ERROR]
    not_json = await client.post("/scim/v2/Users", content=b"{", headers=idp)
    assert not_json.status_code == 400 and not_json.json()["scimType"] == "invalidSyntax"
    no_user_name = await client.post("/scim/v2/Users", json={"active": True}, headers=idp)
    assert no_user_name.status_code == 400, no_user_name.text
    bad_email = await client.post(
        "/scim/v2/Users", json={"userName": "x", "emails": [{"value": "nope"}]}, headers=idp
    )
    assert bad_email.status_code == 400 and bad_email.json()["scimType"] == "invalidValue"
    bad_path = await client.post(
        "/scim/v2/Users", json={"userName": "y@corp.example", "active": True}, headers=idp
    )
    bad_patch = await client.patch(
        f"/scim/v2/Users/{bad_path.json()['id']}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "nope[", "value": 1}],
        },
        headers=idp,
    )
    assert bad_patch.status_code == 400, bad_patch.text
    assert bad_patch.json()["schemas"] == [ERROR]
    groups = await client.get("/scim/v2/Groups", headers=idp)
    assert groups.status_code == 404 and groups.json()["schemas"] == [ERROR]


async def test_discovery_documents(client: httpx.AsyncClient) -> None:
    config = (await client.get("/scim/v2/ServiceProviderConfig")).json()
    assert config["patch"]["supported"] is True and config["etag"]["supported"] is True
    assert config["filter"] == {"supported": True, "maxResults": 1000}
    types = (await client.get("/scim/v2/ResourceTypes")).json()["Resources"]
    assert [t["id"] for t in types] == ["User"]
    schemas = (await client.get("/scim/v2/Schemas")).json()["Resources"]
    assert {s["id"] for s in schemas} == {
        "urn:ietf:params:scim:schemas:core:2.0:User",
        ENTERPRISE,
        "urn:roundtable:params:scim:schemas:extension:roundtable:2.0:User",
    }


async def test_connections_rotate_with_an_overlap_revoke_and_count(
    client: httpx.AsyncClient,
    directory_admin: dict[str, str],
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    forbidden = await client.post("/v1/scim/connections", json={"name": "x"}, headers=admin)
    assert forbidden.status_code == 403  # program admins run programs; IT connects the IdP
    created = (
        await client.post("/v1/scim/connections", json={"name": "Entra"}, headers=directory_admin)
    ).json()
    connection_id = created["connection"]["connection_id"]
    first = {"Authorization": f"Bearer {created['token']}"}
    assert created["scim_base_url"].endswith("/scim/v2")
    assert (await client.get("/scim/v2/Users", headers=first)).status_code == 200

    rotated = await client.post(
        f"/v1/scim/connections/{connection_id}/rotations",
        json={"overlap_hours": 1},
        headers=directory_admin,
    )
    assert rotated.status_code == 201, rotated.text
    second = {"Authorization": f"Bearer {rotated.json()['token']}"}
    assert rotated.json()["connection"]["active_tokens"] == 2
    assert (await client.get("/scim/v2/Users", headers=first)).status_code == 200  # overlap
    assert (await client.get("/scim/v2/Users", headers=second)).status_code == 200
    later = datetime(2026, 3, 2, 10, 0, 1, tzinfo=UTC)
    monkeypatch.setattr("enrollment.scim.service.utcnow", lambda: later)
    assert (await client.get("/scim/v2/Users", headers=first)).status_code == 401  # retired
    assert (await client.get("/scim/v2/Users", headers=second)).status_code == 200
    assert (await client.get("/scim/v2/Users/nobody", headers=second)).status_code == 404

    listed = (await client.get("/v1/scim/connections", headers=directory_admin)).json()
    mine = next(c for c in listed if c["connection_id"] == connection_id)
    assert (mine["requests"], mine["errors"]) == (5, 1)  # the 401 has no connection to count
    revoked = await client.post(
        f"/v1/scim/connections/{connection_id}/revocation", headers=directory_admin
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert (await client.get("/scim/v2/Users", headers=second)).status_code == 401
    stored = await client.get(f"/v1/scim/connections/{connection_id}", headers=directory_admin)
    assert '"token"' not in stored.text and created["token"].split(".")[2] not in stored.text


@pytest.mark.cascade
async def test_deprovisioning_withdraws_enrolments_as_a_termination_does(
    client: httpx.AsyncClient,
    idp: dict[str, str],
    admin: dict[str, str],
    token: Callable[..., dict[str, str]],
) -> None:
    created = await client.post(
        "/scim/v2/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": "ada@corp.example",
            "emails": [{"value": "ada@corp.example", "primary": True}],
            "displayName": "Ada",
            "active": True,
            ENTERPRISE: {"employeeNumber": "e-900", "department": "Engineering"},
        },
        headers=idp,
    )
    assert created.status_code == 201, created.text
    pid = await open_program(client, admin)
    enrolled = await client.post(
        f"/v1/programs/{pid}/enrolments",
        json={"goals": ["Delegate more"]},
        headers=token("e-900"),
    )
    assert enrolled.status_code == 201, enrolled.text
    participant = enrolled.json()["participant_id"]
    assert (await client.delete("/scim/v2/Users/e-900", headers=idp)).status_code == 204

    async def withdrawn() -> bool:
        answer = await client.get(f"/v1/participants/{participant}", headers=admin)
        view = answer.json()
        return bool(view["status"] == "withdrawn" and view["withdrawal_reason"] == "terminated")

    await wait_for(withdrawn)


async def test_an_independent_scim_client_drives_the_endpoint(
    settings: EnrollmentSettings, directory_admin: dict[str, str]
) -> None:
    """scim2-client discovers the service from its own documents (ServiceProviderConfig,
    ResourceTypes, Schemas), builds its models from them and provisions through them."""
    app = build_app(settings)
    async with running_app(app) as http:
        issued = await http.post(
            "/v1/scim/connections", json={"name": "scim2-client"}, headers=directory_admin
        )
        scim = ASGISCIMClient(
            app,
            base_url="http://localhost/scim/v2",
            headers={"Authorization": f"Bearer {issued.json()['token']}"},
        )
        await scim.discover()
        user_model = scim.get_resource_model("User")
        assert user_model is not None
        created = await scim.create(
            user_model.model_validate(
                {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "grace@corp.example",
                    "displayName": "Grace Hopper",
                    "emails": [{"value": "grace@corp.example", "primary": True}],
                    "active": True,
                }
            )
        )
        assert isinstance(created, user_model) and created.id
        found = await scim.query(
            user_model, query_parameters=SearchRequest(filter='userName eq "GRACE@corp.example"')
        )
        assert [u.id for u in found.resources or []] == [created.id]
        created.display_name = "Rear Admiral Grace Hopper"
        replaced = await scim.replace(created)
        assert replaced.display_name == "Rear Admiral Grace Hopper"
        employee = await http.get(
            f"/v1/employees/{created.id}",
            headers={"Authorization": directory_admin["Authorization"]},
        )
        assert employee.status_code == 403  # a directory admin is not a program admin
        await scim.delete(user_model, created.id)
        with pytest.raises(SCIMException):
            await scim.query(user_model, created.id)


async def test_make_run_connects_its_idp_with_the_token_it_keeps(
    make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    system = RunningSystem(SystemConfig(data_dir=tmp_path))
    env = system.service_env("enrollment")
    token = (tmp_path / "dev-scim-token").read_text()
    assert env["ENROLLMENT_SCIM_BOOTSTRAP_TOKEN"] == token
    assert (tmp_path / "dev-scim-token").stat().st_mode & 0o077 == 0
    (tmp_path / "dev-scim-token").unlink()  # a new token for the same connection id
    renewed = RunningSystem(SystemConfig(data_dir=tmp_path)).service_env("enrollment")
    new_token = renewed["ENROLLMENT_SCIM_BOOTSTRAP_TOKEN"]
    assert new_token != token and new_token.startswith("rtscim.dev.")
    # A restart keeps the connection and its token; a new configured token joins them.
    for configured in (token, token, new_token):
        settings = make_settings(EnrollmentSettings, scim_bootstrap_token=configured)
        async with running_app(build_app(settings)) as http:

            async def connected(bearer: str = configured) -> bool:
                answer = await http.get(
                    "/scim/v2/Users", headers={"Authorization": f"Bearer {bearer}"}
                )
                return answer.status_code == 200

            await wait_for(connected)


async def test_an_erased_employee_is_no_scim_user_and_cannot_come_back(
    client: httpx.AsyncClient, idp: dict[str, str], admin: dict[str, str]
) -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": "lin@corp.example",
        "emails": [{"value": "lin@corp.example", "primary": True}],
        "active": True,
        ENTERPRISE: {"employeeNumber": "e-66"},
    }
    assert (await client.post("/scim/v2/Users", json=body, headers=idp)).status_code == 201
    erased = await client.post("/v1/employees/e-66/erasure", headers=admin)
    assert erased.status_code == 200
    assert (await client.get("/scim/v2/Users/e-66", headers=idp)).status_code == 404
    listed = await client.get(
        "/scim/v2/Users", params={"filter": 'userName eq "lin@corp.example"'}, headers=idp
    )
    assert listed.json()["totalResults"] == 0
    again = await client.post("/scim/v2/Users", json=body, headers=idp)
    assert again.status_code == 409 and again.json()["scimType"] == "uniqueness"
    patched = await client.patch(
        "/scim/v2/Users/e-66",
        json={"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": True}}]},
        headers=idp,
    )
    assert patched.status_code == 404


async def test_a_user_name_is_one_users_even_when_two_creates_race(
    client: httpx.AsyncClient, idp: dict[str, str]
) -> None:
    def body(number: str, user_name: str = "same@corp.example") -> dict[str, Any]:
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": user_name,
            "emails": [{"value": f"{number}@corp.example", "primary": True}],
            "active": True,
            ENTERPRISE: {"employeeNumber": number},
        }

    answers = await asyncio.gather(
        *(client.post("/scim/v2/Users", json=body(f"r-{n}"), headers=idp) for n in range(4))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    listed = await client.get(
        "/scim/v2/Users", params={"filter": 'userName eq "SAME@corp.example"'}, headers=idp
    )
    assert listed.json()["totalResults"] == 1
    # Renaming another User to it is refused; once its holder is deprovisioned, it is free.
    other = await client.post("/scim/v2/Users", json=body("r-9", "other@corp.example"), headers=idp)
    holder = next(a.json()["id"] for a in answers if a.status_code == 201)
    rename = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "userName", "value": "Same@corp.example"}],
    }
    taken = await client.patch(f"/scim/v2/Users/{other.json()['id']}", json=rename, headers=idp)
    assert taken.status_code == 409 and taken.json()["scimType"] == "uniqueness"
    assert (await client.delete(f"/scim/v2/Users/{holder}", headers=idp)).status_code == 204
    renamed = await client.patch(f"/scim/v2/Users/{other.json()['id']}", json=rename, headers=idp)
    assert renamed.status_code == 200 and renamed.json()["userName"] == "Same@corp.example"


async def test_a_connection_stores_only_the_hash_of_its_token(
    client: httpx.AsyncClient, directory_admin: dict[str, str], settings: EnrollmentSettings
) -> None:
    issued = await client.post(
        "/v1/scim/connections", json={"name": "Okta"}, headers=directory_admin
    )
    token = issued.json()["token"]
    secret = token.split(".")[2]
    mongo = connect(settings.mongodb_uri, app_name="tests")
    try:
        stored = await mongo[settings.database_name]["scim_connections"].find_one(
            {"_id": issued.json()["connection"]["connection_id"]}
        )
    finally:
        await mongo.close()
    assert stored is not None
    assert secret not in repr(stored) and token not in repr(stored)
    assert [t["sha256"] for t in stored["tokens"]] == [hashlib.sha256(secret.encode()).hexdigest()]


@pytest.mark.parametrize(
    "filter_text",
    [
        None,  # every User, as an IdP's import pages through them
        "active eq true",
        'userName eq "Ada@Corp.example"',  # Okta's and Entra ID's lookup before a create
        'userName eq "ada@corp.example" and active eq true',
        'emails.value eq "ada@corp.example"',
        'emails[type eq "work" and value eq "ada@corp.example"]',
    ],
)
async def test_the_lookups_idps_send_are_read_from_an_index(
    client: httpx.AsyncClient, settings: EnrollmentSettings, filter_text: str | None
) -> None:
    """The query a filtered GET makes, as the list makes it, is one the server answers from an
    index (on the local FerretDB: pushed down to SQLite), not by reading every employee."""
    query = to_query(filter_text) if filter_text else dict(LINKED)
    mongo = connect(settings.mongodb_uri, app_name="tests")
    try:
        plan = await mongo[settings.database_name].command(
            "explain",
            {"find": "employees", "filter": query, "sort": {"_id": 1}, "limit": 100},
        )
    finally:
        await mongo.close()
    if "filterPushdown" in plan:  # FerretDB
        assert plan["filterPushdown"] is True, plan
    else:  # MongoDB
        assert "IXSCAN" in repr(plan["queryPlanner"]["winningPlan"]), plan


async def test_a_create_of_someone_new_writes_without_reading_the_employee_first(
    employee_commands: EmployeeCommands,
    client: httpx.AsyncClient,
    idp: dict[str, str],
) -> None:
    """An IdP's first sync is creates of people the directory does not know yet: each is one
    insert, with no read of the employee before it (an HR-known employee is still found)."""

    def user(number: str) -> dict[str, Any]:
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": f"{number}@corp.example",
            "emails": [{"value": f"{number}@corp.example", "primary": True}],
            ENTERPRISE: {"employeeNumber": number},
        }

    employee_commands.recording = True
    created = await client.post("/scim/v2/Users", json=user("n-1"), headers=idp)
    employee_commands.recording = False
    assert created.status_code == 201, created.text
    reads_by_id = [c for c in employee_commands.seen if c == ("find", {"_id": "n-1"})]
    writes = [name for name, _ in employee_commands.seen if name in ("insert", "update")]
    assert (reads_by_id, writes[:1]) == ([], ["insert"]), employee_commands.seen
    # Someone HR sent first: the insert fails, the employee is read and linked, one person.
    await send_hr(client, hired("n-2", department="Research"))
    linked = await client.post("/scim/v2/Users", json=user("n-2"), headers=idp)
    assert linked.status_code == 201, linked.text
    assert (linked.json()["id"], linked.json()[ENTERPRISE]["department"]) == ("n-2", "Research")
