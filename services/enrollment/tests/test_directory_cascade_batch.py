"""The directory cascade applies a batch of HR news together (one read of the employees, one of
their enrolments, one bulk write): against the real MongoDB-wire server, over a random mix of
hires, changes, leaves, terminations, re-hires, out-of-order and repeated HR events and
redelivered news, the batch leaves the same enrolments, seat counters and cascade marks, and
raises the same events (same aggregate, version and data), as following the news one by one."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter

from enrollment.directory.repository import EMPLOYEES, EmployeeRepository
from enrollment.directory.schemas import HrEvent
from enrollment.directory.service import DirectoryService
from enrollment.participants.domain import Answers, DirectoryNews
from enrollment.participants.repository import INDEXES, PARTICIPANTS, ParticipantRepository
from enrollment.participants.service import ParticipantService
from enrollment.programs.domain import ProgramSettings
from enrollment.programs.repository import PROGRAMS, ProgramRepository
from enrollment.programs.service import ProgramService
from roundtable_shared.events.catalogue.enrollment import WithdrawReason
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Database, Document, apply_indexes

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
EMPLOYEE_IDS = [f"e-{n:02}" for n in range(12)]
PROGRAM_IDS = ["p-leads", "p-new-managers"]
OUTBOX = ("outbox", "outbox_pending", "outbox_rev")
HR = TypeAdapter(HrEvent)
News = tuple[str, str, DirectoryNews | WithdrawReason]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class World:
    """The enrollment handlers on one database: one world follows news one by one, the other
    in batches; both get the same HR events at the same (injected) times."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db

        def store(name: str) -> AggregateStore:
            return AggregateStore(db[name], source="/roundtable/enrollment")

        self.employees = EmployeeRepository(store(EMPLOYEES))
        programs = ProgramRepository(store(PROGRAMS))
        self.directory = DirectoryService(self.employees, clock=clock)
        self.programs = ProgramService(programs, clock=clock)
        self.participants = ParticipantService(
            ParticipantRepository(store(PARTICIPANTS)), programs, self.employees, clock=clock
        )
        self.heard: set[str] = set()

    async def news(self) -> list[News]:
        """The directory events written since last asked, as the cascade hears them: each
        employee's in the order of their versions (the stream keeps that order)."""
        found: list[tuple[str, int, News]] = []
        async for document in self.db[EMPLOYEES].find({}, {"outbox": 1}):
            for event in document.get("outbox") or []:
                if event["id"] in self.heard:
                    continue
                self.heard.add(event["id"])
                kind = event["type"].rsplit(".", 1)[1]
                what: DirectoryNews | WithdrawReason = {
                    "upserted": DirectoryNews.CHANGED,
                    "offboarded": DirectoryNews.TERMINATED,
                    "erased": WithdrawReason.ERASED,
                }[kind]
                found.append(
                    (
                        document["_id"],
                        event["aggregateversion"],
                        (event["id"], document["_id"], what),
                    )
                )
        return [news for *_, news in sorted(found, key=lambda f: (f[0], f[1]))]

    async def follow_one_by_one(self, news: list[News]) -> None:
        for _, employee_id, what in news:
            if what is DirectoryNews.CHANGED:
                await self.participants.follow_directory(employee_id)
            else:
                reason = what if isinstance(what, WithdrawReason) else WithdrawReason.TERMINATED
                await self.participants.withdraw_everywhere(employee_id, reason)

    async def state(self) -> dict[str, Any]:
        """Enrolments and programs as stored (outbox aside), cascade marks, and every event the
        enrolments raised, per enrolment, without what differs by nature (id, time)."""
        participants = await self.db[PARTICIPANTS].find({}).sort("_id", 1).to_list()
        raised: dict[str, list[Document]] = defaultdict(list)
        for document in participants:
            for event in document.get("outbox") or []:
                raised[document["_id"]].append(
                    {k: v for k, v in event.items() if k not in ("id", "time", "traceparent")}
                )
        programs = await self.db[PROGRAMS].find({}, {"outbox": 0}).sort("_id", 1).to_list()
        marks = await self.db[EMPLOYEES].find({}, {"cascade_due": 1}).sort("_id", 1).to_list()
        return {
            "participants": [{k: v for k, v in d.items() if k not in OUTBOX} for d in participants],
            "programs": [{k: v for k, v in d.items() if k not in OUTBOX} for d in programs],
            "marks": marks,
            "events": dict(raised),
        }


@pytest.fixture
async def worlds(mongo_db: Database) -> AsyncIterator[tuple[World, World, Clock]]:
    clock = Clock()
    other = mongo_db.client[f"{mongo_db.name}_b"]
    for db in (mongo_db, other):
        await apply_indexes(db, [INDEXES])
    try:
        yield World(mongo_db, clock), World(other, clock), clock
    finally:
        await mongo_db.client.drop_database(other.name)


class HrMix:
    """Random HR events: hires and re-hires, changes of what enrolments follow (department,
    level, location) and of what they do not (title, name), leaves and their ends,
    terminations; some effective before what is stored (out of order), some sent twice."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.sent: list[dict[str, Any]] = []
        self.count = 0

    def hired(self, employee_id: str, at: datetime) -> dict[str, Any]:
        return self._event(
            "employee.hired",
            employee_id,
            at,
            employee={
                "display_name": f"Name {employee_id}",
                "email": f"{employee_id}@example.com",
                "department": self.random.choice(["Sales", "Ops"]),
                "level": "L4",
                "location": "Oslo",
            },
        )

    def _event(self, kind: str, employee_id: str, at: datetime, **fields: Any) -> dict[str, Any]:
        self.count += 1
        event = {
            "event_id": f"hr-{self.count}",
            "type": kind,
            "employee_id": employee_id,
            "effective_at": at.isoformat(),
            **fields,
        }
        self.sent.append(event)
        return event

    def next(self, now: datetime) -> dict[str, Any]:
        r = self.random
        if self.sent and r.random() < 0.1:
            return r.choice(self.sent)  # sent again
        employee_id = r.choice(EMPLOYEE_IDS)
        # Mostly now; sometimes effective days before, behind what is stored already.
        at = now - timedelta(days=r.choice([0, 0, 0, 0, 2, 5]), minutes=r.randrange(60))
        kind = r.choice(["update", "update", "title", "leave", "back", "terminate", "rehire"])
        if kind == "update":
            field = r.choice(["department", "level", "location"])
            value = r.choice(
                {
                    "department": ["Sales", "Ops", "Legal"],
                    "level": ["L4", "L5", "L6"],
                    "location": ["Oslo", "Lima"],
                }[field]
            )
            return self._event("employee.updated", employee_id, at, employee={field: value})
        if kind == "title":
            return self._event(
                "employee.updated", employee_id, at, employee={"title": r.choice(["A", "B"])}
            )
        if kind == "leave":
            return self._event("employee.leave_started", employee_id, at)
        if kind == "back":
            return self._event("employee.leave_ended", employee_id, at)
        if kind == "terminate":
            return self._event("employee.terminated", employee_id, at)
        return self.hired(employee_id, at)


async def both(one: World, batched: World, call: str, *args: Any, **kwargs: Any) -> None:
    for world in (one, batched):
        service, method = call.split(".")
        await getattr(getattr(world, service), method)(*args, **kwargs)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_batch_follows_the_directory_as_one_by_one_does(
    worlds: tuple[World, World, Clock], seed: int
) -> None:
    one, batched, clock = worlds
    mix = HrMix(seed)
    for employee_id in EMPLOYEE_IDS:
        event = HR.validate_python(mix.hired(employee_id, T0 - timedelta(days=30)))
        await both(one, batched, "directory.apply_hr_event", event)
    for program_id in PROGRAM_IDS:
        await both(one, batched, "programs.create", program_id, ProgramSettings(name=program_id))
        await both(one, batched, "programs.transition", program_id, "open", None)
    for n, employee_id in enumerate(EMPLOYEE_IDS):
        answers = Answers(goals=["Delegate"], consent_to_reporting=n % 3 != 0)
        programs = PROGRAM_IDS if n % 2 else PROGRAM_IDS[:1]
        for program_id in programs:
            await both(one, batched, "participants.enrol", program_id, employee_id, answers, None)
    for world in (one, batched):
        await world.news()  # the hires' news: nothing enrolled yet when they were followed

    rng = random.Random(seed)
    heard: list[News] = []
    for _ in range(8):
        clock.now += timedelta(days=1)
        for _ in range(rng.randrange(1, 15)):
            event = HR.validate_python(mix.next(clock.now))
            await both(one, batched, "directory.apply_hr_event", event)
        news_one, news_batched = await one.news(), await batched.news()
        assert [n[1:] for n in news_one] == [n[1:] for n in news_batched]
        # Redelivered news (a consumer that died before its ack): both worlds hear it again.
        again = [i for i in range(len(heard)) if rng.random() < 0.15]
        heard += list(zip(news_one, news_batched, strict=True))
        for i in again:
            news_one.append(heard[i][0])
            news_batched.append(heard[i][1])

        await one.follow_one_by_one(news_one)
        assert await batched.participants.follow_directory_batch(news_batched) == {}

        assert await batched.state() == await one.state()

    final = await one.state()
    kinds = {e["type"].rsplit(".", 1)[1] for events in final["events"].values() for e in events}
    # The mix did reach every rule the cascade applies.
    assert {"paused", "resumed", "updated", "withdrawn"} <= kinds
