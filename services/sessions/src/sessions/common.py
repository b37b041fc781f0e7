"""Small helpers every concept of the sessions service uses: the clock, If-Match, keyset pages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Header

from roundtable_shared.http.pagination import PageRequest, encode_cursor
from roundtable_shared.http.problems import BadRequest, Unprocessable
from roundtable_shared.storage.mongo import Collection, Document

Clock = Callable[[], datetime]
"""Now, in UTC. Injected so tests can hold a session in the future without waiting for it."""


def utcnow() -> datetime:
    return datetime.now(UTC)


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


def after_position(page: PageRequest) -> tuple[datetime, str] | None:
    """Where the page starts, from its cursor (400 on one this API did not give out)."""
    if page.cursor is None:
        return None
    try:
        key = datetime.fromisoformat(str(page.cursor["k"]))
        position = str(page.cursor["id"])
    except (KeyError, ValueError):
        raise BadRequest("the cursor is not one this API gave out") from None
    if key.tzinfo is None:
        raise BadRequest("the cursor is not one this API gave out")
    return key, position


def page_in_memory(
    documents: list[Document], sort_field: str, page: PageRequest
) -> tuple[list[Document], str | None]:
    """The same page (and cursor) as ``keyset_page``, cut from documents already read."""
    ordered = sorted(documents, key=lambda d: (d[sort_field], d["_id"]))
    after = after_position(page)
    if after is not None:
        ordered = [d for d in ordered if (d[sort_field], d["_id"]) > after]
    if len(ordered) <= page.limit:
        return ordered, None
    documents = ordered[: page.limit]
    last = documents[-1]
    return documents, encode_cursor({"k": last[sort_field].isoformat(), "id": last["_id"]})


async def keyset_page(
    collection: Collection,
    query: Mapping[str, Any],
    sort_field: str,
    page: PageRequest,
    projection: Mapping[str, Any] | None = None,
    *,
    descending: bool = False,
) -> tuple[list[Document], str | None]:
    """One page ordered by (sort_field, _id); the cursor holds the last item's position."""
    direction = -1 if descending else 1
    filters: dict[str, Any] = dict(query)
    if page.cursor is not None:
        try:
            after_key = datetime.fromisoformat(str(page.cursor["k"]))
            after_id = str(page.cursor["id"])
        except (KeyError, ValueError):
            raise BadRequest("the cursor is not one this API gave out") from None
        op = "$lt" if descending else "$gt"
        filters = {
            "$and": [
                dict(query),
                {
                    "$or": [
                        {sort_field: {op: after_key}},
                        {sort_field: after_key, "_id": {op: after_id}},
                    ]
                },
            ]
        }
    cursor = collection.find(
        filters,
        dict(projection) if projection is not None else None,
        sort=[(sort_field, direction), ("_id", direction)],
        limit=page.limit + 1,
    )
    documents = [document async for document in cursor]
    if len(documents) <= page.limit:
        return documents, None
    documents = documents[: page.limit]
    last = documents[-1]
    key = last[sort_field]
    position = {"k": key.isoformat() if isinstance(key, datetime) else str(key), "id": last["_id"]}
    return documents, encode_cursor(position)
