"""What the enrollment benchmarks share: servers, a dev issuer, the service as its own process.

The service runs as ``python -m enrollment`` (a separate process, as in production and under
``make run``), talking to nats-server and the MongoDB-wire server (FerretDB on SQLite, or
``mongod``) started in a temporary folder, unless ``NATS_URL`` and ``MONGODB_URI`` name servers
already running. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.local.servers import LocalServers
from roundtable_dev.testing.http import listening_socket, serve_in_thread

HR_SECRET = "bench-hr-secret"


@dataclass(frozen=True)
class Service:
    url: str
    nats_url: str
    mongodb_uri: str
    namespace: str
    issuer: DevIssuer
    mongo_kind: str

    def token(self, employee_id: str, *roles: str) -> dict[str, str]:
        minted = self.issuer.mint(employee_id, roles or ["participant"])
        return {"Authorization": f"Bearer {minted}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def enrollment_service() -> Iterator[Service]:
    with (
        tempfile.TemporaryDirectory(prefix="roundtable-bench-") as tmp,
        LocalServers(Path(tmp), nats_namespace=None) as local,  # a namespace per run
    ):
        sock = listening_socket()
        issuer = DevIssuer(Path(tmp) / "issuer", f"http://127.0.0.1:{sock.getsockname()[1]}")
        with serve_in_thread(issuer.jwks_app(), sock):
            port = _free_port()
            namespace = f"bench{uuid.uuid4().hex[:8]}."
            env = {
                **os.environ,
                "ENROLLMENT_HTTP_PORT": str(port),
                "ENROLLMENT_MONGODB_URI": local.mongodb_uri,
                **local.service_nats_env("enrollment"),  # its own NATS user
                "ENROLLMENT_NAMESPACE": namespace,
                "ENROLLMENT_JWT_ISSUER": issuer.issuer_url,
                "ENROLLMENT_JWKS_URL": issuer.jwks_uri,
                "ENROLLMENT_HR_WEBHOOK_SECRETS": f'["{HR_SECRET}"]',
                "ENROLLMENT_LOG_LEVEL": "WARNING",
            }
            log = (Path(tmp) / "enrollment.log").open("wb")
            process = subprocess.Popen(
                [sys.executable, "-m", "enrollment"], env=env, stdout=log, stderr=log
            )
            try:
                url = f"http://127.0.0.1:{port}"
                _wait_ready(url, process)
                yield Service(
                    url,
                    local.nats_url,
                    local.mongodb_uri,
                    namespace,
                    issuer,
                    local.mongo.kind or "MONGODB_URI",
                )
            finally:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                log.close()


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the enrollment service exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("the enrollment service did not get ready in 60 s")


def machine() -> str:
    cpus = os.cpu_count()
    return (
        f"{platform.system()} {platform.machine()}, {cpus} CPUs, Python {platform.python_version()}"
    )
