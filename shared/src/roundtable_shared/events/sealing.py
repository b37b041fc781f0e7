"""Crypto-shredding: personal fields of events sealed with a per-person key that erasure destroys.

Streams keep events for ever (read models are rebuilt by replaying them), so erasure cannot delete
a person's events; it makes their personal fields unreadable instead. A field of an event contract
typed ``Sealed[T]`` is personal: on its way to JetStream its value is encrypted (AES-256-GCM, a fresh
96-bit nonce, the event id and the field's path as associated data, so a sealed value cannot be
moved to another event or field) under the data key of the person it belongs to. The person is
named by the model's ``sealed_for`` field (``employee_id`` unless the model says otherwise, e.g.
an action step's ``owner_id``); a sealed field whose owner is absent is nobody's words and travels
in the clear.

Key custody (see docs/erasure.md): each producing service keeps its data keys in its own JetStream
key-value bucket (``roundtable-keys-<service>``): it alone writes it, every service reads it to open
the events of that producer. Erasing a person writes a tombstone over their key (the bucket keeps
one revision, so the key leaves it), so every event sealed with it, in the producer's stream and
in the dead-letter stream alike, no longer yields the person's data. Consumers see such a field as
``None``; opening never fails an event for a missing key.

On the wire a sealed value is ``{"alg": "A256GCM", "ct": "<base64url(nonce || ciphertext)>"}``.
A plain value in a sealed field (an event published before sealing existed) is passed through.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import os
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, Optional, TypeVar, Union

from cachetools import TTLCache
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import (
    BucketNotFoundError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NotFoundError,
)
from nats.js.kv import KeyValue
from pydantic import BaseModel, WithJsonSchema

from roundtable_shared.events.envelope import Envelope, InvalidEvent, service_of
from roundtable_shared.events.registry import model_for
from roundtable_shared.messaging import permissions
from roundtable_shared.messaging.streams import durable_name

T = TypeVar("T")

ALGORITHM = "A256GCM"
NONCE_BYTES = 12
KEY_BYTES = 32
TOMBSTONE = b"erased"
"""What a person's key becomes when they are erased: a value no key has (keys are 32 bytes)."""
KEY_CACHE_SECONDS = 30.0
"""How long a process keeps a data key it read; the longest an erased person's data can still be
opened by a process that read their key just before (a tombstone it read is kept for good)."""


class _SealedMarker:
    """Marks a field of an event contract as personal: sealed on the wire."""

    def __repr__(self) -> str:
        return "SEALED"


SEALED = _SealedMarker()


class SealedFor:
    """Names the field holding whose words one sealed field is, where that differs from the
    model's ``sealed_for``: ``Annotated[Sealed[str], SealedFor("title_by")]``."""

    def __init__(self, owner_field: str) -> None:
        self.owner_field = owner_field

    def __repr__(self) -> str:
        return f"SealedFor({self.owner_field!r})"


SEALED_JSON_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "title": "SealedValue",
            "properties": {
                "alg": {"const": ALGORITHM},
                "ct": {
                    "type": "string",
                    "description": "base64url of the 12-byte nonce followed by the ciphertext "
                    "and its tag; associated data: '<event id>/<field path>'",
                },
            },
            "required": ["alg", "ct"],
        },
        {"type": "null"},
    ],
    "x-personal": True,
    "description": "Personal data, sealed with the data key of the person the event's "
    "`sealed_for` field names; null when there was none or the person is erased.",
}

Sealed = Annotated[Optional[T], SEALED, WithJsonSchema(SEALED_JSON_SCHEMA)]  # noqa: UP045
"""A personal field: ``T`` in Python (``None`` once its owner is erased), sealed on the wire."""


# --- which fields are sealed, and whose ----------------------------------------------------------


@functools.cache
def _layout(
    model: type[BaseModel],
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, type[BaseModel], bool], ...]]:
    """The model's sealed fields (name, the field naming their owner), and its fields holding
    nested models (name, model, is a list)."""
    sealed: list[tuple[str, str]] = []
    nested: list[tuple[str, type[BaseModel], bool]] = []
    for name, info in model.model_fields.items():
        if any(meta is SEALED for meta in info.metadata):
            owners = [meta.owner_field for meta in info.metadata if isinstance(meta, SealedFor)]
            sealed.append((name, owners[-1] if owners else _owner_field(model)))
            continue
        found = _nested_model(info.annotation)
        if found is not None:
            nested.append((name, *found))
    return tuple(sealed), tuple(nested)


def _nested_model(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _nested_model(arg)
            if found is not None:
                return found
        return None
    if origin is list:
        inner = _nested_model(typing.get_args(annotation)[0])
        return (inner[0], True) if inner is not None else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return (annotation, False) if _has_sealed(annotation) else None
    return None


def _has_sealed(model: type[BaseModel]) -> bool:
    sealed, nested = _layout(model)
    return bool(sealed or nested)


def sealed_paths(model: type[BaseModel]) -> list[str]:
    """The personal fields of a contract, as paths (``members.*.display_name``): the catalogue's
    list of what erasure shreds."""
    sealed, nested = _layout(model)
    paths = [name for name, _ in sealed]
    for name, inner, many in nested:
        paths += [f"{name}{'.*' if many else ''}.{p}" for p in sealed_paths(inner)]
    return paths


def _owner_field(model: type[BaseModel]) -> str:
    return str(getattr(model, "sealed_for", "employee_id"))


FieldChange = Callable[[Any, str | None, str], Awaitable[Any]]
"""(value, owner id, path) -> the new value of a sealed field."""


async def _rewrite(
    model: type[BaseModel], data: dict[str, Any], path: str, change: FieldChange
) -> None:
    sealed, nested = _layout(model)
    for name, owner_field in sealed:
        owner = data.get(owner_field)
        if data.get(name) is not None:
            data[name] = await change(
                data[name], owner if isinstance(owner, str) else None, path + name
            )
    for name, inner, many in nested:
        value = data.get(name)
        items = enumerate(value) if many and isinstance(value, list) else []
        for index, item in items:
            if isinstance(item, dict):
                await _rewrite(inner, item, f"{path}{name}.{index}.", change)
        if not many and isinstance(value, dict):
            await _rewrite(inner, value, f"{path}{name}.", change)


def _is_sealed_value(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("alg") == ALGORITHM
        and isinstance(value.get("ct"), str)
    )


def _associated_data(event_id: str, path: str) -> bytes:
    return f"{event_id}/{path}".encode()


def seal_value(key: bytes, value: Any, event_id: str, path: str) -> dict[str, str]:
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(value, separators=(",", ":")).encode()
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, _associated_data(event_id, path))
    return {"alg": ALGORITHM, "ct": base64.urlsafe_b64encode(nonce + ciphertext).decode()}


def open_value(key: bytes, sealed: Mapping[str, Any], event_id: str, path: str) -> Any:
    """The plain value; ``InvalidEvent`` when the ciphertext was altered or moved."""
    try:
        raw = base64.urlsafe_b64decode(str(sealed["ct"]))
        plaintext = AESGCM(key).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated_data(event_id, path)
        )
    except (InvalidTag, ValueError) as exc:
        raise InvalidEvent(f"data.{path}: sealed value does not open") from exc
    return json.loads(plaintext)


# --- key custody ---------------------------------------------------------------------------------


def key_bucket(service: str, namespace: str = "") -> str:
    # Named as the NATS permissions name it (one table: messaging/permissions.py).
    return durable_name(permissions.key_bucket(service), namespace)


def _kv_key(person_id: str) -> str:
    # Ids may hold characters a KV key may not; base64url keeps them readable to a tool.
    return base64.urlsafe_b64encode(person_id.encode()).decode().rstrip("=")


class PersonKeys:
    """One producing service's data keys, one per person, in its key-value bucket."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv
        self._cache: TTLCache[str, bytes] = TTLCache(maxsize=200_000, ttl=KEY_CACHE_SECONDS)
        self._shredded: set[str] = set()

    async def for_opening(self, person_id: str) -> bytes | None:
        """The person's key; None when they have none (never sealed for) or were erased."""
        cached = self._cached(person_id)
        if cached is not None or person_id in self._shredded:
            return cached
        try:
            entry = await self._kv.get(_kv_key(person_id))
        except (KeyNotFoundError, NotFoundError):
            return None
        return self._remember(person_id, entry.value)

    async def for_sealing(self, person_id: str) -> bytes | None:
        """The person's key, made on first use; None once they were erased."""
        cached = self._cached(person_id)
        if cached is not None or person_id in self._shredded:
            return cached
        # Creating first costs one round trip for a person met for the first time (an import
        # brings thousands); a person already keyed costs a second one, once per cache period.
        fresh = AESGCM.generate_key(bit_length=256)
        try:
            await self._kv.create(_kv_key(person_id), fresh)
        except KeyWrongLastSequenceError:
            # Keyed already (by another replica, or a tombstone): read what is there.
            return await self.for_opening(person_id)
        return self._remember(person_id, fresh)

    async def shred(self, person_id: str) -> None:
        """Destroy the person's key for good (repeatable): a tombstone replaces it, and the
        bucket keeps one revision per person, so the key leaves the stream at that moment."""
        key = _kv_key(person_id)
        while True:
            try:
                entry = await self._kv.get(key)
            except (KeyNotFoundError, NotFoundError):
                entry = None
            if entry is not None and entry.value == TOMBSTONE:
                break
            try:
                if entry is None:
                    await self._kv.create(key, TOMBSTONE)
                else:
                    await self._kv.update(key, TOMBSTONE, last=entry.revision)
                break
            except KeyWrongLastSequenceError:
                continue  # made or changed meanwhile: tombstone the newest
        self._cache.pop(person_id, None)
        self._shredded.add(person_id)

    def _cached(self, person_id: str) -> bytes | None:
        return self._cache.get(person_id)

    def _remember(self, person_id: str, value: bytes | None) -> bytes | None:
        if value is None or len(value) != KEY_BYTES:
            self._shredded.add(person_id)  # a tombstone: erasure is final
            return None
        self._cache[person_id] = value
        return value


class KeyRing:
    """Every producer's data keys as this service sees them: its own to seal and shred, the
    others' to open their events. Bound to JetStream when the service starts."""

    def __init__(self, service: str, namespace: str = "", replicas: int = 1) -> None:
        self.service = service
        self._namespace = namespace
        self._replicas = replicas
        self._keys: dict[str, PersonKeys] = {}
        self._js: JetStreamContext | None = None

    async def bind(self, js: JetStreamContext, producers: tuple[str, ...]) -> None:
        """Declare every producer's bucket (same configuration everywhere, like the streams)."""
        self._js = js
        for producer in producers:
            await self._bucket(producer)

    async def _bucket(self, producer: str) -> PersonKeys:
        if producer in self._keys:
            return self._keys[producer]
        assert self._js is not None, "KeyRing.bind first"
        bucket = key_bucket(producer, self._namespace)
        try:
            kv = await self._js.key_value(bucket)
        except BucketNotFoundError:
            kv = await self._js.create_key_value(
                KeyValueConfig(
                    bucket=bucket,
                    description=f"per-person data keys of {producer}'s events (crypto-shredding)",
                    # One revision: the tombstone a shred writes over a key removes the key
                    # from the stream (a KV bucket refuses single-message deletes). The
                    # tombstone stays, so no replica ever makes the person a fresh key.
                    history=1,
                    # Reads by direct get: any replica answers, one request per key.
                    direct=True,
                    storage=StorageType.FILE,
                    replicas=self._replicas,
                )
            )
        keys = PersonKeys(kv)
        self._keys[producer] = keys
        return keys

    async def own(self) -> PersonKeys:
        return await self._bucket(self.service)

    async def of(self, producer: str) -> PersonKeys:
        return await self._bucket(producer)

    async def shred(self, person_id: str) -> None:
        """Erase the person from every event this service produced (and will produce)."""
        await (await self.own()).shred(person_id)

    async def seal(self, envelope: Envelope) -> Envelope:
        """The envelope with its personal fields sealed (or emptied, for an erased person)."""
        model = model_for(envelope.type)
        if not _has_sealed(model):
            return envelope
        keys = await self.of(service_of(envelope.type))

        async def seal_field(value: Any, owner: str | None, path: str) -> Any:
            if owner is None or _is_sealed_value(value):
                return value
            key = await keys.for_sealing(owner)
            return None if key is None else seal_value(key, value, envelope.id, path)

        return await _rewritten(envelope, model, seal_field)

    async def open(self, envelope: Envelope) -> Envelope:
        """The envelope with its personal fields opened, ``None`` where the key is gone.
        ``InvalidEvent`` when a sealed value was tampered with."""
        model = model_for(envelope.type)
        if not _has_sealed(model):
            return envelope
        keys = await self.of(service_of(envelope.type))

        async def open_field(value: Any, owner: str | None, path: str) -> Any:
            if not _is_sealed_value(value):
                return value  # sealed before sealing existed: as it was published
            key = None if owner is None else await keys.for_opening(owner)
            return None if key is None else open_value(key, value, envelope.id, path)

        return await _rewritten(envelope, model, open_field)


async def _rewritten(envelope: Envelope, model: type[BaseModel], change: FieldChange) -> Envelope:
    data = copy.deepcopy(envelope.data)
    await _rewrite(model, data, "", change)
    return envelope.model_copy(update={"data": data})
