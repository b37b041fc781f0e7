"""Configuration of the reminders service: environment variables prefixed `REMINDERS_`."""

from __future__ import annotations

from pydantic import Field, field_validator

from reminders.preferences.webhooks import (
    DEFAULT_WEBHOOK_HOSTS,
    WebhookRules,
    host_pattern_problem,
)
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
    webhook_allowed_hosts: list[str] = Field(
        default_factory=lambda: list(DEFAULT_WEBHOOK_HOSTS),
        description=(
            "Hosts a person's chat webhook URL may name (JSON list): a host name, or `*.domain` "
            "for any name under that domain. The defaults are the chat vendors' webhook hosts "
            "(Slack, Microsoft Teams incoming webhooks and Workflows/Power Automate triggers, "
            "Google Chat). Whatever the list, a URL must be https on port 443, name its host (no "
            "IP address) and carry no user-info, and when a reminder is sent every address the "
            "host resolves to must be public (no private, loopback, link-local, multicast, "
            "reserved or unspecified address, IPv4 or IPv6): the connection goes to the address "
            "checked, and redirects are not followed."
        ),
    )
    webhook_loopback_for_tests: bool = Field(
        False,
        description=(
            "Tests only, never in a deployment: also accept http, any port, the literal "
            "loopback addresses as webhook hosts, and loopback addresses at send time, so tests "
            "can deliver to a receiver on 127.0.0.1."
        ),
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

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _host_patterns(cls, patterns: list[str]) -> list[str]:
        normalised = [pattern.strip().lower() for pattern in patterns]
        problems = [p for p in map(host_pattern_problem, normalised) if p]
        if problems:
            raise ValueError("; ".join(problems))
        return normalised

    @property
    def webhook_rules(self) -> WebhookRules:
        return WebhookRules(
            allowed_hosts=tuple(self.webhook_allowed_hosts),
            loopback_for_tests=self.webhook_loopback_for_tests,
        )
