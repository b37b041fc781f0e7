"""Configuration of the enrollment service: environment variables prefixed `ENROLLMENT_`."""

from __future__ import annotations

from pydantic import Field

from roundtable_shared.settings import ServiceSettings, service_settings_config


class EnrollmentSettings(ServiceSettings):
    model_config = service_settings_config("ENROLLMENT_")

    service_name: str = Field("enrollment", description="Name in logs, metrics and event sources.")
    http_port: int = Field(8001, description="Port the HTTP API listens on.")
