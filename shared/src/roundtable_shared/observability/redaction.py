"""What of an exception may go into a log line or a dead letter's headers.

An exception's message often embeds the values it failed on: pydantic's ``ValidationError``
repeats the input (a name, an email, a note), ``DuplicateKeyError`` the duplicated key, an SMTP
error the recipient's address, a ``KeyError`` the missing key. So a log line never carries an
exception's message, only its type and a summary built from what cannot hold personal data:
field locations and error kinds for validation errors, the server's error code for database
errors, and the message itself only for the kinds whose messages the library writes from
addresses and timeouts (connection failures, timeouts, NATS client errors).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import MutableMapping
from types import TracebackType
from typing import Any

from pydantic import ValidationError
from pymongo.errors import ConnectionFailure, OperationFailure

MAX_FRAMES = 30
MAX_CHAIN = 5


def _messages_are_safe(exc: BaseException) -> bool:
    """Kinds whose messages say where and how long, never what: kept in the summary."""
    if isinstance(exc, TimeoutError | ConnectionError | ConnectionFailure):
        return True
    module = type(exc).__module__
    # nats-py's own errors ("no responders", "timeout", "permissions violation"): its messages
    # name subjects and servers, never a message's body.
    return module == "nats" or module.startswith("nats.")


def exception_summary(exc: BaseException) -> str:
    """The type of ``exc`` and what of it is safe to log: never a value it was given."""
    name = type(exc).__qualname__
    if isinstance(exc, ValidationError):
        return f"{name}: {validation_summary(exc)}"
    if isinstance(exc, OperationFailure):
        return f"{name}: code {exc.code}"
    if _messages_are_safe(exc):
        return f"{name}: {str(exc)[:300]}"
    return name


def validation_summary(exc: ValidationError, prefix: str = "") -> str:
    """Where the input was wrong and how (``data.email (value_error)``), without the input."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = [
        f"{prefix}{'.'.join(str(p) for p in err['loc']) or 'body'} ({err['type']})"
        for err in errors
    ]
    shown = "; ".join(parts[:5])
    more = f"; and {len(parts) - 5} more" if len(parts) > 5 else ""
    return f"{len(parts)} invalid field{'s' if len(parts) != 1 else ''}: {shown}{more}"


def _frames(tb: TracebackType | None) -> list[str]:
    # File, line and function only: a frame's locals hold request bodies, tokens and events.
    summary = traceback.extract_tb(tb)[-MAX_FRAMES:]
    return [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in summary]


def exception_record(exc: BaseException) -> list[dict[str, Any]]:
    """The chain of ``exc`` (its causes first, as Python prints them) as loggable dicts."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < MAX_CHAIN and current not in chain:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return [
        {"type": type(e).__qualname__, "summary": exception_summary(e), "frames": _frames(tb)}
        for e, tb in ((e, e.__traceback__) for e in reversed(chain))
    ]


def safe_exception_info(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: ``exc_info`` becomes ``exception`` (types, summaries, frames), in
    place of ``dict_tracebacks``, which renders every frame's locals and the message."""
    exc_info = event.pop("exc_info", None)
    if not exc_info:
        return event
    if isinstance(exc_info, BaseException):
        exc: BaseException | None = exc_info
    elif isinstance(exc_info, tuple):
        exc = exc_info[1]
    else:
        exc = sys.exc_info()[1]
    if exc is not None:
        event["exception"] = exception_record(exc)
    return event
