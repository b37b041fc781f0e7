"""What earlier versions kept and this one no longer reads is dropped when a service starts, so a
copy of someone's data cannot outlive the code that used to erase it. Real NATS and database."""

from __future__ import annotations

from collections.abc import Callable

from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings


async def test_a_retired_collection_is_dropped_at_start_and_a_second_start_is_fine(
    make_settings: Callable[..., ServiceSettings],
) -> None:
    settings = make_settings(ServiceSettings, service_name="sessions")
    seeding = ServiceRuntime(settings)
    await seeding.db["member_copies"].insert_one({"_id": "emp_1", "groups": ["grp_1"]})
    await seeding.db["kept"].insert_one({"_id": "k"})
    await seeding.mongo.close()

    for _ in range(2):  # idempotent: the second start finds nothing to drop
        runtime = ServiceRuntime(settings, retired_collections=["member_copies"])
        await runtime.start()
        try:
            names = await runtime.db.list_collection_names()
            assert "member_copies" not in names
            assert "kept" in names
        finally:
            await runtime.stop()
