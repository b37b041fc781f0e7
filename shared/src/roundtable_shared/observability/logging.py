"""Structured JSON logs, one object per line, carrying the request id and the trace id.

No log line carries personal data, conversation content or token material: an exception is
logged as its types, safe summaries and frames (``redaction.safe_exception_info``), never with
its message or a frame's locals, and call sites log ids, types, subjects and counts only.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from roundtable_shared.observability.redaction import safe_exception_info
from roundtable_shared.observability.tracing import current_traceparent, trace_id_of


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written (a test's capture included), rather
    than the stream of the moment logging was configured."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _add_trace_id(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    trace_id = trace_id_of(current_traceparent.get())
    if trace_id:
        event.setdefault("trace_id", trace_id)
    return event


def configure_logging(service: str, level: str = "INFO") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _add_trace_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            safe_exception_info,
            structlog.processors.EventRenamer("message"),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()),  # type: ignore[arg-type]
        # Not cached: a logger then follows the configuration of the moment (a process that
        # configures logging after a module logged once included). Lines are rare (failures,
        # lifecycle), so caching would save nothing measurable.
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Libraries that log through the standard library (uvicorn, faststream) come out as JSON too.
    handler = logging.StreamHandler(_CurrentStderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                safe_exception_info,  # uvicorn's "Exception in ASGI application" included
                structlog.processors.EventRenamer("message"),
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own configuration (another server in this process may have applied it)
        # prints tracebacks with their messages: its lines go through ours instead.
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # httpx logs every request's full URL at INFO: a chat webhook's URL is its secret.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
