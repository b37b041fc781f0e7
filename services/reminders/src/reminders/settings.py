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
    smtp_timeout_seconds: float = Field(10.0, description="Timeout of one SMTP delivery.")
    mail_from: str = Field(
        "Roundtable <reminders@roundtable.example>", description="From address of reminder emails."
    )
    frontend_url: str = Field(
        "http://localhost:3000", description="Base URL of the web frontend, linked from reminders."
    )
    webhook_timeout_seconds: float = Field(10.0, description="Timeout of one chat webhook call.")
    webhook_require_https: bool = Field(
        True, description="Refuse chat webhook URLs that are not https (off for local receivers)."
    )
    worker_enabled: bool = Field(
        True, description="Run a delivery worker inside the service process."
    )
    worker_batch_size: int = Field(50, ge=1, le=1000, description="Reminders claimed per pass.")
    worker_concurrency: int = Field(
        20, ge=1, le=500, description="Deliveries in flight at once per worker."
    )
    worker_poll_seconds: float = Field(
        0.5, gt=0, description="How often an idle worker looks for due reminders."
    )
    worker_sweep_seconds: float = Field(
        1800.0,
        gt=0,
        description=(
            "How often a worker searches the schedule for due reminders its due slots missed "
            "(only after an outage longer than the slots it reads, or for reminders planned "
            "before slots existed). On FerretDB the search reads the whole collection and holds "
            "the server for seconds at 100,000 reminders, hence rarely."
        ),
    )
    lease_seconds: float = Field(
        60.0, gt=0, description="How long a claim lasts; a crashed worker's claims expire after it."
    )
    max_attempts: int = Field(
        6, ge=1, description="Delivery attempts before a reminder fails for good."
    )
    retry_base_seconds: float = Field(
        30.0, gt=0, description="First retry delay; doubles per attempt up to the cap."
    )
    retry_max_seconds: float = Field(3600.0, gt=0, description="Cap of the retry delay.")
    stale_after_hours: float = Field(
        24.0, gt=0, description="Reminders planned further in the past than this are not sent."
    )
