"""HTTP routes of scheduling and calendars."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from roundtable_shared.auth.dependencies import CurrentPrincipal
from roundtable_shared.http.concurrency import etag, expected_version
from roundtable_shared.http.idempotency import IdempotencyKey
from roundtable_shared.http.pagination import PageRequest, page_request
from sessions.common import IfMatch
from sessions.scheduling.schemas import (
    CalendarFeedOut,
    CancelRequest,
    RescheduleRequest,
    ScheduleRequest,
    SessionOut,
    SessionPage,
)
from sessions.scheduling.service import SchedulingService

ICS = "text/calendar; charset=utf-8"
_ICS_EXAMPLE = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Roundtable//Sessions//EN\r\nBEGIN:VEVENT\r\n...\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
_ICS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {"example": _ICS_EXAMPLE}}}
}


def router(service: SchedulingService) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["sessions"])

    @api.post(
        "/groups/{group_id}/sessions",
        status_code=201,
        response_model=SessionOut,
        summary="Schedule a session of your peer group",
    )
    async def schedule(
        group_id: str,
        body: ScheduleRequest,
        principal: CurrentPrincipal,
        response: Response,
        key: IdempotencyKey = None,
    ) -> SessionOut:
        session = await service.schedule(group_id, body, principal, key)
        response.headers["ETag"] = etag(session.version)
        response.headers["Location"] = f"/v1/sessions/{session.id}"
        return SessionOut.of(session, member=True)

    @api.get(
        "/groups/{group_id}/sessions",
        response_model=SessionPage,
        summary="A group's sessions, by start time (members; admins see metadata)",
    )
    async def list_sessions(
        group_id: str,
        principal: CurrentPrincipal,
        page: Annotated[PageRequest, Depends(page_request)],
    ) -> SessionPage:
        sessions, cursor = await service.of_group(group_id, principal, page)
        return SessionPage(
            items=[SessionOut.of(s, member=member) for s, member in sessions], next_cursor=cursor
        )

    @api.get(
        "/sessions/{session_id}",
        response_model=SessionOut,
        summary="A session (members; admins see metadata: when, who attended, how many steps)",
    )
    async def get_session(
        session_id: str, principal: CurrentPrincipal, response: Response
    ) -> SessionOut:
        session, member, attendees, steps = await service.visible(session_id, principal)
        response.headers["ETag"] = etag(session.version)
        return SessionOut.of(
            session, member=member, attendee_ids=attendees, action_step_count=steps
        )

    @api.patch(
        "/sessions/{session_id}",
        response_model=SessionOut,
        summary="Reschedule a session or change its place, link or agenda (If-Match required)",
    )
    async def reschedule(
        session_id: str,
        body: RescheduleRequest,
        principal: CurrentPrincipal,
        response: Response,
        if_match: IfMatch = None,
    ) -> SessionOut:
        session = await service.reschedule(session_id, body, principal, expected_version(if_match))
        response.headers["ETag"] = etag(session.version)
        return SessionOut.of(session, member=True)

    @api.post(
        "/sessions/{session_id}/cancel",
        response_model=SessionOut,
        summary="Cancel a scheduled session, with a note for the group",
    )
    async def cancel(
        session_id: str,
        body: CancelRequest,
        principal: CurrentPrincipal,
        response: Response,
        if_match: IfMatch = None,
    ) -> SessionOut:
        version = expected_version(if_match) if if_match is not None else None
        session = await service.cancel(session_id, body.note, principal, version)
        response.headers["ETag"] = etag(session.version)
        return SessionOut.of(session, member=True)

    @api.get(
        "/sessions/{session_id}/calendar.ics",
        response_class=Response,
        responses=_ICS_RESPONSE,
        summary="The session as an iCalendar file, for any calendar app",
    )
    async def session_ics(session_id: str, principal: CurrentPrincipal) -> Response:
        body = await service.ics(session_id, principal)
        return Response(
            body,
            media_type=ICS,
            headers={"Content-Disposition": f'attachment; filename="session-{session_id}.ics"'},
        )

    @api.post(
        "/me/calendar-feed",
        status_code=201,
        response_model=CalendarFeedOut,
        summary="Create (or rotate) your private calendar feed URL; the old URL stops working",
        tags=["calendar"],
    )
    async def new_feed(principal: CurrentPrincipal, request: Request) -> CalendarFeedOut:
        token = await service.new_feed(principal)
        return CalendarFeedOut(url=str(request.url_for("calendar_feed", token=token)))

    @api.delete(
        "/me/calendar-feed",
        status_code=204,
        summary="Revoke your calendar feed URL",
        tags=["calendar"],
    )
    async def revoke_feed(principal: CurrentPrincipal) -> Response:
        await service.revoke_feed(principal.employee_id)
        return Response(status_code=204)

    @api.get(
        "/calendar-feeds/{token}.ics",
        name="calendar_feed",
        response_class=Response,
        responses=_ICS_RESPONSE,
        summary="Your sessions as a subscribable calendar (the secret URL is the credential)",
        tags=["calendar"],
    )
    async def calendar_feed(token: str) -> Response:
        return Response(await service.feed(token), media_type=ICS)

    return api
