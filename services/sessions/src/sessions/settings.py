"""Configuration of the sessions service: environment variables prefixed `SESSIONS_`."""

from __future__ import annotations

from pydantic import Field

from roundtable_shared.settings import ServiceSettings, service_settings_config


class SessionsSettings(ServiceSettings):
    model_config = service_settings_config("SESSIONS_")

    service_name: str = Field("sessions", description="Name in logs, metrics and event sources.")
    http_port: int = Field(8002, description="Port the HTTP API listens on.")
