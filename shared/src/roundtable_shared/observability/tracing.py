"""W3C trace context: one trace id follows a request through HTTP, the outbox and every consumer."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

current_traceparent: ContextVar[str | None] = ContextVar("current_traceparent", default=None)


def new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def is_valid_traceparent(value: str) -> bool:
    match = _TRACEPARENT.match(value)
    if match is None:
        return False
    # All-zero ids are invalid per the spec.
    return match.group(1) != "0" * 32 and match.group(2) != "0" * 16


def child_traceparent(parent: str | None) -> str:
    """A new span in the parent's trace, or a new trace when there is no valid parent."""
    if parent is None or not is_valid_traceparent(parent):
        return new_traceparent()
    _, trace_id, _, flags = parent.split("-")
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def trace_id_of(traceparent: str | None) -> str | None:
    if traceparent is None or not is_valid_traceparent(traceparent):
        return None
    return traceparent.split("-")[1]


def traceparent_for_new_event() -> str:
    """Events raised while handling a request or an event continue its trace."""
    return child_traceparent(current_traceparent.get())
