"""How a service connects to NATS: its own user, its private inbox prefix, TLS when configured."""

from __future__ import annotations

import ssl
from typing import Any

from faststream.nats import NatsBroker
from faststream.nats.security import NatsSecurity, NatsUserPassword

from roundtable_shared.messaging.permissions import inbox_prefix
from roundtable_shared.settings import ServiceSettings


def _tls(settings: ServiceSettings) -> ssl.SSLContext | None:
    if settings.nats_ca_file:
        return ssl.create_default_context(cafile=settings.nats_ca_file)
    if settings.nats_url.startswith("tls://"):
        return ssl.create_default_context()
    return None


def connect_options(settings: ServiceSettings) -> dict[str, Any]:
    """Keyword arguments of ``nats.connect`` for this service (``servers`` included)."""
    options: dict[str, Any] = {
        "servers": settings.nats_url,
        "inbox_prefix": inbox_prefix(settings.service_name),
        "name": settings.service_name,
    }
    if settings.nats_user:
        options["user"] = settings.nats_user
        options["password"] = settings.nats_password.get_secret_value()
    tls = _tls(settings)
    if tls is not None:
        options["tls"] = tls
    return options


def service_broker(settings: ServiceSettings, **kwargs: Any) -> NatsBroker:
    """The FastStream broker of a service, connected as the service's own user."""
    tls = _tls(settings)
    security: NatsSecurity | None = None
    if settings.nats_user:
        security = NatsUserPassword(
            settings.nats_user, settings.nats_password.get_secret_value(), ssl_context=tls
        )
    elif tls is not None:
        security = NatsSecurity(ssl_context=tls, use_ssl=True)
    return NatsBroker(
        settings.nats_url,
        security=security,
        inbox_prefix=inbox_prefix(settings.service_name),
        name=settings.service_name,
        **kwargs,
    )
