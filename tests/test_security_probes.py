"""Security probes of the four services, in-process on real NATS and FerretDB.

Forged bearer tokens, one employee reaching for another's data, forged HR webhooks, oversized
bodies and MongoDB operators smuggled into JSON, paths and query strings: every one is refused
with an RFC 9457 problem (4xx), none is a 500, and none widens a query to others' data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm
from nats.aio.client import Client as NatsClient

from enrollment.app import build_app as build_enrollment
from enrollment.settings import EnrollmentSettings
from reminders.app import build_app as build_reminders
from reminders.settings import RemindersSettings
from reporting.app import build_app as build_reporting
from reporting.settings import ReportingSettings
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.enrollment import HR_SECRET, hired, open_program, send_hr, signed
from roundtable_dev.testing.http import running_app
from roundtable_dev.testing.reporting.history import OTHER_PROGRAM, PROGRAM, SPONSOR, History
from roundtable_dev.testing.reporting.world import World as ReportingWorld
from roundtable_dev.testing.sessions import FakeClock
from roundtable_dev.testing.sessions import World as SessionsWorld
from sessions.app import build_app as build_sessions
from sessions.settings import SessionsSettings

ALL_ROLES = ["participant", "program_admin", "sponsor"]
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Service:
    name: str
    build: Callable[[Any], FastAPI]
    settings: type[Any]
    protected: str  # a GET every authenticated caller with all roles gets a 200 from
    write: tuple[str, str]  # a method and path taking a JSON body


SERVICES = {
    "enrollment": Service(
        "enrollment",
        build_enrollment,
        EnrollmentSettings,
        "/v1/me/enrolments",
        ("POST", "/v1/programs"),
    ),
    "sessions": Service(
        "sessions",
        build_sessions,
        SessionsSettings,
        "/v1/me/action-steps",
        ("POST", "/v1/groups/g-1/sessions"),
    ),
    "reminders": Service(
        "reminders",
        build_reminders,
        RemindersSettings,
        "/v1/me/preferences",
        ("PUT", "/v1/me/preferences"),
    ),
    "reporting": Service(
        "reporting", build_reporting, ReportingSettings, "/v1/programs", ("POST", "/v1/programs")
    ),
}
EXTRA_SETTINGS: dict[str, dict[str, Any]] = {
    "enrollment": {"hr_webhook_secrets": [HR_SECRET]},
    "reminders": {"worker_enabled": False},
}


@dataclass
class Running:
    service: Service
    app: FastAPI
    client: httpx.AsyncClient
    issuer: DevIssuer

    def auth(self, employee: str = "e-prober", roles: list[str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.mint(employee, roles or ALL_ROLES)}"}


@pytest.fixture(params=list(SERVICES))
async def running(
    request: pytest.FixtureRequest, make_settings: Callable[..., Any], dev_issuer: DevIssuer
) -> AsyncIterator[Running]:
    service = SERVICES[request.param]
    settings = make_settings(service.settings, **EXTRA_SETTINGS.get(service.name, {}))
    app = service.build(settings)
    async with running_app(app) as client:
        yield Running(service, app, client, dev_issuer)
        await app.state.runtime.mongo.drop_database(app.state.runtime.db.name)


def assert_problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """A 4xx problem+json of one of ``statuses``; never a server error."""
    request = f"{response.request.method} {response.request.url}"
    assert response.status_code in statuses, f"{request}: {response.status_code} {response.text}"
    assert response.headers["content-type"].startswith(PROBLEM_JSON), request
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    return body


def assert_refused(response: httpx.Response) -> None:
    """Any client error with a problem body: the input was refused, not crashed on."""
    request = f"{response.request.method} {response.request.url}"
    assert 400 <= response.status_code < 500, f"{request}: {response.status_code} {response.text}"
    assert response.headers["content-type"].startswith(PROBLEM_JSON), request


# --- forged tokens ---------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return ".".join(
        _b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )


def _claims(issuer: DevIssuer, **override: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": issuer.issuer_url,
        "aud": issuer.audience,
        "sub": "e-mallory",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "roles": ALL_ROLES,
        **override,
    }


def forged_tokens(issuer: DevIssuer) -> Iterator[tuple[str, str]]:
    claims = _claims(issuer)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    yield (
        "another RSA key, the issuer's kid",
        jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": issuer.kid}),
    )
    yield "alg none", _unsigned({"alg": "none", "typ": "JWT", "kid": issuer.kid}, claims) + "."
    yield "alg none, no kid", _unsigned({"alg": "none", "typ": "JWT"}, claims) + "."
    public = RSAAlgorithm.from_jwk(issuer.jwks()["keys"][0])
    assert isinstance(public, rsa.RSAPublicKey)
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}, claims)
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    yield "HS256 keyed with the public key PEM", f"{signing_input}.{_b64(mac)}"
    now = int(time.time())
    yield (
        "expired an hour ago",
        issuer.mint("e-mallory", ALL_ROLES, extra_claims={"exp": now - 3600, "iat": now - 7200}),
    )
    yield "wrong audience", issuer.mint("e-mallory", ALL_ROLES, extra_claims={"aud": "billing"})
    yield (
        "wrong issuer",
        issuer.mint("e-mallory", ALL_ROLES, extra_claims={"iss": "https://evil.example.com"}),
    )
    yield "unknown kid", jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "x"})
    genuine = issuer.mint("e-mallory", ALL_ROLES)
    head, body, signature = genuine.split(".")
    escalated = _b64(json.dumps({**claims, "sub": "e-admin"}).encode())
    yield "payload swapped under a genuine signature", f"{head}.{escalated}.{signature}"
    yield "signature stripped", f"{head}.{body}."
    yield "garbage", "not-a-jwt"
    yield "three garbage segments", "a.b.c"
    yield "base64 of nothing", "...."
    yield "non-JSON header", f"{_b64(b'{nope')}.{body}.{signature}"
    yield "header a JSON list", f"{_b64(b'[1]')}.{body}.{signature}"


async def test_forged_tokens_are_401_problems(running: Running) -> None:
    path = running.service.protected
    genuine = await running.client.get(path, headers=running.auth())
    assert genuine.status_code == 200, genuine.text
    for what, token in forged_tokens(running.issuer):
        response = await running.client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, f"{what}: {response.status_code} {response.text}"
        assert response.headers["content-type"].startswith(PROBLEM_JSON), what
    for header in ("Basic ZTpl", "Bearer", "Bearer a b", "bearer  ", "Token abc"):
        response = await running.client.get(path, headers={"Authorization": header})
        assert_problem(response, 401)
    assert_problem(await running.client.get(path), 401)


# --- oversized bodies ------------------------------------------------------------------------


async def test_oversized_bodies_are_413(running: Running) -> None:
    method, path = running.service.write
    limit = int(running.app.state.runtime.settings.max_body_bytes)
    big = json.dumps({"name": "x" * (limit + 10)}).encode()
    headers = {**running.auth(), "Content-Type": "application/json"}
    announced = await running.client.request(method, path, content=big, headers=headers)
    assert_problem(announced, 413)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    streamed = await running.client.request(method, path, content=chunks(), headers=headers)
    # reporting takes no bodies at all: its routes never read one, so 405 before any buffering
    assert_problem(streamed, 413, *((405,) if running.service.name == "reporting" else ()))


# --- MongoDB operators -----------------------------------------------------------------------

OPERATORS: list[Any] = [
    {"$gt": ""},
    {"$ne": None},
    {"$where": "1"},
    {"$regex": ".*"},
    {"$in": ["e-1", "e-2"]},
    [{"$gt": ""}],
]
OPERATOR_STRINGS = [json.dumps(op) for op in OPERATORS[:4]] + ["$where", "[$ne]", "{$gt: ''}"]


# Per service: paths that load one document by an id from the path.
ID_PATHS = {
    "enrollment": [
        "/v1/participants/{}",
        "/v1/programs/{}",
        "/v1/groups/{}",
        "/v1/employees/{}",
        "/v1/programs/{}/participants",
        "/v1/programs/{}/surveys",
    ],
    "sessions": [
        "/v1/sessions/{}",
        "/v1/sessions/{}/record",
        "/v1/sessions/{}/private-notes",
        "/v1/action-steps/{}",
        "/v1/groups/{}/sessions",
        "/v1/calendar-feeds/{}.ics",
    ],
    "reminders": ["/v1/admin/programs/{}/stats"],
    "reporting": ["/v1/programs/{}/summary", "/v1/programs/{}/breakdowns/department"],
}


# Per service: requests carrying an operator where a string (or a plain object) is expected.
def _body_probes(name: str) -> list[tuple[str, str, Any]]:
    probes: list[tuple[str, str, Any]] = []
    for op in OPERATORS:
        if name == "enrollment":
            probes += [
                ("POST", "/v1/programs", {"name": op, "group_size_min": 3, "group_size_max": 5}),
                ("POST", "/v1/programs/p-1/enrolments", {"goals": [op], "topics": op}),
                ("POST", "/v1/programs/p-1/enrolments", {"time_zone": op}),
                ("POST", "/v1/groups/g-1/move", {"participant_id": op, "to_group_id": op}),
                (
                    "POST",
                    "/v1/programs/p-1/surveys",
                    {"kind": op, "closes_at": "2030-01-01T00:00:00Z"},
                ),
                ("POST", "/v1/programs/p-1/surveys", {"kind": "pulse", "closes_at": op}),
                ("PUT", "/v1/me/surveys/s-1/response", {"answers": op}),
                ("PUT", "/v1/me/surveys/s-1/response", {"answers": {"rt_recommend": op}}),
            ]
        elif name == "sessions":
            schedule = {"starts_at": "2030-01-01T10:00:00Z", "time_zone": "UTC"}
            probes += [
                (
                    "POST",
                    "/v1/groups/g-1/sessions",
                    {**schedule, "duration_minutes": 60, "agenda": op},
                ),
                (
                    "POST",
                    "/v1/groups/g-1/sessions",
                    {**schedule, "duration_minutes": 60, "time_zone": op},
                ),
                ("POST", "/v1/sessions/s-1/record", {"attendee_ids": [op]}),
                ("POST", "/v1/sessions/s-1/record", {"attendee_ids": op}),
                (
                    "POST",
                    "/v1/sessions/s-1/action-steps",
                    {"accountability_partner_id": op, "title": "t", "due_on": "2030-01-01"},
                ),
                ("POST", "/v1/sessions/s-1/private-notes", {"text": op}),
                ("POST", "/v1/sessions/s-1/feedback", {"rating": op}),
            ]
        elif name == "reminders":
            probes += [
                ("PUT", "/v1/me/preferences", {"time_zone": op}),
                ("PUT", "/v1/me/preferences", {"default_channels": op}),
                ("PUT", "/v1/me/preferences", {"channels": {"$where": op}}),
                ("PUT", "/v1/me/preferences", {"quiet_hours": {"start": op, "end": "07:00"}}),
                ("PUT", "/v1/me/preferences", {"$set": {"employee_id": "e-1"}}),
                ("PUT", "/v1/me/preferences", {"employee_id": op}),
            ]
    return probes


QUERY_PROBES = {
    "enrollment": ["/v1/employees", "/v1/programs", "/v1/programs/p-1/surveys", "/v1/me/surveys"],
    "sessions": ["/v1/me/action-steps", "/v1/groups/g-1/sessions"],
    "reminders": ["/v1/admin/reminders/failed"],
    "reporting": ["/v1/programs", "/v1/programs/prg-1/timeseries"],
}


def _empty(response: httpx.Response) -> bool:
    body = response.json()
    items = body.get("items", body) if isinstance(body, dict) else body
    return not items


def _violation(response: httpx.Response, *, empty_200: bool = False) -> str | None:
    """Why a response to smuggled input is wrong, or None: 4xx problem+json (or an empty 200)."""
    status = response.status_code
    request = f"{response.request.method} {response.request.url}"
    if status == 200 and empty_200 and _empty(response):
        return None
    if not 400 <= status < 500:
        return f"{request}: {status} {response.text[:200]}"
    if not response.headers["content-type"].startswith(PROBLEM_JSON):
        return f"{request}: {status} not problem+json"
    return None


# Paths keyed by an id that list or count what belongs to it: a smuggled id is just a string
# that names nothing, so an empty 200 is as good as a 404.
LISTS_BY_ID = {"/v1/programs/{}/participants", "/v1/admin/programs/{}/stats"}


async def test_operators_in_ids_and_bodies_are_refused(running: Running) -> None:
    client, auth = running.client, running.auth()
    name = running.service.name
    wrong: list[str] = []
    for template in ID_PATHS[name]:
        for smuggled in OPERATOR_STRINGS:
            response = await client.get(template.format(quote(smuggled, safe="")), headers=auth)
            if template == "/v1/admin/programs/{}/stats" and response.status_code == 200:
                if any(response.json()["by_status"].values()):
                    wrong.append(f"{template} {smuggled}: counted something")
                continue
            empty_200 = template in LISTS_BY_ID or template.endswith("/private-notes")
            wrong.append(_violation(response, empty_200=empty_200) or "")
    for method, path, body in _body_probes(name):
        response = await client.request(
            method, path, json=body, headers={**auth, "If-Match": '"0"'}
        )
        wrong.append(_violation(response) or "")
    assert not [w for w in wrong if w], "\n".join(w for w in wrong if w)


def encode_cursor(position: dict[str, Any]) -> str:
    """A cursor as the services used to give out (unsigned base64 JSON): a forgery now."""
    return _b64(json.dumps(position, separators=(",", ":")).encode())


def _cursor_probes() -> list[tuple[str, str]]:
    return [
        ("operator-after", encode_cursor({"after": {"$gt": ""}})),
        ("cursor-without-after", encode_cursor({"k": {"$gt": ""}, "id": {"$ne": None}})),
        ("operator-id", encode_cursor({"k": "2026-01-01T00:00:00+00:00", "id": {"$ne": None}})),
        ("operator-key", encode_cursor({"$where": "1"})),
        ("a-list", _b64(b"[1,2]")),
        ("not-base64", "%%%"),
    ]


async def test_operators_in_query_strings_are_refused(running: Running) -> None:
    client, auth = running.client, running.auth()
    wrong: list[str] = []
    for path in QUERY_PROBES[running.service.name]:
        for smuggled in OPERATOR_STRINGS:
            value = quote(smuggled, safe="")
            for query in (
                f"status={value}",
                f"program_id={value}",
                f"role={value}",
                f"from={value}&to={value}",
                f"limit={value}",
                "status[$ne]=x&program_id[$gt]=",
            ):
                response = await client.get(f"{path}?{query}", headers=auth)
                wrong.append(_violation(response, empty_200=True) or "")
        for kind, cursor in _cursor_probes():
            response = await client.get(f"{path}?cursor={quote(cursor)}", headers=auth)
            violation = _violation(response, empty_200=True)
            wrong.append(f"{kind}: {violation}" if violation else "")
    assert not [w for w in wrong if w], "\n".join(w for w in wrong if w)


@pytest.mark.parametrize("path", ["/v1/employees", "/v1/programs"])
async def test_enrollment_lists_refuse_a_cursor_without_after(
    enrollment: Running, path: str
) -> None:
    admin = enrollment.auth("e-admin", ["participant", "program_admin"])
    cursor = encode_cursor({"k": "x", "id": "y"})
    response = await enrollment.client.get(f"{path}?cursor={cursor}", headers=admin)
    assert_problem(response, 400)


# --- enrollment: enrolments and the HR webhook -----------------------------------------------

ANSWERS = {"goals": ["Delegate more"], "topics": ["delegation"], "consent_to_reporting": True}


@pytest.fixture
async def enrollment(
    make_settings: Callable[..., Any], dev_issuer: DevIssuer
) -> AsyncIterator[Running]:
    settings = make_settings(EnrollmentSettings, hr_webhook_secrets=[HR_SECRET])
    app = build_enrollment(settings)
    async with running_app(app) as client:
        yield Running(SERVICES["enrollment"], app, client, dev_issuer)
        await app.state.runtime.mongo.drop_database(settings.database_name)


async def test_one_employee_cannot_read_or_change_anothers_enrolment(enrollment: Running) -> None:
    client = enrollment.client
    admin = enrollment.auth("e-admin", ["participant", "program_admin"])
    alice = enrollment.auth("e-alice", ["participant"])
    bob = enrollment.auth("e-bob", ["participant"])
    for employee in ("e-alice", "e-bob"):
        assert (await send_hr(client, hired(employee))).status_code < 300
    program_id = await open_program(client, admin)
    enrolled = await client.post(
        f"/v1/programs/{program_id}/enrolments", json=ANSWERS, headers=alice
    )
    assert enrolled.status_code == 201, enrolled.text
    participant = enrolled.json()["participant_id"]
    version = enrolled.headers["ETag"]

    assert_problem(await client.get(f"/v1/participants/{participant}", headers=bob), 403, 404)
    edited = await client.put(
        f"/v1/participants/{participant}/answers",
        json={**ANSWERS, "goals": ["BOB WAS HERE"]},
        headers={**bob, "If-Match": version},
    )
    assert_problem(edited, 403, 404)
    withdrawn = await client.post(f"/v1/participants/{participant}/withdraw", headers=bob)
    assert_problem(withdrawn, 403, 404)
    assert_problem(await client.get(f"/v1/programs/{program_id}/participants", headers=bob), 403)
    assert (await client.get("/v1/me/enrolments", headers=bob)).json() == []
    # an id-shaped operator never matches alice's enrolment
    for smuggled in ('{"$ne": null}', '{"$gt": ""}'):
        response = await client.get(f"/v1/participants/{quote(smuggled)}", headers=bob)
        assert_problem(response, 403, 404)
    still = await client.get(f"/v1/participants/{participant}", headers=alice)
    assert still.status_code == 200
    assert still.json()["answers"]["goals"] == ANSWERS["goals"]
    assert still.json()["status"] == "enrolled"


async def test_forged_hr_webhooks_are_401(enrollment: Running) -> None:
    client = enrollment.client
    event = hired("e-webhook")

    async def post(raw: bytes, headers: dict[str, str]) -> httpx.Response:
        return await client.post("/v1/hr/events", content=raw, headers=headers)

    raw, headers = signed(event)
    stale = int(time.time()) - 6 * 60
    from roundtable_shared.auth import sign

    replayed = {**sign(HR_SECRET, raw, stale), "Content-Type": "application/json"}
    assert_problem(await post(raw, replayed), 401)
    future = {**sign(HR_SECRET, raw, int(time.time()) + 6 * 60), "Content-Type": "application/json"}
    assert_problem(await post(raw, future), 401)
    _, wrong_secret = signed(event, secret="not-the-secret")
    assert_problem(await post(raw, wrong_secret), 401)
    tampered = raw.replace(b"e-webhook", b"e-intruder")
    assert tampered != raw
    assert_problem(await post(tampered, headers), 401)
    # the timestamp is signed: moving it into the window breaks the signature
    moved = {**replayed, "X-Roundtable-Timestamp": str(int(time.time()))}
    assert_problem(await post(raw, moved), 401)
    for broken in (
        {"X-Roundtable-Signature": "sha256=" + "0" * 64},
        {"X-Roundtable-Signature": "md5=abc"},
        {"X-Roundtable-Timestamp": " 17"},
        {"X-Roundtable-Timestamp": "-1"},
    ):
        assert_problem(await post(raw, {**headers, **broken}), 401)
    unsigned = {"Content-Type": "application/json"}
    assert_problem(await post(raw, unsigned), 401)
    # nothing above reached the directory; the genuine one does
    admin = enrollment.auth("e-admin", ["participant", "program_admin"])
    assert_problem(await client.get("/v1/employees/e-intruder", headers=admin), 404)
    genuine = await post(raw, headers)
    assert genuine.status_code < 300, genuine.text


async def test_operators_in_hr_webhooks_and_free_form_fields(enrollment: Running) -> None:
    client = enrollment.client
    for body in (
        {**hired("e-op"), "employee_id": {"$gt": ""}},
        {**hired("e-op"), "event_id": {"$ne": None}},
        {**hired("e-op"), "type": {"$where": "1"}},
        {**hired("e-op"), "employee": {**hired("e-op")["employee"], "$where": "1"}},
        {**hired("e-op"), "employee": {**hired("e-op")["employee"], "email": {"$gt": ""}}},
        {**hired("e-op"), "employee": {"$set": {"level": "L9"}}},
        {"$where": "1"},
    ):
        response = await send_hr(client, body)
        assert response.status_code < 500, f"{body}: {response.status_code} {response.text}"
        if response.status_code >= 400:
            assert_refused(response)
    admin = enrollment.auth("e-admin", ["participant", "program_admin"])
    listed = await client.get("/v1/employees", headers=admin)
    assert listed.status_code == 200
    for employee in listed.json().get("items", []):
        assert not any(str(key).startswith("$") for key in employee), employee


# --- sessions: sessions, the record, private notes, action steps ------------------------------


@pytest.fixture
async def sessions_world(
    make_settings: Callable[..., Any],
    dev_issuer: DevIssuer,
    nats_client: NatsClient,
    namespace: str,
) -> AsyncIterator[SessionsWorld]:
    clock = FakeClock()
    app = build_sessions(make_settings(SessionsSettings), clock=clock)
    async with running_app(app) as client:
        world = SessionsWorld(
            client, clock, dev_issuer, nats_client, namespace, app.state.runtime.db
        )
        await world.form_group("g-1", ["e-1", "e-2", "e-3"])
        await world.form_group("g-2", ["e-9", "e-8"])
        yield world
        await app.state.runtime.mongo.drop_database(app.state.runtime.db.name)


async def test_one_employee_cannot_reach_anothers_session_notes_or_steps(
    sessions_world: SessionsWorld,
) -> None:
    w = sessions_world
    client = w.client
    session = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    sid = session["id"]
    note = await client.post(
        f"/v1/sessions/{sid}/private-notes", json={"text": "E2-PRIVATE"}, headers=w.auth("e-2")
    )
    assert note.status_code == 201, note.text
    note_id, note_tag = note.json()["id"], note.headers["ETag"]
    step = await client.post(
        f"/v1/sessions/{sid}/action-steps",
        json={
            "accountability_partner_id": "e-3",
            "title": "Book a 1:1",
            "due_on": (w.clock.now + timedelta(days=7)).date().isoformat(),
        },
        headers=w.auth("e-2"),
    )
    assert step.status_code == 201, step.text
    step_id, step_tag = step.json()["id"], step.headers["ETag"]

    outsider = w.auth("e-9")
    for path in (
        f"/v1/sessions/{sid}",
        f"/v1/sessions/{sid}/record",
        f"/v1/sessions/{sid}/record/history",
        f"/v1/sessions/{sid}/calendar.ics",
        f"/v1/sessions/{sid}/action-steps",
        f"/v1/sessions/{sid}/feedback/summary",
        f"/v1/sessions/{sid}/private-notes/{note_id}",
        f"/v1/action-steps/{step_id}",
        "/v1/groups/g-1/sessions",
    ):
        assert_problem(await client.get(path, headers=outsider), 403, 404)
    assert_problem(
        await client.patch(
            f"/v1/sessions/{sid}",
            json={"agenda": "hijacked"},
            headers={**outsider, "If-Match": '"2"'},
        ),
        403,
        404,
        409,
        412,
    )
    assert_problem(
        await client.put(
            f"/v1/sessions/{sid}/record",
            json={"attendee_ids": ["e-9"]},
            headers={**outsider, "If-Match": '"2"'},
        ),
        403,
        404,
    )
    assert_problem(
        await client.post(f"/v1/sessions/{sid}/feedback", json={"rating": 1}, headers=outsider),
        403,
        404,
    )
    # a fellow member: the record yes, but not e-2's private note nor e-2's step to change
    peer = w.auth("e-1")
    assert (await client.get(f"/v1/sessions/{sid}/record", headers=peer)).status_code == 200
    assert (await client.get(f"/v1/sessions/{sid}/private-notes", headers=peer)).json() == []
    for who in (peer, outsider):
        assert_problem(
            await client.get(f"/v1/sessions/{sid}/private-notes/{note_id}", headers=who), 404
        )
        assert_problem(
            await client.put(
                f"/v1/sessions/{sid}/private-notes/{note_id}",
                json={"text": "overwritten"},
                headers={**who, "If-Match": note_tag},
            ),
            404,
        )
        assert_problem(
            await client.delete(f"/v1/sessions/{sid}/private-notes/{note_id}", headers=who), 404
        )
        assert_problem(
            await client.patch(
                f"/v1/action-steps/{step_id}",
                json={"title": "hijacked"},
                headers={**who, "If-Match": step_tag},
            ),
            403,
            404,
        )
        for verb in ("complete", "drop"):
            assert_problem(
                await client.post(
                    f"/v1/action-steps/{step_id}/{verb}", json={"note": "x"}, headers=who
                ),
                403,
                404,
            )
        assert_problem(
            await client.post(
                f"/v1/action-steps/{step_id}/progress",
                json={"status": "in_progress", "note": "x"},
                headers=who,
            ),
            403,
            404,
            422,
        )
    assert_problem(
        await client.post(
            f"/v1/action-steps/{step_id}/comments", json={"text": "hi"}, headers=outsider
        ),
        403,
        404,
    )
    # lists of one's own never widen to others' through operators or roles
    for query in ("", "?role=partner", '?role={"$ne":null}', "?status[$ne]=x"):
        mine = await client.get(f"/v1/me/action-steps{query}", headers=outsider)
        if mine.status_code == 200:
            assert mine.json()["items"] == [], query
        else:
            assert_refused(mine)
    # still e-2's, unchanged
    own = await client.get(f"/v1/sessions/{sid}/private-notes/{note_id}", headers=w.auth("e-2"))
    assert own.json()["text"] == "E2-PRIVATE"
    owned = await client.get(f"/v1/action-steps/{step_id}", headers=w.auth("e-2"))
    assert owned.json()["title"] == "Book a 1:1" and owned.json()["status"] == "open"


# --- reminders: preferences ------------------------------------------------------------------


@pytest.fixture
async def reminders(
    make_settings: Callable[..., Any], dev_issuer: DevIssuer
) -> AsyncIterator[Running]:
    settings = make_settings(RemindersSettings, worker_enabled=False)
    app = build_reminders(settings)
    async with running_app(app) as client:
        yield Running(SERVICES["reminders"], app, client, dev_issuer)
        await app.state.runtime.mongo.drop_database(settings.database_name)


async def test_one_employee_cannot_read_or_change_anothers_preferences(reminders: Running) -> None:
    client = reminders.client
    alice, bob = (
        reminders.auth("e-alice", ["participant"]),
        reminders.auth("e-bob", ["participant"]),
    )
    saved = await client.put(
        "/v1/me/preferences",
        json={"time_zone": "Pacific/Auckland", "default_channels": ["email"]},
        headers={**alice, "If-Match": '"0"'},
    )
    assert saved.status_code == 200, saved.text
    for query in ("", "?employee_id=e-alice", '?employee_id={"$ne":null}'):
        seen = await client.get(f"/v1/me/preferences{query}", headers=bob)
        assert seen.status_code == 200
        assert seen.json()["employee_id"] == "e-bob"
        assert seen.json()["time_zone"] is None and seen.json()["version"] == 0
    # naming alice in the body is refused, and bob's edit only ever touches bob's
    assert_problem(
        await client.put(
            "/v1/me/preferences",
            json={"employee_id": "e-alice", "time_zone": "UTC"},
            headers={**bob, "If-Match": '"1"'},
        ),
        422,
    )
    assert_problem(
        await client.put(
            "/v1/me/preferences", json={"time_zone": "UTC"}, headers={**bob, "If-Match": '"1"'}
        ),
        412,
    )
    assert_problem(await client.get("/v1/admin/reminders/failed", headers=bob), 403)
    mine = await client.get("/v1/me/preferences", headers=alice)
    assert mine.json()["time_zone"] == "Pacific/Auckland" and mine.json()["version"] == 1


# --- reporting: sponsors -----------------------------------------------------------------------


@pytest.fixture
async def reporting(
    make_settings: Callable[..., Any],
    dev_issuer: DevIssuer,
    nats_client: NatsClient,
    namespace: str,
) -> AsyncIterator[tuple[ReportingWorld, httpx.AsyncClient]]:
    settings = make_settings(ReportingSettings)
    app = build_reporting(settings)
    async with running_app(app) as client:
        yield ReportingWorld(app, nats_client, namespace, dev_issuer), client
        await app.state.runtime.mongo.drop_database(settings.database_name)


async def test_a_sponsor_cannot_read_a_program_they_do_not_sponsor(
    reporting: tuple[ReportingWorld, httpx.AsyncClient],
) -> None:
    w, client = reporting
    history = History()
    history.program(PROGRAM, [SPONSOR])
    history.program(OTHER_PROGRAM, ["e-other-sponsor"])
    await w.publish_all(history.events)
    await w.settle()
    sponsor = w.headers(SPONSOR, ["participant", "sponsor"])
    assert (await client.get(f"/v1/programs/{PROGRAM}/summary", headers=sponsor)).status_code == 200
    for path in ("summary", "summary.csv", "timeseries", "funnel.csv", "breakdowns/level"):
        response = await client.get(f"/v1/programs/{OTHER_PROGRAM}/{path}", headers=sponsor)
        assert_problem(response, 403, 404)
    dashboard = await client.get(f"/dashboard?program={OTHER_PROGRAM}", headers=sponsor)
    assert OTHER_PROGRAM not in dashboard.text or dashboard.status_code in (403, 404)
    # the program list never widens, whatever the cursor says
    for _, cursor in _cursor_probes():
        listed = await client.get(f"/v1/programs?cursor={quote(cursor)}", headers=sponsor)
        if listed.status_code == 200:
            ids = [p["program_id"] for p in listed.json()["items"]]
            assert OTHER_PROGRAM not in ids, cursor
        else:
            assert_refused(listed)
    for smuggled in ('{"$ne": null}', '{"$gt": ""}', "$where"):
        response = await client.get(f"/v1/programs/{quote(smuggled)}/summary", headers=sponsor)
        assert_problem(response, 403, 404, 422)
