"""Recording a held session, correcting it with history, and private notes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from roundtable_shared.auth.tokens import Principal
from roundtable_shared.clock import Clock
from roundtable_shared.http.concurrency import stale_write
from roundtable_shared.http.idempotency import ensure_same_request, fingerprint, new_resource_id
from roundtable_shared.http.problems import NotFound
from roundtable_shared.storage.aggregates import AlreadyExists
from roundtable_shared.storage.mongo import Document
from roundtable_shared.storage.retry import until_saved
from sessions.conversations import domain
from sessions.conversations.domain import Conversation, RecordDraft, Revision
from sessions.conversations.repository import ConversationRepository, PrivateNoteRepository
from sessions.conversations.schemas import RecordOut, RecordRequest
from sessions.membership.domain import Group
from sessions.membership.service import MembershipService

CommitmentLookup = Callable[[str], Awaitable[dict[str, list[str]]]]


@dataclass(frozen=True)
class Sharing:
    shared: bool
    agreed: list[str]
    waiting_for: list[str]
    version: int


def _sharing(conversation: Conversation, group: Group) -> Sharing:
    agreed = [consent.employee_id for consent in conversation.sharing]
    needed = domain.consent_needed(conversation, group)
    return Sharing(
        shared=domain.shared_with_later_members(conversation, group),
        agreed=agreed,
        waiting_for=sorted(needed - set(agreed)),
        version=conversation.version,
    )


class ConversationService:
    def __init__(
        self,
        conversations: ConversationRepository,
        notes: PrivateNoteRepository,
        membership: MembershipService,
        clock: Clock,
        commitments: CommitmentLookup,
    ) -> None:
        """``commitments``: each hot-seat member's action step ids in a session, answered by
        the action steps' repository."""
        self.conversations = conversations
        self.notes = notes
        self.membership = membership
        self.clock = clock
        self.commitments = commitments

    async def load(self, session_id: str) -> Conversation:
        conversation = await self.conversations.get(session_id)
        if conversation is None:
            raise NotFound(f"no session {session_id!r}")
        return conversation

    async def _out(self, conversation: Conversation) -> RecordOut:
        if conversation.record is None:
            raise NotFound("this session has not been recorded yet")
        commitments = await self.commitments(conversation.id)
        return RecordOut.of(conversation.id, conversation.record, conversation.version, commitments)

    async def record(
        self, session_id: str, request: RecordRequest, principal: Principal
    ) -> RecordOut:
        draft = RecordDraft.model_validate(request.model_dump())

        async def attempt() -> int | None:
            # Read afresh each time: if someone changed it meanwhile (perhaps recorded it), the
            # rules decide on the new state.
            conversation = await self.load(session_id)
            group = await self.membership.member_group(conversation.group_id, principal)
            held, events = domain.record(
                conversation, group, principal.employee_id, draft, self.clock()
            )
            return await self.conversations.save(conversation, held, events)

        await until_saved(attempt, what=f"session {session_id}")
        return await self._out(await self.load(session_id))

    async def correct(
        self, session_id: str, request: RecordRequest, principal: Principal, version: int
    ) -> RecordOut:
        conversation = await self.load(session_id)
        group = await self.membership.member_group(conversation.group_id, principal)
        if conversation.version != version:
            raise stale_write(conversation.version)
        draft = RecordDraft.model_validate(request.model_dump())
        corrected, events = domain.correct(
            conversation, group, principal.employee_id, draft, self.clock()
        )
        if await self.conversations.save(conversation, corrected, events) is None:
            raise stale_write((await self.load(session_id)).version)
        return await self._out(await self.load(session_id))

    async def readable(self, session_id: str, principal: Principal) -> Conversation:
        """The conversation, when the caller may read it (members who were there); 403 else."""
        conversation = await self.load(session_id)
        group = await self.membership.member_group(conversation.group_id, principal)
        domain.require_readable(conversation, group, principal.employee_id)
        return conversation

    async def read(self, session_id: str, principal: Principal) -> RecordOut:
        return await self._out(await self.readable(session_id, principal))

    async def history(self, session_id: str, principal: Principal) -> list[Revision]:
        return (await self.readable(session_id, principal)).history

    # --- sharing with members who joined later ----------------------------------------------

    async def sharing(self, session_id: str, principal: Principal) -> Sharing:
        conversation = await self.readable(session_id, principal)
        return _sharing(conversation, await self.membership.group(conversation.group_id))

    async def share(self, session_id: str, principal: Principal, *, agree: bool) -> Sharing:
        """The caller's agreement to share with later members given (or taken back)."""

        async def attempt() -> Sharing | None:
            # Agreements commute: when someone changed the session meanwhile, apply it again.
            conversation = await self.load(session_id)
            group = await self.membership.member_group(conversation.group_id, principal)
            if agree:
                changed = domain.consent_to_share(
                    conversation, group, principal.employee_id, self.clock()
                )
            else:
                changed = domain.withdraw_consent(conversation, group, principal.employee_id)
            if changed is None:
                return _sharing(conversation, group)
            if await self.conversations.save(conversation, changed, []):
                return _sharing(await self.load(session_id), group)
            return None

        return await until_saved(attempt, what=f"session {session_id}")

    # --- private notes: their author's alone -------------------------------------------------

    async def add_note(
        self, session_id: str, text: str, principal: Principal, key: str | None
    ) -> Document:
        group_id = await self._notes_group(session_id, principal)
        note_id = new_resource_id(f"note:{session_id}", principal.employee_id, key)
        payload = {"text": text}
        now = self.clock()
        document = {
            "_id": note_id,
            "session_id": session_id,
            "group_id": group_id,
            "author_id": principal.employee_id,
            "text": text,
            "created_at": now,
            "updated_at": now,
            "request_fingerprint": fingerprint(payload),
        }
        try:
            version = await self.notes.add(document)
        except AlreadyExists:
            existing = await self.note(note_id, session_id, principal)
            ensure_same_request(existing.get("request_fingerprint"), payload)
            return existing
        return {**document, "version": version}  # what was inserted; no need to read it back

    async def note(self, note_id: str, session_id: str, principal: Principal) -> Document:
        document = await self.notes.get(note_id)
        # Someone else's note does not exist for you: 404, not 403, so its existence stays private.
        if (
            document is None
            or document["session_id"] != session_id
            or document["author_id"] != principal.employee_id
        ):
            raise NotFound("no such private note of yours")
        return document

    async def my_notes(self, session_id: str, principal: Principal) -> list[Document]:
        await self._notes_group(session_id, principal)
        return await self.notes.of_author(session_id, principal.employee_id)

    async def _notes_group(self, session_id: str, principal: Principal) -> str:
        """The session's group; the caller must be a member now."""
        group_id = await self.conversations.group_of(session_id)
        if group_id is None:
            raise NotFound(f"no session {session_id!r}")
        await self.membership.member_group(group_id, principal)
        return group_id

    async def edit_note(
        self, note_id: str, session_id: str, text: str, principal: Principal, version: int
    ) -> Document:
        document = await self.note(note_id, session_id, principal)
        if await self.notes.edit(note_id, version, text, self.clock()) is None:
            raise stale_write(document["version"])
        stored = await self.notes.get(note_id)
        if stored is None:  # deleted meanwhile
            raise NotFound("no such private note of yours")
        return stored

    async def delete_note(
        self, note_id: str, session_id: str, principal: Principal, version: int | None
    ) -> None:
        document = await self.note(note_id, session_id, principal)
        expected = document["version"] if version is None else version
        if not await self.notes.delete(document, expected):
            raise stale_write(document["version"])

    # --- erasure ----------------------------------------------------------------------------

    async def erase(self, employee_id: str) -> None:
        await self.notes.erase_author(employee_id)
        for conversation in await self.conversations.mentioning(employee_id):
            await self._scrub(conversation, employee_id)

    async def _scrub(self, conversation: Conversation, employee_id: str) -> None:
        """The person's words out of one conversation; decided again on a fresh read when it
        changed meanwhile (``StillStale`` when it keeps changing: the event comes back)."""
        unread = [conversation]  # the first attempt decides on what the caller read

        async def attempt() -> bool | None:
            current = unread.pop() if unread else await self.load(conversation.id)
            scrubbed = domain.scrubbed(current, employee_id)
            if scrubbed is None:
                return False
            saved = await self.conversations.save(current, scrubbed, [])
            return None if saved is None else True

        await until_saved(attempt, what=f"session {conversation.id}")
