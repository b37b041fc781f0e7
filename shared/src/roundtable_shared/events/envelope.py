"""The one envelope every Roundtable event travels in: CloudEvents 1.0 (structured JSON mode).

Extension attributes (CloudEvents names are lower-case alphanumerics):
- ``traceparent``: W3C trace context, so a request can be followed across services;
- ``aggregateversion``: the version of the aggregate (``subject``) after the change, growing by one
  per change, so a consumer can tell a stale or early event from a new one;
- ``schemaversion``: the version of the ``data`` schema of this ``type``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from roundtable_shared.bounded import Version
from roundtable_shared.observability.tracing import traceparent_for_new_event


class EventData(BaseModel):
    """Base of every event payload. Consumers ignore fields they do not know."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    aggregate: ClassVar[str]
    """What ``subject`` names: an employee id, a program id, a session id..."""
    sealed_for: ClassVar[str] = "employee_id"
    """The field naming whose personal data the model's ``Sealed`` fields are (see sealing)."""


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, description="Unique event id; also the JetStream Nats-Msg-Id.")
    source: str = Field(min_length=1, examples=["/roundtable/enrollment"])
    type: str = Field(
        pattern=r"^roundtable\.[a-z]+\.[a-z_]+\.[a-z_]+$",
        examples=["roundtable.sessions.action.completed"],
    )
    time: AwareDatetime
    subject: str = Field(min_length=1, description="The aggregate's id.")
    datacontenttype: Literal["application/json"] = "application/json"
    traceparent: str
    aggregateversion: Version
    schemaversion: Version
    data: dict[str, Any]

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        """Parse an envelope; raises ``InvalidEvent`` with the reason when it is not one."""
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidEvent(first_error(exc)) from exc


class InvalidEvent(ValueError):
    """An event that can never be processed: it goes to the dead-letter subject."""


def first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    location = ".".join(str(part) for part in err["loc"]) or "body"
    return f"{location}: {err['msg']}"


def new_envelope(
    data: EventData,
    *,
    subject: str,
    aggregate_version: int,
    source: str,
    event_id: str | None = None,
    time: datetime | None = None,
    traceparent: str | None = None,
) -> Envelope:
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=data.event_type,
        time=time or datetime.now(UTC),
        subject=subject,
        traceparent=traceparent or traceparent_for_new_event(),
        aggregateversion=aggregate_version,
        schemaversion=data.schema_version,
        data=data.model_dump(mode="json"),
    )


def subject_for(event_type: str, namespace: str = "") -> str:
    """The NATS subject of an event type; the namespace keeps test runs apart on one server."""
    return f"{namespace}{event_type}"


def service_of(event_type: str) -> str:
    """``roundtable.<service>.<aggregate>.<verb>`` -> ``<service>``."""
    return event_type.split(".")[1]
