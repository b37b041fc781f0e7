"""The OpenAPI document: every route is there, and request/response bodies carry examples."""

from __future__ import annotations

import httpx


async def test_openapi_documents_every_endpoint_with_examples(client: httpx.AsyncClient) -> None:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    paths = document["paths"]
    for path in (
        "/v1/hr/events",
        "/v1/directory/imports",
        "/v1/employees/{employee_id}/erasure",
        "/v1/programs/{program_id}/open",
        "/v1/programs/{program_id}/enrolments",
        "/v1/participants/{participant_id}/withdraw",
        "/v1/programs/{program_id}/matching/previews/{proposal_id}/publish",
        "/v1/groups/{group_id}/members/{participant_id}",
        "/v1/me/groups",
    ):
        assert path in paths, path
    hr_body = paths["/v1/hr/events"]["post"]["requestBody"]["content"]["application/json"]
    assert set(hr_body["examples"]) == {"hired", "updated", "leave", "terminated"}
    schemas = document["components"]["schemas"]
    assert "HrEventBody" in schemas
    for name in ("ProgramCreate", "EnrolmentRequest", "ProposalView", "GroupView", "ImportReport"):
        assert schemas[name].get("examples"), name


async def test_openapi_documents_scim_in_its_content_type(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    for path in (
        "/scim/v2/Users",
        "/scim/v2/Users/{user_id}",
        "/scim/v2/ServiceProviderConfig",
        "/scim/v2/ResourceTypes",
        "/scim/v2/Schemas",
        "/v1/scim/connections",
        "/v1/scim/connections/{connection_id}/rotations",
        "/v1/scim/connections/{connection_id}/revocation",
    ):
        assert path in paths, path
    create = paths["/scim/v2/Users"]["post"]
    assert "application/scim+json" in create["requestBody"]["content"]
    assert "application/scim+json" in create["responses"]["201"]["content"]
    patch = paths["/scim/v2/Users/{user_id}"]["patch"]["requestBody"]["content"]
    assert patch["application/scim+json"]["example"]["Operations"][0]["op"] == "Replace"
    schemas = document["components"]["schemas"]
    assert "userName" in schemas["ScimUser"]["properties"]
    assert "scimType" in schemas["ScimError"]["properties"]
