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

from roundtable_shared.local.servers import LocalServers


@dataclass(frozen=True)
class ServerUrls:
    nats_url: str
    mongodb_uri: str
    kind: str


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
def _containers() -> Iterator[ServerUrls]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.mongodb import MongoDbContainer

    nats = DockerContainer("nats:2.11").with_command("-js").with_exposed_ports(4222)
    with MongoDbContainer("mongo:8.0") as mongo, nats:
        nats_url = f"nats://{nats.get_container_host_ip()}:{nats.get_exposed_port(4222)}"
        yield ServerUrls(nats_url, mongo.get_connection_url(), "testcontainers")


@contextlib.contextmanager
def test_servers(data_dir: Path) -> Iterator[ServerUrls]:
    from_env = _from_environment()
    if from_env:
        yield from_env
    elif docker_engine_answers():
        with _containers() as urls:
            yield urls
    else:
        with LocalServers(data_dir) as local:
            yield ServerUrls(local.nats_url, local.mongodb_uri, local.mongo.kind)
