"""A program's own wording: the sandbox refuses what could run code or reach Python objects, with
the reason; what it allows renders as plain text that every rendering escapes; the default
wording an admin edits says what delivery says without an override."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reminders.broadcasts.domain import AudienceStatus, ProgramRoster, audience, month_of, plans
from reminders.delivery.messages import compose, email_html, email_text, slack_payload
from reminders.program_messages import variables
from reminders.program_messages.defaults import DEFAULTS
from reminders.program_messages.delivery import BatchWording
from reminders.program_messages.domain import (
    BODY_MAX,
    RENDERED_BODY_MAX,
    Wording,
    WordingRefused,
    check,
    render,
)
from reminders.program_messages.repository import wording_id
from reminders.schedule.domain import NoticeKind, reminder_id
from roundtable_shared.events.catalogue.reminders import ReminderKind

UPCOMING = ReminderKind.SESSION_UPCOMING
SAMPLE = {
    "participant_name": "Alex",
    "program_name": "LEAD",
    "session_title": "Session 2",
    "session_time": "Tue 16:00",
    "minutes_before": 60,
}


def refusal(body: str, kind: ReminderKind | NoticeKind = UPCOMING) -> str:
    with pytest.raises(WordingRefused) as caught:
        check(kind, Wording("Hello", body))
    return str(caught.value)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("{{ ''.__class__.__mro__ }}", "attribute and item access"),
        ("{{ cycler.__init__.__globals__ }}", "attribute and item access"),
        ("{{ cycler.__init__.__globals__ }}", "unknown variable cycler"),
        ("{{ session_title.__class__ }}", "attribute and item access"),
        ("{{ session_title['__class__'] }}", "attribute and item access"),
        ("{{ session_title|attr('__class__') }}", "filter 'attr' is not allowed"),
        ("{{ session_title.upper() }}", "calling functions or methods is not allowed"),
        ("{{ lipsum.__globals__['os'].popen('id').read() }}", "unknown variable lipsum"),
        ("{{ self._TemplateReference__context }}", "unknown variable self"),
        ("{{ config }}", "unknown variable config"),
        ("{{ request }}", "unknown variable request"),
        ("{{ 9**9**9 }}", "arithmetic is not allowed"),
        ("{{ 'x' * 100000000 }}", "arithmetic is not allowed"),
        ("{% for i in range(100000000) %}x{% endfor %}", "loop is not allowed"),
        ("{% set x = 1 %}", "{% set %} is not allowed"),
        ("{% include '/etc/passwd' %}", "{% include %} is not allowed"),
        ("{% import 'os' as os %}", "{% import %} is not allowed"),
        ("{% extends 'email.html.j2' %}", "{% extends %} is not allowed"),
        ("{% macro m() %}{% endmacro %}", "a macro is not allowed"),
        ("{{ session_title|safe }}", "filter 'safe' is not allowed"),
        ("{{ session_title is defined }}", "an 'is' test is not allowed"),
        ("{{ nobody }}", "unknown variable nobody"),
        ("{% if %}", "template syntax error on line 1"),
        ("{{ session_title", "template syntax error on line 1"),
    ],
)
def test_the_sandbox_refuses_with_the_reason(payload: str, reason: str) -> None:
    assert reason in refusal(payload)


def test_a_variable_of_another_kind_is_unknown_and_the_kinds_list_is_named() -> None:
    message = refusal("{{ session_title }}", ReminderKind.WELCOME)
    assert "unknown variable session_title" in message
    assert "may use: participant_name, program_name" in message


def test_size_is_bounded_at_the_source_and_after_rendering() -> None:
    assert "longer than" in refusal("x" * (BODY_MAX + 1))
    # Under the source limit, but a long value repeated renders too much: refused, not sent.
    wording = Wording("Hi", "{{session_title}}" * 250)
    with pytest.raises(WordingRefused, match=f"longer than {RENDERED_BODY_MAX}"):
        render(UPCOMING, wording, {**SAMPLE, "session_title": "y" * 100})


def test_what_the_sandbox_allows_renders_as_plain_paragraphs() -> None:
    wording = Wording(
        "{{ program_name|upper }}: {{ session_title }}",
        "Hi {{ participant_name|default('there') }},\n\n"
        "{% if minutes_before > 30 %}Soon{% else %}Now{% endif %}: {{ session_time }}.\n\n\n",
    )
    rendered = render(UPCOMING, wording, SAMPLE)
    assert rendered.subject == "LEAD: Session 2"
    assert rendered.paragraphs == ["Hi Alex,", "Soon: Tue 16:00."]


def test_markup_in_the_wording_or_in_a_value_is_escaped_in_every_rendering() -> None:
    default = compose(
        UPCOMING,
        variables.SAMPLE_CONTEXT,
        recipient_name="Alex",
        recipient_zone="UTC",
        names={},
        frontend_url="https://roundtable.example",
        reminder_id="rem_1",
    )
    doc = {"_id": "rem_1", "kind": "session_upcoming", "program_id": "prg_1", "context": {}}
    wording = BatchWording(
        overrides={
            wording_id("prg_1", "session_upcoming"): Wording(
                "<b>{{ session_title }}</b>", "<script>alert(1)</script> <!channel>"
            )
        }
    )
    message = wording.apply(
        default,
        doc | {"context": {"title": "<img src=x>"}},
        recipient_name="Alex",
        recipient_zone="UTC",
        names={},
    )
    assert message.subject == "<b><img src=x></b>"
    html = email_html(message)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;b&gt;&lt;img src=x&gt;&lt;/b&gt;" in html
    assert "<script>alert(1)</script>" in email_text(message)  # plain text is plain text
    assert "&lt;!channel&gt;" in slack_payload(message)["text"]


@pytest.mark.parametrize("kind", list(ReminderKind))
def test_the_default_wording_says_what_delivery_says_without_an_override(
    kind: ReminderKind,
) -> None:
    check(kind, DEFAULTS[kind])
    context = variables.SAMPLE_CONTEXT
    default = compose(
        kind,
        context,
        recipient_name="Alex",
        recipient_zone="Europe/Berlin",
        names=variables.SAMPLE_NAMES,
        frontend_url="https://roundtable.example",
        reminder_id="rem_1",
    )
    doc = {"_id": "rem_1", "kind": str(kind), "program_id": "prg_1", "context": context}
    wording = BatchWording(overrides={wording_id("prg_1", str(kind)): DEFAULTS[kind]})
    edited = wording.apply(
        default,
        doc,
        recipient_name="Alex",
        recipient_zone="Europe/Berlin",
        names=variables.SAMPLE_NAMES,
    )
    assert (edited.subject, edited.lines) == (default.subject, default.lines)


def test_a_message_without_an_override_is_left_as_it_is() -> None:
    default = compose(
        ReminderKind.WELCOME,
        {},
        recipient_name=None,
        recipient_zone=None,
        names={},
        frontend_url="https://roundtable.example",
        reminder_id="rem_1",
    )
    doc = {"_id": "rem_1", "kind": "welcome", "program_id": "prg_1", "context": {}}
    other = BatchWording(overrides={wording_id("prg_2", "welcome"): Wording("Other", "Other")})
    assert other.apply(default, doc, recipient_name=None, recipient_zone=None, names={}) is default


def test_a_broadcast_reaches_each_active_participant_of_its_status_once() -> None:
    roster = ProgramRoster(
        active=frozenset({"a", "b", "c", "d"}),
        grouped=frozenset({"a", "b", "x"}),
        met_this_month=frozenset({"b", "c"}),
    )
    assert audience(AudienceStatus.EVERYONE, roster) == ["a", "b", "c", "d"]
    assert audience(AudienceStatus.UNMATCHED, roster) == ["c", "d"]
    assert audience(AudienceStatus.NO_SESSION_THIS_MONTH, roster) == ["a", "d"]
    at = datetime(2026, 3, 2, tzinfo=UTC)
    planned = plans("bc_1", "prg_1", ["a", "b", "a"], at)
    assert [p.recipient_id for p in planned] == ["a", "b"]
    # The same broadcast plans the same ids again: a retry stores nothing new.
    assert [p.reminder_id for p in planned] == [
        reminder_id("broadcast:bc_1:a"),
        reminder_id("broadcast:bc_1:b"),
    ]
    assert all(p.kind is NoticeKind.BROADCAST for p in planned)


def test_this_month_is_the_calendar_month_in_utc() -> None:
    assert month_of(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert month_of(datetime(2026, 2, 14, 9, tzinfo=UTC))[1] == datetime(2026, 3, 1, tzinfo=UTC)
