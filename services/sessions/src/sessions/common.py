"""Small helpers every concept of the sessions service uses: If-Match, time zones, keyset pages,
the update that saves what the domain decided.

The clock is the shared one (``roundtable_shared.clock.Clock``), injected into every handler."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Header
from pydantic import AwareDatetime, Field

from roundtable_shared.http.pagination import PageRequest, Position
from roundtable_shared.http.problems import Unprocessable
from roundtable_shared.storage.mongo import Collection, Document

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


_MISSING = object()


def update_between(before: Document, after: Document) -> Document:
    """The MongoDB update that turns the stored document ``before`` into ``after``: a ``$set``
    of each top-level field that differs (an ``$unset`` of one ``after`` lacks).

    How repositories persist what the domain decided: the domain returns the aggregate as the
    change leaves it, the repository writes the difference, conditional on the version read
    (so no field of ``before`` can have changed meanwhile)."""
    changed = {name: value for name, value in after.items() if before.get(name, _MISSING) != value}
    gone = [name for name in before if name not in after]
    update: Document = {}
    if changed:
        update["$set"] = changed
    if gone:
        update["$unset"] = dict.fromkeys(gone, "")
    return update


class SortPosition(Position):
    """Where a page ordered by (a time, id) ends: the last item's time and id."""

    k: AwareDatetime
    id: str = Field(min_length=1, max_length=128)


async def keyset_page(
    collection: Collection,
    query: Document,
    sort_field: str,
    page: PageRequest,
    projection: Document | None = None,
) -> tuple[list[Document], str | None]:
    """One page of ``query``'s documents ordered by (sort_field, _id), read by the index that
    starts with the query's fields and ``sort_field``; the cursor holds the last item's
    position (400 on a cursor this listing did not give out)."""
    if "$or" in query:
        raise ValueError("keyset_page writes the query's $or itself")
    after = page.position(SortPosition)
    if after is not None:
        # The $or is the position; the range beside it lets the index skip what came before.
        ties = {sort_field: after.k, "_id": {"$gt": after.id}}
        query = {**query, "$or": [{sort_field: {"$gt": after.k}}, ties]}
        bound = query.get(sort_field)
        if bound is None:
            query[sort_field] = {"$gte": after.k}
        elif isinstance(bound, dict) and not bound.keys() & {"$gt", "$gte"}:
            query[sort_field] = {**bound, "$gte": after.k}
    found = collection.find(
        query, projection, sort=[(sort_field, 1), ("_id", 1)], limit=page.limit + 1
    )
    documents = await found.to_list()
    if len(documents) <= page.limit:
        return documents, None
    documents = documents[: page.limit]
    last = documents[-1]
    return documents, page.next_cursor(SortPosition(k=last[sort_field], id=last["_id"]))
