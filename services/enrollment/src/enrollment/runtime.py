"""The shared ``ServiceRuntime`` with two local fixes.

1. Database connections. FerretDB 1.24 on SQLite reads, modifies and writes a document without a
transaction (FerretDB#3040), so two connections updating one document lose one of the updates
(measured: 200 + 200 concurrent ``$inc`` ended at 142 and 113), which breaks the optimistic
concurrency of ``AggregateStore`` and lets the outbox relay's "clear" undo a handler's write. One
connection per process serialises this process's writes; ``mongodb_max_connections`` raises it
on real MongoDB.

2. Bulk imports. Each outbox "clear" is an update, and FerretDB on SQLite takes tens of
milliseconds per update; while a 50,000-row import writes, a relay clearing outboxes on the one
connection would slow the import tenfold. ``relay_paused()`` holds the relay back for the length
of an import: the events wait, committed, in their documents and leave right after.

3. Shutdown.
``OutboxRelay.run`` waits with ``asyncio.wait_for(event.wait(), poll)``. On Python 3.11, when the
relay is nudged at the moment it is cancelled, ``wait_for`` returns the event's result and swallows
the cancellation, so the relay loops on and ``ServiceRuntime.stop`` waits for it forever (seen in
this service's tests). Until the shared library fixes it, stop cancels until the task is done.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from enrollment.settings import EnrollmentSettings
from roundtable_shared.messaging.outbox import OutboxRelay
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.storage.mongo import Indexes


def with_pool_size(uri: str, size: int) -> str:
    parts = urlsplit(uri)
    query = dict(parse_qsl(parts.query))
    if any(key.lower() == "maxpoolsize" for key in query):
        return uri  # the URI decides
    query["maxPoolSize"] = str(size)
    encoded = "&".join(f"{key}={value}" for key, value in query.items())
    return urlunsplit(parts._replace(query=encoded))


class PausableOutboxRelay(OutboxRelay):
    """The shared relay, which skips its passes while paused (nested pauses count)."""

    paused = 0

    async def relay_once(self) -> int:
        if self.paused:
            return 0
        return await super().relay_once()


class EnrollmentRuntime(ServiceRuntime):
    def __init__(
        self,
        settings: EnrollmentSettings,
        *,
        indexes: Sequence[Indexes] = (),
        outbox_collections: Sequence[str] = (),
    ) -> None:
        pooled = settings.model_copy(
            update={
                "mongodb_uri": with_pool_size(
                    settings.mongodb_uri, settings.mongodb_max_connections
                )
            }
        )
        super().__init__(pooled, indexes=indexes, outbox_collections=outbox_collections)
        self.enrollment_settings = pooled
        self.relay = PausableOutboxRelay(
            self.db, outbox_collections, self.publisher, poll_seconds=pooled.outbox_poll_seconds
        )
        self._background: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self._background_tasks: list[asyncio.Task[None]] = []

    def add_background(self, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """A loop to run while the service runs (register before ``start``)."""
        self._background.append(loop)

    async def start(self) -> None:
        await super().start()
        self._background_tasks = [asyncio.create_task(loop()) for loop in self._background]

    @contextlib.asynccontextmanager
    async def relay_paused(self) -> AsyncIterator[None]:
        relay = self.relay
        assert isinstance(relay, PausableOutboxRelay)
        relay.paused += 1
        try:
            yield
        finally:
            relay.paused -= 1
            relay.nudge()

    async def stop(self) -> None:
        for background in self._background_tasks:
            while not background.done():
                background.cancel()
                await asyncio.wait({background}, timeout=0.2)
        task = self._relay_task
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.2)
        await super().stop()
