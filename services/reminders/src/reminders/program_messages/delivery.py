"""The one hook delivery calls: a program's own wording of a message, when it has one.

A delivery pass reads, once per batch, the wording each program set for the kinds in the batch
and the wording of the broadcasts in it (by ``_id``, one read each),
then replaces the default subject and lines of each message that has one. The link, its label,
the greeting and the footer stay the service's own. Wording that cannot be rendered (it was
checked when it was stored, so only a bug) leaves the default message, logged without content.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from reminders.broadcasts.repository import BroadcastRepository
from reminders.delivery.messages import Message, local_time
from reminders.program_messages import variables
from reminders.program_messages.domain import Wording, WordingRefused, render
from reminders.program_messages.repository import ProgramMessageRepository, wording_id
from reminders.schedule.copies import SourceCopies
from reminders.schedule.domain import NoticeKind, kind_of
from roundtable_shared.storage.mongo import Database, Document

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class BatchWording:
    """The programs' own wording of a batch's messages, and the names of those programs."""

    overrides: Mapping[str, Wording] = field(default_factory=dict)
    broadcasts: Mapping[str, Wording] = field(default_factory=dict)
    program_names: Mapping[str, str] = field(default_factory=dict)

    def apply(
        self,
        message: Message,
        doc: Document,
        *,
        recipient_name: str | None,
        recipient_zone: str | None,
        names: Mapping[str, str],
    ) -> Message:
        """``message`` with the program's wording of its subject and lines, if it has one."""
        kind = kind_of(doc["kind"])
        context: Mapping[str, Any] = doc.get("context") or {}
        if kind is NoticeKind.BROADCAST:
            wording = self.broadcasts.get(str(context.get("broadcast_id")))
        else:
            wording = self.overrides.get(wording_id(doc["program_id"], str(kind)))
        if wording is None or kind not in variables.VARIABLES:
            return message
        values = variables.values(
            kind,
            context,
            participant_name=recipient_name,
            program_name=self.program_names.get(doc["program_id"]),
            names=names,
            when=lambda iso: local_time(iso, recipient_zone),
        )
        try:
            rendered = render(kind, wording, values)
        except WordingRefused:
            log.warning("program wording not rendered", kind=str(kind), reminder_id=doc["_id"])
            return message
        return dataclasses.replace(message, subject=rendered.subject, lines=rendered.paragraphs)


NO_WORDING = BatchWording()


class WordingSource(Protocol):
    async def for_batch(self, docs: Sequence[Document]) -> BatchWording: ...


class DefaultWording:
    """No program wording at all: every message as the service words it."""

    async def for_batch(self, docs: Sequence[Document]) -> BatchWording:
        return NO_WORDING


class ProgramWording:
    """Reads the wording of a batch's messages: at most three reads by ``_id`` per batch."""

    def __init__(self, db: Database) -> None:
        self.overrides = ProgramMessageRepository(db)
        self.broadcasts = BroadcastRepository(db)
        self.copies = SourceCopies(db)

    async def for_batch(self, docs: Sequence[Document]) -> BatchWording:
        ids = {wording_id(d["program_id"], d["kind"]) for d in docs if d["kind"] != "broadcast"}
        broadcast_ids = {
            str((d.get("context") or {}).get("broadcast_id"))
            for d in docs
            if d["kind"] == NoticeKind.BROADCAST
        }
        overrides = await self.overrides.get_many(ids) if ids else {}
        broadcasts = await self.broadcasts.wordings(broadcast_ids) if broadcast_ids else {}
        if not overrides and not broadcasts:
            return NO_WORDING
        names = {}
        for program_id in {d["program_id"] for d in docs}:
            copy = await self.copies.copy(f"program:{program_id}")
            if copy and copy.get("name"):
                names[program_id] = str(copy["name"])
        return BatchWording(overrides, broadcasts, names)
