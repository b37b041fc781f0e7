"""NATS users of the local stack and the tests: made once, kept in the data directory.

Every service has its own user and password (``permissions.ACCESS`` says what it may do), plus
``roundtable-admin`` (our own tools: the tests' publisher and inspection, benchmarks) and
``support`` (read-only, for a support engineer's ``nats`` CLI). The passwords are random
(256 bits) and kept in ``nats-credentials.json`` (mode 0600) beside the data; the server's
configuration holds only their bcrypt hashes, so it opens nobody's connection. No user means no
connection: there is no anonymous user.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import bcrypt

from roundtable_shared.messaging.permissions import (
    ADMIN_USER,
    SERVICES,
    SUPPORT_USER,
    grants,
    support_grants,
)

CREDENTIALS_FILE = "nats-credentials.json"
BCRYPT_COST = 6
"""The hash guards a 256-bit random password, which no cost factor makes stronger; a factor of 6
keeps the server's check of each new connection near 10 ms on a 2-core machine (10 costs 250)."""


@dataclass(frozen=True)
class NatsCredentials:
    """User name to password, for every user of one server."""

    passwords: dict[str, str]

    @classmethod
    def load_or_create(cls, data_dir: Path) -> NatsCredentials:
        path = data_dir / CREDENTIALS_FILE
        known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        wanted = [*SERVICES, ADMIN_USER, SUPPORT_USER]
        if all(user in known for user in wanted):
            return cls(known)
        passwords = {user: known.get(user) or secrets.token_urlsafe(32) for user in wanted}
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(json.dumps(passwords, indent=2))
        return cls(passwords)

    def password(self, user: str) -> str:
        return self.passwords[user]

    def url_for(self, url: str, user: str) -> str:
        """``url`` with ``user``'s name and password in it (for tools that take one URL)."""
        parts = urlsplit(url)
        netloc = f"{quote(user, safe='')}:{quote(self.password(user), safe='')}@{parts.hostname}"
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def server_config(self, namespace: str | None = "") -> dict[str, Any]:
        """The ``authorization`` block of nats-server's configuration (JSON is valid there).

        ``namespace=None``: a server shared by tests of any namespace (see ``permissions``)."""
        users: list[dict[str, Any]] = []
        for service in SERVICES:
            entry = self._user(service)
            entry["permissions"] = grants(service, namespace).as_config()
            users.append(entry)
        users.append(self._user(ADMIN_USER))  # no permissions block: may do everything
        support = self._user(SUPPORT_USER)
        support["permissions"] = support_grants().as_config()
        users.append(support)
        return {"authorization": {"users": users}}

    def write_server_config(self, path: Path, namespace: str | None = "") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(self.server_config(namespace), indent=2))
        return path

    def _user(self, user: str) -> dict[str, Any]:
        hashed = bcrypt.hashpw(self.password(user).encode(), bcrypt.gensalt(BCRYPT_COST))
        return {"user": user, "password": hashed.decode()}


def password_variable(user: str) -> str:
    """The environment variable a deployed server reads ``user``'s password from."""
    return re.sub(r"[^A-Z0-9]", "_", user.upper()) + "_NATS_PASSWORD"


def users_with_permissions(
    namespace: str | None, users: tuple[str, ...] = (*SERVICES, ADMIN_USER, SUPPORT_USER)
) -> list[dict[str, Any]]:
    """Each user with its permissions (the admin user has none: it may do everything); no
    passwords."""
    entries: list[dict[str, Any]] = []
    for user in users:
        entry: dict[str, Any] = {"user": user}
        if user in SERVICES:
            entry["permissions"] = grants(user, namespace).as_config()
        elif user == SUPPORT_USER:
            entry["permissions"] = support_grants().as_config()
        entries.append(entry)
    return entries


def deployed_server_config(
    namespace: str = "", users: tuple[str, ...] = (*SERVICES, ADMIN_USER, SUPPORT_USER)
) -> str:
    """nats-server configuration of a deployed server (compose): each password read from the
    server's environment (``$ENROLLMENT_NATS_PASSWORD``...), nothing secret in the file."""
    entries = [
        {**entry, "password": f"@@{password_variable(entry['user'])}@@"}
        for entry in users_with_permissions(namespace, users)
    ]
    text = json.dumps({"authorization": {"users": entries}}, indent=2)
    # A variable reference is a bare word in NATS's configuration syntax, not a string.
    body = re.sub(r'"@@(\w+)@@"', r"$\1", text)
    return (
        "# Generated by `roundtable nats-config` from roundtable_shared.messaging.permissions;\n"
        "# tests/test_deployment_files.py checks it is current. Passwords come from the\n"
        "# environment (compose reads them from .env: `uv run roundtable nats-env > .env`).\n"
        + body
        + "\n"
    )
