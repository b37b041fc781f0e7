"""Numbers out of range, lists without end and cursors this service did not give out: a
problem, never a 500 nor a database filter built from the caller's JSON."""

from __future__ import annotations

import base64
import json
from typing import Any

from nats.aio.client import Client as NatsClient

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.reminders import PROBLEM_JSON, reminders_world
from roundtable_shared.http.pagination import AfterId, CursorSigner

OVERFLOW = 2**64  # above BSON's 64-bit integers
FAILED = "/v1/admin/reminders/failed"


def unsigned(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


async def test_bad_numbers_lists_and_cursors_are_problems(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer
) -> None:
    async with reminders_world(make_settings, nats_client, namespace, dev_issuer) as w:
        await w.employee("emp_a", time_zone="Europe/Berlin")
        me = w.token("emp_a")
        # an ETag beyond 64 bits reached the version filter and was a 500
        r = await w.client.put(
            "/v1/me/preferences", json={}, headers={**me, "If-Match": f'"{OVERFLOW}"'}
        )
        assert r.status_code == 400, r.text
        assert r.headers["content-type"] == PROBLEM_JSON
        r = await w.client.put(
            "/v1/me/preferences",
            json={"channels": {"action_due": ["email"] * 10_000}},
            headers={**me, "If-Match": '"0"'},
        )
        assert r.status_code == 422, r.text
        r = await w.client.get("/v1/me/preferences", headers=me)
        assert r.json()["version"] == 0  # nothing was written

        admin = w.token("emp_admin", "program_admin")
        r = await w.client.get(f"{FAILED}?limit={OVERFLOW}", headers=admin)
        assert r.status_code == 422, r.text
        # what another service (or another deployment) would give out: same path, same shape
        other_key = CursorSigner(b"another service's key", "reminders")
        for cursor in (
            unsigned({"after": {"$gt": ""}}),
            unsigned({"after": "r-1"}),
            other_key.seal(FAILED, AfterId(after="r-1")),
        ):
            r = await w.client.get(f"{FAILED}?cursor={cursor}", headers=admin)
            assert r.status_code == 400, (cursor, r.text)
            assert r.headers["content-type"] == PROBLEM_JSON
