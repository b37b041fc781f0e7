"""Which generation of the read models is live; a rebuild fills the next one, then swaps."""

from __future__ import annotations

import asyncio
import re
import time

from reporting.projections.batch import forget
from reporting.projections.readmodel import NAMES, ReadModels
from roundtable_shared.storage.mongo import Database

META = "reporting_meta"
FIRST = "g1"
_COLLECTION = re.compile(rf"^(g[0-9]+)_({'|'.join(NAMES)})$")


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

    async def prune(self, keep: str) -> list[str]:
        """Drop every generation's collections but ``keep``'s: those a swap replaced, and those
        of a rebuild that never finished; the generations dropped. Run once nothing reads or
        writes them any more (a rebuild does, after its swap and its last replay)."""
        dropped: set[str] = set()
        async with self.lock:  # a batch this process still applies to an old one ends first
            for name in await self.db.list_collection_names():
                match = _COLLECTION.match(name)
                if match and match[1] != keep:
                    await self.db.drop_collection(name)
                    dropped.add(match[1])
            for generation in dropped:
                forget(self.models(generation))
        return sorted(dropped, key=lambda g: int(g.removeprefix("g")))
