"""GET /dashboard: the sponsors' page, server-rendered (KPI tiles, trend, funnel, breakdown).

A browser cannot send a bearer header on a plain navigation, so the page also reads a session
cookie (HttpOnly, SameSite=Strict, never longer than the token). The cookie is set only by a POST
to /dashboard/session carrying the token in its body: from the dashboard's own sign-in page (with
its CSRF value) or from the company's frontend (an allowed Origin). A token never travels in a
URL, and no other site can sign a sponsor in as somebody else.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from reporting.breakdowns.service import Dimension
from reporting.dashboard.service import dashboard
from reporting.dashboard.signin import (
    CSRF_COOKIE,
    SignInRefused,
    check_origin,
    form_fields,
    new_csrf_value,
)
from reporting.dependencies import Reads
from roundtable_shared.auth.dependencies import bearer_token, token_verifier
from roundtable_shared.auth.tokens import Principal, Role
from roundtable_shared.http.problems import Forbidden, Unauthorized, UnsupportedMediaType

HERE = Path(__file__).parent
COOKIE = "rt_dashboard"
templates = Jinja2Templates(directory=HERE / "templates")
static = StaticFiles(directory=HERE / "static")
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'",
    # not no-referrer: with it Chromium posts the sign-in form with `Origin: null`
    "Referrer-Policy": "same-origin",
}


async def _viewer(request: Request) -> Principal:
    header = request.headers.get("Authorization")
    token = bearer_token(header) if header else request.cookies.get(COOKIE)
    if not token:
        raise Unauthorized("Sign in: open the dashboard from Roundtable, or send a bearer token.")
    principal = await token_verifier(request).verify(token)
    if not principal.has_any_role(Role.SPONSOR, Role.PROGRAM_ADMIN):
        raise Forbidden("The dashboard is for program sponsors and program admins.")
    return principal


def dashboard_router(
    reads: Reads, *, cors_origins: Collection[str], cookie_seconds: int
) -> APIRouter:
    """``cors_origins``: the frontends that may sign a sponsor in; ``cookie_seconds``: the
    longest a session cookie lasts (never longer than its token)."""
    router = APIRouter(tags=["dashboard"])

    @router.get(
        "/dashboard",
        summary="The sponsors' dashboard page (HTML)",
        description="Send a bearer token, or sign in first (POST /dashboard/session) for a session "
        "cookie. A token in the URL is not taken. A browser without a session is sent to the "
        "sign-in page.",
        response_class=HTMLResponse,
        responses={
            200: {"content": {"text/html": {"example": "<!doctype html>..."}}},
            303: {"description": "A browser without a session: on to /dashboard/sign-in"},
        },
    )
    async def get_dashboard(
        request: Request,
        program: Annotated[str | None, Query(max_length=128, description="Program id.")] = None,
        dimension: Annotated[
            Dimension, Query(description="Breakdown shown.")
        ] = Dimension.DEPARTMENT,
    ) -> Response:
        try:
            viewer = await _viewer(request)
        except Unauthorized:
            if "text/html" not in request.headers.get("accept", ""):
                raise
            # a browser without a (valid) session: to the sign-in page, and back here after it
            query = {"dimension": str(dimension), **({"program": program} if program else {})}
            return RedirectResponse(f"/dashboard/sign-in?{urlencode(query)}", status_code=303)
        models = await reads.models()
        view = await dashboard(models, viewer, program, dimension, reads.disclosure())
        return templates.TemplateResponse(
            request,
            "dashboard.html",
            {
                **view.context(),
                "dimension": str(dimension),
                "dimensions": [str(d) for d in Dimension],
            },
            headers=PAGE_HEADERS,
        )

    @router.get(
        "/dashboard/sign-in",
        summary="The dashboard's sign-in page (HTML): a form that posts a token",
        response_class=HTMLResponse,
        responses={200: {"content": {"text/html": {"example": "<!doctype html>..."}}}},
    )
    async def sign_in_page(
        request: Request,
        program: Annotated[str | None, Query(max_length=128, description="Program id.")] = None,
        dimension: Annotated[
            Dimension, Query(description="Breakdown shown.")
        ] = Dimension.DEPARTMENT,
    ) -> Response:
        csrf = new_csrf_value()
        page = templates.TemplateResponse(
            request,
            "sign_in.html",
            {"csrf": csrf, "program": program, "dimension": str(dimension)},
            headers=PAGE_HEADERS,
        )
        page.set_cookie(
            CSRF_COOKIE,
            csrf,
            max_age=900,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/dashboard",
        )
        return page

    @router.post(
        "/dashboard/session",
        summary="Start a dashboard session from a token in the form body",
        description="An `application/x-www-form-urlencoded` form: `token`, optional `program` and "
        "`dimension`, and `csrf` (from the sign-in page). Taken only from a browser on the "
        "dashboard's own sign-in page (with its CSRF cookie) or on an allowed frontend origin "
        "(`REPORTING_CORS_ORIGINS`); answers 303 to the dashboard with an HttpOnly session cookie.",
        status_code=303,
        responses={
            303: {"description": "Signed in: on to the dashboard"},
            401: {"description": "The token is not valid"},
            403: {"description": "Not from the sign-in page or an allowed frontend"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["token"],
                            "properties": {
                                "token": {"type": "string", "maxLength": 8192},
                                "program": {"type": "string", "maxLength": 128},
                                "dimension": {
                                    "type": "string",
                                    "enum": [str(d) for d in Dimension],
                                },
                                "csrf": {"type": "string", "maxLength": 128},
                            },
                        }
                    }
                },
            }
        },
    )
    async def start_session(request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/x-www-form-urlencoded":
            raise UnsupportedMediaType("post the sign-in form (application/x-www-form-urlencoded)")
        try:
            fields = form_fields(await request.body())
            check_origin(
                request.headers.get("origin"),
                request.headers.get("sec-fetch-site"),
                f"{request.url.scheme}://{request.url.netloc}",
                cors_origins,
                request.cookies.get(CSRF_COOKIE),
                fields.get("csrf"),
            )
        except SignInRefused as refused:
            raise Forbidden(str(refused)) from None
        token = fields.get("token")
        if not token:
            raise Unauthorized("Sign in with a token.")
        principal = await token_verifier(request).verify(token)  # 401 for a bad one
        if not principal.has_any_role(Role.SPONSOR, Role.PROGRAM_ADMIN):
            raise Forbidden("The dashboard is for program sponsors and program admins.")
        redirect = RedirectResponse(_dashboard_url(fields), status_code=303)
        redirect.set_cookie(
            COOKIE,
            token,
            max_age=_cookie_age(principal, cookie_seconds),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/dashboard",
        )
        redirect.delete_cookie(CSRF_COOKIE, path="/dashboard")
        return redirect

    return router


def _dashboard_url(fields: dict[str, str]) -> str:
    """Where the sign-in goes on: the program and breakdown asked for, when they are valid."""
    try:
        dimension = Dimension(fields.get("dimension", Dimension.DEPARTMENT))
    except ValueError:
        dimension = Dimension.DEPARTMENT
    query = {"dimension": str(dimension)}
    program = fields.get("program")
    if program and len(program) <= 128:
        query["program"] = program
    return f"/dashboard?{urlencode(query)}"


def _cookie_age(principal: Principal, most: int) -> int:
    expires = principal.claims.get("exp")
    if isinstance(expires, int):  # never outlive the token
        return max(0, min(most, expires - int(time.time())))
    return most
