"""Chat incoming webhooks (Slack, Teams) over httpx, to public addresses only.

A webhook URL is a person's input, and the worker posts from inside the company's network: the
URL's rule is checked again at send time (it may have been stored before the rule), and the
connection itself is guarded. Its host is resolved once, every address it resolves to must be
public (not private, loopback, link-local, multicast, reserved or unspecified, IPv4 or IPv6,
IPv4 inside IPv6 included), and the connection goes to one of exactly those addresses: a name
that resolves to a public address when checked and to a private one when connected (DNS
rebinding) has no second resolution to exploit. TLS still verifies the certificate for the host
name. Redirects are not followed and proxies from the environment are not used (a proxy would
resolve the name itself).

A refused URL or address is a permanent failure (``invalid_address``, no retry).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

from reminders.delivery.channels import Outcome
from reminders.delivery.messages import Message, slack_payload, teams_payload
from reminders.preferences.webhooks import WebhookRules, webhook_url_problem
from roundtable_shared.events.catalogue.reminders import FailureReason

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""A host name and port to the addresses to connect to (as text), in the order to try them."""

URL_REFUSED = "url_not_allowed"
ADDRESS_REFUSED = "address_not_public"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries and reaches (IPv4-mapped, 6to4, NAT64)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def public_address(address: str, *, loopback_ok: bool = False) -> bool:
    """Whether a webhook may be delivered to ``address`` (pure). ``loopback_ok``: tests only."""
    try:
        ip: IPAddress = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # Scoped (link-local by nature), local-use NAT64 and Teredo (a tunnel to an address it
        # obfuscates): never a chat service's address.
        if ip.scope_id or ip in _NAT64_LOCAL or ip.teredo is not None:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return public_address(str(embedded), loopback_ok=loopback_ok)
    if ip.is_loopback:
        return loopback_ok
    return ip.is_global and not (
        ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


class AddressRefused(Exception):
    """The webhook's host resolves to an address reminders do not deliver to."""


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving names itself and connecting only to the public
    addresses it checked."""

    def __init__(self, resolver: Resolver, *, loopback_ok: bool) -> None:
        self._resolver = resolver
        self._loopback_ok = loopback_ok
        self._network = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(self._resolver(host, port), timeout)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"could not resolve the webhook host: {exc}") from exc
        # One address that is not public refuses them all: an answer mixing a public and a
        # private address is what a rebinding attack sends.
        if not addresses or not all(
            public_address(a, loopback_ok=self._loopback_ok) for a in addresses
        ):
            raise AddressRefused("the webhook host does not resolve to public addresses only")
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._network.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("webhooks are not delivered to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)


def chat_client(
    timeout: float, rules: WebhookRules, resolver: Resolver = system_resolver
) -> httpx.AsyncClient:
    """An HTTP client for chat webhooks: public addresses only, no redirects, no proxies."""
    transport = httpx.AsyncHTTPTransport(retries=0)
    # httpx has no option for the network backend; its connection pool (httpcore) does. The
    # webhook tests fail if this ever stops applying (they resolve names only the resolver
    # knows).
    transport._pool._network_backend = PublicOnlyBackend(
        resolver, loopback_ok=rules.loopback_for_tests
    )
    return httpx.AsyncClient(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    )


class WebhookChannel:
    """Slack or Teams incoming webhook; ``style`` picks the payload format."""

    def __init__(self, style: str, client: httpx.AsyncClient, rules: WebhookRules) -> None:
        self.style = style
        self.client = client
        self.rules = rules

    def payload(self, message: Message) -> dict[str, Any]:
        return slack_payload(message) if self.style == "slack" else teams_payload(message)

    async def send(self, url: str | None, message: Message, idempotency_key: str) -> Outcome:
        # Checked again: a URL stored before the rule (or the allow-list) changed.
        if not url or webhook_url_problem(url, self.rules):
            return Outcome.failed(FailureReason.INVALID_ADDRESS, URL_REFUSED, retry=False)
        try:
            response = await self.client.post(
                url,
                json=self.payload(message),
                headers={"Idempotency-Key": idempotency_key},
            )
        except AddressRefused:
            return Outcome.failed(FailureReason.INVALID_ADDRESS, ADDRESS_REFUSED, retry=False)
        except httpx.TimeoutException:
            return Outcome.failed(FailureReason.TIMEOUT, None, retry=True)
        except httpx.InvalidURL:
            return Outcome.failed(FailureReason.INVALID_ADDRESS, None, retry=False)
        except (httpx.HTTPError, OSError):
            return Outcome.failed(FailureReason.UNREACHABLE, None, retry=True)
        status = response.status_code
        if 200 <= status < 300:
            return Outcome.ok()
        # Rate limits and server errors pass; other 4xx mean the hook is gone or wrong, and a
        # redirect is not followed (it could point anywhere): it fails for good too.
        retry = status == 429 or status == 408 or status >= 500
        reason = FailureReason.INVALID_ADDRESS if status in (404, 410) else FailureReason.REJECTED
        return Outcome.failed(reason, str(status), retry=retry)
