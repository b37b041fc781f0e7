"""Faults for real: NATS killed with SIGKILL while HR keeps sending, then the enrollment service too.

What HR was told was stored must reach the event stream once NATS is back, exactly once per
change, even when the service that stored it was killed in between.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import nats
import pytest

from roundtable_dev.local.servers import free_port
from roundtable_dev.local.supervisor import RunningSystem, SystemConfig, dev_webhook_secret
from roundtable_shared.auth.webhooks import sign
from roundtable_shared.messaging.streams import stream_name

pytestmark = pytest.mark.slow

UPSERTED = "roundtable.enrollment.employee.upserted"


@pytest.fixture
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    config = SystemConfig(
        data_dir=tmp_path_factory.mktemp("faults"),
        nats_port=free_port(),
        mongo_port=free_port(),
        issuer_port=free_port(),
        service_ports={"enrollment": free_port()},
        extra_env={"ENROLLMENT_OUTBOX_POLL_SECONDS": "0.2"},
    )
    running = RunningSystem(config).start()
    try:
        yield running
    finally:
        running.stop()


def hire(system: RunningSystem, employee_id: str) -> httpx.Response:
    body = json.dumps(
        {
            "event_id": f"hr-{employee_id}-{uuid.uuid4().hex[:6]}",
            "type": "employee.hired",
            "employee_id": employee_id,
            "effective_at": datetime.now(UTC).isoformat(),
            "employee": {
                "display_name": f"Employee {employee_id}",
                "email": f"{employee_id}@example.com",
                "time_zone": "Europe/Berlin",
                "level": "L4",
            },
        }
    ).encode()
    secret = dev_webhook_secret(system.config.data_dir)
    port = system.config.service_ports["enrollment"]
    return httpx.post(
        f"http://127.0.0.1:{port}/v1/hr/events",
        content=body,
        headers={"Content-Type": "application/json", **sign(secret, body)},
        timeout=15.0,
    )


async def upserted_employees(nats_url: str, expected: int, timeout: float = 60.0) -> list[str]:
    """Employee ids of the stream's employee.upserted events: read until ``expected`` arrived
    (or the timeout), then a little longer, so a duplicate would be seen too."""
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        subscription = await js.pull_subscribe(UPSERTED, stream=stream_name("enrollment"))
        found: list[str] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            try:
                batch = await subscription.fetch(100, timeout=1.0)
            except TimeoutError:
                if len(found) >= expected:
                    break
                continue
            for message in batch:
                found.append(json.loads(message.data)["subject"])
                await message.ack()
        return found
    finally:
        await client.close()


def test_webhooks_acknowledged_during_a_nats_outage_and_a_crash_are_published_once(
    system: RunningSystem,
) -> None:
    assert hire(system, "e-before").status_code == 200
    system.servers.nats.kill()

    # NATS is down: each hire is either stored and acknowledged, or refused with Retry-After.
    acknowledged = ["e-before"]
    for n in range(5):
        response = hire(system, f"e-outage-{n}")
        if response.status_code == 200:
            acknowledged.append(f"e-outage-{n}")
        else:
            assert response.status_code == 503 and "retry-after" in response.headers
    assert len(acknowledged) > 1, "nothing was acknowledged while NATS was down"

    # The service that holds those events unpublished dies, then both come back.
    system.processes["enrollment"].kill()
    system.servers.nats.start()
    system.start_service("enrollment")
    system.wait_ready("enrollment")

    published = asyncio.run(upserted_employees(system.servers.nats_url, len(acknowledged)))
    assert sorted(published) == sorted(acknowledged)  # each once: none lost, none twice
