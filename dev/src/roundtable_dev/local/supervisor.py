"""``roundtable up``: the whole system on one machine, on embedded defaults.

Starts NATS and a MongoDB-wire server (or uses ``NATS_URL``/``MONGODB_URI``), the development token
issuer, and each service as its own process; waits until every ``/readyz`` answers; on Ctrl-C stops
everything it started, in reverse order.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from roundtable_dev.local.nats_auth import CREDENTIALS_FILE
from roundtable_dev.local.servers import LocalServers, ManagedProcess, spawn, wait_for_port

# The services, by module name (each runs as its own process) and default HTTP port.
SERVICES: tuple[tuple[str, int], ...] = (
    ("enrollment", 8001),
    ("sessions", 8002),
    ("reminders", 8003),
    ("reporting", 8004),
)


@dataclass
class SystemConfig:
    data_dir: Path
    nats_port: int = 4222
    mongo_port: int = 27017
    issuer_port: int = 8000
    smtp_port: int = 1025
    mail_ui_port: int = 8025
    service_ports: dict[str, int] = field(default_factory=lambda: dict(SERVICES))
    namespace: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def issuer_url(self) -> str:
        return f"http://127.0.0.1:{self.issuer_port}"


def dev_webhook_secret(data_dir: Path) -> str:
    """The HR webhook secret of the embedded system: made once, kept in the data directory."""
    path = data_dir / "dev-webhook-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def dev_scim_token(data_dir: Path) -> str:
    """The SCIM token of the embedded system's identity-provider connection: made once, kept in
    the data directory (enrollment creates its connection at start, storing only its hash)."""
    path = data_dir / "dev-scim-token"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(f"rtscim.dev.{secrets.token_urlsafe(32)}")
        path.chmod(0o600)
    return path.read_text().strip()


class RunningSystem:
    def __init__(self, config: SystemConfig) -> None:
        self.config = config
        self.servers = LocalServers(
            config.data_dir,
            nats_port=config.nats_port,
            mongo_port=config.mongo_port,
            nats_namespace=config.namespace,
        )
        self.processes: dict[str, ManagedProcess] = {}

    def start(self, timeout: float = 90.0) -> RunningSystem:
        try:
            self.servers.start()
            self._start_issuer()
            self._start_mail_catcher()
            for name in self.config.service_ports:
                self.start_service(name)
            for name in self.config.service_ports:
                self.wait_ready(name, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_issuer(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "roundtable_dev.cli",
            "issuer",
            "--port",
            str(self.config.issuer_port),
            "--data-dir",
            str(self.config.data_dir),
        ]
        log = self.config.data_dir / "logs" / "dev-issuer.log"
        self.processes["dev-issuer"] = spawn("dev-issuer", argv, log, os.environ.copy())
        wait_for_port(self.config.issuer_port, 30, self.processes["dev-issuer"].process)

    def _start_mail_catcher(self) -> None:
        # The local mail catcher, in a process of its own: SMTP for the reminders the reminders
        # service sends, a web page to read them.
        if "reminders" not in self.config.service_ports:
            return
        argv = [
            sys.executable,
            "-m",
            "roundtable_dev.local.mailcatcher",
            "--smtp-port",
            str(self.config.smtp_port),
            "--http-port",
            str(self.config.mail_ui_port),
            "--data-dir",
            str(self.config.data_dir),
        ]
        log = self.config.data_dir / "logs" / "mailcatcher.log"
        self.processes["mailcatcher"] = spawn("mailcatcher", argv, log, os.environ.copy())
        wait_for_port(self.config.mail_ui_port, 30, self.processes["mailcatcher"].process)

    def service_env(self, name: str) -> dict[str, str]:
        prefix = name.upper() + "_"
        values = {
            "HTTP_PORT": str(self.config.service_ports[name]),
            "MONGODB_URI": self.servers.mongodb_uri,
            "NATS_URL": self.servers.nats_server_url,
            "NAMESPACE": self.config.namespace,
            "JWT_ISSUER": self.config.issuer_url,
            "JWKS_URL": f"{self.config.issuer_url}/.well-known/jwks.json",
        }
        credentials = self.servers.nats_credentials
        if credentials is not None:  # each service is its own NATS user
            values["NATS_USER"] = name
            values["NATS_PASSWORD"] = credentials.password(name)
        if name == "reminders":  # its mail goes to the local mail catcher
            values["SMTP_HOST"] = "127.0.0.1"
            values["SMTP_PORT"] = str(self.config.smtp_port)
        if name == "enrollment":  # the HR system's webhooks land there
            values["HR_WEBHOOK_SECRETS"] = f'["{dev_webhook_secret(self.config.data_dir)}"]'
            values["SCIM_BOOTSTRAP_TOKEN"] = dev_scim_token(self.config.data_dir)

        env = {**os.environ, **{prefix + key: value for key, value in values.items()}}
        return {**env, **self.config.extra_env}

    def start_service(self, name: str) -> ManagedProcess:
        log = self.config.data_dir / "logs" / f"{name}.log"
        process = spawn(name, [sys.executable, "-m", name], log, self.service_env(name))
        self.processes[name] = process
        return process

    def start_replica(self, name: str, port: int, timeout: float = 90.0) -> str:
        """One more process of a service, on its own HTTP port, sharing its NATS and database.

        Returns the replica's name in ``processes`` (``"sessions@8102"``); ready when it returns.
        """
        replica = f"{name}@{port}"
        env = {**self.service_env(name), f"{name.upper()}_HTTP_PORT": str(port)}
        log = self.config.data_dir / "logs" / f"{replica}.log"
        self.processes[replica] = spawn(replica, [sys.executable, "-m", name], log, env)
        self._wait_http_ready(replica, port, timeout)
        return replica

    def wait_ready(self, name: str, timeout: float = 90.0) -> None:
        self._wait_http_ready(name, self.config.service_ports[name], timeout)

    def _wait_http_ready(self, name: str, port: int, timeout: float) -> None:
        url = f"http://127.0.0.1:{port}/readyz"
        process = self.processes[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited ({process.process.returncode}); see {process.log_path}"
                )
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{name} not ready after {timeout}s; see {process.log_path}")

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()
        self.servers.stop()


def _print_summary(system: RunningSystem) -> None:
    config = system.config
    print("\nRoundtable is up.\n")
    for name, port in config.service_ports.items():
        print(f"  {name:<11} http://127.0.0.1:{port}  (API docs: http://127.0.0.1:{port}/docs)")
    print(f"  {'NATS':<11} {system.servers.nats_server_url}")
    print(
        f"  {'MongoDB':<11} {system.servers.mongodb_uri}  ({system.servers.mongo.kind or 'external'})"
    )
    print(f"  {'dev issuer':<11} {config.issuer_url}/.well-known/jwks.json")
    if "mailcatcher" in system.processes:
        print(f"  {'mail':<11} http://127.0.0.1:{config.mail_ui_port}  (reminders sent)")
    print(f"\n  logs:            {config.data_dir / 'logs'}")
    print("  a bearer token:  uv run roundtable token --employee e-1001 --roles participant")
    print(f"  HR webhook secret: {dev_webhook_secret(config.data_dir)}")
    if "enrollment" in config.service_ports:
        enrollment = f"http://127.0.0.1:{config.service_ports['enrollment']}"
        print(f"  SCIM base URL:     {enrollment}/scim/v2")
        print(f"  SCIM token:        {dev_scim_token(config.data_dir)}")
    if system.servers.nats_credentials is not None:
        print(f"  NATS users:      {config.data_dir / CREDENTIALS_FILE} (read-only: 'support')")
    print("\nCtrl-C stops everything.", flush=True)


def up(config: SystemConfig) -> int:
    stop_requested = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    system = RunningSystem(config).start()
    try:
        _print_summary(system)
        while not stop_requested:
            time.sleep(0.2)
            for name, process in system.processes.items():
                if process.process.poll() is not None:
                    print(f"{name} exited ({process.process.returncode}); see {process.log_path}")
                    stop_requested = True
    finally:
        print("stopping...", flush=True)
        system.stop()
    return 0
