"""The app factory every service's HTTP API is built with."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo.errors import ConnectionFailure
from starlette.exceptions import HTTPException

from roundtable_shared.auth.dependencies import CurrentPrincipal
from roundtable_shared.auth.tokens import TokenVerifier
from roundtable_shared.http.middleware import BodyLimitMiddleware, RequestContextMiddleware
from roundtable_shared.http.pagination import CursorKeys
from roundtable_shared.http.problems import (
    PROBLEM_BASE,
    PROBLEM_JSON,
    Conflict,
    Problem,
    ServiceUnavailable,
)
from roundtable_shared.http.validation import input_problem
from roundtable_shared.observability.logging import configure_logging
from roundtable_shared.observability.redaction import exception_summary
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.storage.retry import StillStale
from roundtable_shared.storage.secrets import service_secret

log = structlog.get_logger(__name__)


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    return JSONResponse(
        problem.body(instance=request.url.path),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_JSON,
    )


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc, request)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return problem_response(input_problem(exc.errors()), request)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    problem = Problem(str(exc.detail), headers=dict(exc.headers or {}))
    problem.status, problem.title = exc.status_code, _reason(exc.status_code)
    problem.slug = problem.title.lower().replace(" ", "-")
    return problem_response(problem, request)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _on_database_unreachable(request: Request, exc: Exception) -> Response:
    # The database is down or failing over: the remedy is the caller's retry a moment later
    # (writes carry an Idempotency-Key or If-Match), which a 503 with Retry-After says; a 500
    # would say the request itself was at fault.
    log.warning("database unreachable", path=request.url.path, error=exception_summary(exc))
    problem = ServiceUnavailable("the database is unreachable; try again shortly", retry_after=2)
    return problem_response(problem, request)


async def _on_still_stale(request: Request, exc: Exception) -> Response:
    # Others kept changing the same record: nothing was written, and the client's retry (with
    # its Idempotency-Key or a fresh If-Match) is the remedy.
    return problem_response(Conflict(f"{exc}; retry the request"), request)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", path=request.url.path)
    return problem_response(Problem("an unexpected error occurred; it has been logged"), request)


def create_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter] = (),
    version: str = "0.1.0",
    body_limits: Mapping[str, int] | None = None,
) -> FastAPI:
    """``body_limits`` gives single paths a body limit of their own (a streamed upload)."""
    settings = runtime.settings
    configure_logging(settings.service_name, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        responses={
            "default": {
                "description": "An RFC 9457 problem",
                "content": {PROBLEM_JSON: {"example": _problem_example()}},
            }
        },
    )
    app.state.runtime = runtime
    app.state.token_verifier = TokenVerifier.from_settings(settings)
    configured = settings.cursor_key.get_secret_value().encode() if settings.cursor_key else None
    app.state.cursor_keys = CursorKeys(
        settings.service_name, configured, lambda: service_secret(runtime.db, "cursor_key")
    )
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(ConnectionFailure, _on_database_unreachable)
    app.add_exception_handler(StillStale, _on_still_stale)
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["ETag", "Location", "X-Request-Id", "Retry-After"],
    )
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, path_limits=body_limits
    )
    app.add_middleware(RequestContextMiddleware)
    app.include_router(operations_router())
    for router in routers:
        app.include_router(router)
    return app


def _problem_example() -> dict[str, Any]:
    return {
        "type": PROBLEM_BASE + "validation",
        "title": "Unprocessable Content",
        "status": 422,
        "detail": "invalid input: email: value is not a valid email address",
        "errors": [{"field": "email", "message": "value is not a valid email address"}],
    }


_WHOAMI_EXAMPLE = {"employee_id": "e-1001", "roles": ["participant", "sponsor"]}


def operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: NATS and the database are reachable")
    async def readyz(request: Request) -> dict[str, Any]:
        runtime: ServiceRuntime = request.app.state.runtime
        checks = await runtime.readiness()
        if not all(checks.values()):
            down = ", ".join(name for name, ok in checks.items() if not ok)
            raise ServiceUnavailable(f"not ready: {down} unreachable", checks=checks)
        return {"status": "ready", "checks": checks}

    @router.get(
        "/v1/auth/whoami",
        summary="Who this service takes the bearer of the token to be",
        responses={200: {"content": {"application/json": {"example": _WHOAMI_EXAMPLE}}}},
    )
    async def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"employee_id": principal.employee_id, "roles": sorted(principal.roles)}

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
