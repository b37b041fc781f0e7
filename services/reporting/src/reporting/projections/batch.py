"""Applying a batch of events to the read models at once: read, change in memory, write in bulk.

A batch costs a handful of round trips whatever its size: one ``$in`` read per copy collection
it touches, then one bulk write per 50 changes (FerretDB 1.24 hangs on bulk updates of 100 or
more) of effect markers, of copies, and of ``$inc`` on the counters.

Two kinds of counter changes:

- **facts** (``effect``): "session s1 was held" adds to the week's and the program's counters
  once per effect key, whatever the event id it came under; the key is claimed by inserting a
  marker into ``effects``;
- **states** (``reconcile``): what a copy contributes to the counters (an open step to its due
  instant's bucket, an active group to the bucket of the day it last met, a person to the funnel
  stages they reached) is recorded in the copy, and a change of state adds the difference.

Repeatability: the consumer inbox drops events already applied, the markers drop facts already
counted, and copies only move forward (version guards, sets, maxima), so a batch applied again
changes nothing.

Crash safety: the writes of one batch are many, and not atomic together. So the batch first
writes everything it will change into one ``journal`` document (one insert: atomic), then
applies it (markers claimed under the batch id, copies, then counters, each counter document
recording the batch id by the same ``$inc``), then deletes it. A journal left by a crash (or an
error) is applied again before the next batch touches these read models (``apply_pending``):
markers it claimed are found as its own, copies are set to the same values, and a counter
document that holds its id already is skipped. Each change thus lands exactly once; the events
the crash left unacknowledged then come again and change nothing more.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from reporting.projections.readmodel import APPLIED_BATCH, BUCKETS, ReadModels, counter_id
from roundtable_shared.faults import crash_point

log = structlog.get_logger(__name__)

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
        counted = _contributions(doc.get(field))
        wanted = {path: int(n) for path, n in desired.items() if n}
        if counted == wanted:
            return
        for path in counted.keys() | wanted.keys():
            delta = wanted.get(path, 0) - counted.get(path, 0)
            if delta:
                for target, prefix in targets:
                    self._incs[target][prefix + path] += delta
        # Stored as ["path=n", ...]. Not as a document {path: n}: FerretDB 1.24's $set leaves an
        # embedded document as it is when the new one has other keys but the same values
        # ({"met:2026-03-02": 1} -> {"met:2026-03-09": 1}), so the copy kept contributing to
        # the old bucket and the next change moved the wrong counts.
        doc[field] = [f"{path}={n}" for path, n in sorted(wanted.items())]
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
        """Journal what the batch changes, then apply the journal (see the module docstring)."""
        if not (self._effects or self._dirty or self._incs):
            return
        batch_id = uuid.uuid4().hex
        journal: Doc = {
            "_id": batch_id,
            "at": datetime.now(UTC),
            "effects": [
                {"key": key, "changes": [_change(t, path, n) for t, path, n in changes]}
                for key, changes in self._effects.items()
            ],
            "copies": [
                {
                    "c": c,
                    "id": i,
                    "set": {k: v for k, v in self._docs[(c, i)].items() if k != "_id"},
                }
                for c, i in sorted(self._dirty)
            ],
            "incs": [
                _change(target, path, n)
                for target, incs in sorted(self._incs.items())
                for path, n in incs.items()
                if n
            ],
            "upserts": [
                {"c": t[0], "id": t[1], "set": dict(fields)}
                for t, fields in sorted(self._upsert_fields.items())
            ],
        }
        state = _journal_state(self.models)
        state.clean = False  # until the journal is applied and deleted
        await self.models.journal.insert_one(journal)
        crash_point("reporting.batch.journaled")
        await _apply(self.models, journal, recovering=False)
        state.clean = True


def _contributions(stored: Any) -> dict[str, int]:
    """What a copy contributes to the counters, as ``reconcile`` stored it."""
    if isinstance(stored, Mapping):  # written before the list: {name: n} with ":" for "."
        return {str(k).replace(":", "."): int(n) for k, n in stored.items()}
    return {path: int(n) for path, _, n in (str(e).rpartition("=") for e in stored or [])}


def _change(target: Key, path: str, n: int) -> Doc:
    # a list of documents: a stored field name may not hold the path's dots
    return {"c": target[0], "id": target[1], "p": path, "n": n}


class _JournalState:
    clean = False
    """True once this process knows the generation has no journal left to apply."""


_states: dict[tuple[str, str], _JournalState] = {}


def _journal_state(models: ReadModels) -> _JournalState:
    return _states.setdefault((models.db.name, models.generation), _JournalState())


async def apply_pending(models: ReadModels) -> int:
    """Finish the batches a crash (or an error) interrupted, before anything else is applied to
    these read models; how many. Hold ``models.lock``."""
    state = _journal_state(models)
    if state.clean:
        return 0
    pending = [doc async for doc in models.journal.find({}, sort=[("at", 1), ("_id", 1)])]
    for journal in pending:
        log.warning("read models: finishing an interrupted batch", batch=journal["_id"])
        await _apply(models, journal, recovering=True)
    state.clean = True
    return len(pending)


async def _apply(models: ReadModels, journal: Mapping[str, Any], *, recovering: bool) -> None:
    """Apply a journaled batch: copies, then counters, then forget the journal. Repeatable: the
    effect markers are claimed under the batch id (a repeat finds its own markers), copies are
    set to the same values, and a counter document records the last batch it took, by the same
    update (a repeat skips a document that has it)."""
    batch_id = str(journal["_id"])
    claimed = set(await _claim(models, [str(e["key"]) for e in journal["effects"]], batch_id))
    incs: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for effect in journal["effects"]:
        if effect["key"] in claimed:
            for change in effect["changes"]:
                incs[(change["c"], change["id"])][change["p"]] += int(change["n"])
    for change in journal["incs"]:
        incs[(change["c"], change["id"])][change["p"]] += int(change["n"])
    upserts = {(u["c"], u["id"]): u["set"] for u in journal["upserts"]}

    copies: dict[str, list[Any]] = defaultdict(list)
    for copy in journal["copies"]:
        # $set rather than a replacement: FerretDB 1.24 rejects upserted replacements
        copies[copy["c"]].append(UpdateOne({"_id": copy["id"]}, {"$set": copy["set"]}, upsert=True))
    for name, updates in copies.items():
        await _bulk(models, name, updates)
    crash_point("reporting.batch.copies_written")

    counters: dict[str, list[Any]] = defaultdict(list)
    for target, changes in sorted(incs.items()):
        nonzero = {path: n for path, n in changes.items() if n}
        if not nonzero:
            continue
        if recovering and await _took(models, target, batch_id):
            continue
        fields = {**upserts.get(target, {}), APPLIED_BATCH: batch_id}
        counters[target[0]].append(
            UpdateOne({"_id": target[1]}, {"$inc": nonzero, "$set": fields}, upsert=True)
        )
    await _bulk(models, "rollups", counters.pop("rollups", []))
    crash_point("reporting.batch.rollups_written")
    for name in ["totals", *sorted(counters.keys() - {"totals"})]:
        await _bulk(models, name, counters.get(name, []))
    await _prune_empty_buckets(models, incs)
    await models.journal.delete_one({"_id": batch_id})


async def _prune_empty_buckets(models: ReadModels, incs: Mapping[Key, Mapping[str, int]]) -> None:
    """Remove the day and due-instant buckets of the totals this batch took down to zero: a
    program's totals would otherwise keep one per day it ever had, and be read whole by every
    summary. Repeatable, and safe: the batch holds the write lock, so nothing changes them
    between the read and the ``$unset``."""
    for (collection, doc_id), changes in sorted(incs.items()):
        lowered = [p for p, n in changes.items() if n < 0 and p.split(".", 1)[0] in BUCKETS]
        if collection != "totals" or not lowered:
            continue
        found = await models.totals.find_one({"_id": doc_id}, dict.fromkeys(BUCKETS, 1))
        if found is None:
            continue
        empty = [
            f"{bucket}.{key}"
            for bucket in BUCKETS
            for key, n in (found.get(bucket) or {}).items()
            if not n
        ]
        if empty:
            await models.totals.update_one({"_id": doc_id}, {"$unset": dict.fromkeys(empty, "")})


async def _took(models: ReadModels, target: Key, batch_id: str) -> bool:
    found = await models.collection(target[0]).find_one({"_id": target[1]}, {APPLIED_BATCH: 1})
    return found is not None and found.get(APPLIED_BATCH) == batch_id


async def _bulk(models: ReadModels, name: str, updates: Sequence[Any]) -> None:
    for part in chunks(updates):
        await models.collection(name).bulk_write(list(part), ordered=True)


async def _claim(models: ReadModels, keys: list[str], token: str) -> list[str]:
    """The effect keys not counted before, now marked as counted under ``token`` (one insert per
    50); a repeat with the same token gets the same answer."""
    if not keys:
        return []
    effects = models.effects
    remaining = keys
    for _ in range(3):
        failed = False
        for part in chunks(remaining):
            try:
                await effects.insert_many([{"_id": k, "by": token} for k in part], ordered=False)
            except BulkWriteError as exc:
                codes = {e.get("code") for e in exc.details.get("writeErrors", [])}
                if codes - {11000}:
                    raise
                failed = True
        if not failed:
            return keys if remaining is keys else await _ours(models, keys, token)
        ours_or_taken = {
            str(d["_id"]) async for d in effects.find({"_id": {"$in": remaining}}, {"by": 1})
        }
        remaining = [k for k in remaining if k not in ours_or_taken]
        if not remaining:
            break
    return await _ours(models, keys, token)


async def _ours(models: ReadModels, keys: list[str], token: str) -> list[str]:
    found: set[str] = set()
    for part in chunks(keys, 500):
        cursor = models.effects.find({"_id": {"$in": list(part)}, "by": token}, {"_id": 1})
        found |= {str(d["_id"]) async for d in cursor}
    return [k for k in keys if k in found]
