"""The app factory: problem+json for every error, request ids, trace context, limits, CORS, probes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field
from pymongo import AsyncMongoClient

from roundtable_dev.local.servers import free_port
from roundtable_dev.testing.http import running_app
from roundtable_shared.http.app import create_app
from roundtable_shared.http.problems import PROBLEM_JSON, Conflict
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings
from roundtable_shared.storage.retry import until_saved

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class Program(BaseModel):
    name: str = Field(min_length=1)
    capacity: int = Field(ge=1)


def demo_router() -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.post("/programs", status_code=201)
    async def create(program: Program) -> Program:
        if program.name == "taken":
            raise Conflict("a program with that name exists", program_name=program.name)
        return program

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @router.post("/crowded")
    async def crowded() -> None:
        async def always_stale() -> None:
            return None

        await until_saved(always_stale, what="the program", attempts=2, max_wait=0)

    @router.get("/database-down")
    async def database_down() -> None:
        # A real client of a port where nothing listens: a real ServerSelectionTimeoutError.
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
            f"mongodb://127.0.0.1:{free_port()}/", serverSelectionTimeoutMS=200
        )
        try:
            await client.roundtable.programs.find_one({"_id": "p-1"})
        finally:
            await client.close()

    return router


@pytest.fixture
async def client(make_settings: Callable[..., ServiceSettings]) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        ServiceSettings,
        service_name="apptest",
        max_body_bytes=1024,
        cors_origins=["https://peers.example.com"],
    )
    app: FastAPI = create_app(
        ServiceRuntime(settings), title="t", description="d", routers=[demo_router()]
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://svc") as http,
    ):
        yield http


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return dict(body)


async def test_probes_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "nats": True}


async def test_validation_errors_name_the_field(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.post("/v1/programs", json={"name": "", "capacity": 0}), 422)
    assert {e["field"] for e in body["errors"]} == {"name", "capacity"}  # type: ignore[attr-defined]


async def test_malformed_json_is_a_bad_request(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/programs", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400)


async def test_domain_problems_keep_their_status_and_extensions(client: httpx.AsyncClient) -> None:
    body = assert_problem(
        await client.post("/v1/programs", json={"name": "taken", "capacity": 3}), 409
    )
    assert body["program_name"] == "taken"
    assert body["instance"] == "/v1/programs"


async def test_unknown_route_and_method_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/nowhere"), 404)
    assert_problem(await client.delete("/v1/programs"), 405)


async def test_unexpected_errors_are_500_without_internals(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/v1/boom"), 500)
    assert "secret" not in str(body)


async def test_a_write_that_stays_stale_is_a_conflict(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.post("/v1/crowded"), 409)
    assert "the program kept changing" in str(body["detail"])


async def test_an_unreachable_database_is_503_with_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/database-down")
    body = assert_problem(response, 503)
    assert response.headers["retry-after"] == "2"
    assert "127.0.0.1" not in str(body)


async def test_oversized_bodies_are_refused(client: httpx.AsyncClient) -> None:
    big = {"name": "x" * 2000, "capacity": 1}
    assert_problem(await client.post("/v1/programs", json=big), 413)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 100
        yield b'", "capacity": 1}'

    streamed = await client.post(
        "/v1/programs", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(streamed, 413)


async def test_request_id_and_trace_context(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"x-request-id": "req-123", "traceparent": TRACE})
    assert echoed.headers["x-request-id"] == "req-123"
    assert echoed.headers["traceparent"].split("-")[1] == TRACE.split("-")[1]
    generated = await client.get("/healthz", headers={"x-request-id": "bad id\n"})
    assert generated.headers["x-request-id"] not in ("", "bad id\n")


async def test_cors_allows_only_configured_origins(client: httpx.AsyncClient) -> None:
    preflight = {"access-control-request-method": "POST"}
    allowed = await client.options(
        "/v1/programs", headers={"origin": "https://peers.example.com", **preflight}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://peers.example.com"
    refused = await client.options(
        "/v1/programs", headers={"origin": "https://evil.example.com", **preflight}
    )
    assert "access-control-allow-origin" not in refused.headers


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.post("/v1/programs", json={"name": "a", "capacity": 1})
    text = (await client.get("/metrics")).text
    assert (
        'roundtable_http_request_seconds_count{method="POST",route="/v1/programs",status="201"}'
        in text
    )


async def test_readiness_reports_unreachable_dependencies() -> None:
    settings = ServiceSettings(
        mongodb_uri="mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200",
        nats_url="nats://127.0.0.1:1",
    )
    runtime = ServiceRuntime(settings)
    try:
        assert await runtime.readiness() == {"database": False, "nats": False}
    finally:
        await runtime.mongo.close()


async def test_a_path_can_have_its_own_body_limit(
    make_settings: Callable[..., ServiceSettings],
) -> None:
    settings = make_settings(ServiceSettings, service_name="apptest", max_body_bytes=1024)
    app = create_app(
        ServiceRuntime(settings),
        title="t",
        description="d",
        routers=[demo_router()],
        body_limits={"/v1/programs": 4096},
    )
    async with running_app(app) as client:
        roomy = {"name": "x" * 2000, "capacity": 1}
        assert (await client.post("/v1/programs", json=roomy)).status_code == 201
        assert_problem(
            await client.post("/v1/programs", json={"name": "x" * 5000, "capacity": 1}), 413
        )
        assert_problem(await client.post("/v1/nowhere", content=b"x" * 2000), 413)
