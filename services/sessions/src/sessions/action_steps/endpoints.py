"""HTTP routes of action steps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from roundtable_shared.auth.dependencies import CurrentPrincipal
from roundtable_shared.http.concurrency import etag, expected_version
from roundtable_shared.http.idempotency import IdempotencyKey
from roundtable_shared.http.pagination import PageRequest, page_request
from sessions.action_steps.domain import ActionStatus, ActionStep
from sessions.action_steps.schemas import (
    ActionStepOut,
    ActionStepPage,
    CommentRequest,
    CommitRequest,
    DropRequest,
    EditRequest,
    ProgressRequest,
)
from sessions.action_steps.service import ActionStepService, Role
from sessions.common import IfMatch


def _optional_version(if_match: str | None) -> int | None:
    return expected_version(if_match) if if_match is not None else None


def router(service: ActionStepService) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["action steps"])

    def out(step: ActionStep, response: Response) -> ActionStepOut:
        response.headers["ETag"] = etag(step.version)
        return ActionStepOut.of(step, service.clock())

    @api.post(
        "/sessions/{session_id}/action-steps",
        status_code=201,
        response_model=ActionStepOut,
        summary="Commit to an action step in a held session, with an accountability partner",
    )
    async def commit(
        session_id: str,
        body: CommitRequest,
        principal: CurrentPrincipal,
        response: Response,
        key: IdempotencyKey = None,
    ) -> ActionStepOut:
        step = await service.commit(session_id, body, principal, key)
        response.headers["Location"] = f"/v1/action-steps/{step.id}"
        return out(step, response)

    @api.get(
        "/sessions/{session_id}/action-steps",
        response_model=list[ActionStepOut],
        summary="The action steps committed in a session (members)",
    )
    async def of_session(session_id: str, principal: CurrentPrincipal) -> list[ActionStepOut]:
        now = service.clock()
        return [ActionStepOut.of(s, now) for s in await service.of_session(session_id, principal)]

    @api.get(
        "/me/action-steps",
        response_model=ActionStepPage,
        summary="Your action steps (role=owner) or those you hold others to (role=partner)",
    )
    async def mine(
        principal: CurrentPrincipal,
        page: Annotated[PageRequest, Depends(page_request)],
        role: Annotated[
            Role, Query(description="owner: yours; partner: you hold them")
        ] = Role.OWNER,
        status: Annotated[ActionStatus | None, Query()] = None,
        overdue: Annotated[bool, Query(description="Open and past due only")] = False,
    ) -> ActionStepPage:
        steps, cursor = await service.mine(principal, role, status, overdue, page)
        now = service.clock()
        return ActionStepPage(items=[ActionStepOut.of(s, now) for s in steps], next_cursor=cursor)

    @api.get("/action-steps/{action_id}", response_model=ActionStepOut, summary="An action step")
    async def get_step(
        action_id: str, principal: CurrentPrincipal, response: Response
    ) -> ActionStepOut:
        return out(await service.visible(action_id, principal), response)

    @api.patch(
        "/action-steps/{action_id}",
        response_model=ActionStepOut,
        summary="Change title, description, due date or partner (owner; If-Match required)",
    )
    async def edit(
        action_id: str,
        body: EditRequest,
        principal: CurrentPrincipal,
        response: Response,
        if_match: IfMatch = None,
    ) -> ActionStepOut:
        version = expected_version(if_match)
        return out(await service.edit(action_id, body, principal, version), response)

    @api.post(
        "/action-steps/{action_id}/progress",
        response_model=ActionStepOut,
        summary="Report progress: a status and a note (owner)",
    )
    async def progress(
        action_id: str,
        body: ProgressRequest,
        principal: CurrentPrincipal,
        response: Response,
        if_match: IfMatch = None,
    ) -> ActionStepOut:
        step = await service.progress(action_id, body, principal, _optional_version(if_match))
        return out(step, response)

    @api.post(
        "/action-steps/{action_id}/complete",
        response_model=ActionStepOut,
        summary="Complete an action step (owner)",
    )
    async def complete(
        action_id: str, principal: CurrentPrincipal, response: Response, if_match: IfMatch = None
    ) -> ActionStepOut:
        step = await service.complete(action_id, principal, _optional_version(if_match))
        return out(step, response)

    @api.post(
        "/action-steps/{action_id}/drop",
        response_model=ActionStepOut,
        summary="Drop an action step, with the reason (owner)",
    )
    async def drop(
        action_id: str,
        body: DropRequest,
        principal: CurrentPrincipal,
        response: Response,
        if_match: IfMatch = None,
    ) -> ActionStepOut:
        step = await service.drop(action_id, body.note, principal, _optional_version(if_match))
        return out(step, response)

    @api.post(
        "/action-steps/{action_id}/comments",
        status_code=201,
        response_model=ActionStepOut,
        summary="Comment on an action step (owner or accountability partner)",
    )
    async def comment(
        action_id: str, body: CommentRequest, principal: CurrentPrincipal, response: Response
    ) -> ActionStepOut:
        return out(await service.comment(action_id, body.text, principal), response)

    return api
