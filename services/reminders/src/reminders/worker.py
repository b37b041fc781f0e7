"""``python -m reminders.worker``: a delivery worker process on its own (a replica), with its own
outbox relay so the events of what it delivered leave even if no service process runs."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from reminders.app import bootstrap, build_runtime
from reminders.settings import RemindersSettings
from roundtable_shared.observability.logging import configure_logging


async def main(settings: RemindersSettings) -> None:
    configure_logging(settings.service_name + "-worker", settings.log_level)
    runtime = build_runtime(settings)
    worker = bootstrap(runtime, settings).worker
    await runtime.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(worker.run())
    try:
        await stop.wait()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await worker.close()
        await runtime.stop()


if __name__ == "__main__":
    asyncio.run(main(RemindersSettings()))
