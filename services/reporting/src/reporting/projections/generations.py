"""Which generation of the read models is live; a rebuild fills the next one, then swaps."""

from __future__ import annotations

import asyncio
import time

from reporting.projections.readmodel import ReadModels
from roundtable_shared.storage.mongo import Database

META = "reporting_meta"
FIRST = "g1"


class Generations:
    """Reads the live generation from the database, cached for ``cache_seconds``."""

    def __init__(self, db: Database, *, cache_seconds: float = 1.0) -> None:
        self.db = db
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, ReadModels] | None = None
        self.lock = asyncio.Lock()  # one writer at a time in this process, whatever generation

    def models(self, generation: str) -> ReadModels:
        return ReadModels(self.db, generation, self.lock)

    async def current(self) -> ReadModels:
        now = time.monotonic()
        if self._cached and now - self._cached[0] < self.cache_seconds:
            return self._cached[1]
        found = await self.db[META].find_one({"_id": "generation"})
        models = self.models(str(found["current"]) if found else FIRST)
        self._cached = (now, models)
        return models

    async def swap(self, generation: str) -> None:
        await self.db[META].update_one(
            {"_id": "generation"}, {"$set": {"current": generation}}, upsert=True
        )
        self._cached = None

    async def next_name(self) -> str:
        current = (await self.current()).generation
        return f"g{int(current.removeprefix('g')) + 1}"
