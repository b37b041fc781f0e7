"""Running a service's app under uvicorn: what every service's ``__main__`` does."""

from __future__ import annotations

import cProfile
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from pymongo import monitoring

from roundtable_shared.settings import ServiceSettings

PROFILE_DIR_VARIABLE = "ROUNDTABLE_PROFILE_DIR"
"""When set (benchmarks only), the process runs under cProfile and writes its statistics to
``<dir>/<service>-<pid>.prof`` when it stops (read them with ``python -m pstats``), and the
database commands it sent, by collection, to ``<dir>/<service>-<pid>.commands.json``."""


class CommandCounter(monitoring.CommandListener):
    """Counts the commands a process sends, by collection and name, and the statements of
    each (a bulk write is one command of many statements): what the database's CPU went into.
    Names only, never a command's contents."""

    def __init__(self) -> None:
        self.commands: Counter[str] = Counter()
        self.statements: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        target = event.command.get(name)
        key = f"{event.database_name}.{target if isinstance(target, str) else '-'} {name}"
        self.commands[key] += 1
        for many in ("updates", "documents", "deletes"):
            if isinstance(event.command.get(many), list):
                self.statements[key] += len(event.command[many])

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def serve(build_app: Callable[[ServiceSettings], FastAPI], settings: ServiceSettings) -> None:
    profile_dir = os.environ.get(PROFILE_DIR_VARIABLE)
    if not profile_dir:
        _run(build_app, settings)
        return
    # CPU time, not wall time: a coroutine waiting on the network costs nothing, and on a
    # machine shared with other work the wall clock would blame whatever was waiting.
    profiler = cProfile.Profile(time.process_time)
    counter = CommandCounter()
    monitoring.register(counter)  # every client made from now on reports to it
    # uvicorn restores the handler it found and re-raises the signal it stopped on: exiting
    # through SystemExit lets ``finally`` write the statistics, a plain SIGTERM would not.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    profiler.enable()
    try:
        _run(build_app, settings)
    finally:
        profiler.disable()
        stem = Path(profile_dir) / f"{settings.service_name}-{os.getpid()}"
        profiler.dump_stats(stem.with_suffix(".prof"))
        counts = {"commands": counter.commands, "statements": counter.statements}
        stem.with_suffix(".commands.json").write_text(json.dumps(counts, indent=1, sort_keys=True))


def _run(build_app: Callable[[ServiceSettings], FastAPI], settings: ServiceSettings) -> None:
    uvicorn.run(
        build_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # our JSON logging, configured by the app factory
        access_log=False,  # request metrics and ids come from our middleware
        timeout_graceful_shutdown=10,
    )
