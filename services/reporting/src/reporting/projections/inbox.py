"""The inbox of the projection consumers: records what they applied, never asks.

The shared ``Inbox`` asks, per batch, which events were applied already with one ``$in`` read of
``processed_events``, which FerretDB 1.24 answers by reading the whole collection: a cost that
grows with every event ever applied (600 ms a batch at 10,000). The projections need no such
check: applying an event again changes nothing (effect markers, version guards, contributions
reconciled from state; see ``projections.batch``), and an event comes again only after a crash or
a republish. So this inbox says "none seen" and keeps recording what was applied (for operators
and the tests' ``settle``).
"""

from __future__ import annotations

from collections.abc import Sequence

from roundtable_shared.messaging.inbox import Inbox


class RecordingInbox(Inbox):
    async def seen_many(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        return set()
