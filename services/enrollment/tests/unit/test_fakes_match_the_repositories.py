"""The fakes stand in for the MongoDB repositories only while they behave the same: the same
methods, and the same answers and stored documents when one scenario runs against each (the real
ones on the local MongoDB-wire server, over TCP). A fake that drifts fails here, not in
production."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from enrollment.directory.domain import Employee
from enrollment.directory.repository import EMPLOYEES, EmployeeRepository
from enrollment.groups.domain import PeerGroup
from enrollment.groups.repository import GROUPS, GroupRepository
from enrollment.matching.proposal import Proposal, ProposedGroup, ProposedMember, Unplaced
from enrollment.matching.repository import PROPOSALS, ProposalRepository
from enrollment.participants.domain import (
    Answers,
    EnrolmentRequest,
    Participant,
    ParticipantStatus,
)
from enrollment.participants.repository import PARTICIPANTS, ParticipantRepository
from enrollment.programs.domain import Program, ProgramSettings, SeatClaim
from enrollment.programs.repository import PROGRAMS, ProgramRepository
from enrollment.surveys.repository import ResponseRepository, SurveyRepository
from roundtable_shared.events.catalogue.enrollment import (
    EmploymentStatus,
    GroupMember,
    ParticipantEnrolled,
    PauseReason,
    ProgramStatus,
    WithdrawReason,
)
from roundtable_shared.messaging.outbox import PENDING
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Database, Document

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
NOT_FAKED_REPOSITORIES: dict[type, str] = {
    SurveyRepository: "the survey handlers are tested on the real servers only "
    "(tests/test_surveys.py; their pure rules in unit/test_survey_rules.py): no fake to keep",
    ResponseRepository: "as SurveyRepository",
}
"""Repositories with no fake, and why: a fake written for one later belongs in the pairs below."""
OUTBOX_FIELDS = {"outbox", PENDING, "outbox_rev"}
"""What only the relay reads (the fakes keep the events in ``FakeStore.events`` instead)."""


def _methods(kind: type) -> dict[str, list[str]]:
    """Public methods and the names of their parameters."""
    return {
        name: list(inspect.signature(member).parameters)
        for name, member in inspect.getmembers(kind, inspect.isfunction)
        if not name.startswith("_")
    }


def test_each_fake_has_the_methods_of_its_repository(fake_repositories: Any) -> None:
    r = fake_repositories
    pairs = [
        (r.programs, ProgramRepository, set()),
        (r.participants, ParticipantRepository, set()),
        (r.groups, GroupRepository, set()),
        (r.employees, EmployeeRepository, _not_faked(r.employees)),
        (r.proposals, ProposalRepository, set()),
    ]
    for fake, real, left_out in pairs:
        wanted = {k: v for k, v in _methods(real).items() if k not in left_out}
        assert _methods(type(fake)) == wanted, f"{type(fake).__name__} vs {real.__name__}"
    assert not {real for _, real, _ in pairs} & set(NOT_FAKED_REPOSITORIES)


def _not_faked(fake: Any) -> set[str]:
    """The import's bulk writes, which the fake names (``NOT_FAKED_EMPLOYEE_METHODS``)."""
    found: set[str] = fake.not_faked
    assert found <= set(_methods(EmployeeRepository))  # no stale name in the list
    return found


@dataclass
class Repositories:
    programs: Any
    participants: Any
    groups: Any
    employees: Any
    proposals: Any


def real_repositories(db: Database) -> Repositories:
    def store(name: str) -> AggregateStore:
        return AggregateStore(db[name], source="enrollment")

    return Repositories(
        programs=ProgramRepository(store(PROGRAMS)),
        participants=ParticipantRepository(store(PARTICIPANTS)),
        groups=GroupRepository(store(GROUPS)),
        employees=EmployeeRepository(store(EMPLOYEES)),
        proposals=ProposalRepository(db),
    )


async def real_documents(db: Database) -> dict[str, list[Document]]:
    found = {}
    for name in (PROGRAMS, PARTICIPANTS, GROUPS, EMPLOYEES, PROPOSALS):
        documents = await db[name].find({}).sort("_id", 1).to_list()
        found[name] = [{k: v for k, v in d.items() if k not in OUTBOX_FIELDS} for d in documents]
    return found


def fake_documents(fakes: Any) -> dict[str, list[Document]]:
    def ordered(documents: dict[str, Document]) -> list[Document]:
        return [documents[k] for k in sorted(documents)]

    return {
        PROGRAMS: ordered(fakes.programs.store.documents),
        PARTICIPANTS: ordered(fakes.participants.store.documents),
        GROUPS: ordered(fakes.groups.store.documents),
        EMPLOYEES: ordered(fakes.employees.store.documents),
        PROPOSALS: ordered(fakes.proposals.documents),
    }


class Transcript:
    """What each step answered, or the kind of exception it raised."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, Any]] = []

    async def __call__(self, step: str, answer: Awaitable[Any]) -> Any:
        try:
            value = await answer
        except Exception as exc:
            value = f"raised {type(exc).__name__}"
        self.lines.append((step, value))
        return value


def participant(
    pid: str,
    employee_id: str,
    status: ParticipantStatus,
    *,
    number: int | None = None,
    group_id: str | None = None,
) -> Participant:
    return Participant(
        participant_id=pid,
        program_id="p-1",
        employee_id=employee_id,
        status=status,
        answers=Answers(goals=["delegate"], consent_to_reporting=True),
        waitlist_number=number,
        group_id=group_id,
        enrolled_at=T0 if status is not ParticipantStatus.WAITLISTED else None,
        updated_at=T0,
    )


async def programs_scenario(r: Repositories, say: Transcript) -> None:
    closes = T0 - timedelta(days=1)
    settings = ProgramSettings(name="Leads", capacity=2, enrolment_closes_at=closes)
    program = Program(program_id="p-1", settings=settings, created_at=T0)
    await say("insert", r.programs.insert(program, [], "fp-1"))
    await say("insert again", r.programs.insert(program, [], "fp-1"))
    await say("load", r.programs.load("p-1"))
    await say("load missing", r.programs.load("p-none"))
    program.status = ProgramStatus.OPEN
    await say("save stale", r.programs.save(program, 7, []))
    await say("save", r.programs.save(program, 1, []))
    await say("page open", r.programs.page(None, 10, ["open"]))
    await say("page after", r.programs.page("p-1", 10))
    await say("closed unmatched", r.programs.closed_unmatched(T0))
    await say("claim", r.programs.claim_auto_match("p-1", T0))
    await say("claim again", r.programs.claim_auto_match("p-1", T0))
    await say("release", r.programs.release_auto_match("p-1"))
    await say("claim after release", r.programs.claim_auto_match("p-1", T0))
    claims = [SeatClaim(f"par-{n}", T0 + timedelta(seconds=n)) for n in range(3)]
    for n, claim in enumerate(claims):
        await say(f"take seat {n}", r.programs.take_seat("p-1", 2, claim))
    await say("seats", r.programs.seats("p-1"))
    await say("settle", r.programs.settle("p-1", claims[0]))
    await say("give back", r.programs.give_back("p-1", claims[1]))
    await say("give back again", r.programs.give_back("p-1", claims[1]))
    await say("seats after claims", r.programs.seats("p-1"))
    await say("release", r.programs.release_seat("p-1", "par-0"))
    await say("release again", r.programs.release_seat("p-1", "par-0"))
    seen = await say("seats after release", r.programs.seats("p-1"))
    await say("released", r.programs.released("p-1", "par-0"))
    await say("recount stale", r.programs.recount("p-1", seen, 5))
    fresh = await say("seats before recount", r.programs.seats("p-1"))
    await say("recount", r.programs.recount("p-1", fresh, 1))
    await say("seats after recount", r.programs.seats("p-1"))
    await say("release many", r.programs.release_seats("p-1", ["par-4", "par-5"]))
    await say("seats after releases", r.programs.seats("p-1"))
    await say("release many again", r.programs.release_seats("p-1", ["par-5", "par-6"]))
    await say("seats after some again", r.programs.seats("p-1"))
    await say("release none", r.programs.release_seats("p-1", []))
    await say("released many", r.programs.released_many("p-1", ["par-4", "par-6", "par-9"]))
    await say("seats after released many", r.programs.seats("p-1"))
    await say("release many of none", r.programs.release_seats("p-none", ["par-4"]))
    await say("waitlist number", r.programs.next_waitlist_number("p-1"))
    await say("waitlist number again", r.programs.next_waitlist_number("p-1"))
    await say("waitlist number of none", r.programs.next_waitlist_number("p-none"))
    await say("seats of none", r.programs.seats("p-none"))


async def participants_scenario(r: Repositories, say: Transcript) -> None:
    enrolled = participant("par-a", "e-a", ParticipantStatus.ENROLLED)
    first = participant("par-b", "e-b", ParticipantStatus.WAITLISTED, number=1)
    second = participant("par-c", "e-c", ParticipantStatus.WAITLISTED, number=2)
    grouped = participant("par-d", "e-a", ParticipantStatus.ENROLLED, group_id="g-1")
    grouped = grouped.model_copy(update={"program_id": "p-2"})
    event = ParticipantEnrolled(**enrolled.consent_fields(), enrolled_at=T0)
    request = EnrolmentRequest("k-1", "fp-a")
    await say("insert", r.participants.insert(enrolled, [event], request))
    for other in (second, first, grouped):  # out of order: the reads sort
        await say("insert other", r.participants.insert(other, [], EnrolmentRequest()))
    await say("insert again", r.participants.insert(enrolled, [], request))
    await say("load", r.participants.load("par-a"))
    await say("load missing", r.participants.load("par-none"))
    enrolled.status = ParticipantStatus.PAUSED
    enrolled.paused_reason = PauseReason.ON_LEAVE
    enrolled.resume_expected_on = date(2026, 10, 1)
    await say("save stale", r.participants.save(enrolled, 9, []))
    await say("save", r.participants.save(enrolled, 1, [], EnrolmentRequest("k-2", "fp-b")))
    await say("load saved", r.participants.load("par-a"))
    await say("of employee", r.participants.of_employee("e-a"))
    await say("of program", r.participants.of_program("p-1"))
    await say("of program, 2", r.participants.of_program("p-1", 2))
    await say("unassigned", r.participants.unassigned("p-2"))
    await say("many", r.participants.many(["par-c", "par-none", "par-a"]))
    await say("seat holders", r.participants.seat_holders("p-1"))
    await say("position", r.participants.waitlist_position("p-1", 2))
    await say("first waitlisted", r.participants.first_waitlisted("p-1"))
    await say("first waitlisted of none", r.participants.first_waitlisted("p-2"))
    grouped.status = ParticipantStatus.WITHDRAWN
    grouped.withdrawn_reason = WithdrawReason.SELF
    grouped.leaving_group_id, grouped.group_id, grouped.seat_to_release = "g-1", None, True
    await say("withdraw", r.participants.save(grouped, 1, []))
    await say("unfinished", r.participants.unfinished_withdrawals())
    await say("holders, unreleased", r.participants.seat_holders("p-2"))
    await say("holders, released", r.participants.seat_holders("p-2", ["par-d"]))
    await say("of employees", r.participants.of_employees(["e-c", "e-a", "e-none", "e-a"]))
    await say("of no employees", r.participants.of_employees([]))
    moved_up = first.model_copy(update={"waitlist_number": 0})
    moved_back = second.model_copy(update={"waitlist_number": 5})
    enrolled_event = ParticipantEnrolled(**moved_up.consent_fields(), enrolled_at=T0)
    changes = [(moved_up, 1, [enrolled_event, enrolled_event]), (moved_back, 7, [])]
    await say("save many, one stale", r.participants.save_many(changes))
    await say("save many", r.participants.save_many([(moved_back, 1, [])]))
    await say("save none", r.participants.save_many([]))
    await say("of employees after", r.participants.of_employees(["e-b", "e-c"]))


async def groups_scenario(r: Repositories, say: Transcript) -> None:
    members = [
        GroupMember(employee_id=e, participant_id=f"par-{e}", display_name=e.upper())
        for e in ("e-a", "e-b", "e-c")
    ]
    group = PeerGroup(
        group_id="g-1",
        program_id="p-1",
        name="Roundtable 1",
        members=members,
        explanation={"score": 1.5},
        formed_at=T0,
    )
    await say("insert", r.groups.insert(group, []))
    await say("insert again", r.groups.insert(group, []))
    other = group.model_copy(update={"group_id": "g-0", "members": members[:1]})
    await say("insert other", r.groups.insert(other, []))
    group.members = members[1:]
    group.refill_candidates = ["par-x"]
    await say("save stale", r.groups.save(group, 4, []))
    await say("save", r.groups.save(group, 1, []))
    await say("load", r.groups.load("g-1"))
    await say("load missing", r.groups.load("g-none"))
    await say("naming", r.groups.naming("e-b"))
    await say("naming the one left", r.groups.naming("e-a"))
    await say("active of employee", r.groups.active_of_employee("e-b"))
    await say("of program", r.groups.of_program("p-1"))


async def employees_scenario(r: Repositories, say: Transcript) -> None:
    employee = Employee(
        "e-a",
        profile={"display_name": "Ada", "email": "Ada@Example.com", "department": "Sales"},
        employment_status=EmploymentStatus.ACTIVE,
        field_stamps={"display_name": "s1"},
        updated_at=T0,
    )
    await say("insert", r.employees.insert(employee, [], "hr-1"))
    await say("insert again", r.employees.insert(employee, [], "hr-1"))
    other = Employee("e-b", employment_status=EmploymentStatus.TERMINATED)
    other.cascade_due = WithdrawReason.TERMINATED
    await say("insert other", r.employees.insert(other, [], None))
    await say("load", r.employees.load("e-a"))
    await say("load missing", r.employees.load("e-none"))
    employee.employment_status = EmploymentStatus.ON_LEAVE
    await say("update stale", r.employees.update(employee, 3, [], "hr-2"))
    await say("update", r.employees.update(employee, 1, [], "hr-2"))
    await say("update, same event", r.employees.update(employee, 2, [], "hr-2"))
    await say("get", r.employees.get("e-a"))
    await say("many", r.employees.many(["e-b", "e-none", "e-a"]))
    await say("versions", r.employees.versions(["e-a", "e-b"]))
    await say("active", _listed(r.employees.active_ids))
    await say("cascades due", r.employees.cascades_due())
    await say("done, other reason", r.employees.cascade_done("e-b", WithdrawReason.ERASED))
    await say("due still", r.employees.cascades_due())
    await say("done", r.employees.cascade_done("e-b", WithdrawReason.TERMINATED))
    await say("due after", r.employees.cascades_due())
    for left in ("e-c", "e-d"):
        gone = Employee(left, employment_status=EmploymentStatus.TERMINATED)
        gone.cascade_due = WithdrawReason.TERMINATED
        await say("insert terminated", r.employees.insert(gone, [], None))
    await say("all, other reason", r.employees.cascades_done(["e-c"], WithdrawReason.ERASED))
    await say(
        "all done", r.employees.cascades_done(["e-a", "e-c", "e-d"], WithdrawReason.TERMINATED)
    )
    await say("due after all", r.employees.cascades_due())
    await say("page", r.employees.page(None, 1))
    await say("page after", r.employees.page("e-a", 5))


async def _listed(ids: Callable[[], Any]) -> list[str]:
    return [i async for i in ids()]


async def proposals_scenario(r: Repositories, say: Transcript) -> None:
    proposal = Proposal(
        proposal_id="prop-1",
        program_id="p-1",
        created_at=T0,
        groups=[
            ProposedGroup(
                members=[
                    ProposedMember(participant_id="par-a", employee_id="e-a", display_name="Ada"),
                    ProposedMember(participant_id="par-b", employee_id="e-b", display_name="Bo"),
                ],
                explanation={"score": 2.0},
            )
        ],
        unmatched=[Unplaced(participant_id="par-c", employee_id="e-c", reason="no overlap")],
    )
    await say("insert", r.proposals.insert(proposal))
    await say("insert again", r.proposals.insert(proposal))
    await say("load", r.proposals.load("prop-1"))
    await say("load missing", r.proposals.load("prop-none"))
    await say("naming a member", r.proposals.naming("e-b"))
    await say("naming the unmatched", r.proposals.naming("e-c"))
    await say("naming nobody", r.proposals.naming("e-z"))
    proposal.forget_name("e-a", "Erased employee")
    await say("save groups", r.proposals.save_groups(proposal))
    proposal.published(["g-1"])
    await say("save publication", r.proposals.save_publication(proposal))
    await say("load published", r.proposals.load("prop-1"))


SCENARIOS = [
    programs_scenario,
    participants_scenario,
    groups_scenario,
    employees_scenario,
    proposals_scenario,
]


async def test_the_fakes_answer_and_store_as_the_repositories_do(
    mongo_db: Database, fake_repositories: Any
) -> None:
    real, fake = Transcript(), Transcript()
    for scenario in SCENARIOS:
        await scenario(real_repositories(mongo_db), real)
        await scenario(fake_repositories, fake)

    for (step, on_server), (_, in_memory) in zip(real.lines, fake.lines, strict=True):
        assert in_memory == on_server, step
    assert fake_documents(fake_repositories) == await real_documents(mongo_db)
    # The semantics the handlers rely on, held by both: a stale conditional write answers None,
    # a second insert of an aggregate raises AlreadyExists (a preview: the driver's duplicate).
    stale = [answer for step, answer in real.lines if step in ("save stale", "update stale")]
    assert stale == [None, None, None, None]
    duplicates = [answer for step, answer in real.lines if step == "insert again"]
    assert duplicates == [*["raised AlreadyExists"] * 4, "raised DuplicateKeyError"]
