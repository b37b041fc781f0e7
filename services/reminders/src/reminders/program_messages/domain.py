"""A program's own wording of a message: checking and rendering it in a sandbox (pure: no I/O).

The wording is a Jinja2 template written by a program admin, so it is treated as untrusted code:

- it is checked before it is stored (and again before every preview) against an allow-list of
  template constructs: text, ``{{ variable }}`` of the kind's documented list, a few text filters,
  ``{% if %}``/``{% else %}`` and comparisons. No attribute or item access, no calls, no loops, no
  arithmetic, no includes, imports, macros or blocks: ``{{ ''.__class__.__mro__ }}`` or
  ``{{ cycler.__init__.__globals__ }}`` are refused with the reason, not evaluated;
- it is rendered by ``ImmutableSandboxedEnvironment`` with no globals, ``StrictUndefined`` and an
  attribute policy that allows nothing, so even a template that slipped past the check could not
  reach Python objects;
- its source and what it renders are bounded in size;
- it renders plain text: the email's HTML part (autoescape on), its text part and the chat
  payloads escape it as they escape every other message (``reminders.delivery.messages``), so a
  ``<script>`` in the wording reads as those characters.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from reminders.program_messages.variables import names_of
from reminders.schedule.domain import Kind

SUBJECT_MAX = 200
BODY_MAX = 5_000
RENDERED_SUBJECT_MAX = 300
"""Email subjects longer than this are cut: a subject is a line, not a letter."""
RENDERED_BODY_MAX = 20_000

ALLOWED_FILTERS = frozenset({"upper", "lower", "capitalize", "title", "trim", "default"})

_ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.Filter,
    nodes.If,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Concat,
)


@dataclass(frozen=True)
class Wording:
    """A message's subject and body as the program admin wrote them (templates)."""

    subject: str
    body: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    paragraphs: list[str]


@dataclass(frozen=True)
class WordingError:
    field: str
    message: str


class WordingRefused(ValueError):
    """The wording cannot be used; ``errors`` say where and why (for a 422 problem)."""

    def __init__(self, errors: list[WordingError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class _NothingEnvironment(ImmutableSandboxedEnvironment):
    """A sandbox in which no attribute of anything is safe: the variables are plain text and
    numbers, and a template has no business with their methods or internals."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return False

    def is_safe_callable(self, obj: Any) -> bool:
        return False


def _environment() -> _NothingEnvironment:
    env = _NothingEnvironment(
        undefined=StrictUndefined,
        autoescape=False,  # plain text: every rendering escapes it (see the module's docstring)
        keep_trailing_newline=False,
    )
    env.globals.clear()  # no range, dict, lipsum, cycler, joiner, namespace
    env.filters = {name: env.filters[name] for name in ALLOWED_FILTERS}
    env.tests = {}
    return env


_ENV = _environment()


def check(kind: Kind, wording: Wording) -> None:
    """Raise ``WordingRefused`` unless both templates use only what the sandbox allows and only
    the kind's variables."""
    errors = [
        *_problems("subject", wording.subject, SUBJECT_MAX, kind),
        *_problems("body", wording.body, BODY_MAX, kind),
    ]
    if errors:
        raise WordingRefused(errors)


def render(kind: Kind, wording: Wording, values: Mapping[str, str | int]) -> Rendered:
    """The wording with these values: a one-line subject and the body's paragraphs (split at
    blank lines). ``WordingRefused`` when it is not usable or renders too long."""
    check(kind, wording)
    allowed = {name: value for name, value in values.items() if name in names_of(kind)}
    subject = " ".join(_render("subject", wording.subject, allowed).split())
    body = _render("body", wording.body, allowed)
    if len(body) > RENDERED_BODY_MAX:
        raise WordingRefused(
            [WordingError("body", f"renders longer than {RENDERED_BODY_MAX} characters")]
        )
    paragraphs = [" ".join(p.split()) for p in body.replace("\r\n", "\n").split("\n\n")]
    return Rendered(subject[:RENDERED_SUBJECT_MAX], [p for p in paragraphs if p])


def _render(field: str, source: str, values: Mapping[str, str | int]) -> str:
    try:
        return _compiled(source).render(values)
    except (SecurityError, UndefinedError, TemplateError) as exc:
        # Defence in depth: ``check`` refuses all of these before a template gets here.
        raise WordingRefused([WordingError(field, f"cannot be rendered: {exc}")]) from exc


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    return _ENV.from_string(source)


@functools.lru_cache(maxsize=1024)
def _problems(field: str, source: str, limit: int, kind: Kind) -> tuple[WordingError, ...]:
    """Cached: delivery checks a program's wording at every message, and parsing and walking a
    template costs more than rendering it."""
    if len(source) > limit:
        return (WordingError(field, f"is longer than {limit} characters"),)
    if not source.strip():
        return (WordingError(field, "is empty"),)
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return (WordingError(field, f"template syntax error on line {exc.lineno}: {exc.message}"),)
    errors = [WordingError(field, reason) for reason in _construct_problems(tree)]
    allowed = names_of(kind)
    unknown = sorted({n.name for n in tree.find_all(nodes.Name)} - allowed)
    if unknown:
        listed = ", ".join(sorted(allowed))
        errors.append(
            WordingError(
                field,
                f"unknown variable {', '.join(unknown)} (a {kind} message may use: {listed})",
            )
        )
    if not errors:
        try:
            _compiled(source)
        except TemplateError as exc:  # e.g. a filter given the wrong arguments
            errors.append(WordingError(field, f"template error: {exc}"))
    return tuple(errors)


def _construct_problems(tree: nodes.Template) -> list[str]:
    problems: list[str] = []
    for node in _walk(tree):
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            problems.append(
                f"filter {node.name!r} is not allowed (allowed: {', '.join(sorted(ALLOWED_FILTERS))})"
            )
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            problems.append("attribute and item access (. or [ ]) is not allowed")
        elif isinstance(node, nodes.Call):
            problems.append("calling functions or methods is not allowed")
        elif isinstance(node, nodes.Name) and node.ctx != "load":
            problems.append("assigning variables is not allowed")
        elif not isinstance(node, _ALLOWED_NODES):
            problems.append(f"{_construct(node)} is not allowed")
    return list(dict.fromkeys(problems))


def _walk(node: nodes.Node) -> list[nodes.Node]:
    found = [node]
    for child in node.iter_child_nodes():
        found.extend(_walk(child))
    return found


_NAMES = {
    nodes.For: "a {% for %} loop",
    nodes.Macro: "a macro",
    nodes.CallBlock: "a {% call %} block",
    nodes.FilterBlock: "a {% filter %} block",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Extends: "{% extends %}",
    nodes.Block: "a {% block %}",
    nodes.Assign: "{% set %}",
    nodes.AssignBlock: "{% set %}",
    nodes.With: "{% with %}",
    nodes.BinExpr: "arithmetic",
    nodes.UnaryExpr: "arithmetic",
    nodes.Test: "an 'is' test",
}


def _construct(node: nodes.Node) -> str:
    for kind, name in _NAMES.items():
        if isinstance(node, kind):
            return name
    return f"the construct {type(node).__name__}"
