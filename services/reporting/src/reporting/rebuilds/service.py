"""Rebuilds started through the admin API: at most one at a time, run inside the service.

Inside the service the replay shares the service's write lock with the live consumers, so it
runs only in the process that holds the projection writer lease: a standby refuses with 503 and
Retry-After, and the caller's retry reaches another replica (or the same one, once it writes). What a
rebuild did is kept in memory: a restart forgets it, and a rebuild a restart interrupted leaves
a half-filled generation that is never live and that the next rebuild starts afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from nats.js import JetStreamContext

from reporting.projections.generations import Generations
from reporting.rebuild import rebuild_into, start_progress
from reporting.rebuilds.domain import RebuildProgress
from roundtable_shared.events.sealing import KeyRing
from roundtable_shared.http.problems import Conflict, NotFound, ServiceUnavailable


class Rebuilds:
    def __init__(
        self,
        generations: Generations,
        jetstream: Callable[[], JetStreamContext],
        namespace: str,
        keys: KeyRing,
        is_writer: Callable[[], bool] = lambda: True,
    ) -> None:
        self.generations = generations
        self.keys = keys
        self.jetstream = jetstream
        self.namespace = namespace
        self.is_writer = is_writer
        self._starting = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._known: dict[str, RebuildProgress] = {}

    def running(self) -> RebuildProgress | None:
        return next((p for p in self._known.values() if p.running), None)

    async def start(self) -> RebuildProgress:
        """Start replaying the streams into the next generation; 409 while one runs."""
        if not self.is_writer():
            # The replay after the swap writes the live models: only the writer may.
            raise ServiceUnavailable(
                "this reporting process is a standby; the one applying events runs rebuilds: "
                "send the request again",
                retry_after=1,
            )
        async with self._starting:  # two requests at once: the second sees the first
            if (busy := self.running()) is not None:
                raise Conflict(
                    f"rebuild {busy.rebuild_id} is still running",
                    rebuild_id=busy.rebuild_id,
                )
            js = self.jetstream()
            progress = await start_progress(js, self.generations, self.namespace)
            self._known[progress.rebuild_id] = progress
            self._task = asyncio.create_task(self._run(js, progress))
            return progress

    async def _run(self, js: JetStreamContext, progress: RebuildProgress) -> None:
        # The failure is in the progress (and the log); nobody awaits this task.
        with contextlib.suppress(Exception):
            await rebuild_into(
                js,
                self.generations,
                self.namespace,
                progress,
                self.keys,
                cache_seconds=self.generations.cache_seconds,
            )

    def get(self, rebuild_id: str) -> RebuildProgress:
        found = self._known.get(rebuild_id)
        if found is None:
            raise NotFound(f"no rebuild {rebuild_id} since the service started")
        return found

    async def cancel_on_stop(self) -> None:
        """A background loop of the runtime: when the service stops, so does a running rebuild."""
        try:
            await asyncio.Event().wait()
        finally:
            if self._task is not None and not self._task.done():
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
