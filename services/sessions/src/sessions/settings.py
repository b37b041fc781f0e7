"""Configuration of the sessions service: environment variables prefixed `SESSIONS_`."""

from __future__ import annotations

from pydantic import Field

from roundtable_shared.settings import ServiceSettings, service_settings_config


class SessionsSettings(ServiceSettings):
    model_config = service_settings_config("SESSIONS_")

    service_name: str = Field("sessions", description="Name in logs, metrics and event sources.")
    http_port: int = Field(8002, description="Port the HTTP API listens on.")
    membership_cache_seconds: float = Field(
        2.0,
        ge=0,
        description=(
            "How long a replica trusts its in-memory copy of a peer group before reading it again "
            "(the replica that handles a group event forgets it at once); 0 turns the cache off."
        ),
    )
