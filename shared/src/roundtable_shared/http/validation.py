"""Turning pydantic validation errors into the problem a client can act on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from roundtable_shared.http.problems import BadRequest, Problem, Unprocessable

T = TypeVar("T")


def input_problem(errors: Sequence[Mapping[str, Any]]) -> Problem:
    """400 for a body that is not JSON at all; 422 naming each offending field otherwise."""
    fields = [field_error(error) for error in errors]
    if any(error["type"] == "json_invalid" for error in errors):
        return BadRequest("the body is not valid JSON", errors=fields)
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in fields[:3])
    return Unprocessable(f"invalid input: {summary}", errors=fields)


def field_error(error: Mapping[str, Any]) -> dict[str, str]:
    location = [str(part) for part in error.get("loc", ())]
    # ("body", "program", "name") -> "program.name": the client's field, not our plumbing
    if len(location) > 1 and location[0] in ("body", "query", "path", "header"):
        location = location[1:]
    return {
        "field": ".".join(location) or "body",
        "message": str(error["msg"]),
        "type": str(error["type"]),
    }


def parse_json_body(adapter: TypeAdapter[T], body: bytes) -> T:
    """For endpoints that read their raw body themselves (a signed webhook, say)."""
    try:
        return adapter.validate_json(body)
    except ValidationError as exc:
        raise input_problem(exc.errors()) from None
