"""Secrets a service keeps in its own database, so every replica of it holds the same one."""

from __future__ import annotations

import contextlib
import secrets

from pymongo.errors import DuplicateKeyError

from roundtable_shared.storage.mongo import Database

SERVICE_SECRETS = "service_secrets"


async def service_secret(db: Database, name: str) -> bytes:
    """The service's secret ``name``: made by whichever replica asks first, read by the others."""
    collection = db[SERVICE_SECRETS]
    found = await collection.find_one({"_id": name})
    if found is None:
        # another replica may make it first: then theirs is the one
        with contextlib.suppress(DuplicateKeyError):
            await collection.insert_one({"_id": name, "key": secrets.token_hex(32)})
        found = await collection.find_one({"_id": name})
    assert found is not None
    return str(found["key"]).encode()
