"""Tests read what a service published as its consumers do: personal fields opened."""

from __future__ import annotations

from nats.aio.client import Client as NatsClient

from roundtable_shared.events.envelope import Envelope
from roundtable_shared.events.sealing import KeyRing
from roundtable_shared.messaging.streams import PRODUCERS


async def opened(
    nats_client: NatsClient, namespace: str, envelopes: list[Envelope]
) -> list[Envelope]:
    """The envelopes with their sealed fields opened (None where the person was erased)."""
    keys = KeyRing("tests", namespace)
    await keys.bind(nats_client.jetstream(), PRODUCERS)
    return [await keys.open(envelope) for envelope in envelopes]
