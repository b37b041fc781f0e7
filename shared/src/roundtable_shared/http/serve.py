"""Running a service's app under uvicorn: what every service's ``__main__`` does."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from roundtable_shared.settings import ServiceSettings


def serve(build_app: Callable[[ServiceSettings], FastAPI], settings: ServiceSettings) -> None:
    uvicorn.run(
        build_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # our JSON logging, configured by the app factory
        access_log=False,  # request metrics and ids come from our middleware
        timeout_graceful_shutdown=10,
    )
