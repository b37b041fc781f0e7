"""Configuration of the reporting service: environment variables prefixed `REPORTING_`."""

from __future__ import annotations

from pydantic import Field

from roundtable_shared.settings import ServiceSettings, service_settings_config


class ReportingSettings(ServiceSettings):
    model_config = service_settings_config("REPORTING_")

    service_name: str = Field("reporting", description="Name in logs, metrics and event sources.")
    http_port: int = Field(8004, description="Port the HTTP API listens on.")
    k_anonymity: int = Field(
        5,
        ge=2,
        description="The disclosure-control k (docs/disclosure.md): every count served is rounded "
        "to a multiple of it, averages need max(k, 3) people in a closed week, and a breakdown "
        "names only values held by k people or more.",
    )
    dashboard_cookie_seconds: int = Field(
        900,
        gt=0,
        description="Lifetime of the dashboard's session cookie set at sign-in (seconds).",
    )
    writer_lease_seconds: float = Field(
        15.0,
        gt=0,
        description="How long the projection writer lease lasts unrenewed (seconds): one reporting "
        "process applies events while the others serve the API and stand by, and a standby takes "
        "over within this time when the writer dies. Renewed every third of it.",
    )
