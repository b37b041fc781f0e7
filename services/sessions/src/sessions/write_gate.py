"""A local workaround for a FerretDB 1.24 (SQLite) defect: concurrent updates of one document lose
one of the two writes. FerretDB applies an update as read, modify, write back, without atomicity, so
the outbox relay clearing a session's outbox can write back the session as it was a moment before,
undoing a record written meanwhile (measured: 73 of 200 racing pairs lost the second write).

Until the shared library or the server fixes it, this process serialises its own aggregate updates
and the relay's passes behind one lock, so within one process no write is lost. It does not protect
several replicas against each other (real MongoDB does not need it at all).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from roundtable_shared.events.envelope import EventData
from roundtable_shared.messaging.outbox import OutboxRelay
from roundtable_shared.storage.aggregates import AggregateStore


class WriteGate:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()


class GatedRelay(OutboxRelay):
    def __init__(self, gate: WriteGate, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gate = gate

    async def relay_once(self) -> int:
        async with self._gate.lock:
            return await super().relay_once()


class GatedAggregateStore(AggregateStore):
    def __init__(self, gate: WriteGate, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gate = gate

    async def update(
        self,
        aggregate_id: Any,
        expected_version: int,
        changes: dict[str, Any],
        events: Sequence[EventData],
    ) -> int | None:
        async with self._gate.lock:
            return await super().update(aggregate_id, expected_version, changes, events)
