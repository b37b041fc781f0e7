"""A program's own messages, against real NATS, FerretDB and SMTP: an edited message reaches a
real inbox, a reset brings the default back, a preview shows a made-up participant; only program
admins may do any of it; bad input and template-injection attempts get a 4xx problem and store
nothing."""

from __future__ import annotations

from typing import Any

from nats.aio.client import Client as NatsClient

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.reminders import (
    PROBLEM_JSON,
    enrol,
    html_of,
    program,
    reminders_world,
    text_of,
)
from roundtable_shared.events.catalogue.reminders import ReminderKind

WELCOME = "/v1/programs/prg_1/messages/welcome"


async def test_an_edited_message_is_delivered_reset_brings_the_default_back_and_preview(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, smtp_port=smtp.port
    ) as w:
        admin = w.token("emp_admin", "program_admin")
        await program(w, "prg_1")
        await w.employee("emp_a")
        await w.employee("emp_b")

        r = await w.client.get(WELCOME, headers=admin)
        assert r.status_code == 200, r.text
        assert r.headers["ETag"] == '"0"'
        default = r.json()
        assert default["customised"] is False
        assert default["subject"] == "Welcome to your peer program"
        assert [v["name"] for v in default["variables"]] == ["participant_name", "program_name"]

        wording = {
            "subject": "Welcome to {{ program_name }}, {{ participant_name }}!",
            "body": "Hi {{ participant_name }}.\n\n<b>Bring a challenge</b> & your questions.",
        }
        r = await w.client.put(WELCOME, json=wording, headers=admin)
        assert r.status_code == 428 and r.headers["content-type"] == PROBLEM_JSON
        r = await w.client.put(WELCOME, json=wording, headers={**admin, "If-Match": '"0"'})
        assert r.status_code == 200, r.text
        assert r.headers["ETag"] == '"1"' and r.json()["customised"] is True
        r = await w.client.put(WELCOME, json=wording, headers={**admin, "If-Match": '"0"'})
        assert r.status_code == 412 and r.headers["content-type"] == PROBLEM_JSON
        r = await w.client.get("/v1/programs/prg_1/messages", headers=admin)
        listed = {m["kind"]: (m["customised"], m["version"]) for m in r.json()}
        assert set(listed) == set(ReminderKind) and listed["welcome"] == (True, 1)
        assert listed["session_upcoming"] == (False, 0)

        # The preview: a made-up participant, never a real one.
        r = await w.client.post(WELCOME + "/preview", json={}, headers=admin)
        assert r.status_code == 200, r.text
        preview = r.json()
        assert preview["subject"] == "Welcome to Program prg_1, Alex Example!"
        assert preview["paragraphs"] == [
            "Hi Alex Example.",
            "<b>Bring a challenge</b> & your questions.",
        ]
        assert "Hello Alex Example," in preview["text"]
        assert "&lt;b&gt;Bring a challenge&lt;/b&gt; &amp; your questions." in preview["html"]
        # A draft previews without being stored.
        draft = {"subject": "Draft {{ program_name }}", "body": "Draft body"}
        r = await w.client.post(WELCOME + "/preview", json=draft, headers=admin)
        assert r.status_code == 200 and r.json()["subject"] == "Draft Program prg_1"
        assert (await w.client.get(WELCOME, headers=admin)).json()["subject"] == wording["subject"]

        # Delivered in a real email with the program's wording, escaped in the HTML part.
        await enrol(w, "emp_a")
        await w.until(lambda: _count(smtp.messages, 1), timeout=20)
        email = smtp.to("emp_a@example.com")[0]
        assert email["Subject"] == "Welcome to Program prg_1, Person emp_a!"
        assert "Hi Person emp_a." in text_of(email)
        assert "<b>Bring a challenge</b> & your questions." in text_of(email)
        assert "<b>" not in html_of(email) and "&lt;b&gt;Bring a challenge" in html_of(email)

        # Reset: the default again, the version goes on (an edit from before the reset is stale).
        r = await w.client.delete(WELCOME, headers={**admin, "If-Match": '"1"'})
        assert r.status_code == 200, r.text
        assert r.json()["customised"] is False and r.headers["ETag"] == '"2"'
        assert r.json()["subject"] == "Welcome to your peer program"
        r = await w.client.put(WELCOME, json=wording, headers={**admin, "If-Match": '"1"'})
        assert r.status_code == 412
        await enrol(w, "emp_b")
        await w.until(lambda: _count(smtp.messages, 2), timeout=20)
        assert smtp.to("emp_b@example.com")[0]["Subject"] == "Welcome to your peer program"
        assert "You are enrolled." in text_of(smtp.to("emp_b@example.com")[0])

        # Another program keeps its own wording: prg_1's edit never reached prg_2.
        await program(w, "prg_2")
        r = await w.client.get("/v1/programs/prg_2/messages/welcome", headers=admin)
        assert r.json()["customised"] is False and r.headers["ETag"] == '"0"'


SSTI = [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ participant_name|attr('__class__') }}",
    "{% for x in range(99999999) %}x{% endfor %}",
    "{{ 9**9**9 }}",
    "{% include 'email.html.j2' %}",
    "{{ self }}",
]


async def test_only_program_admins_and_bad_input_or_injection_gets_a_problem_never_stored(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, worker_enabled=False
    ) as w:
        admin = w.token("emp_admin", "program_admin")
        await program(w, "prg_1")
        wording = {"subject": "Hi", "body": "Hello {{ participant_name }}"}
        edit = {**admin, "If-Match": '"0"'}
        calls = [
            ("GET", "/v1/programs/prg_1/messages", None),
            ("GET", WELCOME, None),
            ("PUT", WELCOME, wording),
            ("DELETE", WELCOME, None),
            ("POST", WELCOME + "/preview", {}),
            ("POST", "/v1/programs/prg_1/broadcasts", wording),
        ]
        for method, path, body in calls:
            r = await w.client.request(method, path, json=body, headers={"If-Match": '"0"'})
            assert r.status_code == 401, (method, path)
            for who in (w.token("emp_p"), w.token("emp_s", "sponsor", "participant")):
                r = await w.client.request(
                    method,
                    path,
                    json=body,
                    headers={**who, "If-Match": '"0"', "Idempotency-Key": "k"},
                )
                assert r.status_code == 403, (method, path, r.text)
                assert r.headers["content-type"] == PROBLEM_JSON
            unknown = path.replace("prg_1", "prg_nope")
            r = await w.client.request(
                method, unknown, json=body, headers={**edit, "Idempotency-Key": "k"}
            )
            assert r.status_code == 404, (method, unknown, r.text)
            assert r.headers["content-type"] == PROBLEM_JSON

        for payload in SSTI:
            for field in ("subject", "body"):
                bad = {**wording, field: payload}
                for path in (WELCOME, WELCOME + "/preview"):
                    method = "PUT" if path == WELCOME else "POST"
                    r = await w.client.request(method, path, json=bad, headers=edit)
                    assert r.status_code == 422, (payload, r.text)
                    assert r.headers["content-type"] == PROBLEM_JSON
                    assert r.json()["errors"][0]["field"] == field
                r = await w.client.post(
                    "/v1/programs/prg_1/broadcasts",
                    json=bad,
                    headers={**admin, "Idempotency-Key": f"ssti-{payload}-{field}"},
                )
                assert r.status_code == 422, (payload, r.text)
        r = await w.client.put(
            WELCOME, json={**wording, "body": "{{ ''.__class__.__mro__ }}"}, headers=edit
        )
        assert "attribute and item access" in r.json()["detail"]
        r = await w.client.put(
            WELCOME, json={**wording, "body": "{{ session_title }}"}, headers=edit
        )
        assert "unknown variable session_title" in r.json()["detail"]
        r = await w.client.put(WELCOME, json={**wording, "body": "{% if %}"}, headers=edit)
        assert "syntax error on line 1" in r.json()["detail"]

        bad_inputs: list[tuple[str, str, dict[str, str], Any]] = [
            ("PUT", WELCOME, edit, {"subject": "Hi"}),
            ("PUT", WELCOME, edit, {**wording, "extra": 1}),
            ("PUT", WELCOME, edit, {**wording, "body": "x" * 5001}),
            ("PUT", WELCOME, edit, {**wording, "subject": ""}),
            ("PUT", WELCOME, edit, {"subject": 1, "body": ["x"]}),
            ("PUT", WELCOME, {**admin, "If-Match": "soon"}, wording),
            ("PUT", "/v1/programs/prg_1/messages/no_such_kind", edit, wording),
            ("PUT", "/v1/programs/prg_1/messages/digest", edit, wording),
            ("POST", WELCOME + "/preview", admin, {"subject": "Only a subject"}),
            ("POST", "/v1/programs/prg_1/broadcasts", admin, wording),  # no Idempotency-Key
            (
                "POST",
                "/v1/programs/prg_1/broadcasts",
                {**admin, "Idempotency-Key": "a"},
                {**wording, "audience": "the_ceo"},
            ),
            ("GET", "/v1/programs/prg_1/broadcasts/no%2Fsuch", admin, None),
        ]
        for method, path, headers, body in bad_inputs:
            r = await w.client.request(method, path, json=body, headers=headers)
            assert r.status_code in (400, 404, 422), (method, path, body, r.status_code, r.text)
            assert r.headers["content-type"] == PROBLEM_JSON
        r = await w.client.put(
            WELCOME,
            content=b'{"subject": "Hi", "body": ',
            headers={**edit, "Content-Type": "application/json"},
        )
        assert r.status_code in (400, 422) and r.headers["content-type"] == PROBLEM_JSON

        # Nothing of it was stored: still the default, never edited; no broadcast planned.
        r = await w.client.get(WELCOME, headers=admin)
        assert r.json()["customised"] is False and r.headers["ETag"] == '"0"'
        assert await w.db["broadcasts"].count_documents({}) == 0
        assert await w.reminders(kind="broadcast") == []


async def _count(items: list[Any], n: int) -> bool:
    assert len(items) <= n, f"more than {n}: {len(items)}"
    return len(items) == n
