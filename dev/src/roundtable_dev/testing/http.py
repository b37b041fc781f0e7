"""HTTP helpers for tests: an app with its lifespan behind an httpx client, a server in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx
import uvicorn
from fastapi import FastAPI


@asynccontextmanager
async def running_app(
    app: FastAPI, *, token: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The app started (runtime, consumers, relay) and a client that talks to it in-process."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=transport, base_url="http://service", headers=headers
        ) as client,
    ):
        yield client


def listening_socket() -> socket.socket:
    # Bound before the server starts, so the port is known (and ours) without a race.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve_in_thread(app: FastAPI, sock: socket.socket | None = None) -> Iterator[str]:
    """Serve an app over real HTTP on 127.0.0.1; yields its base URL."""
    sock = sock or listening_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "test server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
