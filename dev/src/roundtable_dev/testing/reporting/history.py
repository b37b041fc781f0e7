"""Event histories as the producers would publish them: for the reporting tests and benchmarks."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from roundtable_shared.events.catalogue import enrollment as en
from roundtable_shared.events.catalogue import reminders as rm
from roundtable_shared.events.catalogue import sessions as se
from roundtable_shared.events.envelope import Envelope, EventData, new_envelope, service_of

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
"""The instant the known history is told up to: a fixed Wednesday noon, so the history's last
week is the week of NOW whatever the day the tests run (the service under test is given a clock
fixed at NOW)."""
BASE = NOW - timedelta(days=35)
SPONSOR = "e-sponsor"
PROGRAM = "prg-1"
OTHER_PROGRAM = "prg-2"


def at(days: float) -> datetime:
    return BASE + timedelta(days=days)


class Versions:
    """Aggregate versions as a producer would number them."""

    def __init__(self) -> None:
        self._v: dict[str, int] = {}

    def next(self, aggregate: str) -> int:
        self._v[aggregate] = self._v.get(aggregate, 0) + 1
        return self._v[aggregate]


@dataclass
class History:
    events: list[Envelope] = field(default_factory=list)
    versions: Versions = field(default_factory=Versions)

    def add(self, data: EventData, subject: str, when: datetime | None = None) -> Envelope:
        envelope = new_envelope(
            data,
            subject=subject,
            aggregate_version=self.versions.next(subject),
            source=f"/roundtable/{service_of(data.event_type)}",
            time=when,
        )
        self.events.append(envelope)
        return envelope

    # --- builders ---------------------------------------------------------------------------

    def program(self, program_id: str, sponsors: list[str], cadence: str = "weekly") -> None:
        self.add(
            en.ProgramCreated(
                program_id=program_id,
                name=f"Program {program_id}",
                status=en.ProgramStatus.DRAFT,
                format=en.ProgramFormat.ROUNDTABLE,
                group_size_min=3,
                group_size_max=6,
                cadence=en.Cadence(cadence),
                session_duration_minutes=60,
                time_zone="Europe/Berlin",
                sponsor_ids=sponsors,
                reminders=en.ReminderSettings(
                    before_session_minutes=[60], before_action_due_hours=[24]
                ),
                created_at=at(0),
            ),
            program_id,
        )
        self.add(en.ProgramOpened(program_id=program_id, opened_at=at(0)), program_id)

    def enrol(
        self,
        program_id: str,
        employee: str,
        when: datetime,
        attributes: dict[str, str] | None = None,
        from_waitlist: bool = False,
    ) -> None:
        self.add(
            en.ParticipantEnrolled(
                participant_id=f"par-{program_id}-{employee}",
                program_id=program_id,
                employee_id=employee,
                consent_to_reporting=attributes is not None,
                reporting_attributes=en.ReportingAttributes(**attributes) if attributes else None,
                enrolled_at=when,
                from_waitlist=from_waitlist,
            ),
            f"par-{program_id}-{employee}",
        )

    def group(self, program_id: str, group_id: str, members: list[str], when: datetime) -> None:
        self.add(
            en.GroupFormed(
                group_id=group_id,
                program_id=program_id,
                name=group_id,
                members=[
                    en.GroupMember(
                        employee_id=m, participant_id=f"par-{program_id}-{m}", display_name=m
                    )
                    for m in members
                ],
                formed_at=when,
            ),
            group_id,
        )

    def session(
        self,
        program_id: str,
        session_id: str,
        group_id: str,
        starts: datetime,
        attendees: list[str] | None,
        invited: list[str],
    ) -> None:
        self.add(
            se.SessionScheduled(
                session_id=session_id,
                group_id=group_id,
                program_id=program_id,
                title=session_id,
                starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                time_zone="Europe/Berlin",
                attendee_ids=invited,
            ),
            session_id,
        )
        if attendees is None:
            self.add(
                se.SessionCancelled(
                    session_id=session_id,
                    group_id=group_id,
                    program_id=program_id,
                    starts_at=starts,
                    reason=se.SessionCancelReason.MEMBER,
                    cancelled_at=starts - timedelta(days=1),
                ),
                session_id,
            )
        else:
            self.add(
                se.SessionCompleted(
                    session_id=session_id,
                    group_id=group_id,
                    program_id=program_id,
                    started_at=starts,
                    ended_at=starts + timedelta(hours=1),
                    attendee_ids=attendees,
                    invited_count=len(invited),
                ),
                session_id,
            )

    def action(
        self,
        program_id: str,
        action_id: str,
        committed: datetime,
        due: datetime,
        outcome: str | None = None,
        outcome_at: datetime | None = None,
    ) -> None:
        common: dict[str, Any] = {
            "action_id": action_id,
            "session_id": "s-1",
            "group_id": "g-1",
            "program_id": program_id,
            "owner_id": "a1",
        }
        self.add(
            se.ActionCommitted(
                **common,
                accountability_partner_id="a2",
                title="Book a 1:1",
                due_at=due,
                committed_at=committed,
            ),
            action_id,
        )
        if outcome == "completed":
            self.add(
                se.ActionCompleted(
                    **common, accountability_partner_id="a2", completed_at=outcome_at or due
                ),
                action_id,
            )
        elif outcome == "dropped":
            self.add(
                se.ActionDropped(
                    **common, reason=se.ActionDropReason.OWNER, dropped_at=outcome_at or due
                ),
                action_id,
            )

    def feedback(
        self,
        program_id: str,
        n: int,
        rating: int,
        recommend: int | None,
        *,
        employee: str = "a1",
        when: datetime | None = None,
    ) -> None:
        self.add(
            se.FeedbackSubmitted(
                session_id="s1",
                group_id="g1",
                program_id=program_id,
                feedback_id=f"fb-{program_id}-{n}",
                employee_id=employee,
                rating=rating,
                recommend_score=recommend,
                submitted_at=when or at(15),
            ),
            f"fb-{program_id}-{n}",
        )

    def reminder(
        self, program_id: str, n: int, *, failed: bool = False, final: bool = True
    ) -> None:
        common: dict[str, Any] = {
            "reminder_id": f"rem-{n}",
            "program_id": program_id,
            "recipient_id": "a1",
            "kind": rm.ReminderKind.SESSION_UPCOMING,
            "channel": rm.Channel.EMAIL,
            "session_id": "s1",
            "due_at": at(14),
        }
        if failed:
            self.add(
                rm.ReminderFailed(
                    **common,
                    reason=rm.FailureReason.UNREACHABLE,
                    attempts=1 if not final else 3,
                    final=final,
                    failed_at=at(14),
                ),
                f"rem-{n}",
            )
        else:
            self.add(rm.ReminderSent(**common, sent_at=at(14)), f"rem-{n}")


def known_history() -> History:
    """The program every KPI test checks; expected figures are in the tests."""
    h = History()
    h.program(PROGRAM, [SPONSOR])
    attrs = {"department": "Finance", "level": "L5", "location": "Berlin"}
    for n in range(1, 7):
        h.enrol(PROGRAM, f"a{n}", at(1), attrs)
    h.add(
        en.ParticipantWaitlisted(
            participant_id=f"par-{PROGRAM}-w1",
            program_id=PROGRAM,
            employee_id="w1",
            position=1,
            waitlisted_at=at(1),
        ),
        f"par-{PROGRAM}-w1",
    )
    h.enrol(PROGRAM, "w1", at(8), None, from_waitlist=True)
    h.group(PROGRAM, "g1", ["a1", "a2", "a3"], at(9))
    h.group(PROGRAM, "g2", ["a4", "a5", "w1"], at(9))
    h.add(
        en.ParticipantWithdrawn(
            participant_id=f"par-{PROGRAM}-a6",
            program_id=PROGRAM,
            employee_id="a6",
            reason=en.WithdrawReason.SELF,
            withdrawn_at=at(15),
        ),
        f"par-{PROGRAM}-a6",
    )
    g1, g2 = ["a1", "a2", "a3"], ["a4", "a5", "w1"]
    h.session(PROGRAM, "s1", "g1", at(10), g1, g1)
    h.session(PROGRAM, "s2", "g1", at(17), ["a1", "a2"], g1)
    h.session(PROGRAM, "s3", "g1", NOW - timedelta(days=2), g1, g1)
    h.session(PROGRAM, "s4", "g2", at(16), None, g2)
    h.session(PROGRAM, "s5", "g2", at(17), ["a4"], g2)
    h.add(
        en.GroupDissolved(
            group_id="g2",
            program_id=PROGRAM,
            reason=en.DissolveReason.TOO_FEW_MEMBERS,
            dissolved_at=at(20),
        ),
        "g2",
    )
    h.action(PROGRAM, "x1", at(10), at(20), "completed", at(12))
    h.action(PROGRAM, "x2", at(10), at(20), "completed", at(16))
    h.action(PROGRAM, "x3", at(10), at(30), "completed", at(20.5))
    h.action(PROGRAM, "x4", at(10), at(20), "dropped", at(11))
    h.action(PROGRAM, "x5", at(10), at(20))  # open, due in the past: overdue
    h.action(PROGRAM, "x6", at(10), NOW + timedelta(days=5))  # open, not due yet
    h.feedback(PROGRAM, 1, 4, 9)
    h.feedback(PROGRAM, 2, 5, 7)
    h.feedback(PROGRAM, 3, 3, None)
    for n in range(3):
        h.reminder(PROGRAM, n)
    h.reminder(PROGRAM, 10, failed=True, final=True)
    h.reminder(PROGRAM, 11, failed=True, final=False)
    h.add(en.ProgramClosed(program_id=PROGRAM, closed_at=NOW - timedelta(days=1)), PROGRAM)
    return h


def reversed_with_repeats(events: Iterable[Envelope], seed: int = 7) -> list[tuple[Envelope, str]]:
    """Every event in reverse order (effects before their causes: a program closed before it was
    created, steps completed before they were committed), then every event again in random order,
    under the same Nats-Msg-Id (the server drops it) or another one (the consumer must)."""
    events = list(events)
    rng = random.Random(seed)
    again = [(e, e.id if n % 2 else f"{e.id}-again") for n, e in enumerate(events)]
    rng.shuffle(again)
    return [(e, e.id) for e in reversed(events)] + again
