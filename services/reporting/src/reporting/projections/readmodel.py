"""The read models' collections, one set per *generation* (a rebuild fills a new one, then swaps).

- ``rollups``: per (program, ISO week, family), counters changed by ``$inc``: the time series;
- ``totals``: one document per program (``_id`` = program id) with everything the summary and
  the funnel need: every family's counters summed over all weeks (``c``), open action steps by
  due instant (``due``), active groups (``groups_active``) and active groups by the day they last
  met (``met``). A summary reads this and the program copy: two reads by ``_id``;
- ``effects``: one marker per counted fact (``held:<session id>``), so a fact counts once even
  when its event is republished under a new event id;
- ``programs``, ``persons``, ``groups``, ``actions``, ``sessions``, ``erased``: copies of what
  the counters need to know across events. A copy also records what it contributes to the
  counters (``counted``), so a change of state moves its counts (see ``projections.batch``);
- ``surveys``, ``responses``, ``tallies``: a program's surveys (questions outlined, how many
  asked, when closed), each response's latest numbers (never who gave them), and each survey's
  counts of each number given (``projections.outcomes``);
- ``employees``, ``directory``: each employee's id and employment status only, and the company's
  counters built from them (employees, terminations by day) for retention against the company;
- ``journal``: one document, the last batch applied, so a crash half-way leaves a batch to
  finish, not counters short (see ``projections.batch``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from pymongo import ASCENDING, IndexModel

from roundtable_shared.storage.mongo import Collection, Database, Indexes

NAMES = (
    "rollups",
    "totals",
    "effects",
    "programs",
    "persons",
    "groups",
    "actions",
    "sessions",
    "erased",
    "surveys",
    "responses",
    "tallies",
    "employees",
    "directory",
    "journal",
)
BUCKETS = ("due", "met")
"""The totals' buckets (open steps by due instant, active groups by day last met): a bucket
that drops to zero is removed."""
APPLIED_BATCH = "applied_batch"
"""In a counter document: the last batch that changed it, set by the same update."""


def counter_id(program_id: str, week: str, family: str) -> str:
    return f"{program_id}|{week}|{family}"


def person_id(program_id: str, employee_id: str) -> str:
    return f"{program_id}|{employee_id}"


@dataclass(frozen=True)
class ReadModels:
    db: Database
    generation: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, compare=False)
    """Held while a batch is applied: this process's consumers (and a rebuild) share documents
    (people, totals), and a batch reads copies, changes them in memory and writes them back."""

    def collection(self, name: str) -> Collection:
        return self.db[f"{self.generation}_{name}"]

    @property
    def rollups(self) -> Collection:
        return self.collection("rollups")

    @property
    def totals(self) -> Collection:
        return self.collection("totals")

    @property
    def effects(self) -> Collection:
        return self.collection("effects")

    @property
    def programs(self) -> Collection:
        return self.collection("programs")

    @property
    def persons(self) -> Collection:
        return self.collection("persons")

    @property
    def groups(self) -> Collection:
        return self.collection("groups")

    @property
    def actions(self) -> Collection:
        return self.collection("actions")

    @property
    def sessions(self) -> Collection:
        return self.collection("sessions")

    @property
    def erased(self) -> Collection:
        return self.collection("erased")

    @property
    def journal(self) -> Collection:
        return self.collection("journal")

    def indexes(self) -> list[Indexes]:
        return generation_indexes(self.generation)


def generation_indexes(g: str) -> list[Indexes]:
    """The indexes of one generation's collections."""
    return [
        Indexes(f"{g}_rollups", [IndexModel([("program_id", ASCENDING), ("week", ASCENDING)])]),
        Indexes(f"{g}_programs", [IndexModel([("sponsor_ids", ASCENDING)])]),
        Indexes(
            f"{g}_persons",
            [IndexModel([("program_id", ASCENDING)]), IndexModel([("employee_id", ASCENDING)])],
        ),
        Indexes(f"{g}_surveys", [IndexModel([("program_id", ASCENDING)])]),
        Indexes(f"{g}_responses", [IndexModel([("survey_id", ASCENDING)])]),
    ]
