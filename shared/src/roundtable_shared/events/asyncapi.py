"""The AsyncAPI document of every Roundtable event, generated from the catalogue.

One channel per event type (subject = CloudEvents ``type``); each message's payload is the
CloudEvents envelope with ``data`` typed by the event's model. FastStream renders the document from
publishers registered on a broker that is never connected.

    uv run python -m roundtable_shared.events.asyncapi docs/asyncapi.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, Field, create_model

import roundtable_shared.events.catalogue  # noqa: F401  (importing registers every event type)
from roundtable_shared.events.envelope import Envelope, EventData, service_of
from roundtable_shared.events.registry import EVENT_TYPES

TITLE = "Roundtable events"
VERSION = "1.0.0"
DESCRIPTION = (
    "Every event Roundtable's services publish on NATS JetStream. Each message is a "
    "CloudEvents 1.0 envelope (structured JSON) whose `type` equals the subject; `subject` is "
    "the aggregate's id and `aggregateversion` its version after the change. Consumers ignore "
    "unknown fields."
)


def envelope_model(model: type[EventData]) -> type[Envelope]:
    """``Envelope`` with ``type``, ``schemaversion`` and ``data`` narrowed to one event type."""
    # Literal types built at run time: the document shows the exact values a message carries.
    type_literal: Any = Literal[model.event_type]
    version_literal: Any = Literal[model.schema_version]
    return create_model(
        f"{model.__name__}Envelope",
        __base__=Envelope,
        __doc__=f"CloudEvents envelope of {model.event_type}.",
        source=(str, Field(min_length=1, examples=[f"/roundtable/{service_of(model.event_type)}"])),
        type=(type_literal, Field(examples=[model.event_type])),
        subject=(str, Field(min_length=1, description=f"The {model.aggregate}.")),
        schemaversion=(version_literal, model.schema_version),
        data=(model, ...),
    )


def asyncapi_document(server: str = "nats://localhost:4222") -> dict[str, Any]:
    """The AsyncAPI 3.0 document as JSON-ready data; ``server`` is only written into it."""
    broker = NatsBroker(server)
    envelopes = {event_type: envelope_model(EVENT_TYPES[event_type]) for event_type in EVENT_TYPES}
    _check_schema_names(envelopes.values())
    for event_type in sorted(envelopes):
        model = EVENT_TYPES[event_type]
        broker.publisher(
            event_type,
            schema=envelopes[event_type],
            title=event_type,
            description=(
                f"{_first_line(model.__doc__)} Published by {service_of(event_type)} on stream "
                f"roundtable-{service_of(event_type)}; subject attribute: the {model.aggregate}."
            ),
        )
    spec = AsyncAPI(
        broker, title=TITLE, version=VERSION, description=DESCRIPTION, schema_version="3.0.0"
    )
    document: dict[str, Any] = spec.to_specification().to_jsonable()
    return document


def _first_line(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return lines[0] if lines else ""


def _check_schema_names(models: Iterable[type[BaseModel]]) -> None:
    """Fail when two different models share a name: the document would keep only one of them."""
    seen: dict[str, dict[str, Any]] = {}
    for model in models:
        schema = model.model_json_schema()
        named = {model.__name__: {k: v for k, v in schema.items() if k != "$defs"}}
        named.update(schema.get("$defs", {}))
        for name, definition in named.items():
            if seen.setdefault(name, definition) != definition:
                raise ValueError(f"two event schemas are both named {name!r}; rename one")


def main(argv: Sequence[str] | None = None) -> int:
    """Write the document to the path given as the only argument."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m roundtable_shared.events.asyncapi OUTPUT.json", file=sys.stderr)
        return 2
    path = Path(args[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asyncapi_document(), indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
