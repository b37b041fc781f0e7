"""The pure cloning rules of program templates: what a template keeps, what a new program from
it gets, and what is never copied."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from enrollment.programs.domain import Eligibility, ProgramSettings
from enrollment.templates import domain
from enrollment.templates.domain import NewProgram
from roundtable_shared.events.catalogue.enrollment import (
    Cadence,
    OriginKind,
    ProgramFormat,
    ProgramTemplateSaved,
)

NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)

SOURCE: dict[str, Any] = {
    "name": "LEADForward 2026",
    "description": "For new managers.",
    "sponsor_ids": ["e-0042"],
    "format": "roundtable",
    "group_size_min": 4,
    "group_size_max": 6,
    "eligibility": {"levels": ["L4"], "min_tenure_days": 90, "allow_list": ["e-2001"]},
    "capacity": 40,
    "enrolment_opens_at": "2026-01-05T09:00:00+01:00",
    "enrolment_closes_at": "2026-01-30T17:00:00+01:00",
    "cadence": "monthly",
    "session_duration_minutes": 90,
    "time_zone": "Europe/Berlin",
    "starts_on": "2026-02-02",
    "ends_on": "2026-06-30",
    "reminders": {"before_session_minutes": [120], "before_action_due_hours": [24]},
    "matching": {"questions": [{"question_id": "function", "match": "different", "weight": 3}]},
    "questions": [
        {
            "id": "function",
            "label": "Your function?",
            "type": "single_choice",
            "options": [{"id": "sales", "label": "Sales"}, {"id": "ops", "label": "Ops"}],
        }
    ],
}


def test_a_template_keeps_the_design_and_nothing_of_one_run_or_of_people() -> None:
    source = ProgramSettings.model_validate(SOURCE)
    template, saved = domain.saved_from(
        "prg_1", source, template_id="tpl_1", name="Ours", by="e-admin", now=NOW
    )
    design = template.design
    assert (design.group_size_min, design.group_size_max, design.capacity) == (4, 6, 40)
    assert (design.cadence, design.session_duration_minutes) == (Cadence.MONTHLY, 90)
    assert design.time_zone == "Europe/Berlin"
    assert design.reminders.before_session_minutes == [120]
    assert [q.id for q in design.questions] == ["function"]
    assert design.matching.questions[0].question_id == "function"
    assert design.eligibility == Eligibility(levels=["L4"], min_tenure_days=90)  # no allow-list
    dumped = design.model_dump()
    for never in ("name", "sponsor_ids", "starts_on", "ends_on", "enrolment_opens_at"):
        assert never not in dumped
    assert (template.owner_id, template.from_program_id, template.built_in) == (
        "e-admin",
        "prg_1",
        False,
    )
    assert saved == ProgramTemplateSaved(template_id="tpl_1", program_id="prg_1", saved_at=NOW)


def test_a_new_program_gets_the_design_with_the_name_and_dates_given() -> None:
    design = domain.design_of(ProgramSettings.model_validate(SOURCE))
    new = NewProgram(name="LEADForward 2027", starts_on=date(2027, 2, 1), sponsor_ids=["e-7"])
    settings = domain.program_settings(design, new)
    assert settings.name == "LEADForward 2027"
    assert settings.starts_on == date(2027, 2, 1) and settings.ends_on is None
    assert settings.enrolment_opens_at is None and settings.sponsor_ids == ["e-7"]
    assert settings.eligibility.allow_list == []
    assert settings.questions == ProgramSettings.model_validate(SOURCE).questions
    assert settings.matching == ProgramSettings.model_validate(SOURCE).matching
    assert domain.design_of(settings) == design  # a copy of a copy is the same design


def test_dates_that_do_not_fit_together_are_refused_naming_them() -> None:
    design = domain.design_of(ProgramSettings.model_validate(SOURCE))
    new = NewProgram(name="Backwards", starts_on=date(2027, 2, 1), ends_on=date(2027, 1, 1))
    with pytest.raises(ValidationError, match="ends_on"):
        domain.program_settings(design, new)


@pytest.mark.parametrize(
    ("template", "fmt", "sizes", "cadence"),
    [
        (domain.NEW_MANAGER_ROUNDTABLES, ProgramFormat.ROUNDTABLE, (5, 8), Cadence.MONTHLY),
        (domain.PEER_PAIRS, ProgramFormat.PAIRS, (2, 2), Cadence.BIWEEKLY),
    ],
)
def test_each_built_in_template_makes_a_valid_program_of_its_format(
    template: domain.ProgramTemplate,
    fmt: ProgramFormat,
    sizes: tuple[int, int],
    cadence: Cadence,
) -> None:
    settings = domain.program_settings(template.design, NewProgram(name="From the kit"))
    assert settings.format is fmt
    assert (settings.group_size_min, settings.group_size_max) == sizes
    assert settings.cadence is cadence
    assert domain.origin(template).kind is OriginKind.BUILT_IN_TEMPLATE
    assert domain.may_see(template, "any-admin")


def test_built_in_templates_are_read_only_and_saved_ones_their_owners() -> None:
    with pytest.raises(domain.BuiltInTemplate):
        domain.deletion(domain.PEER_PAIRS, NOW)
    template, _ = domain.saved_from(
        "prg_1",
        ProgramSettings.model_validate(SOURCE),
        template_id="tpl_1",
        name="Ours",
        by="e-admin",
        now=NOW,
    )
    deleted = domain.deletion(template, NOW)
    assert (deleted.template_id, deleted.program_id) == ("tpl_1", "prg_1")
    assert domain.may_see(template, "e-admin") and not domain.may_see(template, "e-other")
    assert domain.origin(template).kind is OriginKind.TEMPLATE
    assert domain.clone_origin("prg_1").kind is OriginKind.PROGRAM
