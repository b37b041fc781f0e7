"""The pure rules of chat webhooks: which URLs a person may give, and which addresses a webhook
may be delivered to (IPv4 and IPv6, IPv4 inside IPv6 included)."""

from __future__ import annotations

import pytest

from reminders.delivery.chat_webhook import public_address
from reminders.preferences.webhooks import (
    DEFAULT_WEBHOOK_HOSTS,
    WebhookRules,
    host_pattern_problem,
    webhook_url_problem,
)

RULES = WebhookRules()
TESTS = WebhookRules(loopback_for_tests=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T000/B000/XXXX",
        "https://hooks.slack.com:443/triggers/T000/123/abc",
        "https://HOOKS.Slack.com./services/T000/B000/XXXX",
        "https://acme.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456",
        "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=x",
        "https://default1234.56.environment.api.powerplatform.com:443/powerautomate/automations/x",
        "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t",
    ],
)
def test_the_chat_vendors_webhook_urls_are_accepted(url: str) -> None:
    assert webhook_url_problem(url, RULES) is None


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://127.0.0.1:8443/hook", "IP address"),
        ("https://10.1.2.3/hook", "IP address"),
        ("https://[::1]/hook", "IP address"),
        ("https://169.254.169.254/latest/meta-data/", "IP address"),
        ("https://[::ffff:127.0.0.1]/hook", "IP address"),
        ("https://[::ffff:7f00:1]/hook", "IP address"),
        ("https://2130706433/hook", "IP address"),
        ("https://127.1/hook", "IP address"),
        ("https://0x7f.1/hook", "IP address"),
        ("http://hooks.slack.com/services/T000/B000/XXXX", "https"),
        ("ftp://hooks.slack.com/x", "https"),
        ("https://user@hooks.slack.com/services/T000", "user name"),
        ("https://user:secret@hooks.slack.com/services/T000", "user name"),
        ("https://hooks.slack.com@evil.example/services", "user name"),
        ("https://evil.example/hook", "not a chat webhook host"),
        ("http://enrollment.default.svc/v1/programs", "https"),
        ("https://enrollment.default.svc.cluster.local/v1/programs", "not a chat webhook host"),
        ("https://localhost/hook", "not a chat webhook host"),
        ("https://hooks.slack.com.evil.example/services", "not a chat webhook host"),
        ("https://evilhooks.slack.com/services", "not a chat webhook host"),
        ("https://webhook.office.com/webhookb2/x", "not a chat webhook host"),
        ("https://evil-webhook.office.com.evil.example/x", "not a chat webhook host"),
        ("https://hooks.slack.com:8443/services/T000", "standard https port"),
        ("https://hooks.slack.com\\@evil.example/", "backslashes"),
        ("https://hooks.slack.com /x", "spaces"),
        ("https://hooks.slack.com\r\nHost: evil/x", "control characters"),
        ("https://hooks.slack.cöm/x", "plain URL"),
        ("https://hooks%2eslack.com/x", "not valid"),
        ("https:///services", "no host"),
        ("https://[::1/x", "not a URL"),
    ],
)
def test_urls_that_could_reach_inside_the_network_are_refused_with_a_reason(
    url: str, says: str
) -> None:
    problem = webhook_url_problem(url, RULES)
    assert problem is not None and says in problem


def test_a_refused_host_is_named_with_what_is_allowed() -> None:
    problem = webhook_url_problem("https://evil.example/hook", RULES)
    assert problem is not None and "evil.example" in problem
    assert all(host in problem for host in DEFAULT_WEBHOOK_HOSTS)


def test_the_allow_list_is_the_configured_one() -> None:
    rules = WebhookRules(allowed_hosts=("acme.webhook.office.com",))
    assert webhook_url_problem("https://acme.webhook.office.com/webhookb2/x", rules) is None
    assert webhook_url_problem("https://other.webhook.office.com/webhookb2/x", rules)
    assert webhook_url_problem("https://hooks.slack.com/services/x", rules)


def test_the_test_setting_opens_loopback_literals_and_http_only() -> None:
    assert webhook_url_problem("http://127.0.0.1:8080/hook/slack", RULES)
    assert webhook_url_problem("http://127.0.0.1:8080/hook/slack", TESTS) is None
    assert webhook_url_problem("http://[::1]:8080/hook/slack", TESTS) is None
    for url in (
        "http://10.0.0.1/hook",
        "http://169.254.169.254/hook",
        "http://evil.example/hook",
        "http://user@127.0.0.1:8080/hook",
    ):
        assert webhook_url_problem(url, TESTS), url


@pytest.mark.parametrize(
    "pattern", ["*", "*.com", "com", "hooks.slack.com/x", "*.*.example.com", "Hooks.slack.com", ""]
)
def test_allow_list_entries_are_host_names_or_a_wildcard_domain(pattern: str) -> None:
    assert host_pattern_problem(pattern)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.7",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.251",  # multicast
        "239.255.255.250",
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "192.0.2.10",  # documentation
        "::1",
        "::",
        "fe80::1",
        "fe80::1%2",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",  # multicast
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::127.0.0.1",  # IPv4-compatible (deprecated)
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b:1::1",  # local-use NAT64
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "2001:db8::1",  # documentation
        "not an address",
    ],
)
def test_addresses_inside_a_network_are_not_public(address: str) -> None:
    assert not public_address(address)


@pytest.mark.parametrize(
    "address", ["18.205.93.2", "52.96.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_are(address: str) -> None:
    assert public_address(address)


def test_loopback_only_for_tests() -> None:
    assert not public_address("127.0.0.1") and public_address("127.0.0.1", loopback_ok=True)
    assert public_address("::1", loopback_ok=True)
    assert public_address("::ffff:127.0.0.1", loopback_ok=True)
    assert not public_address("10.0.0.1", loopback_ok=True)
    assert not public_address("169.254.169.254", loopback_ok=True)
