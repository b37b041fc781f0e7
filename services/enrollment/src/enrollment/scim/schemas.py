"""HTTP contracts of the SCIM connections' admin API (the SCIM resources are in ``models``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from roundtable_shared.storage.mongo import Document


class ConnectionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Okta (production)"}]}
    )

    name: str = Field(min_length=1, max_length=200, description="Which IdP, for the admins.")


class RotationRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"overlap_hours": 24}]}
    )

    overlap_hours: float = Field(
        24, ge=0, le=720, description="How long the tokens before this one keep working."
    )


class ConnectionView(BaseModel):
    connection_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None
    active_tokens: int = Field(description="Tokens that work now (two during a rotation).")
    requests: int = Field(description="SCIM requests made with this connection's tokens.")
    errors: int = Field(description="Of those, the ones answered with an error.")
    last_sync_at: datetime | None = Field(None, description="Last successful change.")
    last_request_at: datetime | None = None
    last_error_at: datetime | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "connection_id": "5f2c0c3a9b1e4d7a",
                    "name": "Okta (production)",
                    "created_at": "2026-03-02T08:00:00Z",
                    "revoked_at": None,
                    "active_tokens": 1,
                    "requests": 10412,
                    "errors": 3,
                    "last_sync_at": "2026-03-09T06:12:40Z",
                    "last_request_at": "2026-03-09T06:12:40Z",
                    "last_error_at": "2026-03-05T10:00:02Z",
                }
            ]
        }
    )


class IssuedConnection(BaseModel):
    connection: ConnectionView
    token: str = Field(description="Shown once: paste it into the IdP; only its hash is kept.")
    scim_base_url: str

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "connection": ConnectionView.model_config["json_schema_extra"]["examples"][0],  # type: ignore[index]
                    "token": "rtscim.5f2c0c3a9b1e4d7a.q3v...",
                    "scim_base_url": "https://roundtable.example.com/scim/v2",
                }
            ]
        }
    )


def connection_view(document: Document, moment: datetime) -> ConnectionView:
    active = 0
    for entry in document.get("tokens", []):
        retires_at = entry.get("retires_at")
        if retires_at is not None and retires_at.tzinfo is None:
            retires_at = retires_at.replace(tzinfo=UTC)
        if retires_at is None or retires_at > moment:
            active += 1
    fields: dict[str, Any] = {
        name: _utc(document.get(name))
        for name in ("created_at", "revoked_at", "last_sync_at", "last_request_at", "last_error_at")
    }
    return ConnectionView(
        connection_id=str(document["_id"]),
        name=str(document["name"]),
        active_tokens=active,
        requests=int(document.get("requests", 0)),
        errors=int(document.get("errors", 0)),
        **fields,
    )


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
