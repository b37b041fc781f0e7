"""What the repositories write for a change the domain decided: the difference, field by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from roundtable_shared.events.catalogue.sessions import SessionCancelReason
from sessions.common import update_between
from sessions.scheduling import domain
from sessions.scheduling.domain import Session

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def a_session(**fields: Any) -> Session:
    return Session.model_validate(
        {
            "_id": "s-1",
            "group_id": "g-1",
            "program_id": "p-1",
            "title": "Roundtable",
            "starts_at": T0 + timedelta(days=1),
            "ends_at": T0 + timedelta(days=1, hours=1),
            "time_zone": "UTC",
            "invited_ids": ["a", "b"],
            "scheduled_by": "a",
            "written_by": {},
            "scheduled_at": T0,
            "version": 3,
            **fields,
        }
    )


def test_only_the_fields_a_change_touched_are_set() -> None:
    session = a_session(location="Room 7")
    cancelled, _ = domain.cancel(session, SessionCancelReason.MEMBER, "a", "offsite", T0)
    update = update_between(session.document(), cancelled.document())
    assert set(update) == {"$set"}
    assert set(update["$set"]) == {"status", "cancellation"}
    assert update["$set"]["cancellation"] == {
        "reason": "member",
        "note": "offsite",
        "by": "a",
        "at": T0,
    }


def test_no_change_is_no_update_and_a_field_gone_is_unset() -> None:
    document = a_session().document()
    assert update_between(document, dict(document)) == {}
    without_title = {k: v for k, v in document.items() if k != "title"}
    assert update_between(document, without_title) == {"$unset": {"title": ""}}
    assert update_between(without_title, document) == {"$set": {"title": "Roundtable"}}


def test_the_domain_returns_the_changed_aggregate_and_leaves_the_one_it_was_given() -> None:
    session = a_session(written_by={"location": "b"}, location="B's place")
    result = domain.erase_words(session, "b", T0)
    assert result is not None
    erased, events = result
    assert erased.location is None and erased.written_by == {}
    assert session.location == "B's place"  # a new value, not a mutation
    assert [type(e).__name__ for e in events] == ["SessionRescheduled"]
    assert update_between(session.document(), erased.document()) == {
        "$set": {"location": None, "written_by": {}}
    }
