"""Program copies in the read models."""

from __future__ import annotations

from reporting.programs.domain import ProgramCopy
from reporting.projections.readmodel import ReadModels


async def get(models: ReadModels, program_id: str) -> ProgramCopy | None:
    doc = await models.programs.find_one({"_id": program_id})
    # A copy made only from life-cycle events (no settings yet) is not a program to show.
    if doc is None or "snapshot_version" not in doc:
        return None
    return ProgramCopy.from_document(doc)


async def listed(
    models: ReadModels, *, sponsor_id: str | None, after: str | None, limit: int
) -> list[ProgramCopy]:
    query: dict[str, object] = {"snapshot_version": {"$exists": True}}
    if sponsor_id is not None:
        query["sponsor_ids"] = sponsor_id
    if after is not None:
        query["_id"] = {"$gt": after}
    cursor = models.programs.find(query, sort=[("_id", 1)], limit=limit)
    return [ProgramCopy.from_document(doc) async for doc in cursor]
