"""HMAC-SHA256 signatures of the HR system's webhooks.

The sender signs ``b"<timestamp>." + raw_body`` and sends

    X-Roundtable-Timestamp: 1735689600
    X-Roundtable-Signature: sha256=<hex digest>

The timestamp is inside the signature, so the replay window cannot be dodged by rewriting it.
The window bounds replays in time; a replay inside it is caught by the consumer's idempotency on
the HR event id.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Final

from fastapi import Request

from roundtable_shared.http.problems import ServiceUnavailable, Unauthorized

TIMESTAMP_HEADER: Final = "X-Roundtable-Timestamp"
SIGNATURE_HEADER: Final = "X-Roundtable-Signature"
REPLAY_WINDOW_SECONDS: Final = 300.0

Secret = str | bytes
# One secret, or several while a secret is being rotated (old and new both accepted).
Secrets = Secret | Sequence[Secret]
SecretGetter = Callable[[Request], Secrets | None]

# Digits only: int() would also take " 17", "+17" and "1_7", i.e. several spellings of one
# signed value. Fifteen digits is far beyond any real unix time.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")


def sign(secret: Secret, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two headers a sender attaches (tests and the HR simulator use this)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = _digest(_as_bytes(secret), stamp, body)
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: f"sha256={digest.hex()}"}


def verify_signature(
    secrets: Secrets,
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    now: float,
    *,
    window_seconds: float = REPLAY_WINDOW_SECONDS,
) -> None:
    """Raise ``Unauthorized`` unless a secret signed ``body`` at a time within the window.

    ``ValueError`` when ``secrets`` holds no usable secret: a configuration bug, not bad input.
    """
    keys = secret_keys(secrets)
    stamp = _parsed_timestamp(timestamp_header)
    _check_window(int(stamp), now, window_seconds)
    received = _parsed_signature(signature_header)
    # Every secret is tried (no early exit) so timing does not tell which one matched.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(_digest(key, stamp, body), received)
    if not matched:
        raise Unauthorized("The webhook signature does not match the body and timestamp.")


def verified_webhook_body(
    secret_getter: SecretGetter,
    *,
    window_seconds: float = REPLAY_WINDOW_SECONDS,
    clock: Callable[[], float] = time.time,
) -> Callable[[Request], Coroutine[Any, Any, bytes]]:
    """A dependency returning the raw body of a correctly signed webhook request.

    ``secret_getter(request)`` returns the current secret(s), e.g. from ``request.app.state``;
    None or empty means not configured, answered 503 so the sender retries later.
    """

    async def dependency(request: Request) -> bytes:
        try:
            secrets = secret_keys(secret_getter(request))
        except ValueError as exc:
            raise ServiceUnavailable("Webhook signing secret is not configured.") from exc
        body = await request.body()
        verify_signature(
            secrets,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            body,
            clock(),
            window_seconds=window_seconds,
        )
        return body

    return dependency


def secret_keys(secrets: Secrets | None) -> list[bytes]:
    """The secrets as HMAC keys; ``ValueError`` when there is none or one is empty."""
    if secrets is None:
        raise ValueError("no webhook secret")
    # A str is itself a Sequence[str]: it must not be split into one-character secrets.
    many = [secrets] if isinstance(secrets, str | bytes) else list(secrets)
    keys = [_as_bytes(secret) for secret in many]
    # An empty HMAC key is one every sender knows.
    if not keys or not all(keys):
        raise ValueError("webhook secrets must be non-empty")
    return keys


def _parsed_timestamp(header: str | None) -> str:
    if header is None:
        raise Unauthorized(f"The webhook has no {TIMESTAMP_HEADER} header.")
    if not _TIMESTAMP.fullmatch(header):
        raise Unauthorized(f"The {TIMESTAMP_HEADER} header must be unix time in whole seconds.")
    return header


def _check_window(timestamp: int, now: float, window_seconds: float) -> None:
    if now - timestamp > window_seconds:
        raise Unauthorized(
            f"The webhook timestamp is older than the {window_seconds:g}-second replay window."
        )
    if timestamp - now > window_seconds:
        raise Unauthorized(
            f"The webhook timestamp is more than {window_seconds:g} seconds in the future."
        )


def _parsed_signature(header: str | None) -> bytes:
    if header is None:
        raise Unauthorized(f"The webhook has no {SIGNATURE_HEADER} header.")
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        raise Unauthorized(f"The {SIGNATURE_HEADER} header must be 'sha256=<64 hex digits>'.")
    return bytes.fromhex(match.group(1))


def _digest(key: bytes, stamp: str, body: bytes) -> bytes:
    return hmac.new(key, stamp.encode("ascii") + b"." + body, hashlib.sha256).digest()


def _as_bytes(secret: Secret) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret
