"""Generate the Markdown configuration reference from the services' settings classes.

    uv run python scripts/config_table.py > docs/configuration.md      # regenerate
    uv run python scripts/config_table.py --check docs/configuration.md  # exit 1 when stale

Each service's class is found in the module ``<service>.settings`` (the one ``ServiceSettings``
subclass defined there); a service is every ``services/<name>/src/<name>/settings.py``. The table is
built from the class metadata alone (``model_fields`` and ``model_config``), never from an instance,
so the environment of the run that generates it cannot leak into the document.
"""

from __future__ import annotations

import argparse
import difflib
import enum
import importlib
import json
import sys
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, SecretBytes, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from roundtable_shared.settings import ServiceSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = REPO_ROOT / "services"
REGENERATE = "uv run python scripts/config_table.py > docs/configuration.md"


def service_names(services_dir: Path = SERVICES_DIR) -> list[str]:
    """Every service of the workspace: ``services/<name>/src/<name>/settings.py`` exists."""
    return sorted(
        path.name
        for path in services_dir.iterdir()
        if (path / "src" / path.name / "settings.py").is_file()
    )


def settings_class(service: str) -> type[ServiceSettings]:
    """The one ``ServiceSettings`` subclass defined in ``<service>.settings``."""
    module_name = f"{service}.settings"
    module = importlib.import_module(module_name)
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value.__module__ == module_name
    ]
    if len(found) != 1:
        names = ", ".join(cls.__name__ for cls in found) or "none"
        raise LookupError(f"{module_name} must define one ServiceSettings subclass, found {names}")
    return found[0]


def env_prefix(cls: type[BaseSettings]) -> str:
    return str(cls.model_config.get("env_prefix", ""))


def field_env_names(cls: type[BaseSettings], name: str, field: FieldInfo) -> list[str]:
    """The environment variables that set one field, as pydantic-settings looks them up.

    An alias replaces the prefixed name; without ``case_sensitive`` lookup ignores case, so the
    names are given upper-cased, the way they are written in shells and compose files.
    """
    alias = field.validation_alias if field.validation_alias is not None else field.alias
    if isinstance(alias, str):
        names = [alias]
    elif isinstance(alias, AliasChoices):
        names = [choice for choice in alias.choices if isinstance(choice, str)]
    else:
        names = [env_prefix(cls) + name]
    if cls.model_config.get("case_sensitive", False):
        return names
    return [env_name.upper() for env_name in names]


def env_names(cls: type[BaseSettings]) -> dict[str, str]:
    """Environment variable name -> the field it sets, for every field of ``cls``."""
    return {
        env_name: name
        for name, field in cls.model_fields.items()
        for env_name in field_env_names(cls, name, field)
    }


def reads_env(cls: type[BaseSettings], variable: str) -> bool:
    """Whether ``cls`` reads ``variable``: a field's name, or a nested key of a structured field."""
    case_sensitive = bool(cls.model_config.get("case_sensitive", False))
    key = variable if case_sensitive else variable.upper()
    known = env_names(cls)
    if key in known:
        return True
    delimiter = cls.model_config.get("env_nested_delimiter")
    if not delimiter or delimiter not in key:
        return False
    head = key.split(delimiter, 1)[0]
    return head in known and _is_structured(cls.model_fields[known[head]].annotation)


def _is_structured(annotation: Any) -> bool:
    """Whether a field accepts nested ``FIELD__KEY`` variables: a model or a mapping."""
    candidates = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    for candidate in candidates:
        origin = typing.get_origin(candidate) or candidate
        if isinstance(origin, type) and (issubclass(origin, BaseModel | dict)):
            return True
    return False


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def type_name(annotation: Any) -> str:
    """A short, readable name of a field's type: ``int``, ``list[str]``, ``str | None``."""
    if annotation is None or annotation is type(None):
        return "None"
    if _is_union(annotation):
        return " | ".join(type_name(arg) for arg in typing.get_args(annotation))
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " | ".join(json.dumps(arg) for arg in typing.get_args(annotation))
    if origin is typing.Annotated:
        return type_name(typing.get_args(annotation)[0])
    if origin is not None:
        args = ", ".join(type_name(arg) for arg in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _is_secret(annotation: Any) -> bool:
    if _is_union(annotation) or typing.get_origin(annotation) is not None:
        return any(_is_secret(arg) for arg in typing.get_args(annotation))
    return isinstance(annotation, type) and issubclass(annotation, SecretStr | SecretBytes)


def default_text(field: FieldInfo) -> str:
    """The default as it would be written in the environment; lists and models as JSON."""
    if field.default is PydanticUndefined and field.default_factory is None:
        return "*required*"
    value = field.get_default(call_default_factory=True, validated_data={})
    if _is_secret(field.annotation) and value:
        return "*(secret)*"
    return _code(_env_form(value))


def _env_form(value: Any) -> str:
    if isinstance(value, SecretStr | SecretBytes):
        value = value.get_secret_value()
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, default=str)


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    padding = " " if fence == "``" else ""
    return f"{fence}{padding}{_cell(text)}{padding}{fence}"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _prose(text: str) -> str:
    """A description cell: also ``<`` and ``>`` escaped, so ``<service>`` is not taken for HTML."""
    return _cell(text).replace("<", "&lt;").replace(">", "&gt;")


def service_section(service: str, cls: type[ServiceSettings]) -> list[str]:
    lines = [
        f"## {service}",
        "",
        f"`python -m {service}`, settings class `{cls.__module__}.{cls.__qualname__}`, "
        f"prefix `{env_prefix(cls)}`.",
        "",
        "| Variable | Type | Default | Description |",
        "|---|---|---|---|",
    ]
    for name, field in cls.model_fields.items():
        variables = "<br>".join(f"`{env}`" for env in field_env_names(cls, name, field))
        lines.append(
            f"| {variables} | {_code(type_name(field.annotation))} | {default_text(field)} "
            f"| {_prose(field.description or '')} |"
        )
    return [*lines, ""]


def render(services: Sequence[str] | None = None) -> str:
    """The whole ``docs/configuration.md``."""
    names = list(services) if services is not None else service_names()
    lines = [
        "# Configuration",
        "",
        "<!-- Generated by scripts/config_table.py from the settings classes; do not edit.",
        f"     Regenerate: {REGENERATE} -->",
        "",
        "Each service reads its settings from environment variables carrying its own prefix, so",
        "one machine can run all four with different values. Names are case-insensitive. Lists",
        "and other structured values are written as JSON, e.g.",
        "`ENROLLMENT_CORS_ORIGINS='[\"https://peers.example.com\"]'`; a field of a nested",
        "model can also be set alone as `<PREFIX><FIELD>__<KEY>`.",
        "",
    ]
    for service in names:
        lines.extend(service_section(service, settings_class(service)))
    return "\n".join(lines).rstrip("\n") + "\n"


def check(path: Path, expected: str | None = None) -> list[str]:
    """The unified diff from ``path`` to the generated text; empty when it is up to date."""
    expected = render() if expected is None else expected
    actual = path.read_text(encoding="utf-8") if path.is_file() else ""
    if actual == expected:
        return []
    return list(
        difflib.unified_diff(
            actual.splitlines(keepends=True),
            expected.splitlines(keepends=True),
            fromfile=str(path),
            tofile="generated",
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check",
        type=Path,
        metavar="FILE",
        help="compare FILE with the generated table instead of printing it; exit 1 when stale",
    )
    options = parser.parse_args(argv)
    if options.check is None:
        sys.stdout.write(render())
        return 0
    diff = check(options.check)
    if not diff:
        return 0
    sys.stderr.write(f"{options.check} is out of date with the settings classes:\n")
    sys.stderr.writelines(diff)
    sys.stderr.write(f"\nRegenerate it: {REGENERATE}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
