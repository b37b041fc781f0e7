"""SCIM 2.0 resources of this service provider (RFC 7643), built on scim2-models.

A SCIM User is an employee of the directory that the identity provider has linked (it has a
``userName``). Besides the core schema: the enterprise extension (``employeeNumber`` is the HR
employee id, ``department``, ``manager``, ``organization``, ``division``, ``costCenter``) and a
Roundtable extension for what the matching uses and neither schema has (``level``, ``location``).
"""

from __future__ import annotations

from typing import Annotated, Any, Generic

from pydantic import Field, field_validator
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    Email,
    ETag,
    Extension,
    Filter,
    Mutability,
    Patch,
    ResourceType,
    ScimPolicy,
    ServiceProviderConfig,
    Sort,
    User,
)
from scim2_models import Reference as ScimReference
from scim2_models.resources.resource import AnyExtension

SCIM_JSON = "application/scim+json"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ROUNDTABLE_URN = "urn:roundtable:params:scim:schemas:extension:roundtable:2.0:User"
MAX_COUNT = 1000
"""Most users one list answer carries (``filter.maxResults``)."""


class Manager(ComplexAttribute):
    """The enterprise ``manager``: Okta and Entra ID send only its ``value`` (the RFC's required
    ``$ref`` is filled in by this server when it answers)."""

    value: Annotated[str | None, CaseExact.true] = None
    ref: Annotated[ScimReference[Any] | None, Mutability.read_only] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    display_name: Annotated[str | None, Mutability.read_only] = None


class EnterpriseUser(Extension):
    __schema__ = URN(ENTERPRISE_URN)

    employee_number: str | None = None
    cost_center: str | None = None
    organization: str | None = None
    division: str | None = None
    department: str | None = None
    manager: Manager | None = None

    @field_validator("manager", mode="before")
    @classmethod
    def _manager_as_id(cls, value: Any) -> Any:
        # Entra ID's PATCH sets the manager as a bare id string.
        return {"value": value} if isinstance(value, str) else value


class RoundtableUser(Extension):
    """What matching reads that no standard schema carries; map it in the IdP if you have it."""

    __schema__ = URN(ROUNDTABLE_URN)

    level: str | None = None
    location: str | None = None


class DirectoryEmail(Email):
    """An email as the directory checks it (``local@domain``): pydantic's EmailStr refuses the
    special-use domains (``corp.local``) that on-premises directories synced to Entra ID use."""

    value: str | None = None


class DirectoryUser(User[AnyExtension], Generic[AnyExtension]):
    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    emails: list[DirectoryEmail] | None = None  # type: ignore[assignment]


ScimUser = DirectoryUser[EnterpriseUser | RoundtableUser]

POLICY = ScimPolicy(
    # IdPs send attributes this directory does not keep (phoneNumbers, addresses, roles, their
    # own extensions): dropped, not refused, or every provisioning run would fail.
    unknown=ScimPolicy.Unknown.ignore,
    # Entra ID: "remove" with a value naming the entry to remove.
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    # Entra ID: replace emails[type eq "work"].value when no work email exists yet adds it.
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


def service_provider_config(documentation: str) -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=documentation,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_COUNT),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="Bearer token of the IdP connection",
                description="The token shown once when a directory admin creates or rotates "
                "the identity provider's connection: Authorization: Bearer <token>.",
                primary=True,
            )
        ],
    )


def user_resource_type() -> ResourceType:
    resource_type = ResourceType.from_resource(ScimUser)
    resource_type.description = "An employee of the directory, provisioned by the identity provider"
    return resource_type
