"""deploy/kubernetes against the settings classes, the Dockerfiles, the docs and itself.

No cluster runs here, so nothing is applied; each manifest is compared with the source it must
agree with: every variable a ConfigMap or a container sets must be read by the service's settings
class, probes must hit the port the service listens on, the MongoDB users must match the databases
the services use, and every Secret the manifests reference must be documented in docs/scaling.md.
Where `kubectl` (or `kustomize`) is installed, the kustomization is also rendered.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import ValidationError

from roundtable_shared.settings import ServiceSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
K8S_DIR = REPO_ROOT / "deploy" / "kubernetes"
SCALING_DOC = REPO_ROOT / "docs" / "scaling.md"
SERVICES = ("enrollment", "sessions", "reminders", "reporting")
NAMESPACE = "roundtable"
HELM_VALUES = ("nats-values.yaml", "mongodb-values.yaml")
# Settings whose values are credentials: they may come from a Secret only, never a ConfigMap.
SENSITIVE = re.compile(r"SECRET|PASSWORD|TOKEN|CREDENTIAL|MONGODB_URI")


def _load_generator() -> ModuleType:
    # scripts/ is not a package: load the generator from its file, once, under the same private
    # name as tests/test_deployment_files.py, so both share one module.
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


def _settings_class(name: str) -> type[ServiceSettings]:
    cls: type[ServiceSettings] = config_table.settings_class(name)
    return cls


def _prefix(name: str) -> str:
    return str(config_table.env_prefix(_settings_class(name))).upper()


def _yaml_files() -> list[Path]:
    return sorted(
        path for pattern in ("*.yaml", "*.yml") for path in K8S_DIR.rglob(pattern) if path.is_file()
    )


def _manifest_files() -> list[Path]:
    """Every file that should be a kustomize resource: not the kustomization, not Helm values."""
    return [
        path
        for path in _yaml_files()
        if path.name not in ("kustomization.yaml", "kustomization.yml", *HELM_VALUES)
    ]


def _load_all(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as stream:
        return [document for document in yaml.safe_load_all(stream) if document is not None]


@pytest.fixture(scope="module")
def kustomization() -> dict[str, Any]:
    document = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict), "kustomization.yaml is not a mapping"
    return document


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in _manifest_files():
        for document in _load_all(path):
            assert isinstance(document, dict), f"{path.name}: a document is not a mapping"
            found.append(document)
    return found


def _find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [
        obj for obj in objects if obj.get("kind") == kind and obj["metadata"].get("name") == name
    ]
    assert len(matches) == 1, f"expected one {kind} {name!r}, found {len(matches)}"
    return matches[0]


def _container(deployment: Mapping[str, Any], name: str) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    matches = [container for container in containers if container.get("name") == name]
    assert len(matches) == 1, f"Deployment {name} has no single container named {name!r}"
    container: dict[str, Any] = matches[0]
    return container


def _config_maps(objects: list[dict[str, Any]], container: Mapping[str, Any]) -> Iterator[str]:
    for source in container.get("envFrom") or []:
        assert "prefix" not in source, "envFrom prefixes hide which variables are set"
        assert "secretRef" not in source, "read Secrets key by key (env), so each name is checked"
        yield source["configMapRef"]["name"]


def _config_env(objects: list[dict[str, Any]], container: Mapping[str, Any]) -> dict[str, str]:
    """Variables the container gets from its ConfigMaps and from literal `env` values."""
    environment: dict[str, str] = {}
    for config_map in _config_maps(objects, container):
        data = _find(objects, "ConfigMap", config_map).get("data") or {}
        for key, value in data.items():
            assert isinstance(value, str), f"ConfigMap {config_map}: {key} is not a string"
            environment[key] = value
    for entry in container.get("env") or []:
        if "value" in entry:
            environment[entry["name"]] = str(entry["value"])
    return environment


def _secret_env(container: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Variable -> (Secret, key) for every variable the container reads from a Secret."""
    return {
        entry["name"]: (ref["name"], ref["key"])
        for entry in container.get("env") or []
        if (ref := (entry.get("valueFrom") or {}).get("secretKeyRef"))
    }


def _env_names(objects: list[dict[str, Any]], container: Mapping[str, Any]) -> list[str]:
    names = list(_config_env(objects, container))
    names += [entry["name"] for entry in container.get("env") or []]
    return names


def _effective_port(name: str, environment: Mapping[str, str]) -> int:
    cls = _settings_class(name)
    default = cls.model_fields["http_port"].default
    return int(environment.get(_prefix(name) + "HTTP_PORT", default))


def _resolve_port(container: Mapping[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise AssertionError(f"port {port!r} is not declared by container {container.get('name')}")


def _validated_settings(
    name: str, environment: Mapping[str, str], monkeypatch: pytest.MonkeyPatch
) -> ServiceSettings:
    cls = _settings_class(name)
    prefix = _prefix(name)
    for variable in [key for key in os.environ if key.upper().startswith(prefix)]:
        monkeypatch.delenv(variable)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    try:
        return cls()
    except ValidationError as error:
        pytest.fail(f"the manifests' environment of {name} does not validate: {error}")


def _mongodb_user(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    replica_sets = [obj for obj in objects if obj.get("kind") == "MongoDBCommunity"]
    assert len(replica_sets) == 1, "expected one MongoDBCommunity resource"
    users = [user for user in replica_sets[0]["spec"].get("users") or [] if user["name"] == name]
    assert len(users) == 1, f"MongoDBCommunity has no single user {name!r}"
    user: dict[str, Any] = users[0]
    return user


# --- files and kustomization ----------------------------------------------------------------


def test_every_manifest_parses() -> None:
    files = _yaml_files()
    assert files, "deploy/kubernetes holds no YAML"
    for path in files:
        documents = _load_all(path)
        assert documents, f"{path.name} is empty"
        for document in documents:
            assert isinstance(document, dict), f"{path.name}: a document is not a mapping"
            if path in _manifest_files():
                assert document.get("apiVersion"), f"{path.name}: a document has no apiVersion"
                assert document.get("kind"), f"{path.name}: a document has no kind"
                assert (document.get("metadata") or {}).get("name"), f"{path.name}: no name"


def test_kustomization_lists_every_manifest(kustomization: dict[str, Any]) -> None:
    listed = kustomization.get("resources") or []
    assert len(listed) == len(set(listed)), "a resource is listed twice"
    missing = [entry for entry in listed if not (K8S_DIR / entry).is_file()]
    assert not missing, f"kustomization.yaml lists files that do not exist: {missing}"
    on_disk = {path.relative_to(K8S_DIR).as_posix() for path in _manifest_files()}
    unlisted = sorted(on_disk - set(listed))
    assert not unlisted, f"manifests not in kustomization.yaml: {unlisted}"
    for values in HELM_VALUES:
        assert (K8S_DIR / values).is_file(), f"{values} is missing"
        assert values not in listed, f"{values} holds Helm values, not a kustomize resource"


def test_kustomization_namespace(kustomization: dict[str, Any], objects: list[Any]) -> None:
    assert kustomization.get("namespace") == NAMESPACE
    _find(objects, "Namespace", NAMESPACE)
    for obj in objects:
        namespace = obj["metadata"].get("namespace")
        assert namespace in (None, NAMESPACE), f"{obj['kind']} {obj['metadata']['name']}"


def test_resources_are_unique(objects: list[dict[str, Any]]) -> None:
    keys = [(obj["kind"], obj["metadata"]["name"]) for obj in objects]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicates, f"defined more than once: {duplicates}"


def test_secrets_are_referenced_not_filled(objects: list[dict[str, Any]]) -> None:
    filled = [obj["metadata"]["name"] for obj in objects if obj.get("kind") == "Secret"]
    assert not filled, f"Secrets with values do not belong in the repository: {filled}"


def test_kustomization_images_match_the_services(
    kustomization: dict[str, Any], objects: list[dict[str, Any]]
) -> None:
    images = {entry["name"]: entry for entry in kustomization.get("images") or []}
    for name in SERVICES:
        image = f"roundtable/{name}"
        assert image in images, f"kustomization.yaml does not pin {image}"
        project = tomllib.loads(
            (REPO_ROOT / "services" / name / "pyproject.toml").read_text(encoding="utf-8")
        )
        assert str(images[image].get("newTag")) == project["project"]["version"], (
            f"{image} should be tagged with the version in services/{name}/pyproject.toml"
        )
        container = _container(_find(objects, "Deployment", name), name)
        assert str(container["image"]).split(":", 1)[0] == image


@pytest.mark.skipif(
    not (shutil.which("kubectl") or shutil.which("kustomize")),
    reason="neither kubectl nor kustomize is installed",
)
def test_kustomize_renders() -> None:
    command = (
        ["kustomize", "build", str(K8S_DIR)]
        if shutil.which("kustomize")
        else ["kubectl", "kustomize", str(K8S_DIR)]
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    deployments = {
        doc["metadata"]["name"]: doc for doc in rendered if doc.get("kind") == "Deployment"
    }
    assert sorted(deployments) == sorted(SERVICES)
    for name, deployment in deployments.items():
        assert deployment["metadata"]["namespace"] == NAMESPACE
        image = _container(deployment, name)["image"]
        assert re.fullmatch(rf"roundtable/{name}:[\w.-]+", image), image


# --- each service ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_service_has_its_workload_objects(objects: list[dict[str, Any]], name: str) -> None:
    deployment = _find(objects, "Deployment", name)
    service = _find(objects, "Service", name)
    budget = _find(objects, "PodDisruptionBudget", name)
    autoscaler = _find(objects, "HorizontalPodAutoscaler", name)

    selector = deployment["spec"]["selector"]["matchLabels"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items(), "the Deployment does not select its own pods"
    container = _container(deployment, name)

    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert service["spec"]["selector"].items() <= pod_labels.items()
    for port in service["spec"]["ports"]:
        _resolve_port(container, port.get("targetPort", port["port"]))

    assert budget["apiVersion"] == "policy/v1"
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()

    assert autoscaler["apiVersion"] == "autoscaling/v2"
    target = autoscaler["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", name)
    low, high = autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]
    assert high >= low
    metrics = [metric["resource"]["name"] for metric in autoscaler["spec"]["metrics"]]
    assert "cpu" in metrics
    # The autoscaler owns the count; a fixed one would be reset by every apply.
    assert deployment["spec"].get("replicas") in (None, low)

    # Every service runs replicas, reporting included: its projections are active/standby.
    strategy = deployment["spec"].get("strategy") or {}
    assert low >= 2, "one replica is no longer highly available"
    assert budget["spec"].get("minAvailable") == 1
    assert strategy.get("type", "RollingUpdate") == "RollingUpdate"
    assert strategy.get("rollingUpdate", {}).get("maxUnavailable") == 0


@pytest.mark.parametrize("name", SERVICES)
def test_probes_and_metrics_use_the_service_port(objects: list[dict[str, Any]], name: str) -> None:
    deployment = _find(objects, "Deployment", name)
    container = _container(deployment, name)
    port = _effective_port(name, _config_env(objects, container))

    assert [p["containerPort"] for p in container["ports"]] == [port]
    probes = {
        "readinessProbe": "/readyz",
        "livenessProbe": "/healthz",
    }
    for probe, path in probes.items():
        http = (container.get(probe) or {}).get("httpGet")
        assert http, f"{name} has no HTTP {probe}"
        assert http["path"] == path, f"{name}'s {probe} should ask {path}"
        assert _resolve_port(container, http["port"]) == port, f"{name}'s {probe} port"
    startup = (container.get("startupProbe") or {}).get("httpGet")
    if startup:
        assert _resolve_port(container, startup["port"]) == port

    annotations = deployment["spec"]["template"]["metadata"].get("annotations") or {}
    assert annotations.get("prometheus.io/scrape") == "true"
    assert annotations.get("prometheus.io/path") == "/metrics"
    assert int(annotations.get("prometheus.io/port", 0)) == port


@pytest.mark.parametrize("name", SERVICES)
def test_pods_are_hardened(objects: list[dict[str, Any]], name: str) -> None:
    pod = _find(objects, "Deployment", name)["spec"]["template"]["spec"]
    container = _container(_find(objects, "Deployment", name), name)

    dockerfile = (REPO_ROOT / "services" / "Dockerfile").read_text(encoding="utf-8")
    uid = re.search(r"--uid (\d+)", dockerfile)
    assert uid, "services/Dockerfile creates no user with a fixed uid"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(uid.group(1)), "not the image's user"
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod.get("automountServiceAccountToken") is False
    # Service links would inject <SERVICE>_PORT-style variables carrying the settings prefixes.
    assert pod.get("enableServiceLinks") is False

    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]

    resources = container["resources"]
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[bound]), f"{name} lacks {bound}"


# --- environment against the settings classes -----------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_environment_is_read_by_the_settings_class(
    objects: list[dict[str, Any]], name: str
) -> None:
    cls = _settings_class(name)
    container = _container(_find(objects, "Deployment", name), name)
    names = _env_names(objects, container)
    assert len(names) == len(set(names)), f"{name}: a variable is set twice"
    unread = sorted(variable for variable in names if not config_table.reads_env(cls, variable))
    assert not unread, (
        f"deploy/kubernetes sets {unread} on {name}, but {cls.__module__}.{cls.__name__} "
        f"does not read them (it reads {sorted(config_table.env_names(cls))})"
    )


@pytest.mark.parametrize("name", SERVICES)
def test_environment_values_validate(
    objects: list[dict[str, Any]], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = _container(_find(objects, "Deployment", name), name)
    settings = _validated_settings(name, _config_env(objects, container), monkeypatch)
    assert settings.http_host == "0.0.0.0", "in a pod the API must bind every interface"
    nats = urlsplit(settings.nats_url)
    assert nats.hostname == f"nats.{NAMESPACE}.svc.cluster.local", "not the NATS chart's Service"
    assert urlsplit(settings.jwks_url).scheme == "https"
    assert settings.jwt_issuer and "127.0.0.1" not in settings.jwt_issuer


@pytest.mark.parametrize("name", SERVICES)
def test_credentials_come_from_secrets(objects: list[dict[str, Any]], name: str) -> None:
    container = _container(_find(objects, "Deployment", name), name)
    in_config = sorted(key for key in _config_env(objects, container) if SENSITIVE.search(key))
    assert not in_config, f"credentials in a ConfigMap or a literal value: {in_config}"
    secrets = _secret_env(container)
    cls = _settings_class(name)
    for variable in config_table.env_names(cls):
        if SENSITIVE.search(variable):
            assert variable in secrets, f"{name} reads {variable}, which no Secret provides"


@pytest.mark.parametrize("name", SERVICES)
def test_mongodb_user_matches_the_service(
    objects: list[dict[str, Any]], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = _container(_find(objects, "Deployment", name), name)
    settings = _validated_settings(name, _config_env(objects, container), monkeypatch)
    user = _mongodb_user(objects, name)

    secret, key = _secret_env(container)[_prefix(name) + "MONGODB_URI"]
    assert secret == user["connectionStringSecretName"], "not the operator's connection string"
    assert key == "connectionString.standard"
    assert user["passwordSecretRef"]["name"]
    roles = {(role["name"], role["db"]) for role in user["roles"]}
    assert roles == {("readWrite", settings.database_name)}, (
        f"the {name} user should be allowed on {settings.database_name} alone"
    )


def test_mongodb_is_a_three_member_replica_set(objects: list[dict[str, Any]]) -> None:
    replica_set = next(obj for obj in objects if obj.get("kind") == "MongoDBCommunity")
    spec = replica_set["spec"]
    assert spec["type"] == "ReplicaSet"
    assert spec["members"] == 3
    assert "SCRAM" in spec["security"]["authentication"]["modes"]
    assert sorted(user["name"] for user in spec["users"]) == sorted(SERVICES)
    secrets = [user["connectionStringSecretName"] for user in spec["users"]]
    assert len(secrets) == len(set(secrets)), "each user needs its own connection-string Secret"


# --- Helm values and docs -------------------------------------------------------------------


def _comment_text(path: Path) -> str:
    """The file's comments as one line each, shell continuations joined, whitespace squeezed."""
    lines = [
        line.strip().removeprefix("#").strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("#")
    ]
    return " ".join(" ".join(lines).replace("\\", " ").split())


def test_nats_values_make_a_jetstream_cluster() -> None:
    path = K8S_DIR / "nats-values.yaml"
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    config = values["config"]
    assert config["cluster"]["enabled"] is True
    assert config["cluster"]["replicas"] == 3
    jetstream = config["jetstream"]
    assert jetstream["enabled"] is True
    assert jetstream["fileStore"]["enabled"] is True
    assert jetstream["fileStore"]["pvc"]["enabled"] is True
    # The services' NATS_URL is the Service of a release named "nats" in this namespace.
    assert f"helm upgrade --install nats nats/nats --namespace {NAMESPACE}" in _comment_text(path)


def test_mongodb_values_run_the_operator() -> None:
    path = K8S_DIR / "mongodb-values.yaml"
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert "mongodbcommunity" in values["operator"]["watchedResources"]
    assert values["operator"]["telemetry"]["enabled"] is False
    assert values["community"]["createResource"] is False, "the replica set is mongodb.yaml"
    command = f"helm upgrade --install mongodb-kubernetes mongodb/mongodb-kubernetes --namespace {NAMESPACE}"
    assert command in _comment_text(path)


def test_scaling_doc_explains_the_reporting_writer_lease() -> None:
    section = SCALING_DOC.read_text(encoding="utf-8").split("### reporting: one writer", 1)[1]
    section = section.split("\n## ", 1)[0]
    assert "active/standby" in section and "REPORTING_WRITER_LEASE_SECONDS" in section


def test_scaling_doc_names_every_secret_to_create(objects: list[dict[str, Any]]) -> None:
    """The Secrets the manifests read but nobody generates must be created as docs/scaling.md says."""
    text = SCALING_DOC.read_text(encoding="utf-8")
    replica_set = next(obj for obj in objects if obj.get("kind") == "MongoDBCommunity")
    generated = {user["connectionStringSecretName"] for user in replica_set["spec"]["users"]}
    to_create = {user["passwordSecretRef"]["name"] for user in replica_set["spec"]["users"]}
    for name in SERVICES:
        container = _container(_find(objects, "Deployment", name), name)
        to_create |= {secret for secret, _ in _secret_env(container).values()} - generated
    for secret in sorted(to_create):
        assert f"secret generic {secret}" in text, f"docs/scaling.md does not create {secret}"
    for name in SERVICES:
        container = _container(_find(objects, "Deployment", name), name)
        for secret, key in _secret_env(container).values():
            if secret not in generated:
                assert f"--from-literal={key}=" in text or f"--from-file={key}=" in text, (
                    f"docs/scaling.md does not show the key {key} of {secret}"
                )


# --- NATS: TLS and a user per service ---------------------------------------------------------


def _nats_values() -> dict[str, Any]:
    return dict(yaml.safe_load((K8S_DIR / "nats-values.yaml").read_text(encoding="utf-8")))


def test_nats_values_serve_tls_and_have_the_tables_users() -> None:
    """The chart's users are the permissions table's, for no namespace; each password comes
    from the Secret <user>-nats through the server's environment, none is in the values."""
    from roundtable_dev.local.nats_auth import password_variable, users_with_permissions
    from roundtable_shared.messaging.permissions import SUPPORT_USER

    values = _nats_values()
    assert values["config"]["nats"]["tls"] == {"enabled": True, "secretName": "nats-tls"}
    assert values["config"]["cluster"]["tls"]["enabled"] is True
    users = values["config"]["merge"]["authorization"]["users"]
    expected = users_with_permissions("", (*SERVICES, SUPPORT_USER))
    assert [{k: v for k, v in user.items() if k != "password"} for user in users] == expected, (
        "nats-values.yaml's users are stale against roundtable_shared.messaging.permissions"
    )
    env = values["container"]["env"]
    for user in users:
        variable = password_variable(user["user"])
        assert user["password"] == f"<< ${variable} >>"
        assert env[variable]["valueFrom"]["secretKeyRef"] == {
            "name": f"{user['user']}-nats",
            "key": "password",
        }


@pytest.mark.parametrize("name", SERVICES)
def test_service_connects_to_nats_over_tls_as_its_own_user(
    objects: list[dict[str, Any]], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = _find(objects, "Deployment", name)
    container = _container(deployment, name)
    settings = _validated_settings(name, _config_env(objects, container), monkeypatch)
    assert urlsplit(settings.nats_url).scheme == "tls"
    assert settings.nats_user == name
    assert _secret_env(container)[_prefix(name) + "NATS_PASSWORD"] == (f"{name}-nats", "password")
    # The CA certificate alone is mounted where NATS_CA_FILE points, never the server's key.
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    ca = next(name for name, path in mounts.items() if settings.nats_ca_file.startswith(path))
    assert volumes[ca]["secret"]["secretName"] == "nats-tls"
    assert volumes[ca]["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
    assert settings.nats_ca_file == mounts[ca] + "/ca.crt"


def test_nats_certificate_names_the_services_address(objects: list[dict[str, Any]]) -> None:
    certificate = _find(objects, "Certificate", "nats-tls")
    assert certificate["spec"]["secretName"] == "nats-tls"
    assert f"nats.{NAMESPACE}.svc.cluster.local" in certificate["spec"]["dnsNames"]
