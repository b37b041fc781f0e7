"""A test's view of the running service: publish events as producers would, wait for them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from fastapi import FastAPI
from nats.aio.client import Client as NatsClient

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_shared.events.envelope import Envelope
from roundtable_shared.messaging.streams import PRODUCERS, durable_name, stream_name


class World:
    def __init__(self, app: FastAPI, nats_client: NatsClient, namespace: str, issuer: DevIssuer):
        self.app = app
        self.js = nats_client.jetstream()
        self.namespace = namespace
        self.issuer = issuer
        self.event_ids: set[str] = set()

    def token(self, employee: str, roles: list[str]) -> str:
        return self.issuer.mint(employee, roles)

    def headers(self, employee: str, roles: list[str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(employee, roles)}"}

    async def publish(self, envelope: Envelope, msg_id: str | None = None) -> None:
        await self.js.publish(
            self.namespace + envelope.type,
            envelope.to_json(),
            headers={"Nats-Msg-Id": msg_id or envelope.id},
        )
        self.event_ids.add(envelope.id)

    async def publish_all(self, events: Iterable[Envelope | tuple[Envelope, str]]) -> None:
        for item in events:
            if isinstance(item, tuple):
                await self.publish(*item)
            else:
                await self.publish(item)

    async def _consumer_state(self, producer: str) -> str:
        try:
            info = await self.js.consumer_info(
                stream_name(producer, self.namespace),
                durable_name(f"reporting-{producer}", self.namespace),
            )
        except Exception as exc:
            return f"{producer}: {exc!r}"
        return (
            f"{producer}: pending={info.num_pending} ack_pending={info.num_ack_pending} "
            f"redelivered={info.num_redelivered} waiting={info.num_waiting}"
        )

    async def settle(self, seconds: float = 30.0) -> None:
        """Wait until every published event was applied (the consumers' inbox holds it)."""
        inbox = self.app.state.runtime.db["processed_events"]
        deadline = time.monotonic() + seconds
        while True:
            done = await inbox.count_documents({})
            if done >= len(self.event_ids):
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{done}/{len(self.event_ids)} events applied; consumers: "
                    + "; ".join([await self._consumer_state(s) for s in PRODUCERS])
                )
            await asyncio.sleep(0.05)
