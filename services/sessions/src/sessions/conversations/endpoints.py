"""HTTP routes of the recorded conversation and private notes (group members only)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from roundtable_shared.auth.dependencies import CurrentPrincipal
from roundtable_shared.http.concurrency import etag, expected_version
from roundtable_shared.http.idempotency import IdempotencyKey
from sessions.common import IfMatch
from sessions.conversations.schemas import (
    PrivateNoteIn,
    PrivateNoteOut,
    RecordOut,
    RecordRequest,
    RevisionOut,
    SharingOut,
)
from sessions.conversations.service import ConversationService, Sharing


def router(service: ConversationService) -> APIRouter:
    api = APIRouter(prefix="/v1/sessions/{session_id}", tags=["conversation"])

    @api.post(
        "/record",
        status_code=201,
        response_model=RecordOut,
        summary="Record the held session: attendance, hot seats, shared notes (once; 409 after)",
    )
    async def record(
        session_id: str, body: RecordRequest, principal: CurrentPrincipal, response: Response
    ) -> RecordOut:
        out = await service.record(session_id, body, principal)
        response.headers["ETag"] = etag(out.version)
        return out

    @api.put(
        "/record",
        response_model=RecordOut,
        summary="Correct the record (If-Match required); the previous record goes to history",
    )
    async def correct(
        session_id: str,
        body: RecordRequest,
        principal: CurrentPrincipal,
        response: Response,
        if_match: IfMatch = None,
    ) -> RecordOut:
        out = await service.correct(session_id, body, principal, expected_version(if_match))
        response.headers["ETag"] = etag(out.version)
        return out

    @api.get("/record", response_model=RecordOut, summary="The recorded conversation (members)")
    async def read(session_id: str, principal: CurrentPrincipal, response: Response) -> RecordOut:
        out = await service.read(session_id, principal)
        response.headers["ETag"] = etag(out.version)
        return out

    @api.get(
        "/record/history",
        response_model=list[RevisionOut],
        summary="Earlier versions of the record, oldest first (members)",
    )
    async def history(session_id: str, principal: CurrentPrincipal) -> list[RevisionOut]:
        return [RevisionOut.of(r) for r in await service.history(session_id, principal)]

    @api.get(
        "/record/sharing",
        response_model=SharingOut,
        summary="Whether the record is shared with members who joined later (who may read it)",
    )
    async def sharing(session_id: str, principal: CurrentPrincipal) -> SharingOut:
        return _sharing_out(session_id, await service.sharing(session_id, principal))

    @api.put(
        "/record/sharing",
        response_model=SharingOut,
        summary="Agree to share the record with members who joined later (those who were there)",
        description="The record and its history become readable by members who joined the "
        "group after the session once every member who was there (and still is) and everyone "
        "the record holds the words of has agreed. Agreeing twice changes nothing.",
    )
    async def share(session_id: str, principal: CurrentPrincipal) -> SharingOut:
        return _sharing_out(session_id, await service.share(session_id, principal, agree=True))

    @api.delete(
        "/record/sharing",
        response_model=SharingOut,
        summary="Take back your agreement: later members no longer read the record",
    )
    async def unshare(session_id: str, principal: CurrentPrincipal) -> SharingOut:
        return _sharing_out(session_id, await service.share(session_id, principal, agree=False))

    @api.post(
        "/private-notes",
        status_code=201,
        response_model=PrivateNoteOut,
        summary="Write a private note on a session; only you will ever see it",
        tags=["private notes"],
    )
    async def add_note(
        session_id: str,
        body: PrivateNoteIn,
        principal: CurrentPrincipal,
        response: Response,
        key: IdempotencyKey = None,
    ) -> PrivateNoteOut:
        note = PrivateNoteOut.of(await service.add_note(session_id, body.text, principal, key))
        response.headers["ETag"] = etag(note.version)
        response.headers["Location"] = f"/v1/sessions/{session_id}/private-notes/{note.id}"
        return note

    @api.get(
        "/private-notes",
        response_model=list[PrivateNoteOut],
        summary="Your private notes on a session",
        tags=["private notes"],
    )
    async def my_notes(session_id: str, principal: CurrentPrincipal) -> list[PrivateNoteOut]:
        return [PrivateNoteOut.of(d) for d in await service.my_notes(session_id, principal)]

    @api.get(
        "/private-notes/{note_id}",
        response_model=PrivateNoteOut,
        summary="One of your private notes (anyone else's is 404)",
        tags=["private notes"],
    )
    async def get_note(
        session_id: str, note_id: str, principal: CurrentPrincipal, response: Response
    ) -> PrivateNoteOut:
        note = PrivateNoteOut.of(await service.note(note_id, session_id, principal))
        response.headers["ETag"] = etag(note.version)
        return note

    @api.put(
        "/private-notes/{note_id}",
        response_model=PrivateNoteOut,
        summary="Edit one of your private notes (If-Match required)",
        tags=["private notes"],
    )
    async def edit_note(
        session_id: str,
        note_id: str,
        body: PrivateNoteIn,
        principal: CurrentPrincipal,
        response: Response,
        if_match: IfMatch = None,
    ) -> PrivateNoteOut:
        version = expected_version(if_match)
        document = await service.edit_note(note_id, session_id, body.text, principal, version)
        note = PrivateNoteOut.of(document)
        response.headers["ETag"] = etag(note.version)
        return note

    @api.delete(
        "/private-notes/{note_id}",
        status_code=204,
        summary="Delete one of your private notes",
        tags=["private notes"],
    )
    async def delete_note(
        session_id: str, note_id: str, principal: CurrentPrincipal, if_match: IfMatch = None
    ) -> Response:
        version = expected_version(if_match) if if_match is not None else None
        await service.delete_note(note_id, session_id, principal, version)
        return Response(status_code=204)

    return api


def _sharing_out(session_id: str, sharing: Sharing) -> SharingOut:
    return SharingOut(
        session_id=session_id,
        shared_with_later_members=sharing.shared,
        agreed=sharing.agreed,
        waiting_for=sharing.waiting_for,
        version=sharing.version,
    )
