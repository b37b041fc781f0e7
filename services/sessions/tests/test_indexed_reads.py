"""Every read a request of the sessions service makes is served by an index of the server.

The repositories are run over a client that records each ``find`` it sends; each recorded
query is then explained by the server, which must plan it on an index, not a scan of the
collection. A query on a field no index covers, a dropped index, or a filter the local
server cannot push down (a dotted path, an array field, an aggregation) fails here.

Not among them, as they are no request's: the erasure's searches for a person's words
(``with_words_of``, ``mentioning``, ``touching``) and an employee's groups for the calendar
feed (``groups_of``), whose conditions are on array elements and embedded paths: MongoDB serves
them from the declared multikey indexes, the local server reads the collection.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from roundtable_dev.testing.servers import ServerUrls
from roundtable_shared.http.pagination import CursorSigner, PageRequest
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Database, Document, apply_indexes, is_ferretdb
from sessions import action_steps, conversations, feedback, membership, scheduling
from sessions.action_steps.domain import ActionStatus
from sessions.action_steps.repository import ACTION_STEPS, ActionStepRepository
from sessions.conversations.repository import PRIVATE_NOTES, PrivateNoteRepository
from sessions.feedback.repository import FEEDBACK, FeedbackRepository
from sessions.scheduling.repository import (
    SESSIONS,
    CalendarFeedRepository,
    SessionRepository,
)

NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


class Finds(monitoring.CommandListener):
    """The find commands sent, as (collection, filter, sort), and any other read command."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Document, Document | None]] = []
        self.other_reads: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        command = event.command
        if event.command_name == "find":
            self.sent.append((command["find"], command.get("filter", {}), command.get("sort")))
        elif event.command_name in ("aggregate", "count", "distinct", "mapReduce"):
            self.other_reads.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


@pytest.fixture
async def recorded(servers: ServerUrls) -> AsyncIterator[tuple[Database, Finds]]:
    finds = Finds()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        servers.mongodb_uri, tz_aware=True, event_listeners=[finds]
    )
    db = client[f"indexed_reads_{uuid.uuid4().hex[:8]}"]
    try:
        yield db, finds
    finally:
        await client.drop_database(db.name)
        await client.close()


def page(cursor: str | None = None, limit: int = 2) -> PageRequest:
    signer = CursorSigner(b"k" * 32, "sessions")
    return PageRequest(cursor=cursor, limit=limit, signer=signer, scope="/indexed")


async def a_little_of_everything(db: Database) -> None:
    sessions, steps = [], []
    for n in range(6):
        group = f"g-{n % 2}"
        sessions.append(
            {
                "_id": f"s-{n}",
                "group_id": group,
                "program_id": "p-1",
                "title": "Roundtable",
                "starts_at": NOW + timedelta(days=n),
                "ends_at": NOW + timedelta(days=n, hours=1),
                "time_zone": "UTC",
                "status": "scheduled",
                "invited_ids": ["a", "b"],
                "scheduled_at": NOW,
                "version": 1,
            }
        )
        steps.append(
            {
                "_id": f"a-{n}",
                "session_id": "s-0",
                "group_id": "g-0",
                "program_id": "p-1",
                "owner_id": "a",
                "accountability_partner_id": "b",
                "title": "Book the 1:1",
                "due_on": "2026-09-02",
                "due_at": NOW + timedelta(days=n),
                "time_zone": "UTC",
                "status": "open",
                "created_by": "a",
                "created_at": NOW,
                "version": 1,
            }
        )
    await db[SESSIONS].insert_many(sessions)
    await db[ACTION_STEPS].insert_many(steps)
    note = {"session_id": "s-0", "author_id": "a", "text": "x", "created_at": NOW, "version": 1}
    await db[PRIVATE_NOTES].insert_many([{**note, "_id": f"n-{n}"} for n in range(3)])
    await db[FEEDBACK].insert_one({"_id": "f-1", "session_id": "s-0", "rating": 4, "version": 1})


async def test_the_reads_of_requests_are_planned_on_indexes(
    recorded: tuple[Database, Finds],
) -> None:
    db, finds = recorded
    await apply_indexes(
        db,
        [
            *membership.repository.INDEXES,
            *scheduling.repository.INDEXES,
            *conversations.repository.INDEXES,
            *action_steps.repository.INDEXES,
            *feedback.repository.INDEXES,
        ],
    )
    await a_little_of_everything(db)
    sessions = SessionRepository(db, AggregateStore(db[SESSIONS], source="/test"))
    steps = ActionStepRepository(db, AggregateStore(db[ACTION_STEPS], source="/test"))
    notes = PrivateNoteRepository(db, AggregateStore(db[PRIVATE_NOTES], source="/test"))
    ratings = FeedbackRepository(db, AggregateStore(db[FEEDBACK], source="/test"))

    first, cursor = await sessions.page_of_group("g-0", page())
    second, _ = await sessions.page_of_group("g-0", page(cursor))
    assert [s.id for s in first + second] == ["s-0", "s-2", "s-4"]
    assert [s.id for s in await sessions.upcoming_of_group("g-1", NOW)] == ["s-1", "s-3", "s-5"]
    assert len(await sessions.of_groups(["g-0", "g-1"], NOW)) == 6
    await sessions.get("s-0")
    await CalendarFeedRepository(db).owner_of("a-token")
    for field, who in (("owner_id", "a"), ("accountability_partner_id", "b")):
        mine, cursor = await steps.listing(
            field=field, employee_id=who, status=None, overdue_at=None, page=page()
        )
        assert len(mine) == 2 and cursor is not None
        await steps.listing(
            field=field, employee_id=who, status=None, overdue_at=None, page=page(cursor)
        )
        await steps.listing(
            field=field, employee_id=who, status=ActionStatus.OPEN, overdue_at=None, page=page()
        )
        overdue, _ = await steps.listing(
            field=field,
            employee_id=who,
            status=None,
            overdue_at=NOW + timedelta(days=2),
            page=page(limit=50),
        )
        assert [s.id for s in overdue] == ["a-0", "a-1"]
    assert await steps.count_of_session("s-0") == 6
    assert len(await steps.of_session("s-0")) == 6
    assert await steps.commitments("s-0") == {"a": [f"a-{n}" for n in range(6)]}
    assert await steps.open_of_owner_in_group("a", "g-0")
    assert len(await notes.of_author("s-0", "a")) == 3
    assert await ratings.ratings("s-0") == [4]

    assert len(finds.sent) >= 20
    # An aggregation (count_documents is one) reads every document it matches on the local
    # server, whatever the indexes.
    assert finds.other_reads == []
    ferretdb = await is_ferretdb(db)
    for collection, query, sort in finds.sent:
        explain: dict[str, Any] = {"find": collection, "filter": query}
        if sort:
            explain["sort"] = sort
        plan = await db.command("explain", explain)
        if ferretdb:
            steps_of_plan = " ".join(plan["queryPlanner"]["Plan"])
            assert "USING INDEX" in steps_of_plan, (collection, query, steps_of_plan)
        else:  # mongod: no stage of the winning plan scans the collection
            assert "COLLSCAN" not in str(plan["queryPlanner"]["winningPlan"]), (collection, query)
