"""Cursor pagination: ``?cursor=&limit=`` in, ``next_cursor`` out. Cursors are opaque to clients."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from roundtable_shared.http.problems import BadRequest

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; null on the last page."
    )


class PageRequest(BaseModel):
    cursor: dict[str, Any] | None
    limit: int

    def position(self, key: str) -> str | None:
        """The cursor's string field ``key``; None on the first page, 400 for a forged cursor."""
        if self.cursor is None:
            return None
        value = self.cursor.get(key)
        if not isinstance(value, str):
            raise BadRequest("the cursor is not one this API gave out")
        return value


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadRequest("the cursor is not one this API gave out") from None
    if not isinstance(position, dict):
        raise BadRequest("the cursor is not one this API gave out")
    return position


def page_request(
    cursor: Annotated[
        str | None, Query(description="From `next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Items per page.")] = 50,
) -> PageRequest:
    """FastAPI dependency for list endpoints."""
    return PageRequest(cursor=decode_cursor(cursor) if cursor else None, limit=limit)
