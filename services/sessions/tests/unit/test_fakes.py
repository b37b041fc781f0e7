"""The fakes stand in for the MongoDB repositories only while they have the same methods."""

from __future__ import annotations

import inspect
from typing import Any

from roundtable_shared.storage.aggregates import AggregateStore
from sessions.action_steps.repository import ActionStepRepository
from sessions.conversations.repository import ConversationRepository, PrivateNoteRepository
from sessions.feedback.repository import FeedbackRepository
from sessions.guides.repository import GuideRepository, ProgramRepository
from sessions.membership.repository import EmployeeRepository, GroupRepository
from sessions.scheduling.repository import CalendarFeedRepository, SessionRepository


def _methods(kind: type) -> dict[str, list[str]]:
    """Public methods and the names of their parameters."""
    return {
        name: list(inspect.signature(member).parameters)
        for name, member in inspect.getmembers(kind, inspect.isfunction)
        if not name.startswith("_")
    }


def test_each_fake_has_the_methods_of_its_repository(fakes: Any) -> None:
    pairs = [
        (fakes.scheduling.sessions, SessionRepository),
        (fakes.scheduling.feeds, CalendarFeedRepository),
        (fakes.conversations.conversations, ConversationRepository),
        (fakes.conversations.notes, PrivateNoteRepository),
        (fakes.actions.steps, ActionStepRepository),
        (fakes.feedback.feedback, FeedbackRepository),
        (fakes.membership.groups, GroupRepository),
        (fakes.membership.employees, EmployeeRepository),
        (fakes.guides.guides, GuideRepository),
        (fakes.guides.programs, ProgramRepository),
    ]
    for fake, real in pairs:
        assert _methods(type(fake)) == _methods(real), f"{type(fake).__name__} vs {real.__name__}"


def test_the_fake_store_writes_as_the_aggregate_store_does(fakes: Any) -> None:
    wanted = {k: v for k, v in _methods(AggregateStore).items() if k in ("insert", "update")}
    assert {k: v for k, v in _methods(type(fakes.sessions)).items() if k in wanted} == wanted
