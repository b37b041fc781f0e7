"""What a generation of the read models holds, to compare two (an incremental and a rebuilt)."""

from __future__ import annotations

from typing import Any

from reporting.projections.readmodel import APPLIED_BATCH, NAMES, ReadModels

# Which batch claimed an effect marker or last changed a counter says how events were grouped
# into batches, not what they counted.
_BOOKKEEPING = {"effects": {"by": 0}, "rollups": {APPLIED_BATCH: 0}, "totals": {APPLIED_BATCH: 0}}


async def contents(models: ReadModels) -> dict[str, list[dict[str, Any]]]:
    """Every document of every collection of the generation, by ``_id``, bookkeeping left out."""
    out = {}
    for name in NAMES:
        docs = models.collection(name).find({}, _BOOKKEEPING.get(name), sort=[("_id", 1)])
        out[name] = [doc async for doc in docs]
    return out
