"""The dashboard in a real browser: headless Chromium loads it with a sponsor token, the charts
render, the console stays clean, and a screenshot is kept under test-artifacts/."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import websockets

from reporting.app import build_app
from reporting.settings import ReportingSettings
from roundtable_dev.testing.http import serve_in_thread
from roundtable_dev.testing.reporting.history import PROGRAM, SPONSOR, known_history
from roundtable_dev.testing.reporting.world import World

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


class Browser:
    """Just enough of the DevTools protocol: one page, its console, evaluate, screenshot."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.session: str | None = None
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        n = next(self.ids)
        message: dict[str, Any] = {"id": n, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        await self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), 20))
            if reply.get("id") == n:
                assert "error" not in reply, reply
                return dict(reply.get("result", {}))
            self.events.append(reply)

    async def wait_for(self, method: str, seconds: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            for event in self.events:
                if event.get("method") == method:
                    self.events.remove(event)
                    return event
            self.events.append(
                json.loads(await asyncio.wait_for(self.ws.recv(), deadline - time.monotonic()))
            )

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def console_errors(self) -> list[dict[str, Any]]:
        errors = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown" or (
                method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert")
            ):
                errors.append(params)
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                errors.append(params["entry"])
        return errors


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail(
            "Debian's chromium is needed for the dashboard's browser test: apt-get install -y chromium"
        )
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 20
            while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
                assert process.poll() is None, "chromium exited at start"
                assert time.monotonic() < deadline, "chromium did not open its DevTools port"
                await asyncio.sleep(0.1)
            port, path = port_file.read_text().splitlines()[:2]
            async with websockets.connect(
                f"ws://127.0.0.1:{port}{path}", max_size=32 * 1024 * 1024
            ) as ws:
                browser = Browser(ws)
                target = await browser.call("Target.createTarget", url="about:blank")
                attached = await browser.call(
                    "Target.attachToTarget", targetId=target["targetId"], flatten=True
                )
                browser.session = attached["sessionId"]
                for domain in ("Page", "Runtime", "Log"):
                    await browser.call(f"{domain}.enable")
                yield browser
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.mark.slow
async def test_dashboard_renders_in_chromium(
    world: tuple[World, httpx.AsyncClient], settings: ReportingSettings
) -> None:
    w, _ = world
    await w.publish_all(known_history().events)
    await w.settle()
    # A second instance of the app serves HTTP in its own thread (and event loop); the one in
    # `world` runs the consumers. Both read the same database.
    with serve_in_thread(build_app(settings)) as base:
        token = w.token(SPONSOR, ["participant", "sponsor"])
        async with chromium() as browser:
            # the sponsor opens the dashboard, is sent to sign in, and signs in: the token goes
            # in a form's body, never in a URL
            await browser.call("Page.navigate", url=f"{base}/dashboard?program={PROGRAM}")
            await browser.wait_for("Page.loadEventFired")
            assert await browser.evaluate("location.pathname") == "/dashboard/sign-in"
            await browser.evaluate(
                f"document.getElementById('token').value = {json.dumps(token)};"
                "document.getElementById('sign-in').submit()"
            )
            await browser.wait_for("Page.loadEventFired")
            assert await browser.evaluate("location.pathname + location.search") == (
                f"/dashboard?dimension=department&program={PROGRAM}"
            ), await browser.evaluate("document.body.innerText")
            visited = await browser.evaluate(
                "performance.getEntriesByType('navigation').map(n => n.name).join(' ')"
            )
            assert token not in visited, "the token must never be in a URL"
            assert await browser.evaluate("document.cookie") == "", "the cookie must be HttpOnly"
            assert await browser.evaluate("document.querySelectorAll('#tiles .tile').length") == 10
            assert (
                await browser.evaluate("document.querySelector('#tiles .tile .value').textContent")
                == "5"
            )  # six active participants, released in steps of k = 5 (docs/disclosure.md)
            # charts: three trend lines with real length, five funnel bars, styles applied
            widths = await browser.evaluate(
                "[...document.querySelectorAll('#trend polyline')].map(l => l.getBBox().width)"
            )
            assert len(widths) == 3 and all(wd > 100 for wd in widths), widths
            bars = await browser.evaluate(
                "[...document.querySelectorAll('#funnel rect.bar')].map(b => b.getBBox().width)"
            )
            assert len(bars) == 5 and bars[0] > bars[-1] > 0, bars
            assert (
                await browser.evaluate("getComputedStyle(document.body).backgroundColor")
                == "rgb(245, 247, 251)"
            ), "the stylesheet was not served"
            assert await browser.evaluate(
                "[...document.querySelectorAll('#breakdown tbody tr')].map(r => r.textContent)"
            ) == ["Finance55550"]  # 6, 5, 5, 4, 2 people; the one not consenting: not shown
            # the program picker offers only the sponsor's program
            assert await browser.evaluate(
                "[...document.querySelectorAll('#program option')].map(o => o.value)"
            ) == [PROGRAM]
            shot = await browser.call(
                "Page.captureScreenshot", format="png", captureBeyondViewport=True
            )
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "reporting-dashboard.png").write_bytes(base64.b64decode(shot["data"]))
            await asyncio.sleep(0.3)  # let late console events arrive
            await browser.evaluate("0")
            assert browser.console_errors() == []


async def test_dashboard_over_http_without_a_browser(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    await w.publish_all(known_history().events)
    await w.settle()
    token = w.token(SPONSOR, ["sponsor"])
    # a token in the URL signs nobody in (it was login CSRF, and it landed in proxy logs)
    in_url = await client.get(f"/dashboard?token={token}")
    assert in_url.status_code == 401 and "set-cookie" not in in_url.headers
    assert not client.cookies
    page = await client.get("/dashboard", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200 and "<svg" in page.text and "Program prg-1" in page.text
    # the same released figures as the JSON API, and the rule said in plain words
    assert "counts are rounded to the nearest 5" in page.text
    assert "(not reported)" not in page.text  # one person: pooled, and the pool is below k
    assert (await client.get("/dashboard/static/dashboard.css")).status_code == 200
    assert (await client.get("/dashboard")).status_code == 401
    browser = await client.get(f"/dashboard?program={PROGRAM}", headers={"Accept": "text/html"})
    assert browser.status_code == 303
    assert browser.headers["location"] == (
        f"/dashboard/sign-in?dimension=department&program={PROGRAM}"
    )
    participant = w.headers("e-1", ["participant"])
    assert (await client.get("/dashboard", headers=participant)).status_code == 403
    bad = await client.get(
        "/dashboard?dimension=salary", headers={"Authorization": f"Bearer {token}"}
    )
    assert bad.status_code == 422
    other = await client.get("/dashboard?program=prg-2", headers=w.headers("e-nobody", ["sponsor"]))
    assert other.status_code == 200 and "you sponsor none yet" in other.text


OWN = "http://service"  # the in-process client's origin
FRONTEND = "http://localhost:3000"  # the default allowed frontend origin (REPORTING_CORS_ORIGINS)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def _sign_in_form(client: httpx.AsyncClient) -> str:
    """The sign-in page's CSRF value (its cookie lands in the client's jar)."""
    page = await client.get(f"/dashboard/sign-in?program={PROGRAM}")
    assert page.status_code == 200 and "set-cookie" in page.headers
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


async def test_a_session_starts_only_from_a_posted_token_on_a_trusted_page(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    await w.publish_all(known_history().events)
    await w.settle()
    token = w.token(SPONSOR, ["sponsor"])
    csrf = await _sign_in_form(client)

    async def post(origin: str | None, **fields: str) -> httpx.Response:
        headers = {**FORM, **({"Origin": origin} if origin else {})}
        return await client.post("/dashboard/session", content=urlencode(fields), headers=headers)

    refused = {
        "no Origin (not a browser form)": await post(None, token=token, csrf=csrf),
        "another site (login CSRF)": await post("https://evil.example", token=token, csrf=csrf),
        "our page without its CSRF value": await post(OWN, token=token),
        "our page with another CSRF value": await post(OWN, token=token, csrf="guessed"),
    }
    for case, response in refused.items():
        assert response.status_code == 403, (case, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "rt_dashboard=" not in response.headers.get("set-cookie", ""), case
    assert (await post(OWN, token="not-a-jwt", csrf=csrf)).status_code == 401
    participant = w.token("e-1", ["participant"])
    assert (await post(OWN, token=participant, csrf=csrf)).status_code == 403
    wrong_type = await client.post(
        "/dashboard/session", json={"token": token}, headers={"Origin": OWN}
    )
    assert wrong_type.status_code == 415

    signed_in = await post(OWN, token=token, csrf=csrf, program=PROGRAM)
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == f"/dashboard?dimension=department&program={PROGRAM}"
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
    page = await client.get(signed_in.headers["location"])
    assert page.status_code == 200 and "Program prg-1" in page.text

    # the company's frontend hands a token over with a form of its own: its Origin is trusted
    client.cookies.clear()
    handed = await post(FRONTEND, token=token)
    assert handed.status_code == 303, handed.text
    assert (await client.get("/dashboard")).status_code == 200
