"""Every read the session guide makes on a request is planned on an index of the server (as
``test_indexed_reads.py`` holds the other concepts' reads): the guide by program, the program
copy, an employee's enrolment in a program, and a program's groups."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from roundtable_dev.testing.servers import ServerUrls
from roundtable_shared.events.catalogue.enrollment import ProgramFormat
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Database, Document, apply_indexes, is_ferretdb
from sessions import guides, membership
from sessions.guides.repository import GUIDES, GuideRepository, ProgramRepository


class Finds(monitoring.CommandListener):
    def __init__(self) -> None:
        self.sent: list[tuple[str, Document]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.sent.append((event.command["find"], event.command.get("filter", {})))

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
    db = client[f"guide_reads_{uuid.uuid4().hex[:8]}"]
    try:
        yield db, finds
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_the_guides_reads_are_planned_on_indexes(recorded: tuple[Database, Finds]) -> None:
    db, finds = recorded
    await apply_indexes(db, [*membership.repository.INDEXES, *guides.repository.INDEXES])
    programs = ProgramRepository(db)
    await programs.store("p-1", 1, format=ProgramFormat.PAIRS, sponsor_ids=["s"])
    await programs.store_participant("par-1", 1, program_id="p-1", employee_id="e", enrolled=True)
    await db["groups"].insert_many(
        [{"_id": f"g-{n}", "program_id": f"p-{n}", "member_ids": ["e"]} for n in range(2, 5)]
    )
    guide_repository = GuideRepository(db, AggregateStore(db[GUIDES], source="/test"))
    unsaved = await guide_repository.get("p-1")
    assert await guide_repository.save(unsaved, unsaved, []) is not None
    finds.sent.clear()  # the reads of requests from here on

    assert (await programs.get("p-1")) is not None
    assert (await programs.get("p-3")) is not None  # known by its group only
    assert await programs.is_participant("p-1", "e")
    assert not await programs.is_participant("p-2", "e")
    assert (await guide_repository.get("p-1")).version == 1

    assert len(finds.sent) == 6
    ferretdb = await is_ferretdb(db)
    for collection, query in finds.sent:
        plan: dict[str, Any] = await db.command("explain", {"find": collection, "filter": query})
        if ferretdb:
            steps_of_plan = " ".join(plan["queryPlanner"]["Plan"])
            assert "USING INDEX" in steps_of_plan, (collection, query, steps_of_plan)
        else:
            assert "COLLSCAN" not in str(plan["queryPlanner"]["winningPlan"]), (collection, query)
