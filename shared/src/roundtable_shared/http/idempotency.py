"""``Idempotency-Key`` on creating endpoints, so the frontend can retry a POST safely.

The key decides the new resource's id (a UUID derived from the caller and the key), so a retried
request hits the unique ``_id`` of what the first one created: no side table, no window in which a
crash could create twice. The request's fingerprint is stored with the resource, so the same key
with a different body is refused instead of answered with the wrong resource.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Annotated, Any

from fastapi import Header

from roundtable_shared.http.problems import Unprocessable

_NAMESPACE = uuid.UUID("6f1c7b1e-3b5a-4b8e-9a57-2c1d0e9f4a10")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Any unique string (a UUID); a retry with the same key returns the first result.",
    ),
]


def new_resource_id(scope: str, caller: str, idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_NAMESPACE, f"{scope}\x1f{caller}\x1f{idempotency_key}"))


def fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def ensure_same_request(stored_fingerprint: str | None, payload: Any) -> None:
    if stored_fingerprint is not None and stored_fingerprint != fingerprint(payload):
        raise Unprocessable("this Idempotency-Key was already used with a different request")
