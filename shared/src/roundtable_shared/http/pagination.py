"""Cursor pagination: ``?cursor=&limit=`` in, ``next_cursor`` out. Cursors are opaque to clients.

A cursor is the last item's position (a small pydantic model per listing), signed by the service
with HMAC-SHA256 under its own key (``<SERVICE>_CURSOR_KEY``, or one kept in its database) and bound to the service and the
path it was given out for. So a position reaches a database filter only when this service made it
for this listing, and only with the fields and types the listing expects: a forged, tampered or
foreign cursor is a 400 problem before anything is read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from roundtable_shared.http.problems import BadRequest

T = TypeVar("T")
P = TypeVar("P", bound="Position")

MAX_CURSOR_CHARS = 1024
_FORGED = "the cursor is not one this API gave out"


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; null on the last page."
    )


class Position(BaseModel):
    """Where a page ends: exactly these fields of exactly these types (strict, nothing else)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class AfterId(Position):
    """The position of a listing ordered by id: the last id shown."""

    after: str = Field(min_length=1, max_length=256)


class CursorSigner:
    """Seals positions into cursors and opens them again, with one service's secret key."""

    def __init__(self, key: bytes, service: str) -> None:
        if len(key) < 16:
            raise ValueError("a cursor key needs at least 16 bytes")
        self._key = key
        self._service = service

    def seal(self, scope: str, position: Position) -> str:
        payload = position.model_dump_json().encode()
        return f"{_b64encode(payload)}.{_b64encode(self._mac(scope, payload))}"

    def open(self, scope: str, cursor: str, shape: type[P]) -> P:
        """The position in ``cursor``; BadRequest unless this service sealed it for ``scope``."""
        body, dot, mac = cursor.partition(".")
        if not dot or len(cursor) > MAX_CURSOR_CHARS:
            raise BadRequest(_FORGED)
        try:
            payload, given = _b64decode(body), _b64decode(mac)
        except (binascii.Error, ValueError):
            raise BadRequest(_FORGED) from None
        if not hmac.compare_digest(given, self._mac(scope, payload)):
            raise BadRequest(_FORGED)
        try:
            return shape.model_validate_json(payload)
        except ValidationError:  # signed by us, but for another shape: a change between releases
            raise BadRequest(_FORGED) from None

    def _mac(self, scope: str, payload: bytes) -> bytes:
        # The service and the path are inside the MAC: a cursor of one listing (or of another
        # service sharing the key by mistake) does not open another.
        message = b"\0".join((self._service.encode(), scope.encode(), payload))
        return hmac.new(self._key, message, hashlib.sha256).digest()


class CursorKeys:
    """The service's cursor signer: its key from the settings or, unset, from ``load`` (a key
    kept in the service's database, so every replica opens the cursors the others gave out)."""

    def __init__(
        self, service: str, configured: bytes | None, load: Callable[[], Awaitable[bytes]]
    ) -> None:
        self._service = service
        self._signer = CursorSigner(configured, service) if configured else None
        self._load = load

    async def signer(self) -> CursorSigner:
        if self._signer is None:
            # Two first requests may both load: they read the same stored key.
            self._signer = CursorSigner(await self._load(), self._service)
        return self._signer


@dataclass(frozen=True)
class PageRequest:
    """The page a client asked for: its raw cursor (opened by the listing) and its size."""

    cursor: str | None
    limit: int
    signer: CursorSigner
    scope: str

    def position(self, shape: type[P]) -> P | None:
        """Where the previous page ended; None on the first page, 400 for a forged cursor."""
        if self.cursor is None:
            return None
        return self.signer.open(self.scope, self.cursor, shape)

    def next_cursor(self, position: Position) -> str:
        """The cursor of the page after the one ending at ``position``."""
        return self.signer.seal(self.scope, position)


async def page_request(
    request: Request,
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR_CHARS, description="From `next_cursor` of the previous page."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Items per page.")] = 50,
) -> PageRequest:
    """FastAPI dependency for list endpoints; the app factory put the service's keys on state."""
    keys: CursorKeys = request.app.state.cursor_keys
    signer = await keys.signer()
    return PageRequest(cursor=cursor or None, limit=limit, signer=signer, scope=request.url.path)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())
