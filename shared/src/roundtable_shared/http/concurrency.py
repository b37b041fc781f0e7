"""Optimistic concurrency over HTTP: ``ETag`` carries a resource's version, ``If-Match`` sends it back."""

from __future__ import annotations

import re

from roundtable_shared.http.problems import BadRequest, PreconditionFailed, PreconditionRequired

_ETAG = re.compile(r'^(?:W/)?"(\d{1,18})"$')  # a version fits a 64-bit integer


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int:
    """The version a client last saw; edits without one are refused (428), not silently applied."""
    if if_match is None:
        raise PreconditionRequired("send If-Match with the ETag of the version you edited")
    match = _ETAG.match(if_match.strip())
    if match is None:
        raise BadRequest('If-Match must be an ETag such as "3"')
    return int(match.group(1))


def stale_write(current_version: int) -> PreconditionFailed:
    return PreconditionFailed(
        "the resource changed since you read it; reload and try again",
        current_etag=etag(current_version),
    )
