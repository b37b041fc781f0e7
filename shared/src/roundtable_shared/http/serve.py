"""Running a service's app under uvicorn: what every service's ``__main__`` does."""

from __future__ import annotations

import cProfile
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from roundtable_shared.settings import ServiceSettings

PROFILE_DIR_VARIABLE = "ROUNDTABLE_PROFILE_DIR"
"""When set (benchmarks only), the process runs under cProfile and writes its statistics to
``<dir>/<service>-<pid>.prof`` when it stops (read them with ``python -m pstats``)."""


def serve(build_app: Callable[[ServiceSettings], FastAPI], settings: ServiceSettings) -> None:
    profile_dir = os.environ.get(PROFILE_DIR_VARIABLE)
    if not profile_dir:
        _run(build_app, settings)
        return
    # CPU time, not wall time: a coroutine waiting on the network costs nothing, and on a
    # machine shared with other work the wall clock would blame whatever was waiting.
    profiler = cProfile.Profile(time.process_time)
    # uvicorn restores the handler it found and re-raises the signal it stopped on: exiting
    # through SystemExit lets ``finally`` write the statistics, a plain SIGTERM would not.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    profiler.enable()
    try:
        _run(build_app, settings)
    finally:
        profiler.disable()
        path = Path(profile_dir) / f"{settings.service_name}-{os.getpid()}.prof"
        profiler.dump_stats(path)


def _run(build_app: Callable[[ServiceSettings], FastAPI], settings: ServiceSettings) -> None:
    uvicorn.run(
        build_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # our JSON logging, configured by the app factory
        access_log=False,  # request metrics and ids come from our middleware
        timeout_graceful_shutdown=10,
    )
