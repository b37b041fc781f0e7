"""A service stops even when one of its background loops swallows a cancellation, as a loop
that retries after ``except Exception`` does when a driver call turns the cancel into its own
error. Real NATS and database: the runtime every service runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings


async def test_a_loop_that_swallows_the_first_cancel_is_still_stopped(
    make_settings: Callable[..., ServiceSettings],
) -> None:
    swallowed = asyncio.Event()

    async def stubborn_loop() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed.is_set():
                    raise
                swallowed.set()  # what a driver's error-for-a-cancel looks like to the loop
            await asyncio.sleep(3600)

    runtime = ServiceRuntime(make_settings(ServiceSettings, service_name="sessions"))
    runtime.add_background(stubborn_loop)
    await runtime.start()
    await asyncio.sleep(0.05)

    await asyncio.wait_for(runtime.stop(), timeout=10)

    assert swallowed.is_set()
