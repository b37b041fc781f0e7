"""Configuration of the enrollment service: environment variables prefixed `ENROLLMENT_`."""

from __future__ import annotations

from pydantic import Field, SecretStr

from roundtable_shared.settings import ServiceSettings, service_settings_config


class EnrollmentSettings(ServiceSettings):
    model_config = service_settings_config("ENROLLMENT_")

    service_name: str = Field("enrollment", description="Name in logs, metrics and event sources.")
    http_port: int = Field(8001, description="Port the HTTP API listens on.")
    hr_webhook_secrets: list[str] = Field(
        default_factory=list,
        description="HMAC-SHA256 secrets of the HR webhooks (JSON list; several while rotating). "
        "Empty: the webhook answers 503.",
    )
    import_max_bytes: int = Field(
        512 * 1024 * 1024,
        description="Largest directory import upload (bytes); the import is streamed, never held.",
    )
    import_batch_size: int = Field(
        1000, description="Rows of a directory import written per bulk write."
    )
    auto_match_poll_seconds: float = Field(
        30.0,
        gt=0,
        description="How often to look for open programs whose enrolment window closed, to "
        "match them.",
    )
    seat_claim_seconds: float = Field(
        60.0,
        gt=0,
        description="How long a seat taken for an enrolment not yet saved counts as on its way; "
        "after that a full program's seat counter may be corrected by counting the holders.",
    )
    survey_close_seconds: float = Field(
        30.0,
        gt=0,
        description="How often to close surveys whose close time passed or whose program closed "
        "(answers are refused from the close time on regardless).",
    )
    cascade_consumer: bool = Field(
        True,
        description="Run the consumer that withdraws or pauses participants when HR offboards, "
        "erases or sends an employee on leave.",
    )
    scim_bootstrap_token: SecretStr | None = Field(
        None,
        description="A SCIM connection token (rtscim.<id>.<secret>) whose connection is created at "
        "start if missing (`make run` sets one; in production create connections with the API).",
    )
