"""In-memory fakes of the sessions service's repositories, and the handlers wired over them.

Each fake has the methods of the MongoDB repository it stands in for (``test_fakes.py`` holds
them to it) and keeps documents in dicts, as cosmicpython's ``FakeRepository`` does, so the
service layer's rules are tested without NATS or a database. The fakes live here, beside their
fixtures, so the tests reach them through the ``fakes`` fixture with no import path to set up.

The domain returns the aggregate as a change leaves it; the fake repositories save it as the
real ones do, through ``update_between`` (the ``$set`` of what differs). ``apply_update`` applies
that and the few operators the copies' fakes use, and refuses any other, so a new one fails a
unit test loudly instead of being ignored.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from roundtable_shared.auth.tokens import Principal, Role
from roundtable_shared.events.catalogue.enrollment import (
    GroupChanged,
    GroupChangeReason,
    GroupFormed,
    GroupMember,
    ProgramFormat,
)
from roundtable_shared.events.envelope import EventData
from roundtable_shared.http.pagination import CursorSigner, PageRequest
from roundtable_shared.storage.aggregates import AlreadyExists
from roundtable_shared.storage.mongo import Document
from sessions.action_steps.domain import ActionStatus, ActionStep, HeldSession
from sessions.action_steps.service import ActionStepService
from sessions.common import SortPosition, update_between
from sessions.conversations.domain import Conversation
from sessions.conversations.service import ConversationService
from sessions.feedback.domain import Feedback, RatedSession
from sessions.feedback.service import FeedbackService
from sessions.guides.domain import Program, ProgramGuide
from sessions.guides.service import GuideService
from sessions.membership.domain import Group, MembershipChange, pseudonymised_members
from sessions.membership.repository import MEMBERSHIP_LOG, _group
from sessions.membership.service import MembershipService
from sessions.scheduling.domain import Session, SessionStatus
from sessions.scheduling.repository import token_hash
from sessions.scheduling.service import SchedulingService

# A fixed instant: no test's outcome depends on the day or hour it runs.
T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


class MovableClock:
    """The injected clock: fixed until a test moves it."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# --- documents and MongoDB update documents -------------------------------------------------------


def _parent(document: Document, path: str) -> tuple[Document, str]:
    *parents, key = path.split(".")
    for name in parents:
        document = document.setdefault(name, {})
    return document, key


def apply_update(document: Document, changes: dict[str, Any]) -> None:
    """``changes`` (a MongoDB update document) applied to ``document`` in place."""
    for operator, fields in changes.items():
        for path, value in fields.items():
            parent, key = _parent(document, path)
            if operator == "$set":
                parent[key] = copy.deepcopy(value)
            elif operator == "$unset":
                parent.pop(key, None)
            elif operator == "$push" and not (isinstance(value, dict) and "$each" in value):
                parent.setdefault(key, []).append(copy.deepcopy(value))
            elif operator == "$inc":
                parent[key] = parent.get(key, 0) + value
            elif operator == "$addToSet":
                if value not in parent.setdefault(key, []):
                    parent[key].append(copy.deepcopy(value))
            else:
                raise NotImplementedError(f"the fakes do not apply {operator} {value!r}")


def page_in_memory(
    documents: list[Document], sort_field: str, page: PageRequest
) -> tuple[list[Document], str | None]:
    """One page ordered by (sort_field, _id), as ``keyset_page`` reads it from MongoDB."""
    ordered = sorted(documents, key=lambda d: (d[sort_field], d["_id"]))
    after = page.position(SortPosition)
    if after is not None:
        ordered = [d for d in ordered if (d[sort_field], d["_id"]) > (after.k, after.id)]
    if len(ordered) <= page.limit:
        return ordered, None
    documents = ordered[: page.limit]
    last = documents[-1]
    return documents, page.next_cursor(SortPosition(k=last[sort_field], id=last["_id"]))


@dataclass
class FakeStore:
    """``AggregateStore`` on a dict: the version guard, and the
    events each write raised, in order (what the outbox relay would publish)."""

    documents: dict[str, Document] = field(default_factory=dict)
    events: list[tuple[str, int, EventData]] = field(default_factory=list)
    rivals: int = 0
    """How many of the next updates someone else wins: their write lands between our read and
    our conditional write (the version moves on, nothing else), so ours finds it stale."""

    async def insert(self, document: Document, events: Sequence[EventData]) -> int:
        if document["_id"] in self.documents:
            raise AlreadyExists(str(document["_id"]))
        version = max(1, len(events))
        self.documents[document["_id"]] = {**copy.deepcopy(document), "version": version}
        self._raised(document["_id"], 0, events)
        return version

    async def update(
        self,
        aggregate_id: Any,
        expected_version: int,
        changes: dict[str, Any],
        events: Sequence[EventData],
    ) -> int | None:
        document = self.documents.get(aggregate_id)
        if document is not None and self.rivals > 0:
            self.rivals -= 1
            document["version"] += 1
        if document is None or document["version"] != expected_version:
            return None
        apply_update(document, changes)
        document["version"] = expected_version + max(1, len(events))
        self._raised(aggregate_id, expected_version, events)
        return int(document["version"])

    def _raised(self, aggregate_id: str, from_version: int, events: Sequence[EventData]) -> None:
        self.events += [(aggregate_id, from_version + n + 1, e) for n, e in enumerate(events)]

    def raised(self, kind: type[EventData]) -> list[EventData]:
        return [e for _, _, e in self.events if isinstance(e, kind)]

    def find(self, **equal: Any) -> list[Document]:
        return [
            copy.deepcopy(d)
            for d in self.documents.values()
            if all(d.get(k) == v for k, v in equal.items())
        ]


# --- scheduling -----------------------------------------------------------------------------------


class FakeSessionRepository:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def _document(self, session_id: str) -> Document | None:
        found = self.store.documents.get(session_id)
        return copy.deepcopy(found) if found is not None else None

    async def get(self, session_id: str) -> Session | None:
        document = self._document(session_id)
        return Session.model_validate(document) if document else None

    async def add(self, session: Session, events: Sequence[EventData]) -> Session:
        version = await self.store.insert(session.document(), events)
        return session.model_copy(update={"version": version})

    async def save(
        self, before: Session, after: Session, events: Sequence[EventData]
    ) -> Session | None:
        changes = update_between(before.document(), after.document())
        version = await self.store.update(before.id, before.version, changes, events)
        return None if version is None else after.model_copy(update={"version": version})

    async def with_attendance(self, session_id: str) -> tuple[Session, list[str] | None] | None:
        document = self._document(session_id)
        if document is None:
            return None
        record = document.get("record")
        return Session.model_validate(document), list(record["attendee_ids"]) if record else None

    async def page_of_group(
        self, group_id: str, page: PageRequest
    ) -> tuple[list[Session], str | None]:
        documents, cursor = page_in_memory(self.store.find(group_id=group_id), "starts_at", page)
        return [Session.model_validate(d) for d in documents], cursor

    async def of_groups(self, group_ids: list[str], since: datetime) -> list[Session]:
        found = [
            d
            for d in self.store.documents.values()
            if d["group_id"] in group_ids and d["starts_at"] >= since
        ]
        found.sort(key=lambda d: d["starts_at"])
        return [Session.model_validate(d) for d in found[:500]]

    async def upcoming_of_group(self, group_id: str, now: datetime) -> list[Session]:
        return [
            Session.model_validate(d)
            for d in self.store.find(group_id=group_id, status=SessionStatus.SCHEDULED.value)
            if d["starts_at"] > now
        ]

    async def with_words_of(self, employee_id: str) -> list[Session]:
        def holds_words(d: Document) -> bool:
            written = d.get("written_by")
            cancellation = d.get("cancellation") or {}
            if written is None:  # kept from before authors were noted: the scheduler's words
                mine = d.get("scheduled_by") == employee_id
            else:
                mine = employee_id in written.values()
            return bool(mine or cancellation.get("by") == employee_id)

        return [Session.model_validate(d) for d in self.store.documents.values() if holds_words(d)]


class FakeCalendarFeedRepository:
    def __init__(self) -> None:
        self.feeds: dict[str, Document] = {}

    async def replace(self, employee_id: str, token: str, now: datetime) -> None:
        self.feeds[employee_id] = {"token_hash": token_hash(token), "created_at": now}

    async def revoke(self, employee_id: str) -> bool:
        return self.feeds.pop(employee_id, None) is not None

    async def owner_of(self, token: str) -> str | None:
        hashed = token_hash(token)
        return next((e for e, f in self.feeds.items() if f["token_hash"] == hashed), None)

    async def exists(self, employee_id: str) -> bool:
        return employee_id in self.feeds


# --- conversations ----------------------------------------------------------------------------------


class FakeConversationRepository:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def get(self, session_id: str) -> Conversation | None:
        document = self.store.documents.get(session_id)
        return Conversation.model_validate(copy.deepcopy(document)) if document else None

    async def save(
        self, before: Conversation, after: Conversation, events: Sequence[EventData]
    ) -> int | None:
        changes = update_between(before.document(), after.document())
        return await self.store.update(before.id, before.version, changes, events)

    async def group_of(self, session_id: str) -> str | None:
        document = self.store.documents.get(session_id)
        return str(document["group_id"]) if document else None

    async def mentioning(self, employee_id: str) -> list[Conversation]:
        return [
            Conversation.model_validate(copy.deepcopy(d))
            for d in self.store.documents.values()
            if employee_id in (d.get("record") or {}).get("attendee_ids", [])
            or employee_id in d.get("invited_ids", [])
        ]


class FakePrivateNoteRepository:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def get(self, note_id: str) -> Document | None:
        found = self.store.documents.get(note_id)
        return copy.deepcopy(found) if found is not None else None

    async def add(self, note: Document) -> int:
        return await self.store.insert(note, [])

    async def edit(self, note_id: str, version: int, text: str, at: datetime) -> int | None:
        changes = {"$set": {"text": text, "updated_at": at}}
        return await self.store.update(note_id, version, changes, [])

    async def of_author(self, session_id: str, author_id: str) -> list[Document]:
        notes = self.store.find(session_id=session_id, author_id=author_id)
        return sorted(notes, key=lambda n: (n["created_at"], n["_id"]))[:200]

    async def erase_author(self, author_id: str) -> int:
        gone = [n["_id"] for n in self.store.find(author_id=author_id)]
        for note_id in gone:
            del self.store.documents[note_id]
        return len(gone)

    async def delete(self, note: Document, version: int) -> bool:
        stored = self.store.documents.get(note["_id"])
        if stored is None or stored["version"] != version:
            return False
        del self.store.documents[note["_id"]]
        return True


# --- action steps -----------------------------------------------------------------------------------


class FakeActionStepRepository:
    def __init__(self, store: FakeStore, sessions: FakeStore) -> None:
        self.store = store
        self.sessions = sessions

    async def get(self, action_id: str) -> ActionStep | None:
        document = self.store.documents.get(action_id)
        return ActionStep.model_validate(copy.deepcopy(document)) if document else None

    async def add(self, step: ActionStep, events: Sequence[EventData]) -> ActionStep:
        version = await self.store.insert(step.document(), events)
        return step.model_copy(update={"version": version})

    async def save(
        self, before: ActionStep, after: ActionStep, events: Sequence[EventData]
    ) -> ActionStep | None:
        changes = update_between(before.document(), after.document())
        version = await self.store.update(before.id, before.version, changes, events)
        return None if version is None else after.model_copy(update={"version": version})

    async def held_session(self, session_id: str) -> HeldSession | None:
        document = self.sessions.documents.get(session_id)
        if document is None:
            return None
        return HeldSession(
            session_id=document["_id"],
            group_id=document["group_id"],
            program_id=document["program_id"],
            held=document.get("status") == SessionStatus.HELD.value,
            starts_at=document["starts_at"],
            ends_at=document["ends_at"],
            attendee_ids=(document.get("record") or {}).get("attendee_ids", []),
            time_zone=document["time_zone"],
        )

    def _of_session(self, session_id: str) -> list[Document]:
        return sorted(self.store.find(session_id=session_id), key=lambda d: d["created_at"])

    async def of_session(self, session_id: str) -> list[ActionStep]:
        return [ActionStep.model_validate(d) for d in self._of_session(session_id)[:200]]

    async def count_of_session(self, session_id: str) -> int:
        return len(self._of_session(session_id))

    async def commitments(self, session_id: str) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for document in self._of_session(session_id):
            result.setdefault(document["owner_id"], []).append(document["_id"])
        return result

    async def listing(
        self,
        *,
        field: str,
        employee_id: str,
        status: ActionStatus | None,
        overdue_at: datetime | None,
        page: PageRequest,
    ) -> tuple[list[ActionStep], str | None]:
        steps = self.store.find(**{field: employee_id})
        if overdue_at is not None:
            steps = [s for s in steps if ActionStep.model_validate(s).overdue(overdue_at)]
        elif status is not None:
            steps = [s for s in steps if s["status"] == status.value]
        documents, cursor = page_in_memory(steps, "due_at", page)
        return [ActionStep.model_validate(d) for d in documents], cursor

    async def touching(self, employee_id: str) -> list[ActionStep]:
        return [
            ActionStep.model_validate(d)
            for d in self.store.find()
            if d["owner_id"] == employee_id
            or any(c["author_id"] == employee_id for c in d.get("comments", []))
        ]

    async def open_of_owner_in_group(self, owner_id: str, group_id: str) -> list[ActionStep]:
        found = self.store.find(
            owner_id=owner_id, group_id=group_id, status=ActionStatus.OPEN.value
        )
        return [ActionStep.model_validate(d) for d in found]


# --- feedback -----------------------------------------------------------------------------------------


class FakeFeedbackRepository:
    def __init__(self, store: FakeStore, sessions: FakeStore) -> None:
        self.store = store
        self.sessions = sessions

    async def get(self, feedback_id: str) -> Feedback | None:
        document = self.store.documents.get(feedback_id)
        return Feedback.model_validate(copy.deepcopy(document)) if document else None

    async def add(self, feedback: Feedback, events: Sequence[EventData]) -> Feedback:
        version = await self.store.insert(feedback.document(), events)
        return feedback.model_copy(update={"version": version})

    async def rated_session(self, session_id: str) -> RatedSession | None:
        document = self.sessions.documents.get(session_id)
        if document is None:
            return None
        return RatedSession(
            session_id=document["_id"],
            group_id=document["group_id"],
            program_id=document["program_id"],
            held=document.get("status") == SessionStatus.HELD.value,
            attendee_ids=(document.get("record") or {}).get("attendee_ids", []),
        )

    async def ratings(self, session_id: str) -> list[int]:
        return [int(d["rating"]) for d in self.store.find(session_id=session_id)]

    async def erase_comments(self, employee_id: str) -> None:
        for document in self.store.documents.values():
            if document["employee_id"] == employee_id and document.get("comment") is not None:
                apply_update(document, {"$set": {"comment": None}, "$inc": {"version": 1}})


# --- membership ---------------------------------------------------------------------------------------


def _newer(documents: dict[str, Document], key: str, version: int, fields: Document) -> bool:
    """``upsert_if_newer`` on a dict."""
    stored = documents.get(key)
    if stored is not None and stored.get("version", 0) >= version:
        return False
    documents.setdefault(key, {"_id": key}).update(copy.deepcopy(fields), version=version)
    return True


NEW_GROUP = {"version": 0, "members": [], "member_ids": [], "dissolved": False}


class FakeGroupRepository:
    """The copies of enrollment's groups as the MongoDB adapter stores them, read into a
    ``Group`` the same way (no cache: nothing here is slow to read)."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}

    def forget(self, group_id: str) -> None:
        return None

    async def get(self, group_id: str) -> Group | None:
        document = self.documents.get(group_id)
        return _group(copy.deepcopy(document)) if document else None

    async def groups_of(self, employee_id: str) -> list[Group]:
        groups = [_group(d) for d in self.documents.values() if employee_id in d["member_ids"]]
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
        fields = {
            "program_id": program_id,
            "name": name,
            "members": [m.model_dump() for m in members],
            "member_ids": [m.employee_id for m in members],
            "dissolved": False,
        }
        return _newer(self.documents, group_id, version, fields)

    async def store_membership(self, group_id: str, change: MembershipChange) -> None:
        document = self.documents.setdefault(group_id, {"_id": group_id, **NEW_GROUP})
        document.setdefault(MEMBERSHIP_LOG, {})[f"v{change.version}"] = {
            "version": change.version,
            "at": change.at,
            "member_ids": sorted(change.member_ids),
            "added_ids": sorted(change.added_ids),
            "removed_ids": sorted(change.removed_ids),
        }

    async def store_dissolved(self, group_id: str, version: int, *, program_id: str) -> bool:
        return _newer(
            self.documents, group_id, version, {"program_id": program_id, "dissolved": True}
        )

    async def store_withdrawal(self, group_id: str, participant_id: str) -> None:
        document = self.documents.setdefault(group_id, {"_id": group_id, **NEW_GROUP})
        apply_update(document, {"$addToSet": {"withdrawn_participants": participant_id}})

    async def pseudonymise(self, employee_id: str) -> list[str]:
        group_ids = [g for g, d in self.documents.items() if employee_id in d["member_ids"]]
        for group_id in group_ids:
            document = self.documents[group_id]
            document["members"] = pseudonymised_members(document["members"], employee_id)
            await self.store_erasure(group_id, employee_id)
        return group_ids

    async def store_erasure(self, group_id: str, employee_id: str) -> None:
        if group_id in self.documents:
            apply_update(self.documents[group_id], {"$addToSet": {"erased_employees": employee_id}})


class FakeGuideRepository:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def get(self, program_id: str) -> ProgramGuide:
        document = self.store.documents.get(program_id)
        if document is None:
            return ProgramGuide(id=program_id)
        return ProgramGuide.model_validate(copy.deepcopy(document))

    async def save(
        self, before: ProgramGuide, after: ProgramGuide, events: Sequence[EventData]
    ) -> ProgramGuide | None:
        if before.version == 0:
            try:
                version = await self.store.insert(after.document(), events)
            except AlreadyExists:
                return None
        else:
            changes = update_between(before.document(), after.document())
            found = await self.store.update(before.id, before.version, changes, events)
            if found is None:
                return None
            version = found
        return after.model_copy(update={"version": version})


class FakeProgramRepository:
    def __init__(self, groups: FakeGroupRepository) -> None:
        self.documents: dict[str, Document] = {}
        self.participants: dict[str, Document] = {}
        self.groups = groups

    async def store(
        self, program_id: str, version: int, *, format: ProgramFormat, sponsor_ids: list[str]
    ) -> bool:
        fields = {"format": format.value, "sponsor_ids": sponsor_ids}
        return _newer(self.documents, program_id, version, fields)

    async def store_participant(
        self,
        participant_id: str,
        version: int,
        *,
        program_id: str,
        employee_id: str,
        enrolled: bool,
    ) -> bool:
        fields = {"program_id": program_id, "employee_id": employee_id, "enrolled": enrolled}
        return _newer(self.participants, participant_id, version, fields)

    async def is_participant(self, program_id: str, employee_id: str) -> bool:
        return any(
            (d["program_id"], d["employee_id"], d["enrolled"]) == (program_id, employee_id, True)
            for d in self.participants.values()
        )

    async def get(self, program_id: str) -> Program | None:
        document = self.documents.get(program_id)
        if document is not None:
            return Program(
                program_id=program_id,
                format=ProgramFormat(document["format"]),
                sponsor_ids=frozenset(document["sponsor_ids"]),
            )
        if any(d.get("program_id") == program_id for d in self.groups.documents.values()):
            return Program(program_id=program_id)
        return None


class FakeEmployeeRepository:
    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}

    async def store(
        self, employee_id: str, version: int, *, display_name: str, time_zone: str
    ) -> bool:
        fields = {"display_name": display_name, "time_zone": time_zone, "erased": False}
        return _newer(self.documents, employee_id, version, fields)

    async def store_erased(self, employee_id: str, version: int) -> bool:
        fields = {"display_name": None, "time_zone": None, "erased": True}
        return _newer(self.documents, employee_id, version, fields)

    async def erased_among(self, employee_ids: list[str]) -> list[str]:
        return [e for e in employee_ids if self.documents.get(e, {}).get("erased")]

    async def time_zone(self, employee_id: str) -> str | None:
        return self.documents.get(employee_id, {}).get("time_zone")


# --- the handlers over the fakes ----------------------------------------------------------------------


def member(employee_id: str) -> Principal:
    return Principal(employee_id=employee_id, roles=frozenset({Role.PARTICIPANT}))


def admin(employee_id: str) -> Principal:
    return Principal(employee_id=employee_id, roles=frozenset({Role.PROGRAM_ADMIN}))


def first_page(limit: int = 50) -> PageRequest:
    return PageRequest(
        cursor=None, limit=limit, signer=CursorSigner(b"k" * 32, "sessions"), scope="/unit"
    )


def tomorrow() -> date:
    return (T0 + timedelta(days=1)).date()


@dataclass
class Fakes:
    """The sessions service's handlers wired as ``app.py`` wires them, over the fakes."""

    clock: MovableClock
    sessions: FakeStore
    steps: FakeStore
    feedback_store: FakeStore
    notes: FakeStore
    groups: FakeGroupRepository
    employees: FakeEmployeeRepository
    membership: MembershipService
    scheduling: SchedulingService
    conversations: ConversationService
    actions: ActionStepService
    feedback: FeedbackService
    guide_store: FakeStore
    programs: FakeProgramRepository
    guides: GuideService

    # Test files reach these through the fixture (nothing here is importable from them).
    member = staticmethod(member)
    admin = staticmethod(admin)
    first_page = staticmethod(first_page)
    tomorrow = staticmethod(tomorrow)

    async def form_group(self, group_id: str, members: str, *, version: int = 1) -> None:
        """Enrollment formed the group (one letter per member: "abc"), now."""
        await self.membership.group_formed(
            version,
            GroupFormed(
                group_id=group_id,
                program_id="p-1",
                name=f"Roundtable {group_id}",
                members=_members(members),
                formed_at=self.clock(),
            ),
        )

    async def change_group(
        self, group_id: str, members: str, *, version: int, added: str = "", removed: str = ""
    ) -> None:
        """Enrollment changed the group's membership, now; the sessions follow, as the
        consumer of the event makes them."""
        await self.membership.group_formed(
            version,
            GroupChanged(
                group_id=group_id,
                program_id="p-1",
                name=f"Roundtable {group_id}",
                members=_members(members),
                added_employee_ids=list(added),
                removed_employee_ids=list(removed),
                reason=GroupChangeReason.REMATCH,
                changed_at=self.clock(),
            ),
        )
        await self.scheduling.reinvite_upcoming(group_id)


def _members(letters: str) -> list[GroupMember]:
    return [
        GroupMember(employee_id=e, participant_id=f"par-{e}", display_name=e.upper())
        for e in letters
    ]


@pytest.fixture
def fakes() -> Fakes:
    clock = MovableClock()
    sessions, steps, feedback_store, notes = FakeStore(), FakeStore(), FakeStore(), FakeStore()
    groups, employees = FakeGroupRepository(), FakeEmployeeRepository()
    membership = MembershipService(groups, employees)
    step_repository = FakeActionStepRepository(steps, sessions)
    guide_store, programs = FakeStore(), FakeProgramRepository(groups)
    guides = GuideService(FakeGuideRepository(guide_store), programs, groups, clock)
    scheduling = SchedulingService(
        FakeSessionRepository(sessions),
        FakeCalendarFeedRepository(),
        membership,
        clock,
        step_count=step_repository.count_of_session,
        agenda_for=guides.agenda_for,
    )
    conversations = ConversationService(
        FakeConversationRepository(sessions),
        FakePrivateNoteRepository(notes),
        membership,
        clock,
        commitments=step_repository.commitments,
    )
    actions = ActionStepService(step_repository, membership, clock)
    feedback = FeedbackService(
        FakeFeedbackRepository(feedback_store, sessions),
        membership,
        clock,
    )
    return Fakes(
        clock=clock,
        sessions=sessions,
        steps=steps,
        feedback_store=feedback_store,
        notes=notes,
        groups=groups,
        employees=employees,
        membership=membership,
        scheduling=scheduling,
        conversations=conversations,
        actions=actions,
        feedback=feedback,
        guide_store=guide_store,
        programs=programs,
        guides=guides,
    )
