"""Matching handlers: build candidates from enrolments and the directory, preview, publish."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from dataclasses import asdict
from datetime import date
from typing import Any

import structlog

from enrollment.directory.domain import ERASED_NAME
from enrollment.directory.repository import EmployeeRepository
from enrollment.groups import domain as groups
from enrollment.groups.domain import PeerGroup
from enrollment.groups.repository import GroupRepository
from enrollment.matching import domain
from enrollment.matching.domain import Answer, Candidate, QuestionRule, Rules, Weights
from enrollment.matching.proposal import Proposal, ProposedGroup, ProposedMember, Unplaced
from enrollment.matching.repository import ProposalRepository
from enrollment.participants.domain import Participant, ParticipantStatus
from enrollment.participants.repository import ParticipantRepository
from enrollment.participants.service import change_participant
from enrollment.programs.domain import Leftover, Program, level_rank
from enrollment.programs.repository import ProgramRepository
from enrollment.questions.domain import AnswerValue, MultipleChoice, Scale, SingleChoice
from roundtable_shared.clock import Clock, utc_now
from roundtable_shared.events.catalogue.enrollment import (
    GroupMember,
    ProgramFormat,
    ProgramStatus,
)
from roundtable_shared.events.envelope import EventData
from roundtable_shared.http.problems import Conflict, NotFound
from roundtable_shared.storage.aggregates import AlreadyExists

log = structlog.get_logger(__name__)


def rules_of(program: Program) -> Rules:
    s, m = program.settings, program.settings.matching
    return Rules(
        min_size=s.group_size_min,
        max_size=s.group_size_max,
        leftover_joins=m.leftover is Leftover.TRIAD,
        separate_manager_and_report=m.separate_manager_and_report,
        separate_skip_level=m.separate_skip_level,
        separate_same_manager=m.separate_same_manager,
        min_overlap_slots=int(m.min_overlap_hours * 2),
        weights=Weights(**m.weights.model_dump()),
        questions=question_rules(program),
    )


def question_rules(program: Program) -> tuple[QuestionRule, ...]:
    """The program's rules over its questions, with what matching needs of each question."""
    asked = {q.id: q for q in program.settings.questions}
    found: list[QuestionRule] = []
    for rule in program.settings.matching.questions:
        question = asked.get(rule.question_id)
        if not isinstance(question, SingleChoice | MultipleChoice | Scale):
            continue  # the settings' validation keeps this from happening
        found.append(
            QuestionRule(
                question_id=question.id,
                label=question.label,
                kind=question.type,
                match=rule.match.value,
                weight=rule.weight,
                span=question.max - question.min if isinstance(question, Scale) else 1,
            )
        )
    return tuple(found)


def matched_answers(
    rules: tuple[QuestionRule, ...], given: dict[str, AnswerValue]
) -> dict[str, Answer]:
    """Only the answers a rule reads reach matching (never a short text)."""
    kept: dict[str, Answer] = {}
    for rule in rules:
        value = given.get(rule.question_id)
        if isinstance(value, list):
            kept[rule.question_id] = frozenset(value)
        elif value is not None:
            kept[rule.question_id] = value
    return kept


class MatchingService:
    def __init__(
        self,
        programs: ProgramRepository,
        participants: ParticipantRepository,
        employees: EmployeeRepository,
        groups: GroupRepository,
        proposals: ProposalRepository,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.clock = clock
        self.programs = programs
        self.participants = participants
        self.employees = employees
        self.groups = groups
        self.proposals = proposals

    async def program(self, program_id: str) -> Program:
        loaded = await self.programs.load(program_id)
        if loaded is None:
            raise NotFound(f"no program {program_id}")
        return loaded.program

    async def candidates(self, program: Program, people: list[Participant]) -> list[Candidate]:
        employees = await self.employees.many(p.employee_id for p in people)
        manager_ids = {
            e.profile.get("manager_id")
            for e, _ in employees.values()
            if e.profile.get("manager_id")
        }
        managers = await self.employees.many(str(m) for m in manager_ids)
        on = program.settings.starts_on or self.clock().date()
        rules = program.settings.matching
        by_question = question_rules(program)
        found: list[Candidate] = []
        for person in people:
            employee = employees.get(person.employee_id, (None, 0))[0]
            profile = employee.profile if employee else {}
            manager = profile.get("manager_id")
            skip = managers[manager][0].profile.get("manager_id") if manager in managers else None
            hours = person.answers.availability
            found.append(
                Candidate(
                    participant_id=person.participant_id,
                    employee_id=person.employee_id,
                    display_name=profile.get("display_name") or person.employee_id,
                    manager_id=manager,
                    skip_manager_id=skip,
                    level=level_rank(profile.get("level")),
                    level_label=profile.get("level"),
                    department=profile.get("department"),
                    location=profile.get("location"),
                    interests=frozenset(
                        t.strip().lower() for t in [*person.answers.goals, *person.answers.topics]
                    ),
                    hours=domain.hours_mask(
                        person.answers.time_zone or profile.get("time_zone"),
                        hours.working_hours_start if hours else rules.working_hours_start,
                        hours.working_hours_end if hours else rules.working_hours_end,
                        on if isinstance(on, date) else self.clock().date(),
                    ),
                    meeting_preference=person.answers.meeting_preference.value,
                    answers=matched_answers(by_question, person.answers.question_answers),
                )
            )
        return found

    async def unassigned(self, program_id: str) -> list[tuple[Participant, int]]:
        return await self.participants.unassigned(program_id)

    async def preview(self, program_id: str) -> Proposal:
        program = await self.program(program_id)
        if program.status not in (ProgramStatus.OPEN, ProgramStatus.RUNNING):
            raise Conflict(f"a {program.status.value} program is not matched")
        people = await self.unassigned(program_id)
        result = domain.match(
            await self.candidates(program, [p for p, _ in people]), rules_of(program)
        )
        proposal = Proposal(
            proposal_id=f"prop_{uuid.uuid4().hex[:16]}",
            program_id=program_id,
            created_at=self.clock(),
            groups=[
                ProposedGroup(
                    members=[
                        ProposedMember(
                            participant_id=m.participant_id,
                            employee_id=m.employee_id,
                            display_name=m.display_name,
                        )
                        for m in group.members
                    ],
                    explanation=_explanation(group.explanation),
                )
                for group in result.groups
            ],
            unmatched=[
                Unplaced(participant_id=c.participant_id, employee_id=c.employee_id, reason=reason)
                for c, reason in result.unmatched
            ],
        )
        await self.proposals.insert(proposal)
        return proposal

    async def forget_in_previews(self, employee_id: str) -> None:
        """An erased employee stays in old previews only as the erased placeholder name, so the
        counts of those previews stay right. Repeating it writes nothing."""
        for proposal in await self.proposals.naming(employee_id):
            if proposal.forget_name(employee_id, ERASED_NAME):
                await self.proposals.save_groups(proposal)

    async def match_closed_programs(self) -> int:
        now = self.clock()
        formed = 0
        for program_id in await self.programs.closed_unmatched(now):
            if not await self.programs.claim_auto_match(program_id, now):
                continue  # another replica took it
            try:
                proposal = await self.preview(program_id)
                await self.publish(program_id, proposal.proposal_id)
            except Exception:
                await self.programs.release_auto_match(program_id)
                raise
            formed += 1
        return formed

    async def get_proposal(self, program_id: str, proposal_id: str) -> Proposal:
        proposal = await self.proposals.load(proposal_id)
        if proposal is None or proposal.program_id != program_id:
            raise NotFound(f"no proposal {proposal_id} for program {program_id}")
        return proposal

    async def publish(self, program_id: str, proposal_id: str) -> Proposal:
        """Form the previewed groups. Safe to retry: ids derive from the proposal."""
        program = await self.program(program_id)
        proposal = await self.get_proposal(program_id, proposal_id)
        if proposal.status == "published":
            return proposal
        wanted = proposal.participant_ids()
        current = {
            p.participant_id: (p, v) for p, v in await self.participants.many(sorted(wanted))
        }
        group_ids = [_group_id(proposal_id, i) for i in range(len(proposal.groups))]
        for pid in wanted:
            found = current.get(pid)
            ours = found is not None and found[0].group_id in group_ids
            free = found is not None and found[0].group_id is None
            if (
                found is None
                or found[0].status is not ParticipantStatus.ENROLLED
                or not (ours or free)
            ):
                raise Conflict(
                    "enrolments changed since this preview; preview again", participant_id=pid
                )
        existing = len(await self.groups.of_program(program_id))
        label = "Pair" if program.settings.format is ProgramFormat.PAIRS else "Roundtable"
        now = self.clock()
        for index, (group_id, planned) in enumerate(zip(group_ids, proposal.groups, strict=True)):
            group = PeerGroup(
                group_id=group_id,
                program_id=program_id,
                name=f"{label} {existing + index + 1}",
                members=[GroupMember(**m.model_dump()) for m in planned.members],
                explanation=planned.explanation,
                formed_at=now,
            )
            with contextlib.suppress(AlreadyExists):  # a retried publish: formed before
                await self.groups.insert(group, [groups.formed(group)])
            for member in group.members:
                await self._place(member.participant_id, group_id, current[member.participant_id])
        proposal.published(group_ids)
        await self.proposals.save_publication(proposal)
        return proposal

    async def _place(
        self, participant_id: str, group_id: str, loaded: tuple[Participant, int]
    ) -> None:
        """The enrolment names its new group; on a fresh read when another write came first
        (``StillStale`` when it keeps coming: the proposal is not marked published and the
        admin's retry finishes it), so no member of a published group is left unplaced."""

        def place(participant: Participant, _: int) -> list[EventData] | None:
            if participant.group_id == group_id:
                return None
            if participant.status is not ParticipantStatus.ENROLLED or participant.group_id:
                raise Conflict(
                    "enrolments changed since this preview; preview again",
                    participant_id=participant_id,
                )
            participant.group_id = group_id
            return []

        await change_participant(self.participants, participant_id, place, loaded=loaded)


async def match_when_enrolment_closes(service: MatchingService, poll_seconds: float) -> None:
    """Forms the groups of every open program whose enrolment window has closed, once.

    A program is claimed with a conditional update first, so several replicas never match it
    twice; a failed attempt is logged and the claim released for the next round.
    """
    while True:
        try:
            await service.match_closed_programs()
        except Exception:
            log.exception("automatic matching failed; retrying")
        await asyncio.sleep(poll_seconds)


def _group_id(proposal_id: str, index: int) -> str:
    return "grp_" + hashlib.sha256(f"{proposal_id}:{index}".encode()).hexdigest()[:20]


def _explanation(explanation: domain.Explanation) -> dict[str, Any]:
    return {
        "score": explanation.score,
        "overlap_hours": explanation.overlap_hours,
        "components": [asdict(c) for c in explanation.components],
    }
