"""In-memory fakes of the enrollment service's repositories, and the handlers wired over them.

Each fake has the methods of the MongoDB repository it stands in for and keeps the very documents
the real one stores (its own ``to_document``/``from_document``) in dicts, as cosmicpython's
``FakeRepository`` does, so the handlers' rules are tested without NATS or a database.
``test_fakes_match_the_repositories.py`` holds them to the real ones: the same signatures, and the
same answers to the same scenario run against FerretDB.

The fakes live here, beside their fixture, so the tests reach them through ``fakes`` (and the
parity test through ``fake_repositories``) with no import path to set up.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.errors import DuplicateKeyError

from enrollment.directory import repository as employees_storage
from enrollment.directory.domain import Change, Employee
from enrollment.directory.service import DirectoryService
from enrollment.groups import repository as groups_storage
from enrollment.groups.domain import GroupStatus, PeerGroup
from enrollment.groups.service import GroupService
from enrollment.matching import repository as proposals_storage
from enrollment.matching.proposal import Proposal
from enrollment.matching.service import MatchingService
from enrollment.participants import repository as participants_storage
from enrollment.participants.domain import (
    HOLDS_SEAT,
    Answers,
    EnrolmentRequest,
    Participant,
    ParticipantStatus,
)
from enrollment.participants.service import ParticipantService
from enrollment.programs import repository as programs_storage
from enrollment.programs.domain import Program, ProgramSettings, SeatClaim, SeatCounter
from enrollment.programs.repository import StoredProgram
from enrollment.programs.service import ProgramService
from roundtable_shared.events.catalogue.enrollment import EmploymentStatus, WithdrawReason
from roundtable_shared.events.envelope import EventData
from roundtable_shared.storage.aggregates import AlreadyExists
from roundtable_shared.storage.mongo import Document

# A fixed instant (whole milliseconds, as BSON keeps them): no outcome depends on the day or hour.
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


def apply_update(document: Document, changes: dict[str, Any]) -> None:
    """``changes`` (a MongoDB update document of the operators the repositories use) applied to
    ``document`` in place; any other operator fails loudly rather than being ignored."""
    for operator, fields in changes.items():
        for name, value in fields.items():
            if "." in name:
                raise NotImplementedError(f"the fakes do not update dotted paths ({name})")
            if operator == "$set":
                document[name] = copy.deepcopy(value)
            elif operator == "$inc":
                document[name] = document.get(name, 0) + value
            elif operator == "$push":
                document.setdefault(name, []).append(copy.deepcopy(value))
            elif operator == "$pull":
                document[name] = [v for v in document.get(name) or [] if v != value]
            elif operator == "$addToSet":
                if value not in document.setdefault(name, []):
                    document[name].append(copy.deepcopy(value))
            else:
                raise NotImplementedError(f"the fakes do not apply {operator}")


@dataclass
class FakeStore:
    """``AggregateStore`` on a dict: the version guard, and the events each write raised, in
    order (what the outbox relay would publish)."""

    documents: dict[str, Document] = field(default_factory=dict)
    events: list[tuple[str, int, EventData]] = field(default_factory=list)
    rivals: int = 0
    """How many of the next updates someone else wins: their write lands between our read and
    our conditional write (the version moves on, nothing else), so ours finds it stale."""
    overtaken: set[str] = field(default_factory=set)
    """Documents someone else writes before every one of our updates of them (a rival that wins
    each race on those only)."""

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
        elif document is not None and aggregate_id in self.overtaken:
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
        """Copies of the documents with these field values, by ``_id`` (as the real reads sort)."""
        found = [d for d in self.documents.values() if all(d.get(k) == v for k, v in equal.items())]
        return [copy.deepcopy(d) for d in sorted(found, key=lambda d: d["_id"])]


# --- programs -------------------------------------------------------------------------------------


class FakeProgramRepository:
    """``ProgramRepository``: the program and its seat counters in one document."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def _document(self, program_id: str) -> Document | None:
        return self.store.documents.get(program_id)

    async def insert(self, program: Program, events: Sequence[EventData], fingerprint: str) -> int:
        document = {
            "_id": program.program_id,
            "settings": program.settings.model_dump(mode="json"),
            "status": program.status.value,
            "created_at": program.created_at,
            "enrolled_count": 0,
            "waitlist_seq": 0,
            "request_fingerprint": fingerprint,
            **programs_storage.origin_field(program),
        }
        return await self.store.insert(document, events)

    async def load(self, program_id: str) -> StoredProgram | None:
        document = self._document(program_id)
        return programs_storage.stored(copy.deepcopy(document)) if document else None

    async def save(self, program: Program, version: int, events: Sequence[EventData]) -> int | None:
        changes = {
            "$set": {
                "settings": program.settings.model_dump(mode="json"),
                "status": program.status.value,
            }
        }
        return await self.store.update(program.program_id, version, changes, events)

    async def page(
        self, after: str | None, limit: int, statuses: Sequence[str] | None = None
    ) -> list[StoredProgram]:
        found = [
            d
            for d in self.store.find()
            if (not after or d["_id"] > after) and (statuses is None or d["status"] in statuses)
        ]
        return [programs_storage.stored(d) for d in found[:limit]]

    async def closed_unmatched(self, now: datetime) -> list[str]:
        return [
            d["_id"]
            for d in self.store.find(status="open")
            if d.get("auto_matched_at") is None
            and d["settings"]["enrolment_closes_at"] is not None
            and datetime.fromisoformat(d["settings"]["enrolment_closes_at"]) <= now
        ]

    async def claim_auto_match(self, program_id: str, now: datetime) -> bool:
        document = self._document(program_id)
        if document is None or document.get("auto_matched_at") is not None:
            return False
        document["auto_matched_at"] = now
        return True

    async def release_auto_match(self, program_id: str) -> None:
        document = self._document(program_id)
        if document is not None:
            document["auto_matched_at"] = None

    async def take_seat(self, program_id: str, capacity: int | None, claim: SeatClaim) -> bool:
        document = self._document(program_id)
        if document is None or (capacity is not None and document["enrolled_count"] >= capacity):
            return False
        apply_update(
            document,
            {
                "$inc": {"enrolled_count": 1, "seat_changes": 1},
                "$push": {"seat_claims": programs_storage._claim_key(claim)},
                "$pull": {"seats_released": claim.participant_id},
            },
        )
        return True

    async def settle(self, program_id: str, claim: SeatClaim) -> None:
        document = self._document(program_id)
        key = programs_storage._claim_key(claim)
        if document is not None and key in document.get("seat_claims", []):
            apply_update(document, {"$pull": {"seat_claims": key}, "$inc": {"seat_changes": 1}})

    async def give_back(self, program_id: str, claim: SeatClaim) -> None:
        document = self._document(program_id)
        key = programs_storage._claim_key(claim)
        if document is not None and key in document.get("seat_claims", []):
            apply_update(
                document,
                {"$pull": {"seat_claims": key}, "$inc": {"enrolled_count": -1, "seat_changes": 1}},
            )

    async def release_seat(self, program_id: str, participant_id: str) -> None:
        document = self._document(program_id)
        if document is not None and participant_id not in document.get("seats_released", []):
            apply_update(
                document,
                {
                    "$inc": {"enrolled_count": -1, "seat_changes": 1},
                    "$push": {"seats_released": participant_id},
                },
            )

    async def release_seats(self, program_id: str, participant_ids: Sequence[str]) -> None:
        document = self._document(program_id)
        if not participant_ids or document is None:
            return
        if set(participant_ids) & set(document.get("seats_released", [])):
            for participant_id in participant_ids:
                await self.release_seat(program_id, participant_id)
            return
        count = len(participant_ids)
        document["enrolled_count"] -= count
        document["seat_changes"] = document.get("seat_changes", 0) + count
        document.setdefault("seats_released", []).extend(participant_ids)

    async def released_many(self, program_id: str, participant_ids: Sequence[str]) -> None:
        document = self._document(program_id)
        if not participant_ids or document is None:
            return
        kept = [p for p in document.get("seats_released", []) if p not in participant_ids]
        document["seats_released"] = kept
        document["seat_changes"] = document.get("seat_changes", 0) + len(participant_ids)

    async def released(self, program_id: str, participant_id: str) -> None:
        document = self._document(program_id)
        if document is not None and participant_id in document.get("seats_released", []):
            apply_update(
                document,
                {"$pull": {"seats_released": participant_id}, "$inc": {"seat_changes": 1}},
            )

    async def seats(self, program_id: str) -> SeatCounter | None:
        document = self._document(program_id)
        if document is None:
            return None
        return SeatCounter(
            held=int(document.get("enrolled_count", 0)),
            changes=int(document.get("seat_changes", 0)),
            claims=tuple(programs_storage._claim(k) for k in document.get("seat_claims") or []),
            released=tuple(document.get("seats_released") or []),
        )

    async def recount(self, program_id: str, seen: SeatCounter, holders: int) -> bool:
        document = self._document(program_id)
        if document is None or document.get("seat_changes", 0) != seen.changes:
            return False
        apply_update(
            document,
            {"$set": {"enrolled_count": holders, "seat_claims": []}, "$inc": {"seat_changes": 1}},
        )
        return True

    async def next_waitlist_number(self, program_id: str) -> int:
        document = self._document(program_id)
        if document is None:
            return 0
        document["waitlist_seq"] = document.get("waitlist_seq", 0) + 1
        return int(document["waitlist_seq"])


# --- participants ---------------------------------------------------------------------------------


def _participant(document: Document) -> tuple[Participant, int]:
    return participants_storage.from_document(document), int(document["version"])


class FakeParticipantRepository:
    """``ParticipantRepository``: one document per enrolment, with the request that made it."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def load(self, participant_id: str) -> tuple[Participant, int, EnrolmentRequest] | None:
        document = copy.deepcopy(self.store.documents.get(participant_id))
        if document is None:
            return None
        request = EnrolmentRequest(
            document.get("idempotency_key"), document.get("request_fingerprint")
        )
        return participants_storage.from_document(document), int(document["version"]), request

    async def insert(
        self, participant: Participant, events: Sequence[EventData], request: EnrolmentRequest
    ) -> int:
        document = participants_storage.to_document(participant)
        return await self.store.insert({**document, **_request_fields(request)}, events)

    async def save(
        self,
        participant: Participant,
        version: int,
        events: Sequence[EventData],
        request: EnrolmentRequest | None = None,
    ) -> int | None:
        document = participants_storage.to_document(participant)
        del document["_id"]
        if request is not None:
            document.update(_request_fields(request))
        return await self.store.update(
            participant.participant_id, version, {"$set": document}, events
        )

    async def save_many(
        self, changes: Sequence[tuple[Participant, int, Sequence[EventData]]]
    ) -> bool:
        saved = [
            await self.save(participant, version, events)
            for participant, version, events in changes
        ]
        return all(version is not None for version in saved)

    async def of_employee(self, employee_id: str) -> list[tuple[Participant, int]]:
        return [_participant(d) for d in self.store.find(employee_id=employee_id)]

    async def of_employees(self, employee_ids: Sequence[str]) -> list[tuple[Participant, int]]:
        wanted = set(employee_ids)
        return [_participant(d) for d in self.store.find() if d["employee_id"] in wanted]

    async def of_program(self, program_id: str, limit: int = 0) -> list[tuple[Participant, int]]:
        found = self.store.find(program_id=program_id)
        return [_participant(d) for d in (found[:limit] if limit else found)]

    async def unassigned(self, program_id: str) -> list[tuple[Participant, int]]:
        found = self.store.find(program_id=program_id, status="enrolled", group_id=None)
        return [_participant(d) for d in found]

    async def many(self, participant_ids: Sequence[str]) -> list[tuple[Participant, int]]:
        wanted = set(participant_ids)
        return [_participant(d) for d in self.store.find() if d["_id"] in wanted]

    async def seat_holders(self, program_id: str, released: Sequence[str] = ()) -> int:
        holding = {s.value for s in HOLDS_SEAT}
        return sum(
            1
            for d in self.store.find(program_id=program_id)
            if d["status"] in holding or (d.get("seat_to_release") and d["_id"] not in released)
        )

    async def unfinished_withdrawals(self) -> list[tuple[Participant, int]]:
        return [
            _participant(d)
            for d in self.store.find()
            if d.get("seat_to_release") or d.get("leaving_group_id") is not None
        ]

    async def waitlist_position(self, program_id: str, number: int) -> int:
        waiting = self.store.find(program_id=program_id, status="waitlisted")
        return sum(1 for d in waiting if d["waitlist_number"] < number) + 1

    async def first_waitlisted(self, program_id: str) -> tuple[Participant, int] | None:
        waiting = self.store.find(program_id=program_id, status="waitlisted")
        if not waiting:
            return None
        return _participant(min(waiting, key=lambda d: d["waitlist_number"]))

    async def drop_retired(self) -> None:
        return None  # nothing retired was ever kept in memory


def _request_fields(request: EnrolmentRequest) -> Document:
    return {"idempotency_key": request.idempotency_key, "request_fingerprint": request.fingerprint}


# --- groups ---------------------------------------------------------------------------------------


def _group(document: Document) -> tuple[PeerGroup, int]:
    return groups_storage.from_document(document), int(document["version"])


class FakeGroupRepository:
    """``GroupRepository``: one document per peer group."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def insert(self, group: PeerGroup, events: Sequence[EventData]) -> int:
        return await self.store.insert(groups_storage.to_document(group), events)

    async def load(self, group_id: str) -> tuple[PeerGroup, int] | None:
        document = self.store.documents.get(group_id)
        return _group(copy.deepcopy(document)) if document else None

    async def save(self, group: PeerGroup, version: int, events: Sequence[EventData]) -> int | None:
        document = groups_storage.to_document(group)
        del document["_id"]
        return await self.store.update(group.group_id, version, {"$set": document}, events)

    def _listing(self, employee_id: str) -> list[Document]:
        return [
            d
            for d in self.store.find()
            if any(m["employee_id"] == employee_id for m in d["members"])
        ]

    async def naming(self, employee_id: str) -> list[tuple[PeerGroup, int]]:
        return [_group(d) for d in self._listing(employee_id)]

    async def active_of_employee(self, employee_id: str) -> list[tuple[PeerGroup, int]]:
        active = GroupStatus.ACTIVE.value
        return [_group(d) for d in self._listing(employee_id) if d["status"] == active]

    async def of_program(self, program_id: str) -> list[tuple[PeerGroup, int]]:
        return [_group(d) for d in self.store.find(program_id=program_id)]


# --- directory ------------------------------------------------------------------------------------

NOT_FAKED_EMPLOYEE_METHODS = {
    "insert_op",
    "update_op",
    "bulk",
    "import_hashes",
    "set_import_hash",
    "hr_insert_op",
    "hr_update_op",
    "hr_event_ids",
    "load_many",
}
"""The directory import's and the HR batch's bulk writes (pymongo operations): both are tested on
the real server (``tests/test_import.py``, ``tests/test_hr_batch.py``); no handler rule here goes
through them."""


def _employee(document: Document) -> tuple[Employee, int]:
    return employees_storage.from_document(document), int(document["version"])


class FakeEmployeeRepository:
    """``EmployeeRepository`` but for the import's bulk writes (``NOT_FAKED_EMPLOYEE_METHODS``)."""

    not_faked = NOT_FAKED_EMPLOYEE_METHODS

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def load(self, employee_id: str) -> tuple[Employee, int, list[str]] | None:
        document = copy.deepcopy(self.store.documents.get(employee_id))
        if document is None:
            return None
        employee, version = _employee(document)
        return employee, version, document.get("hr_event_ids", [])

    async def get(self, employee_id: str) -> Employee | None:
        loaded = await self.load(employee_id)
        return loaded[0] if loaded else None

    async def many(self, employee_ids: Iterable[str]) -> dict[str, tuple[Employee, int]]:
        wanted = set(employee_ids)
        return {d["_id"]: _employee(d) for d in self.store.find() if d["_id"] in wanted}

    async def insert(
        self, employee: Employee, events: Sequence[EventData], hr_event_id: str | None
    ) -> int:
        document = employees_storage.to_document(employee)
        document["hr_event_ids"] = [hr_event_id] if hr_event_id else []
        return await self.store.insert(document, events)

    async def update(
        self,
        employee: Employee,
        version: int,
        events: Sequence[EventData],
        hr_event_id: str | None,
    ) -> int | None:
        settable = employees_storage.to_document(employee)
        del settable["_id"]
        changes: dict[str, Any] = {"$set": {**settable, "import_hash": None}}
        if hr_event_id:
            changes["$addToSet"] = {"hr_event_ids": hr_event_id}
        return await self.store.update(employee.employee_id, version, changes, events)

    async def versions(self, employee_ids: Iterable[str]) -> dict[str, int]:
        return {e: v for e, (_, v) in (await self.many(employee_ids)).items()}

    async def active_ids(self) -> AsyncIterator[str]:
        for document in self.store.find():
            if document["employment_status"] in ("active", "on_leave") and not document["erased"]:
                yield document["_id"]

    async def cascades_due(self) -> list[tuple[str, WithdrawReason]]:
        return [
            (d["_id"], WithdrawReason(d["cascade_due"]))
            for d in self.store.find()
            if d.get("cascade_due") is not None
        ]

    async def cascade_done(self, employee_id: str, reason: WithdrawReason) -> None:
        document = self.store.documents.get(employee_id)
        if document is not None and document.get("cascade_due") == reason.value:
            document["cascade_due"] = None

    async def cascades_done(self, employee_ids: Sequence[str], reason: WithdrawReason) -> None:
        for employee_id in employee_ids:
            await self.cascade_done(employee_id, reason)

    async def page(self, after: str | None, limit: int) -> list[tuple[Employee, int]]:
        found = [d for d in self.store.find() if not after or d["_id"] > after]
        return [_employee(d) for d in found[:limit]]


# --- match proposals ------------------------------------------------------------------------------


class FakeProposalRepository:
    """``ProposalRepository``: previews, not versioned (written by their one admin)."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}

    async def insert(self, proposal: Proposal) -> None:
        document = proposals_storage.to_document(proposal)
        if document["_id"] in self.documents:
            raise DuplicateKeyError(f"duplicate key: {document['_id']}", code=11000)
        self.documents[document["_id"]] = document

    async def load(self, proposal_id: str) -> Proposal | None:
        document = self.documents.get(proposal_id)
        return proposals_storage.from_document(copy.deepcopy(document)) if document else None

    async def naming(self, employee_id: str) -> list[Proposal]:
        return [
            proposals_storage.from_document(copy.deepcopy(d))
            for d in self.documents.values()
            if any(m["employee_id"] == employee_id for g in d["groups"] for m in g["members"])
            or any(u["employee_id"] == employee_id for u in d["unmatched"])
        ]

    async def save_groups(self, proposal: Proposal) -> None:
        if proposal.proposal_id in self.documents:
            groups = [g.model_dump(mode="python") for g in proposal.groups]
            self.documents[proposal.proposal_id]["groups"] = groups

    async def save_publication(self, proposal: Proposal) -> None:
        if proposal.proposal_id in self.documents:
            self.documents[proposal.proposal_id].update(
                status=proposal.status, published_group_ids=list(proposal.published_group_ids)
            )


# --- the handlers over the fakes ------------------------------------------------------------------


@dataclass
class FakeRepositories:
    programs: FakeProgramRepository
    participants: FakeParticipantRepository
    groups: FakeGroupRepository
    employees: FakeEmployeeRepository
    proposals: FakeProposalRepository


def fake_repositories_over_dicts() -> FakeRepositories:
    return FakeRepositories(
        programs=FakeProgramRepository(FakeStore()),
        participants=FakeParticipantRepository(FakeStore()),
        groups=FakeGroupRepository(FakeStore()),
        employees=FakeEmployeeRepository(FakeStore()),
        proposals=FakeProposalRepository(),
    )


@pytest.fixture
def fake_repositories() -> FakeRepositories:
    return fake_repositories_over_dicts()


ALWAYS = 1_000
"""``FakeStore.rivals`` for a writer that loses every race."""


@dataclass
class Fakes:
    """The enrollment handlers wired as ``app.py``'s ``bootstrap`` wires them, over the fakes."""

    clock: MovableClock
    repositories: FakeRepositories
    directory: DirectoryService
    programs: ProgramService
    participants: ParticipantService
    matching: MatchingService
    groups: GroupService
    shredded: list[str]
    """Employees whose key was shredded (the first of ``on_erased``, as in ``bootstrap``)."""
    hr_events: int = 0

    @property
    def program_store(self) -> FakeStore:
        return self.repositories.programs.store

    @property
    def participant_store(self) -> FakeStore:
        return self.repositories.participants.store

    @property
    def group_store(self) -> FakeStore:
        return self.repositories.groups.store

    @property
    def employee_store(self) -> FakeStore:
        return self.repositories.employees.store

    async def hire(self, employee_id: str, **profile: Any) -> None:
        """HR hired them, an hour before now (active, with a name, an email and ``profile``)."""
        await self.hr_change(
            employee_id,
            EmploymentStatus.ACTIVE,
            display_name=employee_id.upper(),
            email=f"{employee_id}@example.com",
            **profile,
            at=self.clock() - timedelta(hours=1),
        )

    async def hr_change(
        self,
        employee_id: str,
        status: EmploymentStatus | None = None,
        *,
        at: datetime | None = None,
        **profile: Any,
    ) -> None:
        """HR changed the employee (effective now unless ``at``), as a webhook stores it: its
        event id (``hr-1``, ``hr-2``... in order) remembered with the change."""
        self.hr_events += 1
        change = Change(f"hr-{self.hr_events}", at or self.clock(), profile, status)
        await self.directory.change(employee_id, lambda _: change, dedupe_id=change.change_id)

    async def open_program(self, program_id: str, **settings: Any) -> None:
        """A roundtable program (3 to 6 a group unless said otherwise), created and opened."""
        await self.programs.create(program_id, ProgramSettings(name=program_id, **settings))
        await self.programs.transition(program_id, "open", None)

    async def enrol(
        self, program_id: str, employee_id: str, *, key: str | None = None, **answers: Any
    ) -> tuple[Participant, int, bool]:
        return await self.participants.enrol(program_id, employee_id, Answers(**answers), key)

    def participant(self, participant_id: str) -> Participant:
        """The enrolment as stored now."""
        stored = copy.deepcopy(self.participant_store.documents[participant_id])
        return participants_storage.from_document(stored)

    def status_of(self, participant_id: str) -> ParticipantStatus:
        return self.participant(participant_id).status

    async def seats_held(self, program_id: str) -> int:
        seats = await self.repositories.programs.seats(program_id)
        assert seats is not None
        return seats.held


@pytest.fixture
def fakes() -> Fakes:
    clock = MovableClock()
    repositories = fake_repositories_over_dicts()
    programs, participants = repositories.programs, repositories.participants
    employees, groups = repositories.employees, repositories.groups
    shredded: list[str] = []

    async def shred(employee_id: str) -> None:
        shredded.append(employee_id)

    matching = MatchingService(
        programs,
        participants,
        employees,
        groups,
        repositories.proposals,
        clock=clock,
    )
    group_service = GroupService(groups, participants, matching, clock=clock)
    return Fakes(
        clock=clock,
        repositories=repositories,
        directory=DirectoryService(employees, clock=clock),
        programs=ProgramService(programs, clock=clock),
        participants=ParticipantService(
            participants,
            programs,
            employees,
            on_left_group=group_service.on_participant_left,
            on_erased=[shred, matching.forget_in_previews, group_service.forget_member_name],
            clock=clock,
        ),
        matching=matching,
        groups=group_service,
        shredded=shredded,
    )
