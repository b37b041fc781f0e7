"""Prometheus metrics every service exposes on ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Histogram(
    "roundtable_http_request_seconds",
    "HTTP request duration by route and status.",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
OUTBOX_PUBLISHED = Counter(
    "roundtable_outbox_published_total", "Events the outbox relay published.", ["collection"]
)
OUTBOX_RELAY_DELAY = Histogram(
    "roundtable_outbox_relay_delay_seconds",
    "From a write telling the relay of a document's new events to their being published.",
    ["collection"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_CONSUMED = Counter(
    "roundtable_events_consumed_total",
    "Events a consumer finished, by outcome (applied, duplicate, ignored, dead_lettered, retried).",
    ["consumer", "outcome"],
)
CONSUMER_LAG_SECONDS = Gauge(
    "roundtable_consumer_lag_seconds",
    "Age of the last event a consumer applied, at the time it applied it.",
    ["consumer"],
)
CONSUMER_LAST_APPLIED = Gauge(
    "roundtable_consumer_last_applied_timestamp_seconds",
    "Unix time at which the consumer last applied an event.",
    ["consumer"],
)
CONSUMER_PENDING = Gauge(
    "roundtable_consumer_pending_events",
    "Events in the stream not yet delivered to the consumer (JetStream num_pending).",
    ["consumer"],
)
