"""SCIM's pure rules: filters to MongoDB queries, what ``active`` means, User <-> employee."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scim2_models import Context, InvalidFilterException, InvalidValueException

from enrollment.directory.domain import Employee
from enrollment.scim.domain import (
    SCIM_FIELDS,
    all_of,
    changed_fields,
    profile_of,
    stated_fields,
    status_for,
    status_on_create,
    to_query,
    to_user,
    user_json,
)
from enrollment.scim.models import POLICY
from enrollment.scim.service import parse_user
from roundtable_shared.events.catalogue.enrollment import EmploymentStatus

STAYING = {"$in": ["active", "on_leave"]}


LINKED_ONLY = {"user_name_key": {"$gt": ""}}  # only employees an IdP linked are SCIM Users


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        # An equality on userName selects linked employees by itself: nothing else to read.
        ('userName eq "Ada@Example.com"', {"user_name_key": "ada@example.com"}),
        ('USERNAME Eq "ada"', {"user_name_key": "ada"}),
        (
            'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"',
            {"user_name_key": "x"},
        ),
        (
            'userName eq "x" and active eq true',
            {"user_name_key": "x", "employment_status": STAYING},
        ),
        ('externalId eq "00uXy"', {"profile.external_id": "00uXy", **LINKED_ONLY}),
        ('emails.value eq "A@x"', {"email_key": "a@x", **LINKED_ONLY}),
        ('emails.value sw "ADA"', {"email_key": {"$regex": "^ada"}, **LINKED_ONLY}),
        ('emails co "a.b+c"', {"email_key": {"$regex": r"a\.b\+c"}, **LINKED_ONLY}),
        (
            'userName ew "@corp"',
            {"user_name_key": {"$regex": "@corp$"}, "$and": [LINKED_ONLY]},
        ),
        ("externalId pr", {"profile.external_id": {"$nin": [None, ""]}, **LINKED_ONLY}),
        ("active eq true", {"employment_status": STAYING, **LINKED_ONLY}),
        (
            "active eq false",
            {"employment_status": {"$nin": ["active", "on_leave"]}, **LINKED_ONLY},
        ),
        (
            "active ne true",
            {"employment_status": {"$nin": ["active", "on_leave"]}, **LINKED_ONLY},
        ),
        ("active pr", LINKED_ONLY),
        ('emails[type eq "work" and value eq "A@x"]', {"email_key": "a@x", **LINKED_ONLY}),
        (
            'userName eq "a" or externalId eq "b" and active eq true',
            {
                "$or": [
                    {"user_name_key": "a"},
                    {"profile.external_id": "b", "employment_status": STAYING},
                ],
                **LINKED_ONLY,
            },
        ),
        ('not (userName eq "a")', {"$nor": [{"user_name_key": "a"}], **LINKED_ONLY}),
        (
            'userName sw "a" and userName ew "z" and not (active eq true)',
            {
                "user_name_key": {"$regex": "^a"},
                "$nor": [{"employment_status": STAYING}],
                "$and": [{"user_name_key": {"$regex": "z$"}}, LINKED_ONLY],
            },
        ),
    ],
)
def test_filters_become_queries_by_top_level_fields(filter_text: str, expected: Any) -> None:
    assert to_query(filter_text) == expected


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        ([], {}),
        ([{"a": 1}, {}, {"b": 2}], {"a": 1, "b": 2}),
        ([{"a": 1}, {"a": 2}], {"a": 1, "$and": [{"a": 2}]}),
        # An $and inside is taken apart, and its fields beside it are kept.
        (
            [{"a": 1, "$and": [{"b": 2}, {"a": 3}]}, {"c": 4}],
            {"a": 1, "b": 2, "c": 4, "$and": [{"a": 3}]},
        ),
        (
            [{"a": 1, "$and": [{"a": 2}]}, {"a": 3, "$and": [{"a": 4}]}],
            {"a": 1, "$and": [{"a": 2}, {"a": 3}, {"a": 4}]},
        ),
    ],
)
def test_a_conjunction_keeps_every_term(terms: list[dict[str, Any]], expected: Any) -> None:
    assert all_of(terms) == expected


@pytest.mark.parametrize(
    "filter_text",
    [
        'userName eqq "x"',
        "userName eq",
        'nickName eq "x"',
        'userName gt "x"',
        'active eq "true"',
        "userName eq 5",
        'phoneNumbers[type eq "work"]',
        'emails[display eq "x"]',
    ],
)
def test_filters_this_server_cannot_answer_are_invalid(filter_text: str) -> None:
    with pytest.raises(InvalidFilterException):
        to_query(filter_text)


@pytest.mark.parametrize(
    ("current", "active", "expected"),
    [
        (None, True, EmploymentStatus.ACTIVE),
        (EmploymentStatus.TERMINATED, True, EmploymentStatus.ACTIVE),
        (EmploymentStatus.ON_LEAVE, True, None),  # an IdP's sync does not end HR's leave
        (EmploymentStatus.ACTIVE, True, None),
        (EmploymentStatus.ACTIVE, False, EmploymentStatus.TERMINATED),
        (EmploymentStatus.ON_LEAVE, False, EmploymentStatus.TERMINATED),
        (EmploymentStatus.ACTIVE, None, None),
    ],
)
def test_what_active_means(
    current: EmploymentStatus | None, active: bool | None, expected: EmploymentStatus | None
) -> None:
    assert status_for(current, active) is expected


def test_a_user_and_its_employee_map_both_ways() -> None:
    user = parse_user(
        {
            "userName": "ada@corp.local",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [
                {"value": "home@example.org", "type": "home"},
                {"value": "ada@corp.local", "type": "work", "primary": True},
            ],
            "timezone": "Europe/Berlin",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "R&D",
                "manager": {"value": "e-1"},
                "costCenter": "4711",
            },
            "urn:roundtable:params:scim:schemas:extension:roundtable:2.0:User": {"level": "L5"},
        },
        Context.RESOURCE_CREATION_REQUEST,
    )
    profile = profile_of(user)
    assert profile["display_name"] == "Ada Lovelace"  # from the name, as none was given
    assert profile["email"] == "ada@corp.local"  # the primary one
    assert (profile["department"], profile["manager_id"], profile["cost_center"]) == (
        "R&D",
        "e-1",
        "4711",
    )
    employee = Employee("e-9", profile=stated_fields(profile))
    employee.employment_status = EmploymentStatus.ON_LEAVE
    back = to_user(employee, 3, "http://h/scim/v2/Users/e-9")
    assert back.active is True and back.meta is not None and back.meta.version == 'W/"3"'
    assert changed_fields(profile, profile_of(back)) == {}


def test_a_put_keeps_what_it_does_not_state() -> None:
    assert stated_fields({"title": None, "department": "Sales"}) == {"department": "Sales"}


@pytest.mark.parametrize(
    "payload",
    [
        {"userName": "x", "emails": [{"value": "not-an-email"}]},
        {"userName": "x", "timezone": "Mars/Olympus"},
        {"userName": "x" * 400},
    ],
)
def test_values_the_directory_cannot_keep_are_refused(payload: dict[str, Any]) -> None:
    user = parse_user(payload, Context.RESOURCE_CREATION_REQUEST)
    with pytest.raises(InvalidValueException):
        profile_of(user)


def test_a_user_created_without_active_is_active_unless_hr_says_otherwise() -> None:
    assert status_on_create(None, None) is EmploymentStatus.ACTIVE
    assert status_on_create(EmploymentStatus.ON_LEAVE, None) is None
    assert status_on_create(None, False) is EmploymentStatus.TERMINATED


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    profile=st.fixed_dictionaries(
        {}, optional={name: st.one_of(st.none(), _TEXT) for name in SCIM_FIELDS}
    ),
    status=st.one_of(st.none(), st.sampled_from(EmploymentStatus)),
    updated_at=st.one_of(
        st.none(), st.datetimes(timezones=st.just(UTC)), st.datetimes(timezones=st.none())
    ),
    version=st.integers(min_value=1, max_value=10**6),
)
def test_a_user_renders_as_scim2_models_renders_it(
    profile: dict[str, Any],
    status: EmploymentStatus | None,
    updated_at: datetime | None,
    version: int,
) -> None:
    """The response's User, written directly, is what the library makes of ``to_user``."""
    employee = Employee("e-1", profile=profile, employment_status=status, updated_at=updated_at)
    location = "https://roundtable.example/scim/v2/Users/e-1"
    with POLICY:
        expected = to_user(employee, version, location).model_dump(
            scim_ctx=Context.RESOURCE_QUERY_RESPONSE
        )
    assert json.dumps(user_json(employee, version, location)) == json.dumps(expected)


def test_a_profile_value_that_is_not_text_is_left_to_the_library() -> None:
    """Written directly only what the library would render as given: anything else gets the
    library's own answer (here, as before, its refusal)."""
    employee = Employee("e-2", profile={"user_name": "ada", "level": 3})
    with pytest.raises(ValidationError):
        to_user(employee, 1, "L")
    with pytest.raises(ValidationError):
        user_json(employee, 1, "L")
