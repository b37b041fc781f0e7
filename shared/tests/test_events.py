"""Event contracts: the envelope, the catalogue of the brief, confidentiality, the AsyncAPI doc."""

from __future__ import annotations

import json
import re
import typing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from roundtable_shared.events import (
    EVENT_TYPES,
    Envelope,
    EventData,
    InvalidEvent,
    model_for,
    new_envelope,
    parse_data,
    service_of,
)
from roundtable_shared.events.asyncapi import asyncapi_document, main
from roundtable_shared.events.catalogue import enrollment, reminders, sessions

# The contract with every consumer: the brief's draft catalogue plus the refinements
# (program.started for draft -> open -> running -> closed; waitlist and pause of participants).
# Adding or renaming an event type is a deliberate change of this list.
CATALOGUE = {
    "roundtable.enrollment.employee.upserted",
    "roundtable.enrollment.employee.offboarded",
    "roundtable.enrollment.employee.erased",
    "roundtable.enrollment.program.created",
    "roundtable.enrollment.survey.opened",
    "roundtable.enrollment.survey.closed",
    "roundtable.enrollment.survey.answered",
    "roundtable.enrollment.program.updated",
    "roundtable.enrollment.program.opened",
    "roundtable.enrollment.program.started",
    "roundtable.enrollment.program.closed",
    "roundtable.enrollment.program_template.saved",
    "roundtable.enrollment.program_template.deleted",
    "roundtable.enrollment.participant.enrolled",
    "roundtable.enrollment.participant.updated",
    "roundtable.enrollment.participant.withdrawn",
    "roundtable.enrollment.participant.waitlisted",
    "roundtable.enrollment.participant.paused",
    "roundtable.enrollment.participant.resumed",
    "roundtable.enrollment.group.formed",
    "roundtable.enrollment.group.changed",
    "roundtable.enrollment.group.dissolved",
    "roundtable.sessions.session.scheduled",
    "roundtable.sessions.session.rescheduled",
    "roundtable.sessions.session.cancelled",
    "roundtable.sessions.session.completed",
    "roundtable.sessions.session.attendance_corrected",
    "roundtable.sessions.action.committed",
    "roundtable.sessions.action.updated",
    "roundtable.sessions.action.completed",
    "roundtable.sessions.action.dropped",
    "roundtable.sessions.feedback.submitted",
    "roundtable.reminders.reminder.sent",
    "roundtable.reminders.reminder.failed",
}

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def action_completed() -> sessions.ActionCompleted:
    return sessions.ActionCompleted(
        action_id="act_1",
        session_id="ses_1",
        group_id="grp_1",
        program_id="prg_1",
        owner_id="emp_1",
        accountability_partner_id="emp_2",
        completed_at=NOW,
    )


def envelope_of(data: EventData) -> Envelope:
    return new_envelope(
        data,
        subject="act_1",
        aggregate_version=3,
        source="/roundtable/sessions",
        event_id="evt_1",
        time=NOW,
        traceparent=TRACEPARENT,
    )


def raw_envelope() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(envelope_of(action_completed()).to_json())
    return parsed


# --- envelope ------------------------------------------------------------------------------------


def test_envelope_round_trip() -> None:
    envelope = envelope_of(action_completed())

    again = Envelope.from_json(envelope.to_json())

    assert again == envelope
    assert again.type == "roundtable.sessions.action.completed"
    assert again.schemaversion == sessions.ActionCompleted.schema_version
    assert parse_data(again) == action_completed()


def test_unknown_envelope_attributes_and_data_fields_are_ignored() -> None:
    # A newer producer may add extension attributes and data fields; older consumers carry on.
    raw = raw_envelope()
    raw["partitionkey"] = "grp_1"
    raw["schemaversion"] = 2
    raw["data"]["streak_days"] = 4

    envelope = Envelope.from_json(json.dumps(raw))

    assert parse_data(envelope) == action_completed()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda raw: raw.pop("subject"), "subject"),
        (lambda raw: raw.update(aggregateversion=0), "aggregateversion"),
        (lambda raw: raw.update(type="sessions.action.completed"), "type"),
        (lambda raw: raw.update(specversion="0.3"), "specversion"),
        (lambda raw: raw.update(data="not an object"), "data"),
    ],
)
def test_malformed_envelope_raises_invalid_event_naming_the_field(
    change: typing.Callable[[dict[str, Any]], object], field: str
) -> None:
    raw = raw_envelope()
    change(raw)

    with pytest.raises(InvalidEvent, match=rf"^{field}: "):
        Envelope.from_json(json.dumps(raw))


def test_a_body_that_is_not_json_is_an_invalid_event() -> None:
    with pytest.raises(InvalidEvent):
        Envelope.from_json(b"{not json")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda data: data.pop("owner_id"), "data.owner_id"),
        (lambda data: data.update(completed_at="not a time"), "data.completed_at"),
        # Every timestamp carries its offset: a naive one is a producer bug, not a guess.
        (lambda data: data.update(completed_at="2026-03-02T09:30:00"), "data.completed_at"),
    ],
)
def test_parse_data_of_wrong_data_raises_invalid_event(
    change: typing.Callable[[dict[str, Any]], object], field: str
) -> None:
    raw = raw_envelope()
    change(raw["data"])
    envelope = Envelope.from_json(json.dumps(raw))

    with pytest.raises(InvalidEvent, match=rf"^{re.escape(field)}: "):
        parse_data(envelope)


def test_an_unknown_event_type_is_an_invalid_event() -> None:
    raw = raw_envelope()
    raw["type"] = "roundtable.sessions.action.teleported"

    with pytest.raises(InvalidEvent, match=r"^type: "):
        parse_data(Envelope.from_json(json.dumps(raw)))


# --- the catalogue -------------------------------------------------------------------------------


def test_the_registry_holds_exactly_the_catalogue() -> None:
    model_for("roundtable.sessions.action.completed")  # loads the whole catalogue

    assert set(EVENT_TYPES) == CATALOGUE, {
        "missing": sorted(CATALOGUE - set(EVENT_TYPES)),
        "unexpected": sorted(set(EVENT_TYPES) - CATALOGUE),
    }


SERVICE_MODULES = {
    "enrollment": enrollment.__name__,
    "sessions": sessions.__name__,
    "reminders": reminders.__name__,
}


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_type_names_service_aggregate_and_verb_and_lives_in_its_service_module(
    event_type: str,
) -> None:
    model = model_for(event_type)

    # The aggregate is one token: `program_template` (an underscore joins its words, as in verbs).
    aggregate = r"[a-z]+(_[a-z]+)*"
    assert re.fullmatch(
        rf"roundtable\.(enrollment|sessions|reminders)\.{aggregate}\.[a-z_]+", event_type
    )
    assert model.__module__ == SERVICE_MODULES[service_of(event_type)]
    assert model.event_type == event_type
    assert model.schema_version >= 1
    assert model.aggregate.endswith(" id")


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_every_model_documents_itself_and_uses_aware_timestamps(event_type: str) -> None:
    model = model_for(event_type)

    # The docstring is the channel's description in the AsyncAPI document: its own, one line.
    doc = model.__dict__.get("__doc__")
    assert doc and "\n" not in doc.strip(), f"{model.__name__} needs a one-line docstring"
    for name, annotation in _fields(model):
        assert datetime not in _leaf_types(annotation), f"{model.__name__}.{name} is naive"


# Conversation content stays in the sessions service: field names that would carry it.
CONTENT = re.compile(r"challenge|note|comment|suggest|reflect|advice|obstacle|transcript|text")


@pytest.mark.parametrize(
    "event_type", sorted(t for t in CATALOGUE if service_of(t) in {"sessions", "reminders"})
)
def test_session_action_feedback_and_reminder_events_carry_no_conversation_content(
    event_type: str,
) -> None:
    model = model_for(event_type)

    leaking = [name for name, _ in _fields(model) if CONTENT.search(name)]

    assert not leaking, f"{model.__name__} has content fields {leaking}"


def test_every_event_names_its_program_unless_it_is_about_a_person() -> None:
    # Reporting attributes every event to a program; only directory events are program-less.
    without = {t for t in CATALOGUE if "program_id" not in model_for(t).model_fields}

    assert without == {
        "roundtable.enrollment.employee.upserted",
        "roundtable.enrollment.employee.offboarded",
        "roundtable.enrollment.employee.erased",
    }


def _fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, Any]]:
    """Every field of a model and of the models nested in it, with dotted names."""
    found: list[tuple[str, Any]] = []
    for name, info in model.model_fields.items():
        found.append((f"{prefix}{name}", info.annotation))
        for leaf in _leaf_types(info.annotation):
            if isinstance(leaf, type) and issubclass(leaf, BaseModel):
                found.extend(_fields(leaf, f"{prefix}{name}."))
    return found


def _leaf_types(annotation: Any) -> set[Any]:
    args = typing.get_args(annotation)
    if not args:
        return {annotation}
    return set().union(*(_leaf_types(arg) for arg in args))


# --- the privacy and consistency rules inside the models -----------------------------------------


def test_reporting_attributes_need_consent() -> None:
    fields: dict[str, Any] = {
        "participant_id": "par_1",
        "program_id": "prg_1",
        "employee_id": "emp_1",
        "enrolled_at": NOW,
        "reporting_attributes": {"department": "Finance"},
    }

    consented = enrollment.ParticipantEnrolled(consent_to_reporting=True, **fields)
    assert consented.reporting_attributes == enrollment.ReportingAttributes(department="Finance")
    with pytest.raises(ValidationError, match="without consent"):
        enrollment.ParticipantEnrolled(consent_to_reporting=False, **fields)


def test_an_accountability_partner_is_someone_else() -> None:
    with pytest.raises(ValidationError, match="must differ"):
        sessions.ActionCommitted(
            action_id="act_1",
            session_id="ses_1",
            group_id="grp_1",
            program_id="prg_1",
            owner_id="emp_1",
            accountability_partner_id="emp_1",
            title="Ask for a stretch assignment",
            due_at=NOW + timedelta(days=7),
            committed_at=NOW,
        )


def test_a_session_ends_after_it_starts() -> None:
    with pytest.raises(ValidationError, match="ends_at"):
        sessions.SessionScheduled(
            session_id="ses_1",
            group_id="grp_1",
            program_id="prg_1",
            title="Roundtable 3: session 1",
            starts_at=NOW,
            ends_at=NOW,
            time_zone="Europe/Berlin",
            attendee_ids=["emp_1", "emp_2", "emp_3"],
        )


def test_a_reminder_names_what_it_is_about() -> None:
    fields: dict[str, Any] = {
        "reminder_id": "rem_1",
        "program_id": "prg_1",
        "recipient_id": "emp_1",
        "kind": reminders.ReminderKind.ACTION_DUE,
        "channel": reminders.Channel.EMAIL,
        "due_at": NOW,
        "sent_at": NOW,
    }

    assert reminders.ReminderSent(action_id="act_1", **fields).action_id == "act_1"
    with pytest.raises(ValidationError, match="needs its"):
        reminders.ReminderSent(session_id="ses_1", **fields)


@pytest.mark.parametrize(
    ("program_format", "size_min", "size_max", "valid"),
    [
        (enrollment.ProgramFormat.PAIRS, 2, 2, True),
        (enrollment.ProgramFormat.PAIRS, 2, 3, False),
        (enrollment.ProgramFormat.ROUNDTABLE, 3, 8, True),
        (enrollment.ProgramFormat.ROUNDTABLE, 2, 6, False),
        (enrollment.ProgramFormat.ROUNDTABLE, 6, 4, False),
    ],
)
def test_group_sizes_fit_the_program_format(
    program_format: enrollment.ProgramFormat, size_min: int, size_max: int, valid: bool
) -> None:
    def create() -> enrollment.ProgramCreated:
        return enrollment.ProgramCreated(
            program_id="prg_1",
            name="LEADForward Roundtables 2026",
            status=enrollment.ProgramStatus.DRAFT,
            format=program_format,
            group_size_min=size_min,
            group_size_max=size_max,
            cadence=enrollment.Cadence.BIWEEKLY,
            session_duration_minutes=60,
            time_zone="America/New_York",
            sponsor_ids=["emp_9"],
            reminders=enrollment.ReminderSettings(
                before_session_minutes=[1440, 60], before_action_due_hours=[48]
            ),
            created_at=NOW,
        )

    if valid:
        assert create().format is program_format
    else:
        with pytest.raises(ValidationError):
            create()


# --- AsyncAPI ------------------------------------------------------------------------------------


def test_the_asyncapi_document_has_a_channel_per_event_type() -> None:
    document = asyncapi_document()

    assert document["asyncapi"] == "3.0.0"
    assert set(document["channels"]) == CATALOGUE
    for event_type in CATALOGUE:
        channel = document["channels"][event_type]
        assert channel["address"] == event_type
        model = model_for(event_type)
        envelope = document["components"]["schemas"][f"{model.__name__}Envelope"]
        assert envelope["properties"]["type"]["const"] == event_type
        assert envelope["properties"]["data"] == {"$ref": f"#/components/schemas/{model.__name__}"}


def test_asyncapi_main_writes_the_document(tmp_path: Path) -> None:
    target = tmp_path / "docs" / "asyncapi.json"

    assert main([str(target)]) == 0

    assert set(json.loads(target.read_text())["channels"]) == CATALOGUE
