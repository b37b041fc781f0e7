"""Cursors this service did not give out for this listing: a 400 problem before any read."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from roundtable_shared.http.pagination import AfterId, CursorSigner

PROGRAM: dict[str, Any] = {"name": "Roundtables 2026", "group_size_min": 3, "group_size_max": 5}


def unsigned(position: dict[str, Any]) -> str:
    """A cursor as this service used to give out (base64 JSON, unsigned): now a forgery."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


async def test_a_cursor_opens_only_the_listing_that_gave_it_out(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for _ in range(2):
        created = await client.post("/v1/programs", json=PROGRAM, headers=admin)
        assert created.status_code == 201, created.text
    rows = [
        {"employee_id": f"e-{i}", "display_name": f"E {i}", "email": f"e{i}@example.com"}
        for i in (1, 2)
    ]
    imported = await client.post(
        "/v1/directory/imports",
        content="\n".join(json.dumps(r) for r in rows).encode(),
        headers={**admin, "Content-Type": "application/x-ndjson"},
    )
    assert imported.json()["created"] == 2, imported.text

    programs = (await client.get("/v1/programs?limit=1", headers=admin)).json()
    employees = (await client.get("/v1/employees?limit=1", headers=admin)).json()
    program_cursor, employee_cursor = programs["next_cursor"], employees["next_cursor"]
    more = await client.get(f"/v1/programs?limit=1&cursor={program_cursor}", headers=admin)
    assert more.status_code == 200, more.text
    assert more.json()["items"][0]["program_id"] != programs["items"][0]["program_id"]

    _, _, mac = program_cursor.partition(".")
    forged = {
        "operator": ("/v1/programs", unsigned({"after": {"$gt": ""}})),
        "unsigned": ("/v1/employees", unsigned({"after": "e-0"})),
        "tampered": ("/v1/programs", f"{unsigned({'after': ''})}.{mac}"),
        # same shape ({"after": id}), another listing
        "another listing": ("/v1/programs", employee_cursor),
        "another listing, back": ("/v1/employees", program_cursor),
        "another service": (
            "/v1/programs",
            CursorSigner(b"reporting's own cursor key", "reporting").seal(
                "/v1/programs", AfterId(after="a")
            ),
        ),
    }
    for case, (path, cursor) in forged.items():
        answer = await client.get(f"{path}?cursor={cursor}", headers=admin)
        assert answer.status_code == 400, (case, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
