"""The directory cascade applies a fetched batch of HR news together: the pure rule each enrolment
follows (``follow_news``), and the batch handler over the fakes, whose give-up leaves the lost
employee's news unapplied and reported (so the consumer redelivers it), never marked followed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from enrollment.participants.domain import (
    Answers,
    DirectoryFacts,
    DirectoryNews,
    Participant,
    ParticipantStatus,
    follow_news,
    participant_id,
)
from roundtable_shared.events.catalogue.enrollment import (
    EmploymentStatus,
    ParticipantPaused,
    ParticipantUpdated,
    ParticipantWithdrawn,
    PauseReason,
    ReportingAttributes,
    WithdrawReason,
)
from roundtable_shared.storage.retry import ATTEMPTS, StillStale

NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
P = "p-1"
ALWAYS = 1_000


def enrolment(status: ParticipantStatus, consent: bool, group_id: str | None = None) -> Participant:
    return Participant(
        participant_id="par-1",
        program_id=P,
        employee_id="e-a",
        status=status,
        answers=Answers(goals=["Delegate"], consent_to_reporting=consent),
        reporting_attributes=ReportingAttributes(department="Sales", level="L4", location="Oslo")
        if consent
        else None,
        group_id=group_id,
        enrolled_at=NOW,
        updated_at=NOW,
        paused_reason=PauseReason.ON_LEAVE if status is ParticipantStatus.PAUSED else None,
    )


def test_a_change_then_a_termination_raise_the_update_then_the_withdrawal_for_one_write() -> None:
    participant = enrolment(ParticipantStatus.ENROLLED, consent=True, group_id="g-1")
    moved = DirectoryFacts(
        employment_status=EmploymentStatus.TERMINATED,
        reporting_attributes=ReportingAttributes(department="Ops", level="L5", location="Oslo"),
    )

    events = follow_news(participant, [DirectoryNews.CHANGED, DirectoryNews.TERMINATED], moved, NOW)

    assert [type(e) for e in events] == [ParticipantUpdated, ParticipantWithdrawn]
    withdrawn = events[1]
    assert isinstance(withdrawn, ParticipantWithdrawn)
    assert (withdrawn.group_id, withdrawn.reason) == ("g-1", WithdrawReason.TERMINATED)
    assert participant.status is ParticipantStatus.WITHDRAWN
    # The group and the seat are saved as still to follow, with the withdrawal.
    assert (participant.leaving_group_id, participant.seat_to_release) == ("g-1", True)


def test_news_of_someone_gone_from_the_directory_changes_nothing_but_a_termination() -> None:
    participant = enrolment(ParticipantStatus.ENROLLED, consent=True)

    assert follow_news(participant, [DirectoryNews.CHANGED], None, NOW) == []
    assert participant.status is ParticipantStatus.ENROLLED
    (withdrawn,) = follow_news(participant, [DirectoryNews.TERMINATED], None, NOW)
    assert isinstance(withdrawn, ParticipantWithdrawn)


facts_strategy = st.builds(
    DirectoryFacts,
    employment_status=st.sampled_from(list(EmploymentStatus)),
    reporting_attributes=st.none()
    | st.builds(
        ReportingAttributes,
        department=st.sampled_from(["Sales", "Ops"]),
        level=st.sampled_from(["L4", "L5"]),
        location=st.just("Oslo"),
    ),
    leave_expected_return_on=st.none() | st.just(date(2026, 10, 1)),
)


@given(
    status=st.sampled_from(list(ParticipantStatus)),
    consent=st.booleans(),
    news=st.lists(st.sampled_from(list(DirectoryNews)), max_size=5),
    facts=st.none() | facts_strategy,
)
def test_news_heard_again_changes_nothing_and_one_by_one_raises_the_same(
    status: ParticipantStatus,
    consent: bool,
    news: list[DirectoryNews],
    facts: DirectoryFacts | None,
) -> None:
    together = enrolment(status, consent)
    one_by_one = together.model_copy(deep=True)

    events = follow_news(together, news, facts, NOW)
    singly = [e for heard in news for e in follow_news(one_by_one, [heard], facts, NOW)]

    assert events == singly and together == one_by_one
    assert follow_news(together, news, facts, NOW) == []  # a redelivery
    assert together == one_by_one


async def test_a_batch_whose_enrolment_keeps_losing_reports_that_employee_and_does_the_rest(
    fakes: Any,
) -> None:
    for employee in ("e-a", "e-b"):
        await fakes.hire(employee)
    await fakes.open_program(P)
    await fakes.enrol(P, "e-a")
    await fakes.enrol(P, "e-b")
    a, b = participant_id(P, "e-a"), participant_id(P, "e-b")
    await fakes.hr_change("e-a", EmploymentStatus.ON_LEAVE)
    await fakes.hr_change("e-b", EmploymentStatus.ON_LEAVE)
    store = fakes.participant_store
    version_a = store.documents[a]["version"]

    store.overtaken = {a}  # someone else writes it between each of our reads and writes
    news = [
        ("ev-1", "e-a", DirectoryNews.CHANGED),
        ("ev-2", "e-b", DirectoryNews.CHANGED),
        ("ev-3", "e-a", DirectoryNews.CHANGED),
    ]
    failed = await fakes.participants.follow_directory_batch(news)

    assert sorted(failed) == ["ev-1", "ev-3"]  # every event of e-a, none of e-b
    assert all(isinstance(exc, StillStale) for exc in failed.values())
    # The bulk write's attempt, then until_saved's: each overtaken, nothing of ours written.
    assert store.documents[a]["version"] == version_a + 1 + ATTEMPTS
    assert fakes.status_of(a) is ParticipantStatus.ENROLLED
    assert fakes.status_of(b) is ParticipantStatus.PAUSED
    assert [e.participant_id for e in store.raised(ParticipantPaused)] == [b]

    store.overtaken = set()
    redelivered = [("ev-1", "e-a", DirectoryNews.CHANGED), ("ev-3", "e-a", DirectoryNews.CHANGED)]
    assert await fakes.participants.follow_directory_batch(redelivered) == {}
    assert fakes.status_of(a) is ParticipantStatus.PAUSED
    assert sorted(e.participant_id for e in store.raised(ParticipantPaused)) == sorted([a, b])


async def test_a_termination_in_a_batch_withdraws_frees_the_seat_for_the_line_and_is_done(
    fakes: Any,
) -> None:
    for employee in ("e-a", "e-b", "e-c"):
        await fakes.hire(employee)
    await fakes.open_program(P, capacity=2)
    for employee in ("e-a", "e-b", "e-c"):
        await fakes.enrol(P, employee)  # e-c waitlisted
    await fakes.hr_change("e-a", EmploymentStatus.TERMINATED)
    assert fakes.employee_store.documents["e-a"]["cascade_due"] == "terminated"
    news = [("ev-1", "e-a", DirectoryNews.CHANGED), ("ev-2", "e-a", DirectoryNews.TERMINATED)]

    assert await fakes.participants.follow_directory_batch(news) == {}
    assert await fakes.participants.follow_directory_batch(news) == {}  # a redelivery

    assert fakes.status_of(participant_id(P, "e-a")) is ParticipantStatus.WITHDRAWN
    assert fakes.status_of(participant_id(P, "e-c")) is ParticipantStatus.ENROLLED
    assert await fakes.seats_held(P) == 2
    assert len(fakes.participant_store.raised(ParticipantWithdrawn)) == 1
    assert fakes.employee_store.documents["e-a"]["cascade_due"] is None
    withdrawn = fakes.participant(participant_id(P, "e-a"))
    assert (withdrawn.leaving_group_id, withdrawn.seat_to_release) == (None, False)


async def test_an_erasure_in_a_batch_is_followed_one_by_one_and_forgets_the_answers(
    fakes: Any,
) -> None:
    await fakes.hire("e-a")
    await fakes.open_program(P)
    await fakes.enrol(P, "e-a", goals=["Delegate"])
    await fakes.directory.erase("e-a")
    news = [("ev-1", "e-a", WithdrawReason.ERASED)]

    assert await fakes.participants.follow_directory_batch(news) == {}

    gone = fakes.participant(participant_id(P, "e-a"))
    assert (gone.status, gone.withdrawn_reason, gone.answers) == (
        ParticipantStatus.WITHDRAWN,
        WithdrawReason.ERASED,
        Answers(),
    )
    assert fakes.shredded == ["e-a"]


async def test_two_terminations_in_a_batch_give_both_seats_to_the_line_in_one_release(
    fakes: Any,
) -> None:
    people = ("e-a", "e-b", "e-c", "e-d", "e-e")
    for employee in people:
        await fakes.hire(employee)
    await fakes.open_program(P, capacity=3)
    for employee in people:
        await fakes.enrol(P, employee)  # e-d and e-e waitlisted, in that order
    for employee in ("e-a", "e-b"):
        await fakes.hr_change(employee, EmploymentStatus.TERMINATED)
    changes_before = fakes.program_store.documents[P]["seat_changes"]
    news = [
        ("ev-1", "e-a", DirectoryNews.TERMINATED),
        ("ev-2", "e-b", DirectoryNews.TERMINATED),
    ]

    assert await fakes.participants.follow_directory_batch(news) == {}

    statuses = [fakes.status_of(participant_id(P, e)) for e in people]
    assert statuses == [
        ParticipantStatus.WITHDRAWN,
        ParticipantStatus.WITHDRAWN,
        ParticipantStatus.ENROLLED,
        ParticipantStatus.ENROLLED,
        ParticipantStatus.ENROLLED,
    ]
    program = fakes.program_store.documents[P]
    assert (program["enrolled_count"], program["seats_released"]) == (3, [])
    # Two released, two taken and settled, two releases forgotten: as one by one would count.
    assert program["seat_changes"] == changes_before + 2 + 2 * 2 + 2
    for employee in ("e-a", "e-b"):
        assert fakes.employee_store.documents[employee]["cascade_due"] is None
        done = fakes.participant(participant_id(P, employee))
        assert (done.leaving_group_id, done.seat_to_release) == (None, False)
