"""Settings every service shares, read from the environment with one prefix per service.

A service subclasses ``ServiceSettings`` and sets ``model_config = service_settings_config("ENROLLMENT_")``,
so ``ENROLLMENT_MONGODB_URI`` configures the enrollment service alone.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def service_settings_config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="ignore", env_nested_delimiter="__")


class ServiceSettings(BaseSettings):
    """Configuration common to the four services. Defaults are the embedded ``make run`` ones."""

    model_config = service_settings_config("ROUNDTABLE_")

    service_name: str = Field("service", description="Name in logs, metrics and event sources.")
    http_host: str = Field("127.0.0.1", description="Address the HTTP API binds to.")
    http_port: int = Field(8000, description="Port the HTTP API listens on.")
    mongodb_uri: str = Field(
        "mongodb://127.0.0.1:27017/", description="MongoDB connection string (MongoDB or FerretDB)."
    )
    database: str = Field("", description="Database name; empty means roundtable_<service>.")
    nats_url: str = Field("nats://127.0.0.1:4222", description="NATS server URL (JetStream on).")
    nats_user: str = Field(
        "",
        description="NATS user of this service (`roundtable up` sets it); empty connects anonymously, "
        "which a server with users refuses.",
    )
    nats_password: SecretStr = Field(SecretStr(""), description="Password of the NATS user.")
    nats_ca_file: str = Field(
        "",
        description="CA certificate (PEM) that signed the NATS server's; set with a tls:// URL.",
    )
    namespace: str = Field(
        "",
        description="Prefix of every subject, stream and durable name; keeps test runs apart.",
    )
    log_level: str = Field("INFO", description="Log level of the JSON logs.")
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:3000"],
        description="Frontend origins allowed by CORS (JSON list).",
    )
    max_body_bytes: int = Field(1_048_576, description="Largest request body accepted (bytes).")
    cursor_key: SecretStr | None = Field(
        None,
        min_length=16,
        description="HMAC key signing this service's pagination cursors (at least 16 characters, "
        "the same on every replica). Unset: a random key the service keeps in its own database.",
    )
    jwt_issuer: str = Field("http://127.0.0.1:8000", description="Expected `iss` of bearer tokens.")
    jwt_audience: str = Field("roundtable", description="Expected `aud` of bearer tokens.")
    jwks_url: str = Field(
        "http://127.0.0.1:8000/.well-known/jwks.json",
        description="Where the issuer publishes its signing keys (JWKS).",
    )
    jwt_leeway_seconds: int = Field(30, description="Clock skew tolerated on exp/nbf/iat.")
    roles_claim: str = Field(
        "roles", description="Token claim holding the roles (dotted path for nested claims)."
    )
    employee_claim: str = Field("sub", description="Token claim holding the employee id.")
    stream_replicas: int = Field(
        1,
        ge=1,
        le=5,
        description="JetStream replicas of every stream (3 on a NATS cluster; same on all services).",
    )
    outbox_poll_seconds: float = Field(
        0.5, description="How often the outbox relay looks for work."
    )
    outbox_sweep_seconds: float = Field(
        5.0,
        description="How often the outbox relay searches whole collections for events a crashed "
        "replica left unsent (it is told about its own writes at once).",
    )
    consumer_concurrency: int = Field(
        1,
        ge=1,
        le=64,
        description="Aggregates whose events a consumer applies at once (each aggregate's in "
        "order); 1 applies a batch in stream order, as one replica at a time would.",
    )
    consumer_max_deliver: int = Field(
        5, description="Deliveries of one event before it goes to the dead-letter subject."
    )

    @property
    def database_name(self) -> str:
        return self.database or f"{self.namespace.replace('.', '_')}roundtable_{self.service_name}"

    @property
    def event_source(self) -> str:
        return f"/roundtable/{self.service_name}"
