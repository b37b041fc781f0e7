"""The preferences API: each employee edits their own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from reminders.preferences.schemas import PreferencesIn, PreferencesOut
from reminders.preferences.service import PreferencesService
from roundtable_shared.auth.dependencies import CurrentPrincipal
from roundtable_shared.http.concurrency import etag, expected_version


def preferences_router(service: PreferencesService) -> APIRouter:
    router = APIRouter(prefix="/v1/me/preferences", tags=["preferences"])

    @router.get("", summary="My reminder preferences", response_model=PreferencesOut)
    async def read_preferences(response: Response, principal: CurrentPrincipal) -> PreferencesOut:
        out = await service.read(principal.employee_id)
        response.headers["ETag"] = etag(out.version)
        return out

    @router.put(
        "",
        summary="Replace my reminder preferences",
        description='Send `If-Match` with the ETag you read (`"0"` before the first edit).',
        response_model=PreferencesOut,
        responses={
            409: {"description": "The person was erased: nothing is stored for them again"},
            412: {"description": "Changed since you read them"},
            428: {},
        },
    )
    async def replace_preferences(
        response: Response,
        principal: CurrentPrincipal,
        body: PreferencesIn,
        if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    ) -> PreferencesOut:
        version = expected_version(if_match)
        out = await service.replace(principal.employee_id, version, body)
        response.headers["ETag"] = etag(out.version)
        return out

    return router
