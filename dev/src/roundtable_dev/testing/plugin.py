"""Pytest fixtures giving tests real NATS and a real MongoDB-wire server.

Servers start once per test session; every test gets its own namespace (subjects, streams,
durable consumers) and its own databases, so tests run in any order and never see each other.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import nats
import pytest
from nats.aio.client import Client as NatsClient

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.http import listening_socket, serve_in_thread
from roundtable_dev.testing.servers import ServerUrls, test_servers
from roundtable_shared.messaging.permissions import ACCESS, ADMIN_USER
from roundtable_shared.settings import ServiceSettings
from roundtable_shared.storage.mongo import Database, connect

S = TypeVar("S", bound=ServiceSettings)


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerUrls]:
    with test_servers(tmp_path_factory.mktemp("servers")) as urls:
        yield urls


@pytest.fixture(scope="session")
def dev_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevIssuer]:
    """A real token issuer serving its JWKS over HTTP; ``dev_issuer.mint(employee, roles)``."""
    sock = listening_socket()
    issuer = DevIssuer(
        tmp_path_factory.mktemp("issuer"), f"http://127.0.0.1:{sock.getsockname()[1]}"
    )
    with serve_in_thread(issuer.jwks_app(), sock):
        yield issuer


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:12]}."


@pytest.fixture
def make_settings(servers: ServerUrls, namespace: str, dev_issuer: DevIssuer) -> Callable[..., Any]:
    """``make_settings(EnrollmentSettings, **overrides)``: settings pointed at this test's world.

    Servers and namespace are this test's; tokens from ``dev_issuer.mint`` are accepted.
    """

    def build(cls: type[S], **overrides: Any) -> S:
        values: dict[str, Any] = {
            "mongodb_uri": servers.mongodb_uri,
            **nats_login(servers, overrides.get("service_name") or _service_name(cls)),
            "namespace": namespace,
            "outbox_poll_seconds": 0.05,
            "jwt_issuer": dev_issuer.issuer_url,
            "jwks_url": dev_issuer.jwks_uri,
            **overrides,
        }
        return cls(**values)

    return build


def _service_name(cls: type[ServiceSettings]) -> str:
    return str(cls.model_fields["service_name"].default)


def nats_login(servers: ServerUrls, service: str) -> dict[str, Any]:
    """Settings that connect ``service`` to the test NATS as its own user. A service a test
    makes up (not in ``permissions.ACCESS``) connects as the admin user."""
    credentials = servers.nats_credentials
    if credentials is None:  # a server from the environment: its users are its own business
        return {"nats_url": servers.nats_url}
    user = service if service in ACCESS else ADMIN_USER
    return {
        "nats_url": servers.nats_server_url,
        "nats_user": user,
        "nats_password": credentials.password(user),
    }


@pytest.fixture
async def mongo_db(servers: ServerUrls, namespace: str) -> AsyncIterator[Database]:
    client = connect(servers.mongodb_uri, app_name="tests")
    name = namespace.replace(".", "_") + "scratch"
    try:
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()


@pytest.fixture
async def nats_client(servers: ServerUrls) -> AsyncIterator[NatsClient]:
    """The test's own client (publishing events as any producer, inspecting streams): the
    admin user, not any service's."""
    client = await nats.connect(servers.nats_url)
    try:
        yield client
    finally:
        await client.drain()
