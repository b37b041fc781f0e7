"""HTTP helpers of this service that the shared library does not have (yet)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from roundtable_shared.http.middleware import BodyLimitMiddleware
from roundtable_shared.http.problems import Unprocessable

T = TypeVar("T")


def parse_body(adapter: TypeAdapter[T], body: bytes) -> T:
    """Validate a raw JSON body; 422 problem+json naming each offending field."""
    try:
        return adapter.validate_json(body)
    except ValidationError as exc:
        errors = [_field_error(error) for error in exc.errors()]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3])
        raise Unprocessable(f"invalid input: {summary}", errors=errors) from None


def _field_error(error: Any) -> dict[str, str]:
    location = ".".join(str(part) for part in error.get("loc", ())) or "body"
    if error["type"] == "json_invalid":
        location = "body"
    return {"field": location, "message": str(error["msg"]), "type": str(error["type"])}


class RouteBodyLimit:
    """The shared body limit, with a larger one for the streaming upload paths.

    The shared ``BodyLimitMiddleware`` has one limit for the whole app; a 50,000-row directory
    import is far above the 1 MB that suits JSON endpoints, and it is streamed, so it gets its own.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, large_paths: dict[str, int]) -> None:
        self._default = BodyLimitMiddleware(app, max_bytes)
        self._large = {path: BodyLimitMiddleware(app, limit) for path, limit in large_paths.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limited = self._large.get(scope.get("path", "")) if scope["type"] == "http" else None
        await (limited or self._default)(scope, receive, send)
