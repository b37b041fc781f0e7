"""The shared ``ServiceRuntime`` with two local fixes.

1. Database connections. FerretDB 1.24 on SQLite reads, modifies and writes a document without a
transaction (FerretDB#3040), so two connections updating one document lose one of the updates
(measured: 200 + 200 concurrent ``$inc`` ended at 142 and 113), which breaks the optimistic
concurrency of ``AggregateStore`` and lets the outbox relay's "clear" undo a handler's write. One
connection per process serialises this process's writes; ``mongodb_max_connections`` raises it
on real MongoDB.

2. Shutdown.
``OutboxRelay.run`` waits with ``asyncio.wait_for(event.wait(), poll)``. On Python 3.11, when the
relay is nudged at the moment it is cancelled, ``wait_for`` returns the event's result and swallows
the cancellation, so the relay loops on and ``ServiceRuntime.stop`` waits for it forever (seen in
this service's tests). Until the shared library fixes it, stop cancels until the task is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from enrollment.settings import EnrollmentSettings
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

    async def stop(self) -> None:
        task = self._relay_task
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.2)
        await super().stop()
