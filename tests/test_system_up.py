"""``roundtable up`` as ``make run`` uses it: every service process ready, tokens accepted, nothing left."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.local.servers import free_port
from roundtable_dev.local.supervisor import SERVICES, RunningSystem, SystemConfig

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    config = SystemConfig(
        data_dir=tmp_path_factory.mktemp("system"),
        nats_port=free_port(),
        mongo_port=free_port(),
        issuer_port=free_port(),
        smtp_port=free_port(),
        mail_ui_port=free_port(),
        service_ports={name: free_port() for name, _ in SERVICES},
    )
    running = RunningSystem(config).start()
    try:
        yield running
    finally:
        running.stop()


def test_every_service_is_ready(system: RunningSystem) -> None:
    for name, port in system.config.service_ports.items():
        response = httpx.get(f"http://127.0.0.1:{port}/readyz")
        assert response.status_code == 200, name
        openapi = httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()
        assert openapi["info"]["title"] == f"Roundtable {name}"


def test_the_dev_token_is_accepted_by_every_service(system: RunningSystem) -> None:
    issuer = DevIssuer(system.config.data_dir, system.config.issuer_url)
    token = issuer.mint("e-1001", ["participant", "sponsor"])
    for port in system.config.service_ports.values():
        url = f"http://127.0.0.1:{port}/v1/auth/whoami"
        me = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert me.json() == {"employee_id": "e-1001", "roles": ["participant", "sponsor"]}
        assert httpx.get(url).status_code == 401


def test_stopping_leaves_no_process_behind(tmp_path: Path) -> None:
    config = SystemConfig(
        data_dir=tmp_path,
        nats_port=free_port(),
        mongo_port=free_port(),
        issuer_port=free_port(),
        service_ports={"enrollment": free_port()},
    )
    system = RunningSystem(config).start()
    pids = [p.process.pid for p in system.processes.values()]
    pids += [
        s.managed.process.pid for s in (system.servers.nats, system.servers.mongo) if s.managed
    ]
    system.stop()
    alive = subprocess.run(
        ["ps", "-o", "pid=", "-p", ",".join(map(str, pids))], capture_output=True, text=True
    )
    assert alive.stdout.split() == []


def test_ctrl_c_stops_everything_roundtable_up_started(tmp_path: Path) -> None:
    ports = {name: free_port() for name, _ in SERVICES}
    argv = [
        "roundtable",
        "up",
        "--data-dir",
        str(tmp_path),
        "--nats-port",
        str(free_port()),
        "--mongo-port",
        str(free_port()),
        "--issuer-port",
        str(free_port()),
    ]
    argv += [f"--service-port={name}={port}" for name, port in ports.items()]
    up = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        assert up.stdout is not None
        for line in up.stdout:
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                break
        assert "Roundtable is up." in "".join(lines), "".join(lines)
        for port in ports.values():
            assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=60) == 0
    finally:
        up.kill()
    # The servers and the issuer were given the data directory on their command line...
    left = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert left.stdout.split() == []
    # ...and no service answers any more.
    for port in ports.values():
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/healthz")
