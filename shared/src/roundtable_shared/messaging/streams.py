"""Stream and subject naming, and stream declaration.

One stream per producing service captures ``roundtable.<service>.>`` (file storage, long retention,
since read models are rebuilt by replaying), plus one dead-letter stream. A namespace prefixes every
subject, stream and durable name so several test runs share one NATS server without meeting.
"""

from __future__ import annotations

import re

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

PRODUCERS = ("enrollment", "sessions", "reminders")
DUPLICATE_WINDOW_SECONDS = 120.0


def _safe(namespace: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", namespace)


def stream_name(service: str, namespace: str = "") -> str:
    return f"{_safe(namespace)}roundtable-{service}"


def service_subjects(service: str, namespace: str = "") -> str:
    return f"{namespace}roundtable.{service}.>"


def dead_letter_stream(namespace: str = "") -> str:
    return f"{_safe(namespace)}roundtable-deadletter"


def dead_letter_subject(consumer: str, namespace: str = "") -> str:
    return f"{namespace}roundtable.deadletter.{consumer}"


def durable_name(consumer: str, namespace: str = "") -> str:
    return f"{_safe(namespace)}{consumer}".replace(".", "_")


def stream_config(service: str, namespace: str = "", replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=stream_name(service, namespace),
        subjects=[service_subjects(service, namespace)],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=0,  # kept: read models are rebuilt by replaying from the start
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
    )


def dead_letter_config(namespace: str = "", replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=dead_letter_stream(namespace),
        subjects=[f"{namespace}roundtable.deadletter.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        max_age=90 * 24 * 3600,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
    )


async def declare_stream(
    js: JetStreamContext, config: StreamConfig, *, update: bool = True
) -> None:
    """Create the stream, or bring an existing one to this configuration (``update``; else an
    existing one is left as its owner configured it: only a producer may change its stream)."""
    try:
        await js.add_stream(config)
    except BadRequestError:
        if update:
            await js.update_stream(config)
