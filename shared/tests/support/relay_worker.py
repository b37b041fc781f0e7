"""A process that writes aggregates with events through the outbox and relays them.

Run by the crash tests, which kill it with ``ROUNDTABLE_CRASH_AT`` at a chosen point.
``write N``: insert N action steps, each with one ``action.completed`` event, then relay.
``relay``: relay until no outbox holds anything, then exit 0.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime

from roundtable_shared.events.catalogue.sessions import ActionCompleted
from roundtable_shared.events.envelope import new_envelope
from roundtable_shared.messaging.outbox import PENDING, new_document_outbox
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings

COLLECTION = "demo_action_steps"


def settings() -> ServiceSettings:
    return ServiceSettings(
        service_name="sessions",
        mongodb_uri=os.environ["WORKER_MONGODB_URI"],
        nats_url=os.environ["WORKER_NATS_URL"],
        namespace=os.environ["WORKER_NAMESPACE"],
        outbox_poll_seconds=0.05,
    )


async def write(runtime: ServiceRuntime, count: int) -> None:
    for n in range(count):
        action_id = f"action-{n:03d}"
        event = new_envelope(
            ActionCompleted(
                action_id=action_id,
                session_id="session-1",
                group_id="group-1",
                program_id="program-1",
                owner_id=f"employee-{n}",
                accountability_partner_id="employee-partner",
                completed_at=datetime.now(UTC),
            ),
            subject=action_id,
            aggregate_version=1,
            source="/roundtable/sessions",
        )
        document = {"_id": action_id, "status": "completed", **new_document_outbox([event])}
        await runtime.db[COLLECTION].insert_one(document)


async def relay_until_empty(runtime: ServiceRuntime) -> None:
    while await runtime.db[COLLECTION].count_documents({PENDING: True}):
        await asyncio.sleep(0.05)


async def main(command: str, args: list[str]) -> None:
    runtime = ServiceRuntime(settings(), outbox_collections=[COLLECTION])
    if command == "write":
        await write(runtime, int(args[0]))
    await runtime.start()
    try:
        await relay_until_empty(runtime)
    finally:
        await runtime.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
