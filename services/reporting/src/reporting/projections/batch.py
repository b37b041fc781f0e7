"""Applying a batch of events to the read models at once: read, change in memory, write in bulk.

A batch costs a handful of round trips whatever its size: one ``$in`` read per copy collection
it touches, then one bulk write per 50 changes (FerretDB 1.24 hangs on bulk updates of 100 or
more) of effect markers, of copies, and of ``$inc`` on the counters.

Two kinds of counter changes:

- **facts** (``effect``): "session s1 was held" adds to the week's and the program's counters
  once per effect key, whatever the event id it came under; the key is claimed by inserting a
  marker into ``effects``;
- **states** (``reconcile``): what a copy contributes to the counters (an open step to its due
  day's bucket, an active group to the bucket of the day it last met, a person to the funnel
  stages they reached) is recorded in the copy, and a change of state adds the difference.

Repeatability: the consumer inbox drops events already applied, the markers drop facts already
counted, and copies only move forward (version guards, sets, maxima), so a batch applied again
changes nothing. The writes of one batch are not atomic together: they go markers, then copies,
then counters, so a process that dies in between leaves counters *short* by that batch's
changes (never counted twice) and the redelivered batch does not add them back. That window is
a few milliseconds per batch; ``python -m reporting.rebuild`` rebuilds exact read models.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from reporting.projections.readmodel import ReadModels, counter_id

BULK = 50  # FerretDB 1.24 hangs on bulk writes of 100 statements or more
Doc = dict[str, Any]
Key = tuple[str, str]


def chunks(items: Sequence[Any], size: int = BULK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Batch:
    """The unit of work of one batch: copies loaded once, counter changes summed per document."""

    def __init__(self, models: ReadModels) -> None:
        self.models = models
        self._docs: dict[Key, Doc] = {}
        self._dirty: set[Key] = set()
        self._effects: dict[str, list[tuple[Key, str, int]]] = {}
        self._incs: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._upsert_fields: dict[Key, Doc] = {}

    # --- copies ----------------------------------------------------------------------------------

    async def load(self, collection: str, ids: Iterable[str]) -> None:
        """Read these copies (one query); those not stored yet start empty."""
        wanted = sorted({i for i in ids if (collection, i) not in self._docs})
        if not wanted:
            return
        cursor = self.models.collection(collection).find({"_id": {"$in": wanted}})
        async for doc in cursor:
            self._docs[(collection, str(doc["_id"]))] = doc
        for doc_id in wanted:
            self._docs.setdefault((collection, doc_id), {"_id": doc_id})

    async def load_where(self, collection: str, query: Mapping[str, Any]) -> None:
        """Read the copies a query finds (copies already in hand stay as they are)."""
        async for doc in self.models.collection(collection).find(dict(query)):
            self._docs.setdefault((collection, str(doc["_id"])), doc)

    def doc(self, collection: str, doc_id: str) -> Doc:
        """A copy to read or change (call ``changed`` after changing it); must be loaded."""
        return self._docs[(collection, doc_id)]

    def docs(self, collection: str) -> list[Doc]:
        return [doc for (name, _), doc in self._docs.items() if name == collection]

    def changed(self, collection: str, doc_id: str) -> None:
        self._dirty.add((collection, doc_id))

    def set_if_newer(
        self,
        collection: str,
        doc_id: str,
        version_field: str,
        version: int,
        fields: Mapping[str, Any],
    ) -> bool:
        """Set one *part* of a copy unless that part is as new already (its own version field)."""
        doc = self.doc(collection, doc_id)
        if int(doc.get(version_field, 0)) >= version:
            return False
        doc.update(fields)
        doc[version_field] = version
        self.changed(collection, doc_id)
        return True

    def set_fields(self, collection: str, doc_id: str, fields: Mapping[str, Any]) -> None:
        self.doc(collection, doc_id).update(fields)
        self.changed(collection, doc_id)

    # --- counters --------------------------------------------------------------------------------

    def effect(
        self,
        program_id: str,
        week: str | None,
        family: str,
        effect_key: str,
        increments: Mapping[str, int],
    ) -> None:
        """Count a fact once per ``effect_key``: in the week's rollup (unless ``week`` is None)
        and in the program's totals."""
        if effect_key in self._effects:
            return
        changes: list[tuple[Key, str, int]] = []
        for name, n in increments.items():
            if not n:
                continue
            changes.append((self._totals(program_id), f"c.{family}.{name}", n))
            if week is not None:
                changes.append((self._rollup(program_id, week, family), f"c.{name}", n))
        self._effects[effect_key] = changes

    def reconcile(
        self,
        collection: str,
        doc_id: str,
        field: str,
        desired: Mapping[str, int],
        targets: Sequence[tuple[Key, str]],
    ) -> None:
        """Make what a copy contributes to the counters ``desired`` (paths under each target's
        prefix); the copy keeps what it contributes in ``field``."""
        doc = self.doc(collection, doc_id)
        # stored as {name: n} with ":" for "." (FerretDB 1.x keeps no nested arrays, and a
        # stored key may not hold a dot)
        counted = {str(k).replace(":", "."): int(n) for k, n in (doc.get(field) or {}).items()}
        wanted = {path: int(n) for path, n in desired.items() if n}
        if counted == wanted:
            return
        for path in counted.keys() | wanted.keys():
            delta = wanted.get(path, 0) - counted.get(path, 0)
            if delta:
                for target, prefix in targets:
                    self._incs[target][prefix + path] += delta
        doc[field] = {path.replace(".", ":"): n for path, n in sorted(wanted.items())}
        self.changed(collection, doc_id)

    def totals(self, program_id: str) -> Key:
        return self._totals(program_id)

    def rollup(self, program_id: str, week: str, family: str) -> Key:
        return self._rollup(program_id, week, family)

    def _totals(self, program_id: str) -> Key:
        key = ("totals", program_id)
        self._upsert_fields[key] = {"program_id": program_id}
        return key

    def _rollup(self, program_id: str, week: str, family: str) -> Key:
        key = ("rollups", counter_id(program_id, week, family))
        self._upsert_fields[key] = {"program_id": program_id, "week": week, "family": family}
        return key

    # --- writing ---------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Markers, then copies, then counters (see the module docstring for why this order)."""
        for key in await self._claim(list(self._effects)):
            for target, path, n in self._effects[key]:
                self._incs[target][path] += n
        by_collection: dict[str, list[Any]] = defaultdict(list)
        for collection, doc_id in sorted(self._dirty):
            fields = {k: v for k, v in self._docs[(collection, doc_id)].items() if k != "_id"}
            # $set rather than a replacement: FerretDB 1.24 rejects upserted replacements
            by_collection[collection].append(
                UpdateOne({"_id": doc_id}, {"$set": fields}, upsert=True)
            )
        for target, incs in sorted(self._incs.items()):
            changes = {path: n for path, n in incs.items() if n}
            if changes:
                by_collection[target[0]].append(
                    UpdateOne(
                        {"_id": target[1]},
                        {"$inc": changes, "$set": self._upsert_fields.get(target, {})},
                        upsert=True,
                    )
                )
        order = [name for name in by_collection if name not in ("rollups", "totals")]
        for name in [*order, "rollups", "totals"]:
            for part in chunks(by_collection.get(name, [])):
                await self.models.collection(name).bulk_write(list(part), ordered=True)

    async def _claim(self, keys: list[str]) -> list[str]:
        """The effect keys not counted before, now marked as counted (one insert per 50)."""
        if not keys:
            return []
        token = uuid.uuid4().hex
        effects = self.models.effects
        remaining = keys
        for _ in range(3):
            failed = False
            for part in chunks(remaining):
                try:
                    await effects.insert_many(
                        [{"_id": k, "by": token} for k in part], ordered=False
                    )
                except BulkWriteError as exc:
                    codes = {e.get("code") for e in exc.details.get("writeErrors", [])}
                    if codes - {11000}:
                        raise
                    failed = True
            if not failed:
                return keys if remaining is keys else await self._ours(keys, token)
            ours_or_taken = {
                str(d["_id"]): d.get("by")
                async for d in effects.find({"_id": {"$in": remaining}}, {"by": 1})
            }
            remaining = [k for k in remaining if k not in ours_or_taken]
            if not remaining:
                break
        return await self._ours(keys, token)

    async def _ours(self, keys: list[str], token: str) -> list[str]:
        found: set[str] = set()
        for part in chunks(keys, 500):
            cursor = self.models.effects.find({"_id": {"$in": list(part)}, "by": token}, {"_id": 1})
            found |= {str(d["_id"]) async for d in cursor}
        return [k for k in keys if k in found]
