"""Chat webhook URLs cannot make the reminders service a proxy into the company's network.

The preferences endpoint refuses every URL that is not a chat vendor's webhook host (IP
literals, cluster names, user-info, http) with a 422 problem; at send time the host's addresses
are checked again and the connection goes to the address checked, so an allow-listed name that
resolves to a private address fails for good (``reminder.failed``, final, no retry), and a
redirect is not followed. The resolver is the test's, and every receiver is on loopback (allowed
only by the test setting ``webhook_loopback_for_tests``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient

from reminders.delivery.channels import Outcome
from reminders.delivery.chat_webhook import (
    ADDRESS_REFUSED,
    URL_REFUSED,
    WebhookChannel,
    chat_client,
)
from reminders.delivery.messages import Message, compose
from reminders.delivery.worker import DeliveryWorker
from reminders.people.repository import RecipientRepository
from reminders.preferences.repository import PreferencesRepository
from reminders.preferences.webhooks import WebhookRules
from reminders.schedule.domain import Plan
from reminders.schedule.repository import ReminderRepository
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.reminders import PROBLEM_JSON, World, reminders_world
from roundtable_shared.events.catalogue.reminders import FailureReason, ReminderKind

SLACK_HOOK = "https://hooks.slack.com/services/T000/B000/secret"
# A name only the tests' resolver knows: were a connection to resolve it again, it would fail.
TEST_HOST = "hooks.roundtable-test.invalid"


def resolving(answers: dict[str, list[str]], asked: list[str] | None = None) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if asked is not None:
            asked.append(host)
        if host not in answers:
            raise OSError(f"unknown host {host}")
        return answers[host]

    return resolve


def message() -> Message:
    return compose(
        ReminderKind.WELCOME,
        {},
        recipient_name="Ana",
        recipient_zone="UTC",
        names={},
        frontend_url="https://roundtable.example.com",
        reminder_id="rem_1",
    )


BAD_URLS = [
    "https://127.0.0.1:8443/hook",
    "https://10.0.0.7/hook",
    "https://[::1]/hook",
    "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://[::ffff:127.0.0.1]/hook",
    "http://hooks.slack.com/services/T000/B000/XXXX",
    "https://user@hooks.slack.com/services/T000/B000/XXXX",
    "https://evil.example/hook",
    "http://enrollment.default.svc/v1/programs",
    "https://enrollment.default.svc.cluster.local/v1/programs",
]


async def test_the_preferences_endpoint_refuses_urls_that_are_no_chat_webhook(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, webhook_loopback_for_tests=False
    ) as w:
        me = {**w.token("emp_a"), "If-Match": '"0"'}
        for url in BAD_URLS:
            for field, channel in (("slack_webhook_url", "slack"), ("teams_webhook_url", "teams")):
                body = {field: url, "default_channels": [channel]}
                r = await w.client.put("/v1/me/preferences", json=body, headers=me)
                assert r.status_code == 422, (url, r.text)
                assert r.headers["content-type"] == PROBLEM_JSON
                [error] = r.json()["errors"]
                assert error["field"] == field and error["message"], error
                assert field in r.json()["detail"]
        r = await w.client.get("/v1/me/preferences", headers=w.token("emp_a"))
        assert r.json()["version"] == 0  # nothing was stored
        good = {
            "slack_webhook_url": SLACK_HOOK,
            "teams_webhook_url": "https://prod-12.westeurope.logic.azure.com:443/workflows/x",
            "default_channels": ["slack", "teams"],
        }
        r = await w.client.put("/v1/me/preferences", json=good, headers=me)
        assert r.status_code == 200, r.text


async def test_an_allow_listed_host_resolving_inside_the_network_fails_for_good_at_send_time(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer
) -> None:
    async with reminders_world(
        make_settings,
        nats_client,
        namespace,
        dev_issuer,
        worker_enabled=False,
        webhook_loopback_for_tests=False,
    ) as w:
        await w.employee("emp_a")
        r = await w.client.put(
            "/v1/me/preferences",
            json={"default_channels": ["slack"], "slack_webhook_url": SLACK_HOOK},
            headers={**w.token("emp_a"), "If-Match": '"0"'},
        )
        assert r.status_code == 200, r.text
        # The name was accepted; now it resolves (rebinding) to the cloud metadata address.
        asked: list[str] = []
        worker = _worker(w, resolving({"hooks.slack.com": ["169.254.169.254"]}, asked))
        start = datetime.now(UTC)
        welcome = Plan(
            key="welcome:emp_a:prg_1",
            kind=ReminderKind.WELCOME,
            recipient_id="emp_a",
            program_id="prg_1",
            due_at=start,
        )
        await ReminderRepository(w.db).add([welcome], start)
        try:
            assert await worker.run_once() == 1
        finally:
            await worker.close()
        assert asked == ["hooks.slack.com"]
        [doc] = await w.reminders(recipient_id="emp_a")
        assert doc["status"] == "failed" and doc["attempts"] == 1  # failed for good: no retry
        assert doc["channels"]["slack"]["reason"] == FailureReason.INVALID_ADDRESS
        assert doc["channels"]["slack"]["code"] == ADDRESS_REFUSED
        failed = await w.until(lambda: w.events("roundtable.reminders.reminder.failed"))
        [event] = [e.data for e in failed]
        assert event["reason"] == "invalid_address" and event["final"] is True
        assert event["error_code"] == ADDRESS_REFUSED and event["attempts"] == 1


def _worker(w: World, resolver: Callable[[str, int], Awaitable[list[str]]]) -> DeliveryWorker:
    return DeliveryWorker(
        w.settings,
        ReminderRepository(w.db),
        RecipientRepository(w.db),
        PreferencesRepository(w.db),
        resolver=resolver,
    )


async def _send(
    url: str, rules: WebhookRules, answers: dict[str, list[str]], asked: list[str] | None = None
) -> Outcome:
    client = chat_client(5.0, rules, resolving(answers, asked))
    try:
        return await WebhookChannel("slack", client, rules).send(url, message(), "rem_1.slack")
    finally:
        await client.aclose()


ONLY_TEST_HOST = WebhookRules(allowed_hosts=(TEST_HOST,))
TEST_RECEIVER = WebhookRules(allowed_hosts=(TEST_HOST,), loopback_for_tests=True)


async def test_the_connection_goes_to_the_address_checked(webhooks: Any) -> None:
    port = webhooks.url.rsplit(":", 1)[1]
    asked: list[str] = []

    outcome = await _send(
        f"http://{TEST_HOST}:{port}/hook/slack", TEST_RECEIVER, {TEST_HOST: ["127.0.0.1"]}, asked
    )

    assert outcome == Outcome.ok()
    assert asked == [TEST_HOST]  # resolved once, by the check, and connected to its answer
    [call] = webhooks.calls
    assert call["host"] == f"{TEST_HOST}:{port}" and call["key"] == "rem_1.slack"


@pytest.mark.parametrize(
    ("rules", "addresses"),
    [
        (ONLY_TEST_HOST, ["127.0.0.1"]),
        (ONLY_TEST_HOST, ["::1"]),
        (ONLY_TEST_HOST, ["10.0.0.7"]),
        (ONLY_TEST_HOST, ["169.254.169.254"]),
        (ONLY_TEST_HOST, ["::ffff:127.0.0.1"]),
        (ONLY_TEST_HOST, ["0.0.0.0"]),
        (ONLY_TEST_HOST, ["fd00::1"]),
        (ONLY_TEST_HOST, ["224.0.0.1"]),
        (ONLY_TEST_HOST, []),
        # The test setting opens loopback, nothing else; one bad answer refuses them all.
        (TEST_RECEIVER, ["10.0.0.7"]),
        (TEST_RECEIVER, ["127.0.0.1", "169.254.169.254"]),
    ],
)
async def test_a_host_resolving_to_an_address_that_is_not_public_is_refused_before_connecting(
    webhooks: Any, rules: WebhookRules, addresses: list[str]
) -> None:
    port = webhooks.url.rsplit(":", 1)[1]
    scheme = "http" if rules.loopback_for_tests else "https"
    url = f"{scheme}://{TEST_HOST}/hook/slack"
    if rules.loopback_for_tests:
        url = f"http://{TEST_HOST}:{port}/hook/slack"

    outcome = await _send(url, rules, {TEST_HOST: addresses})

    assert outcome == Outcome.failed(FailureReason.INVALID_ADDRESS, ADDRESS_REFUSED, retry=False)
    assert webhooks.calls == []


async def test_a_stored_url_that_is_no_longer_allowed_is_refused_at_send_time(
    webhooks: Any,
) -> None:
    # Stored before the rule: a loopback literal, without the test setting.
    outcome = await _send(f"{webhooks.url}/hook/slack", ONLY_TEST_HOST, {})

    assert outcome == Outcome.failed(FailureReason.INVALID_ADDRESS, URL_REFUSED, retry=False)
    assert webhooks.calls == []


async def test_a_redirect_is_not_followed(webhooks: Any) -> None:
    port = webhooks.url.rsplit(":", 1)[1]
    webhooks.status = 307
    webhooks.location = f"http://{TEST_HOST}:{port}/hook/elsewhere"

    outcome = await _send(
        f"http://{TEST_HOST}:{port}/hook/slack", TEST_RECEIVER, {TEST_HOST: ["127.0.0.1"]}
    )

    assert outcome == Outcome.failed(FailureReason.REJECTED, "307", retry=False)
    assert [call["hook"] for call in webhooks.calls] == ["slack"]
