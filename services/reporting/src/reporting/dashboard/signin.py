"""Who may start a dashboard session: the rules of the sign-in form, no I/O.

A token travels only in the body of a POST (never in a URL, where proxies, logs and the browser
history would keep it). The POST must come from a page a browser says is ours or the company's
frontend (its ``Origin``, which a page cannot forge), and a form of ours must also carry the
CSRF value we set beside it in a cookie, so no other site can sign a sponsor in as somebody else
(login CSRF).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Collection
from urllib.parse import parse_qs

CSRF_COOKIE = "rt_dashboard_csrf"
MAX_FORM_BYTES = 16 * 1024


class SignInRefused(Exception):
    """Why a sign-in POST is not taken (a 403)."""


def new_csrf_value() -> str:
    return secrets.token_urlsafe(32)


def form_fields(body: bytes) -> dict[str, str]:
    """The fields of an ``application/x-www-form-urlencoded`` body (the last of each name)."""
    if len(body) > MAX_FORM_BYTES:
        raise SignInRefused("the sign-in form is too large")
    try:
        parsed = parse_qs(body.decode("ascii"), max_num_fields=10, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise SignInRefused("the sign-in form is not a form") from None
    return {name: values[-1] for name, values in parsed.items()}


def check_origin(
    origin: str | None,
    fetch_site: str | None,
    own_origin: str,
    frontend_origins: Collection[str],
    csrf_cookie: str | None,
    csrf_field: str | None,
) -> None:
    """Raises ``SignInRefused`` unless a browser sent this from our sign-in page (same origin,
    with the CSRF value of its cookie) or from the company's frontend (an allowed origin)."""
    if origin is None or origin == "null":
        raise SignInRefused("sign in from the dashboard's sign-in page or from Roundtable")
    if origin == own_origin:
        if fetch_site not in (None, "same-origin"):
            raise SignInRefused("the sign-in did not come from this site")
        if not csrf_cookie or not csrf_field or not hmac.compare_digest(csrf_cookie, csrf_field):
            raise SignInRefused("the sign-in form has expired; open the sign-in page again")
        return
    if origin not in frontend_origins:
        raise SignInRefused("the sign-in came from a site that may not sign you in")
