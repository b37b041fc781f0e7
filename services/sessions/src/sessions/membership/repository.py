"""MongoDB copies of enrollment's groups and employees, kept with ``upsert_if_newer``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from pymongo import IndexModel
from pymongo.errors import DuplicateKeyError

from roundtable_shared.events.catalogue.enrollment import GroupMember
from roundtable_shared.storage.mongo import Database, Document, Indexes, upsert_if_newer
from roundtable_shared.storage.retry import until_saved
from sessions.membership.domain import Group, Member, MembershipChange, pseudonymised_members

GROUPS = "groups"
# Every membership enrollment announced, keyed "v<version>": who was in the group from when.
MEMBERSHIP_LOG = "membership_log"
EMPLOYEES = "employees"
INDEXES = [Indexes(GROUPS, [IndexModel([("member_ids", 1)])])]
CACHE_LIMIT = 10_000


def _group(document: Document) -> Group:
    return Group(
        group_id=document["_id"],
        program_id=document.get("program_id", ""),
        name=document.get("name", ""),
        members=tuple(
            Member(m["employee_id"], m["participant_id"], m.get("display_name"))
            for m in document.get("members", [])
        ),
        withdrawn_participants=frozenset(document.get("withdrawn_participants", [])),
        erased_employees=frozenset(document.get("erased_employees", [])),
        dissolved=bool(document.get("dissolved", False)),
        changes=tuple(
            MembershipChange(
                version=int(entry["version"]),
                at=as_aware(entry["at"]),
                member_ids=frozenset(entry.get("member_ids", [])),
                added_ids=frozenset(entry.get("added_ids", [])),
                removed_ids=frozenset(entry.get("removed_ids", [])),
            )
            for entry in document.get(MEMBERSHIP_LOG, {}).values()
        ),
    )


def as_aware(moment: datetime) -> datetime:
    # The driver hands back naive UTC datetimes unless the client was made tz-aware.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class GroupRepository:
    """The copies, read through a small in-process cache.

    Nearly every request checks membership, and a copy changes only when an enrollment event
    arrives, so each copy is kept in memory for ``cache_seconds``. The replica that handles the
    event forgets its cached copy at once (every ``store_*`` below); other replicas see the change
    within ``cache_seconds``, which is well inside how late events already arrive.
    """

    def __init__(
        self,
        db: Database,
        *,
        cache_seconds: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.collection = db[GROUPS]
        self.cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cached: dict[str, tuple[float, Group | None]] = {}
        # Bumped by every change: a read that began before a change does not fill the cache.
        self._generation = 0

    def forget(self, group_id: str) -> None:
        self._generation += 1
        self._cached.pop(group_id, None)

    async def get(self, group_id: str) -> Group | None:
        now = self._monotonic()
        cached = self._cached.get(group_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        generation = self._generation
        document = await self.collection.find_one({"_id": group_id}, {"outbox": 0})
        group = _group(document) if document else None
        if generation == self._generation and self.cache_seconds > 0:
            if len(self._cached) >= CACHE_LIMIT:
                self._cached.clear()  # crude, but bounded; a refill costs one read per group
            self._cached[group_id] = (now + self.cache_seconds, group)
        return group

    async def groups_of(self, employee_id: str) -> list[Group]:
        found = self.collection.find({"member_ids": employee_id})
        groups = [_group(document) async for document in found]
        return [group for group in groups if group.is_member(employee_id)]

    async def store_members(
        self,
        group_id: str,
        version: int,
        *,
        program_id: str,
        name: str,
        members: list[GroupMember],
    ) -> bool:
        """The copy, version-guarded (``store_membership`` logs the change, before it)."""
        fields: dict[str, Any] = {
            "program_id": program_id,
            "name": name,
            "members": [m.model_dump() for m in members],
            "member_ids": [m.employee_id for m in members],
            "dissolved": False,
        }
        try:
            return await upsert_if_newer(self.collection, group_id, version, fields)
        finally:
            self.forget(group_id)

    async def store_membership(self, group_id: str, change: MembershipChange) -> None:
        entry = {
            "version": change.version,
            "at": change.at,
            "member_ids": sorted(change.member_ids),
            "added_ids": sorted(change.added_ids),
            "removed_ids": sorted(change.removed_ids),
        }
        selector = {"_id": group_id}
        logged = {"$set": {f"{MEMBERSHIP_LOG}.v{change.version}": entry}}
        try:
            await self.collection.update_one(
                selector,
                {
                    **logged,
                    "$setOnInsert": {
                        "version": 0,
                        "members": [],
                        "member_ids": [],
                        "dissolved": False,
                    },
                },
                upsert=True,
            )
        except DuplicateKeyError:
            # Another event of the group made the copy at the same moment; it exists now.
            await self.collection.update_one(selector, logged)
        self.forget(group_id)

    async def store_dissolved(self, group_id: str, version: int, *, program_id: str) -> bool:
        try:
            return await upsert_if_newer(
                self.collection, group_id, version, {"program_id": program_id, "dissolved": True}
            )
        finally:
            self.forget(group_id)

    async def store_withdrawal(self, group_id: str, participant_id: str) -> None:
        # Not version-guarded (the event is about the enrolment, not the group): a withdrawal is
        # final, so remembering it beside the copy keeps it whatever order group events arrive in.
        await self.collection.update_one(
            {"_id": group_id},
            {
                "$addToSet": {"withdrawn_participants": participant_id},
                "$setOnInsert": {"version": 0, "members": [], "member_ids": [], "dissolved": False},
            },
            upsert=True,
        )
        self.forget(group_id)

    async def pseudonymise(self, employee_id: str) -> list[str]:
        """Drops the person's name from every copy listing them; the ids of those groups."""
        found = self.collection.find({"member_ids": employee_id}, {"_id": 1})
        group_ids = [str(document["_id"]) async for document in found]
        for group_id in group_ids:
            drop_name = partial(self._drop_name, group_id, employee_id)
            await until_saved(drop_name, what=f"group copy {group_id}")
            await self.store_erasure(group_id, employee_id)
        return group_ids

    async def _drop_name(self, group_id: str, employee_id: str) -> bool | None:
        """One attempt: the name gone from the copy as read, unless a newer copy came meanwhile
        (None: read it again)."""
        document = await self.collection.find_one({"_id": group_id}, {"members": 1, "version": 1})
        if document is None:
            return False
        result = await self.collection.update_one(
            {"_id": group_id, "version": document.get("version", 0)},
            {"$set": {"members": pseudonymised_members(document["members"], employee_id)}},
        )
        self.forget(group_id)
        return True if result.matched_count == 1 else None

    async def store_erasure(self, group_id: str, employee_id: str) -> None:
        # Kept beside the copy, like withdrawals: an erasure is final, so a later copy of the
        # group that still lists the person does not bring them back.
        await self.collection.update_one(
            {"_id": group_id}, {"$addToSet": {"erased_employees": employee_id}}
        )
        self.forget(group_id)


class EmployeeRepository:
    def __init__(self, db: Database) -> None:
        self.collection = db[EMPLOYEES]

    async def store(
        self,
        employee_id: str,
        version: int,
        *,
        display_name: str | None,
        time_zone: str | None,
    ) -> bool:
        """Name and zone are None when the person was erased before this copy was made."""
        return await upsert_if_newer(
            self.collection,
            employee_id,
            version,
            {"display_name": display_name, "time_zone": time_zone, "erased": False},
        )

    async def store_erased(self, employee_id: str, version: int) -> bool:
        return await upsert_if_newer(
            self.collection,
            employee_id,
            version,
            {"display_name": None, "time_zone": None, "erased": True},
        )

    async def erased_among(self, employee_ids: list[str]) -> list[str]:
        # A group has at most eight members: one read by _id.
        found = self.collection.find({"_id": {"$in": employee_ids}, "erased": True}, {"_id": 1})
        return [str(document["_id"]) async for document in found]

    async def time_zone(self, employee_id: str) -> str | None:
        document = await self.collection.find_one({"_id": employee_id}, {"time_zone": 1})
        return document.get("time_zone") if document else None
