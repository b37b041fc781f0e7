"""Event contracts: the CloudEvents envelope and the catalogue of every event type."""

from roundtable_shared.events.envelope import (
    Envelope,
    EventData,
    InvalidEvent,
    new_envelope,
    service_of,
    subject_for,
)
from roundtable_shared.events.registry import EVENT_TYPES, event, model_for, parse_data

__all__ = [
    "EVENT_TYPES",
    "Envelope",
    "EventData",
    "InvalidEvent",
    "event",
    "model_for",
    "new_envelope",
    "parse_data",
    "service_of",
    "subject_for",
]
