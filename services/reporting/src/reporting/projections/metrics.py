"""/metrics for the projections, besides the shared consumer metrics (lag at apply time,
pending events, outcomes): how old, now, the newest event each consumer applied is."""

from __future__ import annotations

import time
from datetime import datetime

from prometheus_client import Gauge

LAST_EVENT_TIME = Gauge(
    "reporting_consumer_last_event_timestamp_seconds",
    "Event time (CloudEvents `time`) of the last event each projection consumer applied.",
    ["consumer"],
)
LAST_EVENT_AGE = Gauge(
    "reporting_consumer_last_event_age_seconds",
    "Seconds since the event time of the last event each projection consumer applied.",
    ["consumer"],
)

_last: dict[str, float] = {}


def record_applied(consumer: str, event_time: datetime) -> None:
    stamp = event_time.timestamp()
    if consumer not in _last:
        LAST_EVENT_AGE.labels(consumer=consumer).set_function(lambda: time.time() - _last[consumer])
    _last[consumer] = stamp
    LAST_EVENT_TIME.labels(consumer=consumer).set(stamp)
