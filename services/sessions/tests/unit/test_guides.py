"""The session guide: its words are the record's, its timings, who reads and edits it, and the
agenda a new session carries from it (handlers over the in-memory fakes)."""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from roundtable_shared.auth.tokens import Principal, Role
from roundtable_shared.events.catalogue.enrollment import (
    ParticipantEnrolled,
    ParticipantWithdrawn,
    ProgramFormat,
    WithdrawReason,
)
from roundtable_shared.http.problems import (
    Forbidden,
    NotFound,
    PreconditionFailed,
    Unprocessable,
)
from sessions.action_steps.schemas import CommitRequest
from sessions.conversations.schemas import RecordOut
from sessions.guides.domain import (
    ACTION_STEP_FIELDS,
    BUILT_IN,
    PAIRS_GUIDE,
    RECORD_FIELDS,
    ROUNDTABLE_GUIDE,
    Guide,
    GuideStep,
    agenda,
    check_guide,
)
from sessions.scheduling.schemas import ScheduleRequest


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (``list[HotSeatOut]`` -> ``HotSeatOut``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def names_a_field(model: type[BaseModel], path: str) -> bool:
    """Whether the dotted path names a field of the schema (through lists of sub-models)."""
    current: type[BaseModel] | None = model
    for name in path.split("."):
        if current is None or name not in current.model_fields:
            return False
        current = _model_in(current.model_fields[name].annotation)
    return True


# --- the guide and the record use the same words ----------------------------------------------------


def test_names_a_field_tells_a_field_of_the_record_from_one_it_lacks() -> None:
    assert names_a_field(RecordOut, "hot_seats.challenge")
    assert not names_a_field(RecordOut, "hot_seats.results_wanted")
    assert not names_a_field(RecordOut, "challenge")


def test_every_record_field_a_guide_may_name_is_a_field_of_the_record_endpoints() -> None:
    for path in RECORD_FIELDS:
        assert names_a_field(RecordOut, path), path
    for name in ACTION_STEP_FIELDS:
        assert names_a_field(CommitRequest, name), name


@pytest.mark.parametrize("guide", list(BUILT_IN.values()), ids=[f.value for f in BUILT_IN])
def test_every_built_in_step_names_fields_of_the_record(guide: Guide) -> None:
    for step in guide.steps:
        for path in step.record_fields:
            assert names_a_field(RecordOut, path), f"{step.key}: {path}"
        for name in step.action_step_fields:
            assert names_a_field(CommitRequest, name), f"{step.key}: {name}"
    assert check_guide(guide) == guide


@pytest.mark.parametrize("guide", list(BUILT_IN.values()), ids=[f.value for f in BUILT_IN])
def test_the_built_in_guides_follow_the_method(guide: Guide) -> None:
    named = {path for step in guide.steps for path in step.record_fields}
    for word in ("challenge", "desired_results", "obstacles", "helpful_questions", "suggestions"):
        assert f"hot_seats.{word}" in named
    assert "hot_seats.commitments" in named
    keys = [step.key for step in guide.steps]
    # Inquiry before advocacy: questions first, suggestions after.
    assert keys.index("hot_seat") < keys.index("inquiry") < keys.index("suggestions")
    assert keys.index("suggestions") < keys.index("commitments")
    commitments = guide.steps[keys.index("commitments")]
    assert "accountability_partner_id" in commitments.action_step_fields


def test_the_roundtable_takes_60_to_90_minutes_and_pairs_are_shorter() -> None:
    assert ROUNDTABLE_GUIDE.minutes(hot_seats=1) == 60
    assert ROUNDTABLE_GUIDE.minutes(hot_seats=2) == 90
    assert PAIRS_GUIDE.minutes(hot_seats=2) < ROUNDTABLE_GUIDE.minutes(hot_seats=1)


def test_the_agenda_numbers_the_steps_with_their_timings_and_record_fields() -> None:
    text = agenda(ROUNDTABLE_GUIDE)
    assert text.startswith("Roundtable peer-coaching guide (60 min with one hot seat, 90 with two)")
    assert "3. Inquiry: questions before advocacy (10 min, per hot seat)" in text
    assert "Record: hot_seats.commitments, action_steps.title" in text


def test_the_docs_show_the_built_in_guides_as_sessions_carry_them() -> None:
    docs = Path(__file__).parents[4] / "docs" / "session-guide.md"
    text = docs.read_text(encoding="utf-8")
    for guide in BUILT_IN.values():
        assert f"```text\n{agenda(guide)}\n```" in text


# --- what an admin's guide must be -----------------------------------------------------------------


def _guide(*steps: GuideStep, introduction: str = "") -> Guide:
    return Guide(title="Our guide", introduction=introduction, steps=steps)


def _step(key: str = "talk", **fields: Any) -> GuideStep:
    return GuideStep(key=key, title="Talk", minutes=fields.pop("minutes", 10), **fields)


@pytest.mark.parametrize(
    ("guide", "field"),
    [
        (_guide(_step(record_fields=("hot_seats.results_wanted",))), "steps.0.record_fields.0"),
        (
            _guide(_step(), _step(action_step_fields=("owner",), key="x")),
            "steps.1.action_step_fields.0",
        ),
        (_guide(_step(), _step()), "steps.1.key"),
        (_guide(*(_step(f"s{n}", minutes=120) for n in range(5))), "steps"),
        (_guide(*(_step(f"s{n}", prompts=("p" * 300,) * 10) for n in range(2))), "steps"),
    ],
    ids=["unknown record field", "unknown action step field", "key twice", "over 8 h", "too long"],
)
def test_a_guide_that_cannot_guide_a_session_is_refused_naming_the_field(
    guide: Guide, field: str
) -> None:
    with pytest.raises(Unprocessable) as refused:
        check_guide(guide)
    assert refused.value.extensions["errors"][0]["field"] == field


# --- who reads and who edits -----------------------------------------------------------------------


T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def sponsor(employee_id: str) -> Principal:
    return Principal(employee_id=employee_id, roles=frozenset({Role.PARTICIPANT, Role.SPONSOR}))


OWN = _guide(_step("check_in", record_fields=("attendee_ids",)), introduction="Ours.")


async def test_a_program_follows_the_built_in_guide_of_its_format(fakes: Any) -> None:
    await fakes.programs.store("p-1", 1, format=ProgramFormat.PAIRS, sponsor_ids=[])
    await fakes.programs.store("p-2", 1, format=ProgramFormat.ROUNDTABLE, sponsor_ids=[])
    stored, guide = await fakes.guides.read("p-1", fakes.admin("adm"))
    assert (stored.custom, stored.version, guide) == (None, 0, PAIRS_GUIDE)
    _, guide = await fakes.guides.read("p-2", fakes.admin("adm"))
    assert guide == ROUNDTABLE_GUIDE


async def test_an_unknown_program_has_no_guide(fakes: Any) -> None:
    with pytest.raises(NotFound):
        await fakes.guides.read("p-404", fakes.admin("adm"))
    with pytest.raises(NotFound):
        await fakes.guides.replace("p-404", OWN, fakes.admin("adm"), 0)


async def test_a_program_known_by_its_groups_only_has_the_roundtable_guide(fakes: Any) -> None:
    await fakes.form_group("g-1", "abc")  # program p-1, no program event seen
    _, guide = await fakes.guides.read("p-1", fakes.member("a"))
    assert guide == ROUNDTABLE_GUIDE


async def test_members_of_the_programs_groups_and_its_sponsors_read_others_may_not(
    fakes: Any,
) -> None:
    await fakes.programs.store("p-1", 1, format=ProgramFormat.ROUNDTABLE, sponsor_ids=["s"])
    await fakes.form_group("g-1", "abc")
    for reader in (fakes.member("a"), sponsor("s"), fakes.admin("adm")):
        await fakes.guides.read("p-1", reader)
    for stranger in (fakes.member("z"), sponsor("other"), fakes.member("s")):
        with pytest.raises(Forbidden):
            await fakes.guides.read("p-1", stranger)


def enrolled(employee_id: str, participant_id: str = "par-x") -> ParticipantEnrolled:
    return ParticipantEnrolled(
        participant_id=participant_id,
        program_id="p-1",
        employee_id=employee_id,
        consent_to_reporting=False,
        enrolled_at=T0,
    )


def withdrawn(employee_id: str, participant_id: str = "par-x") -> ParticipantWithdrawn:
    return ParticipantWithdrawn(
        participant_id=participant_id,
        program_id="p-1",
        employee_id=employee_id,
        reason=WithdrawReason.SELF,
        withdrawn_at=T0,
    )


async def test_a_participant_not_yet_in_a_group_reads_until_they_withdraw(fakes: Any) -> None:
    await fakes.programs.store("p-1", 1, format=ProgramFormat.ROUNDTABLE, sponsor_ids=[])
    await fakes.guides.participant_changed(1, enrolled("x"))
    await fakes.guides.read("p-1", fakes.member("x"))
    await fakes.guides.participant_changed(2, withdrawn("x"))
    await fakes.guides.participant_changed(1, enrolled("x"))  # late: changes nothing
    with pytest.raises(Forbidden):
        await fakes.guides.read("p-1", fakes.member("x"))


async def test_only_program_admins_edit_the_guide(fakes: Any) -> None:
    await fakes.programs.store("p-1", 1, format=ProgramFormat.ROUNDTABLE, sponsor_ids=["s"])
    await fakes.form_group("g-1", "abc")
    for someone in (fakes.member("a"), sponsor("s")):
        with pytest.raises(Forbidden):
            await fakes.guides.replace("p-1", OWN, someone, 0)
        with pytest.raises(Forbidden):
            await fakes.guides.reset("p-1", someone, 0)
    assert fakes.guide_store.documents == {}


async def test_an_admin_replaces_the_guide_then_resets_it_to_the_built_in_one(fakes: Any) -> None:
    await fakes.programs.store("p-1", 1, format=ProgramFormat.ROUNDTABLE, sponsor_ids=[])
    stored, guide = await fakes.guides.replace("p-1", OWN, fakes.admin("adm"), 0)
    assert (stored.version, stored.updated_by, stored.updated_at) == (1, "adm", fakes.clock())
    assert guide == OWN
    assert (await fakes.guides.read("p-1", fakes.admin("x")))[1] == OWN
    with pytest.raises(PreconditionFailed):
        await fakes.guides.replace("p-1", ROUNDTABLE_GUIDE, fakes.admin("adm"), 0)
    stored, guide = await fakes.guides.reset("p-1", fakes.admin("adm"), 1)
    assert (stored.custom, stored.version, guide) == (None, 2, ROUNDTABLE_GUIDE)
    # A second reset has nothing to change: no write, same version.
    stored, _ = await fakes.guides.reset("p-1", fakes.admin("adm"), 2)
    assert stored.version == 2 and fakes.guide_store.documents["p-1"]["version"] == 2


async def test_an_invalid_guide_is_refused_and_nothing_is_stored(fakes: Any) -> None:
    await fakes.programs.store("p-1", 1, format=ProgramFormat.ROUNDTABLE, sponsor_ids=[])
    bad = _guide(_step(record_fields=("hot_seats.results_wanted",)))
    with pytest.raises(Unprocessable):
        await fakes.guides.replace("p-1", bad, fakes.admin("adm"), 0)
    assert fakes.guide_store.documents == {}


# --- the agenda of a new session ---------------------------------------------------------------------


def _request(fakes: Any, agenda: str | None = None) -> ScheduleRequest:
    return ScheduleRequest(
        starts_at=fakes.clock() + timedelta(days=1),
        time_zone="Europe/Berlin",
        duration_minutes=90,
        agenda=agenda,
    )


async def test_a_session_without_an_agenda_carries_a_copy_of_the_programs_guide(
    fakes: Any,
) -> None:
    await fakes.form_group("g-1", "abc")
    await fakes.guides.replace("p-1", OWN, fakes.admin("adm"), 0)
    first = await fakes.scheduling.schedule("g-1", _request(fakes), fakes.member("a"), None)
    assert first.agenda == agenda(OWN)
    # The guide is nobody's words: the scheduler's erasure leaves it.
    assert "agenda" not in first.written_by
    await fakes.guides.reset("p-1", fakes.admin("adm"), 1)
    second = await fakes.scheduling.schedule("g-1", _request(fakes), fakes.member("a"), None)
    assert second.agenda == agenda(ROUNDTABLE_GUIDE)
    assert (await fakes.scheduling.load(first.id)).agenda == agenda(OWN)


async def test_a_given_agenda_wins_over_the_guide(fakes: Any) -> None:
    await fakes.form_group("g-1", "abc")
    given = await fakes.scheduling.schedule(
        "g-1", _request(fakes, "Only check-ins today"), fakes.member("a"), None
    )
    assert given.agenda == "Only check-ins today"
    assert given.written_by == {"agenda": "a"}
