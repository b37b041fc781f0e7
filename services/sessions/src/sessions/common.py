"""Small helpers every concept of the sessions service uses: If-Match, time zones, pages in memory.

The clock is the shared one (``roundtable_shared.clock.Clock``), injected into every handler."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Header
from pydantic import AwareDatetime, Field

from roundtable_shared.http.pagination import PageRequest, Position
from roundtable_shared.http.problems import Unprocessable
from roundtable_shared.storage.mongo import Document

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The ETag of the version you read, e.g. "3"; a stale one gets 412.',
    ),
]


def zone(name: str, field: str = "time_zone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Unprocessable(
            f"{field}: unknown IANA time zone {name!r}",
            errors=[{"field": field, "message": "unknown IANA time zone", "type": "time_zone"}],
        ) from None


def as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def invalid(field: str, message: str) -> Unprocessable:
    """A 422 naming the offending field, the same shape as request-validation errors."""
    return Unprocessable(
        f"invalid input: {field}: {message}",
        errors=[{"field": field, "message": message, "type": "rule"}],
    )


class SortPosition(Position):
    """Where a page ordered by (a time, id) ends: the last item's time and id."""

    k: AwareDatetime
    id: str = Field(min_length=1, max_length=128)


def page_in_memory(
    documents: list[Document], sort_field: str, page: PageRequest
) -> tuple[list[Document], str | None]:
    """One page ordered by (sort_field, _id), cut from documents already read; the cursor holds
    the last item's position (400 on a cursor this listing did not give out)."""
    ordered = sorted(documents, key=lambda d: (d[sort_field], d["_id"]))
    after = page.position(SortPosition)
    if after is not None:
        ordered = [d for d in ordered if (d[sort_field], d["_id"]) > (after.k, after.id)]
    if len(ordered) <= page.limit:
        return ordered, None
    documents = ordered[: page.limit]
    last = documents[-1]
    return documents, page.next_cursor(SortPosition(k=last[sort_field], id=last["_id"]))
