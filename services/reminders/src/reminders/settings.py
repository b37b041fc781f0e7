"""Configuration of the reminders service: environment variables prefixed `REMINDERS_`."""

from __future__ import annotations

from pydantic import Field

from roundtable_shared.settings import ServiceSettings, service_settings_config


class RemindersSettings(ServiceSettings):
    model_config = service_settings_config("REMINDERS_")

    service_name: str = Field("reminders", description="Name in logs, metrics and event sources.")
    http_port: int = Field(8003, description="Port the HTTP API listens on.")
    smtp_host: str = Field("127.0.0.1", description="SMTP server reminders are sent through.")
    smtp_port: int = Field(1025, description="Port of the SMTP server.")
