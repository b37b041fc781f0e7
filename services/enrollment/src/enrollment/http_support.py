"""HTTP helpers of this service that the shared library does not have (yet)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

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
