"""GET /dashboard: the sponsors' page, server-rendered (KPI tiles, trend, funnel, breakdown).

A browser cannot send a bearer header on a plain navigation, so the page also accepts the token
once as ``?token=`` (from a link the SSO frontend makes): it is moved into an HttpOnly,
SameSite=Strict cookie and the browser is redirected to the same URL without it, so the token
does not stay in the address bar or the history.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from reporting.breakdowns.service import Dimension
from reporting.dashboard.service import dashboard
from reporting.dependencies import current_models, disclosure_rule
from roundtable_shared.auth.dependencies import bearer_token, token_verifier
from roundtable_shared.auth.tokens import Principal, Role
from roundtable_shared.http.problems import Forbidden, Unauthorized

HERE = Path(__file__).parent
COOKIE = "rt_dashboard"
templates = Jinja2Templates(directory=HERE / "templates")
static = StaticFiles(directory=HERE / "static")
router = APIRouter(tags=["dashboard"])


async def _viewer(request: Request) -> Principal:
    header = request.headers.get("Authorization")
    token = bearer_token(header) if header else request.cookies.get(COOKIE)
    if not token:
        raise Unauthorized("Sign in: open the dashboard from Roundtable, or send a bearer token.")
    principal = await token_verifier(request).verify(token)
    if not principal.has_any_role(Role.SPONSOR, Role.PROGRAM_ADMIN):
        raise Forbidden("The dashboard is for program sponsors and program admins.")
    return principal


@router.get(
    "/dashboard",
    summary="The sponsors' dashboard page (HTML)",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"example": "<!doctype html>..."}}}, 303: {}},
)
async def get_dashboard(
    request: Request,
    program: Annotated[str | None, Query(max_length=128, description="Program id.")] = None,
    dimension: Annotated[Dimension, Query(description="Breakdown shown.")] = Dimension.DEPARTMENT,
    token: Annotated[
        str | None, Query(description="A bearer token, taken once into a cookie.")
    ] = None,
) -> Response:
    if token is not None:
        principal = await token_verifier(request).verify(token)  # 401 for a bad one
        settings = request.app.state.settings
        query = {"dimension": str(dimension), **({"program": program} if program else {})}
        redirect = RedirectResponse(f"/dashboard?{urlencode(query)}", status_code=303)
        expires = principal.claims.get("exp")
        max_age = int(settings.dashboard_cookie_seconds)
        if isinstance(expires, int):  # never outlive the token
            max_age = max(0, min(max_age, expires - int(time.time())))
        redirect.set_cookie(
            COOKIE,
            token,
            max_age=max_age,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/dashboard",
        )
        return redirect
    viewer = await _viewer(request)
    models = await current_models(request)
    view = await dashboard(models, viewer, program, dimension, disclosure_rule(request))
    return templates.TemplateResponse(
        request,
        "dashboard.html",
        {**view.context(), "dimension": str(dimension), "dimensions": [str(d) for d in Dimension]},
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' data:",
        },
    )
