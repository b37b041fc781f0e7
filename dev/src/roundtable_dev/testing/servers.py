"""Which real NATS and MongoDB-wire servers a test run uses.

In order: URLs from the environment (``ROUNDTABLE_TEST_NATS_URL``/``ROUNDTABLE_TEST_MONGODB_URI``,
or ``NATS_URL``/``MONGODB_URI``); testcontainers (mongo and nats images) when a Docker engine
answers; otherwise the local binaries (nats-server, FerretDB or mongod) on free ports.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from roundtable_dev.local.nats_auth import NatsCredentials
from roundtable_dev.local.servers import LocalServers
from roundtable_shared.messaging.permissions import ADMIN_USER


@dataclass(frozen=True)
class ServerUrls:
    nats_url: str
    """For the tests' own clients: the admin user's URL where the server has users."""
    mongodb_uri: str
    kind: str
    nats_server_url: str = ""
    """The server's URL without a user: services connect with their own (``nats_credentials``)."""
    nats_credentials: NatsCredentials | None = None


def _from_environment() -> ServerUrls | None:
    nats = os.environ.get("ROUNDTABLE_TEST_NATS_URL") or os.environ.get("NATS_URL")
    mongo = os.environ.get("ROUNDTABLE_TEST_MONGODB_URI") or os.environ.get("MONGODB_URI")
    if nats and mongo:
        return ServerUrls(nats, mongo, "environment")
    return None


def docker_engine_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=3)
        return bool(client.ping())
    except Exception:
        return False


@contextlib.contextmanager
def _containers(data_dir: Path) -> Iterator[ServerUrls]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.mongodb import MongoDbContainer

    # The same users and permissions as the local server (any test namespace).
    credentials = NatsCredentials.load_or_create(data_dir)
    credentials.write_server_config(data_dir / "nats" / "nats-server.json", None)
    nats = (
        DockerContainer("nats:2.11")
        .with_volume_mapping(str(data_dir / "nats"), "/etc/roundtable", "ro")
        .with_command("-js -c /etc/roundtable/nats-server.json")
        .with_exposed_ports(4222)
    )
    with MongoDbContainer("mongo:8.0") as mongo, nats:
        plain = f"nats://{nats.get_container_host_ip()}:{nats.get_exposed_port(4222)}"
        admin = credentials.url_for(plain, ADMIN_USER)
        yield ServerUrls(admin, mongo.get_connection_url(), "testcontainers", plain, credentials)


@contextlib.contextmanager
def test_servers(data_dir: Path) -> Iterator[ServerUrls]:
    from_env = _from_environment()
    if from_env:
        yield from_env
    elif docker_engine_answers():
        with _containers(data_dir) as urls:
            yield urls
    else:
        # One server for every test's namespace: permissions name no single namespace.
        with LocalServers(data_dir, nats_namespace=None) as local:
            yield ServerUrls(
                local.nats_url,
                local.mongodb_uri,
                local.mongo.kind,
                local.nats_server_url,
                local.nats_credentials,
            )
