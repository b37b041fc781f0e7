"""One registry from event type string to its pydantic model."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import ValidationError

from roundtable_shared.events.envelope import Envelope, EventData, InvalidEvent, first_error

E = TypeVar("E", bound=type[EventData])

EVENT_TYPES: dict[str, type[EventData]] = {}


def event(event_type: str, *, aggregate: str, schema_version: int = 1) -> Callable[[E], E]:
    """Class decorator: register a payload model under its CloudEvents type."""

    def register(cls: E) -> E:
        if event_type in EVENT_TYPES:
            raise ValueError(f"event type registered twice: {event_type}")
        cls.event_type = event_type
        cls.aggregate = aggregate
        cls.schema_version = schema_version
        EVENT_TYPES[event_type] = cls
        return cls

    return register


def model_for(event_type: str) -> type[EventData]:
    _load_catalogue()
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise InvalidEvent(f"type: unknown event type {event_type!r}") from None


def parse_data(envelope: Envelope) -> EventData:
    """The typed payload of an envelope; ``InvalidEvent`` when it does not fit its schema."""
    model = model_for(envelope.type)
    # A newer schema version still parses: versions only add fields, and unknown ones are ignored.
    try:
        return model.model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidEvent(f"data.{first_error(exc)}") from exc


def _load_catalogue() -> None:
    # Importing the catalogue registers every event type.
    import roundtable_shared.events.catalogue  # noqa: F401
