"""Publishing envelopes to JetStream, with the event id as ``Nats-Msg-Id``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from faststream.nats import NatsBroker

from roundtable_shared.events.envelope import Envelope, service_of, subject_for
from roundtable_shared.messaging.streams import stream_name

CLOUDEVENTS_JSON = "application/cloudevents+json"


class JetStreamPublisher:
    def __init__(
        self,
        broker: NatsBroker,
        namespace: str = "",
        timeout: float = 5.0,
        seal: Callable[[Envelope], Awaitable[Envelope]] | None = None,
    ) -> None:
        """``seal``: what turns the personal fields of an event into their sealed form; every
        event leaves through it, so no stream ever holds them in the clear."""
        self._broker = broker
        self._namespace = namespace
        self._timeout = timeout
        self._seal = seal

    async def publish(self, envelope: Envelope) -> None:
        """Returns once JetStream stored the event (or recognised it as a duplicate)."""
        if self._seal is not None:
            envelope = await self._seal(envelope)
        await self._broker.publish(
            envelope.to_json(),
            subject_for(envelope.type, self._namespace),
            headers={
                # The server drops a second copy inside its duplicate window.
                "Nats-Msg-Id": envelope.id,
                "traceparent": envelope.traceparent,
                "content-type": CLOUDEVENTS_JSON,
            },
            stream=stream_name(service_of(envelope.type), self._namespace),
            timeout=self._timeout,
        )
