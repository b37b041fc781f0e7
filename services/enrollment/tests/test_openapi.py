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
