"""Who may start a dashboard session: the Origin, Sec-Fetch-Site and CSRF rules of the sign-in."""

from __future__ import annotations

import pytest

from reporting.dashboard.signin import SignInRefused, check_origin, form_fields

OWN = "https://reports.example.com"
FRONTEND = "https://peers.example.com"


def allowed(origin: str | None, site: str | None, cookie: str | None, field: str | None) -> bool:
    try:
        check_origin(origin, site, OWN, [FRONTEND], cookie, field)
    except SignInRefused:
        return False
    return True


def test_our_page_needs_its_csrf_value_and_a_same_origin_fetch() -> None:
    assert allowed(OWN, "same-origin", "c-1", "c-1")
    assert allowed(OWN, None, "c-1", "c-1")  # a browser without Fetch Metadata
    assert not allowed(OWN, "same-origin", "c-1", "c-2")
    assert not allowed(OWN, "same-origin", None, "c-1")
    assert not allowed(OWN, "same-origin", "c-1", None)
    assert not allowed(OWN, "cross-site", "c-1", "c-1")
    assert not allowed(OWN, "same-site", "c-1", "c-1")


def test_only_the_allowed_frontend_hands_a_token_over_from_elsewhere() -> None:
    assert allowed(FRONTEND, "cross-site", None, None)
    assert not allowed("https://evil.example", "cross-site", "c-1", "c-1")
    assert not allowed("https://peers.example.com.evil.example", "cross-site", None, None)
    assert not allowed(None, None, "c-1", "c-1")  # no Origin: not a browser's form
    assert not allowed("null", "cross-site", "c-1", "c-1")  # sandboxed or opaque pages


def test_the_form_is_small_and_urlencoded() -> None:
    assert form_fields(b"token=a.b.c&program=p-1&program=p-2") == {
        "token": "a.b.c",
        "program": "p-2",
    }
    for bad in (b"x=" + b"a" * 20_000, "token=é".encode(), b"&".join([b"a=1"] * 20)):
        with pytest.raises(SignInRefused):
            form_fields(bad)
