"""Applying a batch of events to the read models at once: read, change in memory, write in bulk.

A batch costs a handful of round trips whatever its size: the copies it needs in one read per
collection, the journal, then bulk writes of effect markers, of copies, and of ``$inc`` on the
counters.

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
writes everything it will change into the generation's ``journal`` document (one write: atomic;
each batch overwrites the last one's), then applies it: markers claimed under the batch id,
copies, then counters, each counter document recording the batch id by the same ``$inc``. A
process starting (or going on after a failed batch) first applies the journal's batch again
(``apply_pending``): markers it claimed are found as its own, copies are set to the same values,
and a counter document that holds its id already is skipped; a batch that was complete thus
changes nothing, one a crash interrupted is finished, each change once. The events the crash
left unacknowledged then come again and change nothing more.

Reads: this process is the only writer of its read models while it holds the projection
writer lease (``projections.lease``; one batch at a time under ``ReadModels.lock``), so it keeps
the copies it last wrote or read, and the ids of every stored copy, in memory, and drops them
whenever it gains or loses the lease (``forget_all``); a batch reads only the copies it has not
in hand, in one read by ``_id`` per collection.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import bson
import structlog
from bson import Binary, CodecOptions
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from reporting.projections.readmodel import APPLIED_BATCH, BUCKETS, ReadModels, counter_id
from roundtable_shared.faults import crash_point
from roundtable_shared.storage.bulk import bulk_write, find_by_ids

log = structlog.get_logger(__name__)

Doc = dict[str, Any]
Key = tuple[str, str]


class Batch:
    """The unit of work of one batch: copies loaded once, counter changes summed per document."""

    def __init__(self, models: ReadModels) -> None:
        self.models = models
        self._docs: dict[Key, Doc] = {}
        self._dirty: dict[Key, set[str]] = {}
        """Per copy changed, the fields changed: what the journal and the write carry."""
        self._effects: dict[str, list[tuple[Key, str, int]]] = {}
        self._incs: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._upsert_fields: dict[Key, Doc] = {}

    # --- copies ----------------------------------------------------------------------------------

    async def load(self, collection: str, ids: Iterable[str]) -> None:
        """Read these copies; those not stored yet start empty."""
        wanted = sorted({i for i in ids if (collection, i) not in self._docs})
        if not wanted:
            return
        known = _state(self.models).copies
        for doc_id in wanted:
            if (collection, doc_id) in known:  # this batch may change it: a copy of our own
                self._docs[(collection, doc_id)] = copy.deepcopy(known[(collection, doc_id)])
        missing = [i for i in wanted if (collection, i) not in self._docs]
        found = await find_by_ids(self.models.collection(collection), missing)
        stored = {str(doc["_id"]): doc for doc in found}
        for doc_id in missing:
            self._docs[(collection, doc_id)] = stored.get(doc_id) or {"_id": doc_id}

    async def load_where(self, collection: str, query: Mapping[str, Any]) -> None:
        """Read the copies a query on the collection's indexed fields selects (for the rare
        events that touch many copies, e.g. every person of a program that closes)."""
        source = self.models.collection(collection)
        await self.load(collection, [str(d["_id"]) async for d in source.find(query, {"_id": 1})])

    def doc(self, collection: str, doc_id: str) -> Doc:
        """A copy to read or change (call ``changed`` after changing it); must be loaded."""
        return self._docs[(collection, doc_id)]

    def docs(self, collection: str) -> list[Doc]:
        return [doc for (name, _), doc in self._docs.items() if name == collection]

    def changed(self, collection: str, doc_id: str, fields: Iterable[str]) -> None:
        self._dirty.setdefault((collection, doc_id), set()).update(fields)

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
        self.changed(collection, doc_id, [*fields, version_field])
        return True

    def set_fields(self, collection: str, doc_id: str, fields: Mapping[str, Any]) -> None:
        """Set fields of a copy; only those that change it are written."""
        doc = self.doc(collection, doc_id)
        different = [k for k, v in fields.items() if k not in doc or doc[k] != v]
        if different:
            doc.update(fields)
            self.changed(collection, doc_id, different)

    # --- counters --------------------------------------------------------------------------------

    def effect(
        self,
        program_id: str,
        week: str | None,
        family: str,
        effect_key: str,
        increments: Mapping[str, int],
        *,
        weekly_in_totals: bool = False,
    ) -> None:
        """Count a fact once per ``effect_key``: in the week's rollup (unless ``week`` is None)
        and in the program's totals; with ``weekly_in_totals``, also per week inside the
        totals (``w.<week>.<family>.<name>``), for figures the summary needs week by week
        (the disclosure rule releases averages per closed week) in its one read."""
        if effect_key in self._effects:
            return
        changes: list[tuple[Key, str, int]] = []
        for name, n in increments.items():
            if not n:
                continue
            changes.append((self._totals(program_id), f"c.{family}.{name}", n))
            if week is not None:
                changes.append((self._rollup(program_id, week, family), f"c.{name}", n))
                if weekly_in_totals:
                    changes.append((self._totals(program_id), f"w.{week}.{family}.{name}", n))
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
        # Stored as ["path=n", ...], not as a document {path: n}: the paths hold dots, and the
        # keys change while the counts stay ({"met.2026-03-02": 1} -> {"met.2026-03-09": 1}),
        # which the local server's $set of a document takes for no change (see
        # ``roundtable_shared.storage.bulk``).
        doc[field] = [f"{path}={n}" for path, n in sorted(wanted.items())]
        self.changed(collection, doc_id, [field])

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
            "id": batch_id,
            "at": datetime.now(UTC),
            "effects": [
                {"key": key, "changes": [_change(t, path, n) for t, path, n in changes]}
                for key, changes in self._effects.items()
            ],
            "copies": [
                {"c": c, "id": i, "set": {k: self._docs[(c, i)][k] for k in sorted(fields)}}
                for (c, i), fields in sorted(self._dirty.items())
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
        state = _state(self.models)
        state.clean = False  # until the journal is applied
        try:
            # One document per generation, overwritten by each batch: one write, and what a
            # crash leaves is always the last batch.
            await self.models.journal.update_one(
                {"_id": JOURNAL_ID}, {"$set": journal_fields(journal)}, upsert=True
            )
            crash_point("reporting.batch.journaled")
            await _apply(self.models, journal, recovering=False)
        except BaseException:
            state.forget_copies()  # what is in the database is unknown now
            raise
        state.clean = True
        # This batch is done with its copies: they are what the database now holds.
        state.remember(self._docs)


def journal_fields(journal: Mapping[str, Any]) -> Doc:
    """The journal document's fields: the batch as one BSON value, opaque to the server.

    The journal is written whole and read whole, never queried by its fields: one binary value
    of hundreds of small changes is the cheapest for a server to store and rewrite."""
    return {"batch": Binary(bson.encode(journal, codec_options=_CODEC))}


def read_journal(stored: Mapping[str, Any]) -> Mapping[str, Any]:
    """The batch a journal document holds (as ``journal_fields`` wrote it, or as documents,
    as journals were written before)."""
    batch = stored["batch"]
    if isinstance(batch, Mapping):
        return batch
    return bson.decode(bytes(batch), codec_options=_CODEC)


_CODEC: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True, tzinfo=UTC)


def _contributions(stored: Any) -> dict[str, int]:
    """What a copy contributes to the counters, as ``reconcile`` stored it."""
    if isinstance(stored, Mapping):  # written before the list: {name: n} with ":" for "."
        return {str(k).replace(":", "."): int(n) for k, n in stored.items()}
    return {path: int(n) for path, _, n in (str(e).rpartition("=") for e in stored or [])}


def _change(target: Key, path: str, n: int) -> Doc:
    # a list of documents: a stored field name may not hold the path's dots
    return {"c": target[0], "id": target[1], "p": path, "n": n}


MAX_CACHED_COPIES = 50_000
JOURNAL_ID = "last"


class _GenerationState:
    """What this process knows of one generation's read models beyond the database."""

    def __init__(self) -> None:
        self.clean = False
        """True once this process knows the generation has no journal left to apply."""
        self.copies: OrderedDict[Key, Doc] = OrderedDict()
        """The copies as last written or read, most recent last: this process is their only
        writer while it holds the writer lease (one batch at a time under ``ReadModels.lock``),
        so a copy in hand needs no read. Emptied whenever a batch fails or a journal is replayed."""

    def forget_copies(self) -> None:
        self.copies.clear()

    def remember(self, docs: Mapping[Key, Doc]) -> None:
        for key, doc in docs.items():
            self.copies[key] = _as_stored(doc)
            self.copies.move_to_end(key)
        while len(self.copies) > MAX_CACHED_COPIES:
            self.copies.popitem(last=False)


def _as_stored(value: Any) -> Any:
    """A copy as the database gives it back: times to the millisecond (BSON's precision)."""
    if isinstance(value, datetime):
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    if isinstance(value, Mapping):
        return {k: _as_stored(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_as_stored(v) for v in value]
    return value


# Per database, generation and writer: a writer is one process's lock (``Generations.lock``),
# so two runtimes in one process (as tests run them) keep what they know apart.
_states: dict[tuple[str, str, asyncio.Lock], _GenerationState] = {}


def _key(models: ReadModels) -> tuple[str, str, asyncio.Lock]:
    return (models.db.name, models.generation, models.lock)


def _state(models: ReadModels) -> _GenerationState:
    return _states.setdefault(_key(models), _GenerationState())


def forget(models: ReadModels) -> None:
    """Drop what this process knows of a generation: its collections were dropped."""
    _states.pop(_key(models), None)


def forget_all(lock: asyncio.Lock) -> None:
    """Drop what the writer of ``lock`` knows of every generation, copies, ids and that no
    journal is left: another process may have written since (it gains the writer lease), or may
    write from now on (it lost it). Hold ``lock``."""
    for key in [k for k in _states if k[2] is lock]:
        del _states[key]


async def apply_pending(models: ReadModels) -> None:
    """Finish the batch a crash (or an error) may have interrupted, before anything else is
    applied to these read models: the last one, applied again (which changes nothing if it was
    complete). Once per process and generation, and after a failed batch. Hold
    ``models.lock``."""
    state = _state(models)
    if state.clean:
        return
    state.forget_copies()
    found = await models.journal.find_one({"_id": JOURNAL_ID})
    if found is not None:
        batch = read_journal(found)
        log.info("read models: applying the last batch again", batch=batch["id"])
        await _apply(models, batch, recovering=True)
    state.clean = True


async def _apply(models: ReadModels, journal: Mapping[str, Any], *, recovering: bool) -> None:
    """Apply a journaled batch: copies, then counters, then forget the journal. Repeatable: the
    effect markers are claimed under the batch id (a repeat finds its own markers), copies are
    set to the same values, and a counter document records the last batch it took, by the same
    update (a repeat skips a document that has it)."""
    batch_id = str(journal["id"])
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
    for written in journal["copies"]:
        # $set of the fields the batch changed: the copy's other fields stay as they are
        update = UpdateOne({"_id": written["id"]}, {"$set": written["set"]}, upsert=True)
        copies[written["c"]].append(update)
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
    await bulk_write(models.collection(name), updates, ordered=True)


async def _claim(models: ReadModels, keys: list[str], token: str) -> list[str]:
    """The effect keys not counted before, now marked as counted under ``token`` (one insert);
    a repeat with the same token gets the same answer."""
    if not keys:
        return []
    try:
        await models.effects.insert_many([{"_id": k, "by": token} for k in keys], ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if {e.get("code") for e in errors} - {11000}:
            raise
        taken = [keys[int(e["index"])] for e in errors]
    else:
        return keys
    # There already: claimed by this batch before a crash (ours), or counted before (not ours).
    markers = await find_by_ids(models.effects, taken, {"by": 1})
    not_ours = set(taken) - {str(m["_id"]) for m in markers if m.get("by") == token}
    return [k for k in keys if k not in not_ours]
