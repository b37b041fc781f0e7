"""Which chat webhook URLs a person may give (pure rules, no I/O).

The reminders worker POSTs to the URL a person typed, from inside the company's network: a URL
is accepted only when it names one of the chat vendors' webhook hosts (a configurable allow-list),
over https on the standard port, without user-info, and by name rather than by IP address. The
name's addresses are checked again when a reminder is sent (``reminders.delivery.chat_webhook``),
since what a name resolves to can change after it was accepted.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_WEBHOOK_HOSTS: tuple[str, ...] = (
    "hooks.slack.com",  # Slack incoming webhooks and workflow triggers
    "*.webhook.office.com",  # Microsoft Teams incoming webhooks (Microsoft 365 connectors)
    "*.logic.azure.com",  # Teams Workflows / Power Automate / Logic Apps HTTP triggers
    "*.environment.api.powerplatform.com",  # Power Automate HTTP triggers, newer URL form
    "chat.googleapis.com",  # Google Chat incoming webhooks
)

# Spaces, control characters and backslashes are read differently by different URL parsers
# (urllib, httpx, browsers): a URL that has any is refused rather than interpreted.
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")
_HOST_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")


@dataclass(frozen=True)
class WebhookRules:
    allowed_hosts: tuple[str, ...] = DEFAULT_WEBHOOK_HOSTS
    """Host names, or ``*.domain`` for any name under that domain (not the domain itself)."""
    loopback_for_tests: bool = False
    """Tests only: http and the loopback addresses (127.0.0.1, [::1]) are accepted too."""


def host_pattern_problem(pattern: str) -> str | None:
    """Why an allow-list entry is not usable, or None: a host name, or ``*.`` and a domain."""
    name = pattern[2:] if pattern.startswith("*.") else pattern
    labels = name.split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.match(label) for label in labels):
        return f"{pattern!r} is not a lowercase host name or *.domain"
    return None


def host_allowed(host: str, allowed_hosts: tuple[str, ...]) -> bool:
    for pattern in allowed_hosts:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _looks_numeric(host: str) -> bool:
    """A host that browsers and inet_aton read as an IPv4 address (``2130706433``, ``127.1``,
    ``0x7f.1``): per the URL standard, one whose last label is a number."""
    return bool(_NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]))


def webhook_url_problem(url: str, rules: WebhookRules) -> str | None:
    """Why a chat webhook URL is not accepted, or None when it is."""
    if not url.isascii() or _UNSAFE.search(url):
        return "must be a plain URL, without spaces, control characters or backslashes"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a URL"
    schemes = ("https", "http") if rules.loopback_for_tests else ("https",)
    if parts.scheme not in schemes:
        return "must be an https URL"
    if "@" in parts.netloc:
        return "must not carry a user name or password"
    host = (parts.hostname or "").removesuffix(".")
    if not host:
        return "has no host"
    literal = _ip_literal(host)
    if literal is not None and rules.loopback_for_tests and literal.is_loopback:
        return None
    if literal is not None or _looks_numeric(host):
        return "must name the chat service's webhook host, not an IP address"
    if not all(_HOST_LABEL.match(label) for label in host.split(".")):
        return "has a host name that is not valid"
    if port not in (None, 443) and not rules.loopback_for_tests:
        return "must use the standard https port"
    if not host_allowed(host, rules.allowed_hosts):
        allowed = ", ".join(rules.allowed_hosts)
        return f"{host} is not a chat webhook host reminders are sent to (allowed: {allowed})"
    return None
