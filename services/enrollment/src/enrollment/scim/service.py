"""SCIM handlers: IdP connections (tokens) and Users, on the directory's own service.

Every write goes through ``DirectoryService.change``, the path HR webhooks take: one employee
aggregate, the same field-level ordering, the same events and the same offboarding cascade.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scim2_models import (
    Context,
    InvalidValueException,
    NotFoundException,
    PatchOp,
    PreconditionFailedException,
    UniquenessException,
)

from enrollment.clock import utcnow
from enrollment.directory.domain import Change, Employee
from enrollment.directory.service import DirectoryService
from enrollment.scim import domain
from enrollment.scim.models import POLICY, EnterpriseUser, ScimUser
from enrollment.scim.repository import ConnectionRepository, ScimUsers, UserNameClaims
from roundtable_shared.events.catalogue.enrollment import EmploymentStatus
from roundtable_shared.http.problems import Conflict, NotFound, Unauthorized
from roundtable_shared.storage.mongo import Document

TOKEN_PREFIX = "rtscim"

Decision = Callable[[Employee, int], tuple[dict[str, Any], bool | None]]
"""From the User as stored (and its version): the fields to set and the ``active`` to apply."""


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


@dataclass(frozen=True)
class IssuedToken:
    connection: Document
    token: str


@dataclass
class _Counts:
    requests: int = 0
    errors: int = 0
    last_request_at: datetime | None = None
    last_sync_at: datetime | None = None
    last_error_at: datetime | None = None


@dataclass(frozen=True)
class _Verified:
    connection_id: str
    retires_at: datetime | None
    until: float


class ConnectionService:
    VERIFIED_SECONDS = 5.0
    """How long a verified token is taken on trust by this process. A revocation or rotation made
    here is seen at once; one made by another replica within this time."""

    def __init__(self, connections: ConnectionRepository) -> None:
        self.connections = connections
        self._verified: dict[str, _Verified] = {}
        self._counts: dict[str, _Counts] = {}

    def now(self) -> datetime:
        """The time that decides which tokens are retired (the views use it too)."""
        return utcnow()

    async def create(self, name: str, created_by: str) -> IssuedToken:
        connection_id = uuid.uuid4().hex[:16]
        secret = secrets.token_urlsafe(32)
        now = self.now()
        document: Document = {
            "_id": connection_id,
            "name": name,
            "created_at": now,
            "created_by": created_by,
            "revoked_at": None,
            "tokens": [_token_entry(secret, now)],
            "requests": 0,
            "errors": 0,
            "last_sync_at": None,
            "last_request_at": None,
            "last_error_at": None,
        }
        await self.connections.insert(document)
        return IssuedToken(document, f"{TOKEN_PREFIX}.{connection_id}.{secret}")

    async def ensure(self, token: str, name: str) -> None:
        """The connection a configured token belongs to exists, with that token (``make run``)."""
        parts = split_token(token)
        if parts is None:
            raise ValueError("a SCIM token looks like rtscim.<connection id>.<secret>")
        connection_id, secret = parts
        now = self.now()
        entry = _token_entry(secret, now)
        created = await self.connections.insert(
            {
                "_id": connection_id,
                "name": name,
                "created_at": now,
                "created_by": "configuration",
                "revoked_at": None,
                "tokens": [entry],
                "requests": 0,
                "errors": 0,
                "last_sync_at": None,
                "last_request_at": None,
                "last_error_at": None,
            }
        )
        if not created:
            # A new configured token for a connection that exists: it joins the others (a
            # revoked connection stays revoked: that was an admin's decision).
            await self.connections.add_token(connection_id, entry)

    async def list(self) -> list[Document]:
        await self.flush()
        return await self.connections.all()

    async def get(self, connection_id: str) -> Document:
        await self.flush()
        found = await self.connections.get(connection_id)
        if found is None:
            raise NotFound(f"no SCIM connection {connection_id}")
        return found

    async def rotate(self, connection_id: str, overlap: timedelta) -> IssuedToken:
        """A new token; the ones before it keep working for ``overlap`` (so the IdP's admin can
        paste the new one without a gap), then stop."""
        connection = await self.get(connection_id)
        if connection.get("revoked_at"):
            raise Conflict("the connection is revoked; create a new one")
        now = self.now()
        retire = now + overlap
        secret = secrets.token_urlsafe(32)
        tokens = [
            {**entry, "retires_at": min(entry.get("retires_at") or retire, retire)}
            for entry in connection["tokens"]
            if not _retired(entry, now)
        ]
        tokens.append(_token_entry(secret, now))
        updated = await self.connections.update(connection_id, {"$set": {"tokens": tokens}})
        self._forget(connection_id)
        if updated is None:
            raise NotFound(f"no SCIM connection {connection_id}")
        return IssuedToken(updated, f"{TOKEN_PREFIX}.{connection_id}.{secret}")

    async def revoke(self, connection_id: str) -> Document:
        await self.get(connection_id)
        now = self.now()
        updated = await self.connections.update(
            connection_id, {"$set": {"revoked_at": now, "tokens": []}}
        )
        self._forget(connection_id)
        if updated is None:
            raise NotFound(f"no SCIM connection {connection_id}")
        return updated

    async def authenticate(self, token: str) -> str:
        """The connection id a bearer token belongs to; ``Unauthorized`` otherwise."""
        parts = split_token(token)
        if parts is None:
            raise Unauthorized("not a SCIM connection token")
        connection_id, secret = parts
        digest = token_digest(secret)
        now = self.now()
        # An IdP's sync is thousands of requests with one token: one read per token and period.
        known = self._verified.get(digest)
        if (
            known is not None
            and known.until > time.monotonic()
            and not _retired({"retires_at": known.retires_at}, now)
        ):
            return known.connection_id
        connection = await self.connections.get(connection_id)
        if connection is not None and not connection.get("revoked_at"):
            for entry in connection.get("tokens", []):
                if not _retired(entry, now) and hmac.compare_digest(entry["sha256"], digest):
                    until = time.monotonic() + self.VERIFIED_SECONDS
                    self._verified[digest] = _Verified(
                        connection_id, entry.get("retires_at"), until
                    )
                    return connection_id
        self._verified.pop(digest, None)
        raise Unauthorized("the SCIM token is unknown, retired or revoked")

    def _forget(self, connection_id: str) -> None:
        for digest, known in list(self._verified.items()):
            if known.connection_id == connection_id:
                del self._verified[digest]

    async def record(self, connection_id: str, *, ok: bool, wrote: bool) -> None:
        """Counted in memory, written by ``flush`` (one write per connection and second, not
        one per request): a crash loses at most the last second's counts, which are statistics."""
        now = self.now()
        counts = self._counts.setdefault(connection_id, _Counts())
        counts.requests += 1
        counts.last_request_at = now
        if not ok:
            counts.errors += 1
            counts.last_error_at = now
        elif wrote:
            counts.last_sync_at = now

    async def flush(self) -> None:
        pending, self._counts = self._counts, {}
        for connection_id, counts in pending.items():
            stamps = {
                name: value
                for name, value in (
                    ("last_request_at", counts.last_request_at),
                    ("last_sync_at", counts.last_sync_at),
                    ("last_error_at", counts.last_error_at),
                )
                if value is not None
            }
            await self.connections.add_counts(connection_id, counts.requests, counts.errors, stamps)

    async def flush_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self.flush()


def _token_entry(secret: str, now: datetime) -> dict[str, Any]:
    return {"sha256": token_digest(secret), "created_at": now, "retires_at": None}


def _retired(entry: dict[str, Any], now: datetime) -> bool:
    retires_at = entry.get("retires_at")
    if retires_at is None:
        return False
    if retires_at.tzinfo is None:  # BSON dates come back naive (UTC)
        retires_at = retires_at.replace(tzinfo=now.tzinfo)
    return bool(retires_at <= now)


@dataclass(frozen=True)
class ListedUsers:
    total: int
    start_index: int
    users: list[tuple[Employee, int]]


class ScimUserService:
    def __init__(
        self, directory: DirectoryService, users: ScimUsers, user_names: UserNameClaims
    ) -> None:
        self.directory = directory
        self.users = users
        self.user_names = user_names

    async def get(self, employee_id: str) -> tuple[Employee, int]:
        loaded = await self.directory.employees.load(employee_id)
        if loaded is None or not domain.is_linked(loaded[0]):
            raise NotFoundException(detail=f"no User {employee_id}")
        return loaded[0], loaded[1]

    async def list(self, filter_text: str | None, start_index: int, count: int) -> ListedUsers:
        query = domain.to_query(filter_text) if filter_text else dict(domain.LINKED)
        start = max(1, start_index)
        found = await self.users.find(query, start - 1, count)
        if start == 1 and len(found) < count:
            total = len(found)  # the whole answer is here: no count to run
        else:
            total = await self.users.count(query)
        return ListedUsers(total, start, found)

    async def create(self, user: ScimUser, connection_id: str) -> tuple[Employee, int]:
        """A new User: the employee HR already has under its employeeNumber (or, failing that,
        under its email, if only one has it and no IdP linked them yet), else a new employee."""
        profile = domain.profile_of(user)
        user_name = profile["user_name"]
        if not user_name:
            raise InvalidValueException(detail="userName is required")
        employee_id, matched = await self._employee_for(user, profile)
        if not await self.user_names.claim(user_name, employee_id, utcnow()):
            raise UniquenessException(detail="a User with this userName exists")
        change_id = _change_id(connection_id, 0)

        def decide(current: Employee | None) -> Change:
            if current is not None and (current.erased or domain.is_linked(current)):
                # The employee behind this employeeNumber is another User, or was erased.
                raise UniquenessException(detail="this employeeNumber belongs to another User")
            status = domain.status_on_create(
                current.employment_status if current else None, user.active
            )
            return _change(change_id, domain.stated_fields(profile), status)

        try:
            # Most creates are of people HR has not sent yet (an IdP's first sync): insert first.
            _, employee, version = await self.directory.change(
                employee_id, decide, likely_new=not matched
            )
        except UniquenessException:
            await self.user_names.release(user_name, employee_id)
            raise
        return employee, version

    async def _employee_for(self, user: ScimUser, profile: dict[str, Any]) -> tuple[str, bool]:
        """The employee id, and whether it was found by email (so is known to exist)."""
        enterprise = user[EnterpriseUser]
        number = enterprise.employee_number if enterprise else None
        if number:
            if len(number) > 128:
                raise InvalidValueException(detail="employeeNumber: longer than 128 characters")
            return str(number), False  # whether HR knows them yet or not: checked as written
        if profile["email"]:
            matches = await self.users.unlinked_by_email(profile["email"])
            if len(matches) == 1:
                return matches[0], True
        return f"scim-{uuid.uuid4().hex}", False

    async def replace(
        self, employee_id: str, user: ScimUser, connection_id: str, if_match: int | None
    ) -> tuple[Employee, int]:
        profile = domain.profile_of(user)
        if not profile["user_name"]:
            raise InvalidValueException(detail="userName is required")
        return await self._update(
            employee_id,
            connection_id,
            if_match,
            lambda _current, _version: (domain.stated_fields(profile), user.active),
        )

    async def patch(
        self, employee_id: str, patch: PatchOp[ScimUser], connection_id: str, if_match: int | None
    ) -> tuple[Employee, int]:
        def decide(current: Employee, version: int) -> tuple[dict[str, Any], bool | None]:
            user = domain.to_user(current, version, "")
            before = domain.profile_of(user)
            was_active = user.active
            with POLICY:
                patch.patch(user)
            after = domain.profile_of(user)
            if not after["user_name"]:
                raise InvalidValueException(detail="userName cannot be removed")
            active = user.active if user.active != was_active else None
            return domain.changed_fields(before, after), active

        return await self._update(employee_id, connection_id, if_match, decide)

    async def delete(self, employee_id: str, connection_id: str, if_match: int | None) -> None:
        """Deprovisioning: the employee is offboarded (the cascade of an HR termination) and the
        User is gone (404 from now on, its userName free again); HR's record stays."""
        await self._update(
            employee_id,
            connection_id,
            if_match,
            lambda _current, _version: ({"user_name": None, "external_id": None}, False),
        )

    async def _update(
        self, employee_id: str, connection_id: str, if_match: int | None, decide: Decision
    ) -> tuple[Employee, int]:
        current, version = await self.get(employee_id)
        if if_match is not None and if_match != version:
            raise PreconditionFailedException(detail="the User changed since that version")
        fields, active = decide(current, version)
        old_name = str(current.profile.get("user_name") or "")
        new_name = fields.get("user_name")
        renamed = bool(new_name) and str(new_name).lower() != old_name.lower()
        if renamed and not await self.user_names.claim(str(new_name), employee_id, utcnow()):
            raise UniquenessException(detail="a User with this userName exists")
        change_id = _change_id(connection_id, version)
        _, employee, new_version = await self.directory.change(
            employee_id,
            lambda stored: _change(
                change_id,
                fields,
                domain.status_for(stored.employment_status if stored else None, active),
            ),
        )
        if old_name and (renamed or ("user_name" in fields and not new_name)):
            await self.user_names.release(old_name, employee_id)  # renamed or deprovisioned
        return employee, new_version


def _change_id(connection_id: str, version: int) -> str:
    """Sorts after the ids of the IdP's earlier changes of this employee, so that of two changes
    stamped with the same time the later one wins (the stamp's tie-break is the change id)."""
    return f"scim:{version:012d}:{connection_id}:{uuid.uuid4().hex[:8]}"


def _change(change_id: str, fields: dict[str, Any], status: EmploymentStatus | None) -> Change:
    """An IdP change is effective when it arrives; the domain's field ordering weighs it against
    HR's changes like any other."""
    return Change(change_id, utcnow(), dict(fields), status)


def parse_user(payload: Any, context: Context) -> ScimUser:
    with POLICY:
        return ScimUser.model_validate(payload, scim_ctx=context)


def parse_patch(payload: Any) -> PatchOp[ScimUser]:
    with POLICY:
        return PatchOp[ScimUser].model_validate(payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
