"""What a generation of the read models holds, to compare two (an incremental and a rebuilt);
following a rebuild through the admin API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from reporting.projections.readmodel import APPLIED_BATCH, NAMES, ReadModels

# Which batch claimed an effect marker or last changed a counter says how events were grouped
# into batches, not what they counted.
_BOOKKEEPING = {"effects": {"by": 0}, "rollups": {APPLIED_BATCH: 0}, "totals": {APPLIED_BATCH: 0}}


async def contents(models: ReadModels) -> dict[str, list[dict[str, Any]]]:
    """Every document of every collection of the generation, by ``_id``, bookkeeping left out."""
    out = {}
    for name in NAMES:
        if name == "journal":
            continue  # the last batch applied: how events were grouped into batches
        docs = models.collection(name).find({}, _BOOKKEEPING.get(name), sort=[("_id", 1)])
        out[name] = [doc async for doc in docs]
    return out


REBUILDS = "/v1/admin/rebuilds"


async def poll_until_finished(
    client: httpx.AsyncClient, location: str, headers: dict[str, str], seconds: float = 60.0
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    seen = []
    while time.monotonic() < deadline:
        response = await client.get(location, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        seen.append(body["phase"])
        if body["phase"] in ("done", "failed"):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"rebuild still running after {seconds} s: phases {seen}")
