"""compose.yaml, the Dockerfiles and docs/configuration.md against the settings classes.

No Docker engine runs here, so nothing is built; instead each file is compared with the source it
must agree with (the settings classes, the services' pyproject.toml), so neither can drift.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from pydantic import ValidationError

from roundtable_shared.settings import ServiceSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("enrollment", "sessions", "reminders", "reporting")
INFRASTRUCTURE = ("mongodb", "nats", "issuer", "mailpit")


def _load_generator() -> ModuleType:
    # scripts/ is not a package: load the generator from its file, once, under a private name.
    name = "_roundtable_config_table"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "scripts" / "config_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


config_table = _load_generator()


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict), "compose.yaml is not a mapping"
    return document


def _service(compose: Mapping[str, Any], name: str) -> dict[str, Any]:
    services = compose.get("services") or {}
    assert name in services, f"compose.yaml has no service {name!r}"
    service = services[name]
    assert isinstance(service, dict)
    return service


def _environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A compose service's environment, from either the mapping or the list form."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in raw)
        return {key: value for key, value in pairs}
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


def _settings_class(name: str) -> type[ServiceSettings]:
    cls: type[ServiceSettings] = config_table.settings_class(name)
    return cls


def _effective_port(name: str, environment: Mapping[str, str]) -> int:
    cls = _settings_class(name)
    variable = config_table.env_prefix(cls).upper() + "HTTP_PORT"
    default = cls.model_fields["http_port"].default
    return int(environment.get(variable, default))


def _port_bindings(service: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    """(host address, container port) of every published port, short or long syntax."""
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            yield entry.get("host_ip"), str(entry["target"])
            continue
        spec = str(entry).split("/", 1)[0]
        if spec.startswith("["):  # [::1]:8001:8001
            address, _, rest = spec[1:].partition("]:")
            yield address, rest.rsplit(":", 1)[-1]
            continue
        parts = spec.split(":")
        yield (parts[0] if len(parts) == 3 else None), parts[-1]


def _dockerfile(path: Path) -> str:
    assert path.is_file(), f"{path.relative_to(REPO_ROOT)} is missing"
    # Continuation lines joined, so each instruction is one line.
    return re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))


def _package_name(directory: Path) -> str:
    project = tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8"))
    return str(project["project"]["name"])


# --- the generator itself -------------------------------------------------------------------


def test_every_workspace_service_is_covered() -> None:
    assert config_table.service_names() == sorted(SERVICES)


@pytest.mark.parametrize("name", SERVICES)
def test_env_names_follow_the_prefix(name: str) -> None:
    cls = _settings_class(name)
    prefix = name.upper() + "_"
    assert config_table.env_prefix(cls) == prefix
    names = config_table.env_names(cls)
    assert f"{prefix}MONGODB_URI" in names
    assert config_table.reads_env(cls, f"{prefix}nats_url")  # lookup ignores case
    assert not config_table.reads_env(cls, f"{prefix}NO_SUCH_SETTING")
    assert not config_table.reads_env(cls, "MONGODB_URI")  # unprefixed: not this service's
    other = next(other for other in SERVICES if other != name)
    assert not config_table.reads_env(cls, f"{other.upper()}_MONGODB_URI")


def test_configuration_doc_is_up_to_date() -> None:
    path = REPO_ROOT / "docs" / "configuration.md"
    diff = config_table.check(path)
    assert not diff, (
        "docs/configuration.md is stale; regenerate it with "
        f"`{config_table.REGENERATE}`:\n{''.join(diff)}"
    )


def test_configuration_doc_lists_every_variable() -> None:
    text = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for name in SERVICES:
        for variable in config_table.env_names(_settings_class(name)):
            assert f"`{variable}`" in text, f"{variable} missing from docs/configuration.md"


def test_check_reports_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    current = tmp_path / "configuration.md"
    current.write_text(config_table.render(), encoding="utf-8")
    assert config_table.main(["--check", str(current)]) == 0

    stale = tmp_path / "stale.md"
    stale.write_text(
        config_table.render().replace("ENROLLMENT_NATS_URL", "ENROLLMENT_NATS"), encoding="utf-8"
    )
    assert config_table.main(["--check", str(stale)]) == 1
    assert "ENROLLMENT_NATS_URL" in capsys.readouterr().err
    assert config_table.main(["--check", str(tmp_path / "missing.md")]) == 1


# --- compose.yaml ---------------------------------------------------------------------------


def test_compose_has_the_expected_services(compose: dict[str, Any]) -> None:
    services = set(compose.get("services") or {})
    missing = set(SERVICES + INFRASTRUCTURE) - services
    assert not missing, f"compose.yaml lacks {sorted(missing)}"


@pytest.mark.parametrize("name", SERVICES)
def test_compose_environment_is_read_by_the_settings_class(
    compose: dict[str, Any], name: str
) -> None:
    cls = _settings_class(name)
    environment = _environment(_service(compose, name))
    unread = sorted(
        variable for variable in environment if not config_table.reads_env(cls, variable)
    )
    assert not unread, (
        f"compose.yaml sets {unread} on {name}, but {cls.__module__}.{cls.__name__} "
        f"does not read them (it reads {sorted(config_table.env_names(cls))})"
    )


@pytest.mark.parametrize("name", SERVICES)
def test_compose_environment_values_validate(
    compose: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cls = _settings_class(name)
    environment = _environment(_service(compose, name))
    prefix = config_table.env_prefix(cls).upper()
    for variable in [key for key in os.environ if key.upper().startswith(prefix)]:
        monkeypatch.delenv(variable)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    try:
        settings = cls()
    except ValidationError as error:
        pytest.fail(f"compose.yaml's environment of {name} does not validate: {error}")
    assert settings.http_host == "0.0.0.0", "in a container the API must bind every interface"


@pytest.mark.parametrize("name", SERVICES)
def test_compose_service_wiring(compose: dict[str, Any], name: str) -> None:
    service = _service(compose, name)
    prefix = name.upper() + "_"
    environment = _environment(service)

    build = service.get("build") or {}
    assert build.get("context") in (".", "./")
    assert build.get("dockerfile") == "services/Dockerfile"
    args = {str(key): str(value) for key, value in (build.get("args") or {}).items()}
    default_port = _settings_class(name).model_fields["http_port"].default
    assert args == {"SERVICE": name, "PORT": str(default_port)}, "build args of the one Dockerfile"

    depends_on = service.get("depends_on") or {}
    assert isinstance(depends_on, dict), "depends_on must use the long form with conditions"
    for dependency in ("mongodb", "nats"):
        assert (depends_on.get(dependency) or {}).get("condition") == "service_healthy"

    mongodb = urlsplit(environment[f"{prefix}MONGODB_URI"])
    assert mongodb.hostname == "mongodb"
    assert parse_qs(mongodb.query).get("replicaSet") == ["rs0"]
    assert urlsplit(environment[f"{prefix}NATS_URL"]).hostname == "nats"
    assert urlsplit(environment[f"{prefix}JWKS_URL"]).hostname == "issuer"
    assert environment[f"{prefix}JWT_ISSUER"]

    port = _effective_port(name, environment)
    assert [container for _, container in _port_bindings(service)] == [str(port)]
    healthcheck = " ".join(map(str, (service.get("healthcheck") or {}).get("test") or []))
    assert f"127.0.0.1:{port}/readyz" in healthcheck


def test_compose_reminders_deliver_to_mailpit(compose: dict[str, Any]) -> None:
    environment = _environment(_service(compose, "reminders"))
    assert environment.get("REMINDERS_SMTP_HOST") == "mailpit"
    assert environment.get("REMINDERS_SMTP_PORT") == "1025"
    assert [port for _, port in _port_bindings(_service(compose, "mailpit"))] == ["1025", "8025"]


def test_compose_infrastructure(compose: dict[str, Any]) -> None:
    mongodb = _service(compose, "mongodb")
    assert str(mongodb["image"]).startswith("mongo:8")
    command = mongodb.get("command") or []
    assert "--replSet" in command and command[command.index("--replSet") + 1] == "rs0"
    assert "--bind_ip_all" in command
    assert "rs.initiate" in " ".join(mongodb["healthcheck"]["test"])

    nats = _service(compose, "nats")
    assert str(nats["image"]).startswith("nats:2.11")
    assert {"-js", "-sd", "-m"} <= set(nats["command"])
    assert any("/data" in str(volume) for volume in nats.get("volumes") or [])
    assert "8222/healthz" in " ".join(nats["healthcheck"]["test"])

    issuer = _service(compose, "issuer")
    assert issuer["build"]["dockerfile"] == "dev/Dockerfile"
    assert issuer["command"][:2] == ["roundtable", "issuer"]
    assert any(str(volume).endswith(":/data") for volume in issuer.get("volumes") or [])


def test_published_ports_bind_localhost_only(compose: dict[str, Any]) -> None:
    exposed = [
        f"{name}: {address or 'every interface'} -> {port}"
        for name, service in (compose.get("services") or {}).items()
        for address, port in _port_bindings(service)
        if address not in ("127.0.0.1", "::1")
    ]
    assert not exposed, f"ports published beyond loopback: {exposed}"


def test_compose_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    used = {
        str(volume).split(":", 1)[0]
        for service in (compose.get("services") or {}).values()
        for volume in service.get("volumes") or []
        if isinstance(volume, str) and not str(volume).startswith((".", "/", "~"))
    }
    assert used <= declared, f"named volumes not declared: {sorted(used - declared)}"


# --- Dockerfiles ----------------------------------------------------------------------------


def test_one_dockerfile_builds_every_service() -> None:
    """services/Dockerfile, parametrised by SERVICE (and its PORT), installs that service and
    shared only: no dev package, no other service, no dev dependencies."""
    text = _dockerfile(REPO_ROOT / "services" / "Dockerfile")
    leftovers = sorted(
        str(path.relative_to(REPO_ROOT)) for path in REPO_ROOT.glob("services/*/Dockerfile")
    )
    assert not leftovers, f"one parametrised Dockerfile, not one per service: {leftovers}"
    for name in SERVICES:
        assert _package_name(REPO_ROOT / "services" / name) == f"roundtable-{name}"
    assert "COPY --from=ghcr.io/astral-sh/uv:" in text
    assert re.search(r"^ARG SERVICE$", text, re.M) and re.search(r"^ARG PORT$", text, re.M)
    syncs = re.findall(r"uv sync [^\n]*", text)
    assert syncs, "no `uv sync`"
    for sync in syncs:
        assert "--frozen" in sync and "--no-dev" in sync
        assert sync.rstrip().endswith("--package roundtable-${SERVICE}"), sync
    copied = re.findall(r"^COPY (?!--from)(\S+)", text, re.M)
    sources = [path for path in copied if not path.endswith(("pyproject.toml", "uv.lock"))]
    assert sources == ["shared/src", "services/${SERVICE}/src"], "only shared and the service"
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.M)
    assert re.search(r"^EXPOSE \$\{PORT\}$", text, re.M)
    assert re.search(r"^HEALTHCHECK .*127\.0\.0\.1:\{port\}/readyz", text, re.M)
    assert re.search(r"^USER (?!root\b|0\b)\S+", text, re.M), "runs as root"
    assert "runpy.run_module(name, run_name='__main__'" in text, "runs python -m <service>"

    # Environment the image bakes in is its own (ROUNDTABLE_SERVICE*), no service's setting:
    # those come from the deployment, or the defaults the start command sets.
    baked = re.findall(r"\b([A-Z][A-Z0-9_]*)=", " ".join(re.findall(r"^ENV .*", text, re.M)))
    assert set(baked) <= {
        "PATH",
        "PYTHONUNBUFFERED",
        "ROUNDTABLE_SERVICE",
        "ROUNDTABLE_SERVICE_PORT",
        "UV_COMPILE_BYTECODE",
        "UV_LINK_MODE",
        "UV_PYTHON_DOWNLOADS",
        "UV_PROJECT_ENVIRONMENT",
    }, baked
    for name in SERVICES:  # and no service reads the image's own variables as a setting
        cls = _settings_class(name)
        assert not config_table.reads_env(cls, "ROUNDTABLE_SERVICE")
        assert not config_table.reads_env(cls, "ROUNDTABLE_SERVICE_PORT")


def test_issuer_dockerfile() -> None:
    text = _dockerfile(REPO_ROOT / "dev" / "Dockerfile")
    package = _package_name(REPO_ROOT / "dev")
    assert "COPY --from=ghcr.io/astral-sh/uv:" in text
    for sync in re.findall(r"uv sync [^\n]*", text):
        assert "--frozen" in sync and "--no-dev" in sync and f"--package {package}" in sync
        assert sync.rstrip().endswith("${SKIP_SERVICES}"), "the issuer image runs no service"
    skipped = re.search(r'^ARG SKIP_SERVICES="([^"]*)"', text, re.M)
    assert skipped, "no SKIP_SERVICES"
    assert set(re.findall(r"--no-install-package (\S+)", skipped.group(1))) == {
        f"roundtable-{name}" for name in SERVICES
    }
    assert 'CMD ["roundtable", "issuer", "--port", "8000", "--data-dir", "/data"]' in text
    assert re.search(r"^USER (?!root\b|0\b)\S+", text, re.M), "runs as root"


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    patterns = {
        line.strip().removeprefix("**/").rstrip("/")
        for line in (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".data", ".git", "__pycache__"} <= patterns


def test_asyncapi_document_is_up_to_date() -> None:
    """docs/asyncapi.json is generated from the catalogue: `make asyncapi` after changing an event."""
    import json

    from roundtable_shared.events.asyncapi import asyncapi_document

    committed = json.loads((REPO_ROOT / "docs" / "asyncapi.json").read_text())
    assert committed == json.loads(json.dumps(asyncapi_document()))


# --- NATS: users only ------------------------------------------------------------------------


def test_compose_nats_has_users_only_with_the_tables_permissions(compose: dict[str, Any]) -> None:
    """compose's NATS loads the generated users file, which is current, and every password it
    names comes from its environment (from .env), none from the file."""
    from roundtable_dev.local.nats_auth import deployed_server_config, password_variable
    from roundtable_shared.messaging.permissions import ADMIN_USER, SUPPORT_USER

    conf = REPO_ROOT / "deploy" / "nats" / "roundtable.conf"
    assert conf.read_text(encoding="utf-8") == deployed_server_config(""), (
        "deploy/nats/roundtable.conf is stale: uv run roundtable nats-config > "
        "deploy/nats/roundtable.conf"
    )
    nats = _service(compose, "nats")
    command = list(map(str, nats["command"]))
    mounted = command[command.index("-c") + 1]
    assert any(
        str(volume).startswith("./deploy/nats/roundtable.conf:" + mounted)
        for volume in nats["volumes"]
    )
    environment = _environment(nats)
    for user in (*SERVICES, ADMIN_USER, SUPPORT_USER):
        variable = password_variable(user)
        assert f"${variable}" in conf.read_text(encoding="utf-8")
        assert environment[variable].startswith("${" + variable + ":?"), "must be set, not empty"


@pytest.mark.parametrize("name", SERVICES)
def test_compose_service_connects_as_its_own_nats_user(compose: dict[str, Any], name: str) -> None:
    environment = _environment(_service(compose, name))
    prefix = name.upper() + "_"
    assert environment[f"{prefix}NATS_USER"] == name
    assert environment[f"{prefix}NATS_PASSWORD"].startswith(
        "${" + name.upper() + "_NATS_PASSWORD:?"
    )


def test_local_secrets_stay_out_of_git_and_images() -> None:
    ignored = (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored and ".data/" in ignored
    assert ".env" in (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
