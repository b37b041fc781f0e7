"""SCIM 2.0 routes (``/scim/v2``, RFC 7644) and the admin API of IdP connections.

Every answer under ``/scim/v2`` is ``application/scim+json``, errors included (the SCIM error
schema with its ``scimType``), whatever raised them: the route class translates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    InvalidSyntaxException,
    ListResponse,
    NotFoundException,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
)

from enrollment.directory.domain import Employee
from enrollment.scim import domain
from enrollment.scim.models import (
    MAX_COUNT,
    POLICY,
    SCIM_JSON,
    EnterpriseUser,
    RoundtableUser,
    ScimUser,
    service_provider_config,
    user_resource_type,
)
from enrollment.scim.schemas import (
    ConnectionCreate,
    ConnectionView,
    IssuedConnection,
    RotationRequest,
    connection_view,
)
from enrollment.scim.service import ConnectionService, ScimUserService, parse_patch, parse_user
from roundtable_shared.auth import DirectoryAdmin, bearer_token
from roundtable_shared.http.problems import Problem

SCIM_PREFIX = "/scim/v2"
DOCUMENTATION = "https://roundtable.example/docs/scim"
_VERSION = re.compile(r'^(?:W/)?"(\d+)"$')
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def scim_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type=SCIM_JSON,
        headers=headers,
    )


def error_response(status: int, detail: str, scim_type: str | None = None) -> Response:
    error = Error(status=status, scim_type=scim_type, detail=detail)
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if status == 401 else None
    return scim_response(error.model_dump(scim_ctx=Context.DEFAULT), status, headers)


def _as_error(exc: Exception) -> Response:
    if isinstance(exc, SCIMException):
        return error_response(exc.status, exc.detail, exc.scim_type or None)
    if isinstance(exc, Problem):
        scim_type = "uniqueness" if exc.status == 409 else None
        return error_response(exc.status, exc.detail, scim_type)
    if isinstance(exc, ValidationError | RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {}
        scim_type = (first.get("ctx") or {}).get("scim_type") or "invalidValue"
        status = int((first.get("ctx") or {}).get("status") or 400)
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = first.get("msg", "invalid input")
        return error_response(status, f"{where}: {message}" if where else message, scim_type)
    raise exc


def _scim_route(connections: ConnectionService) -> type[APIRoute]:
    """Routes that turn whatever they raise into the SCIM error schema, and count each request
    against the connection that made it (its last sync and error counts)."""

    class ScimRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def scim_handler(request: Request) -> Response:
                try:
                    response = await handler(request)
                except (SCIMException, Problem, ValidationError, RequestValidationError) as exc:
                    response = _as_error(exc)
                connection = getattr(request.state, "scim_connection", None)
                if connection is not None:
                    await connections.record(
                        connection,
                        ok=response.status_code < 400,
                        wrote=request.method in _WRITES,
                    )
                return response

            return scim_handler

    return ScimRoute


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    match = _VERSION.match(if_match.strip())
    if match is None:
        raise InvalidSyntaxException(detail='If-Match must be an ETag such as W/"3"')
    return int(match.group(1))


async def _json_body(request: Request) -> Any:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in (SCIM_JSON, "application/json"):
        raise InvalidSyntaxException(detail="send application/scim+json")
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidSyntaxException(detail="the body is not JSON") from exc


def _user_body(
    employee: Employee,
    version: int,
    request: Request,
    parameters: ResponseParameters[ScimUser] | None = None,
) -> dict[str, Any]:
    location = _location(request, employee.employee_id)
    if parameters is None:  # every attribute: the common case, without building the model
        return domain.user_json(employee, version, location)
    user = domain.to_user(employee, version, location)
    with POLICY:
        return user.model_dump(
            scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=parameters
        )


def _location(request: Request, employee_id: str) -> str:
    return f"{str(request.base_url).rstrip('/')}{SCIM_PREFIX}/Users/{employee_id}"


def _user_response(
    employee: Employee, version: int, request: Request, status: int = 200
) -> Response:
    headers = {"ETag": domain.version_tag(version)}
    if status == 201:
        headers["Location"] = _location(request, employee.employee_id)
    return scim_response(_user_body(employee, version, request), status, headers)


def _parameters(
    attributes: str | None, excluded_attributes: str | None
) -> ResponseParameters[ScimUser] | None:
    if not attributes and not excluded_attributes:
        return None
    with POLICY:
        return ResponseParameters[ScimUser].model_validate(
            {"attributes": attributes, "excludedAttributes": excluded_attributes}
        )


_SCIM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            SCIM_JSON: {"schema": {"$ref": "#/components/schemas/ScimUser"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/ScimUser"}},
        },
    }
}
_SCIM_USER_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The User",
        "content": {SCIM_JSON: {"schema": {"$ref": "#/components/schemas/ScimUser"}}},
    },
    "4XX": {
        "description": "A SCIM error (RFC 7644 §3.12), with its scimType",
        "content": {SCIM_JSON: {"schema": {"$ref": "#/components/schemas/ScimError"}}},
    },
}


def _authenticator(connections: ConnectionService) -> Callable[[Request], Awaitable[str]]:
    async def scim_connection(request: Request) -> str:
        """The IdP connection whose bearer token the request carries (a SCIM 401 otherwise)."""
        try:
            token = bearer_token(request.headers.get("Authorization"))
            connection_id = await connections.authenticate(token)
        except Problem as exc:
            raise SCIMUnauthorized(detail=exc.detail) from exc
        request.state.scim_connection = connection_id
        return connection_id

    return scim_connection


def scim_router(users: ScimUserService, connections: ConnectionService) -> APIRouter:
    router = APIRouter(prefix=SCIM_PREFIX, tags=["scim"], route_class=_scim_route(connections))
    authenticated = Depends(_authenticator(connections))

    @router.get(
        "/ServiceProviderConfig",
        summary="What this SCIM service provider supports",
        response_class=Response,
    )
    async def get_service_provider_config() -> Response:
        return scim_response(
            service_provider_config(DOCUMENTATION).model_dump(
                scim_ctx=Context.RESOURCE_QUERY_RESPONSE
            )
        )

    @router.get("/ResourceTypes", summary="The resource types: User", response_class=Response)
    async def list_resource_types() -> Response:
        types = [user_resource_type()]
        answer = ListResponse[ResourceType](
            total_results=len(types), start_index=1, items_per_page=len(types), resources=types
        )
        return scim_response(answer.model_dump(scim_ctx=Context.SEARCH_RESPONSE))

    @router.get("/ResourceTypes/{name}", summary="One resource type", response_class=Response)
    async def get_resource_type(name: str) -> Response:
        if name != "User":
            raise NotFoundException(detail=f"no resource type {name}")
        return scim_response(
            user_resource_type().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        )

    @router.get("/Schemas", summary="The schemas of a User", response_class=Response)
    async def list_schemas() -> Response:
        schemas = _schemas()
        answer = ListResponse[Schema](
            total_results=len(schemas),
            start_index=1,
            items_per_page=len(schemas),
            resources=schemas,
        )
        return scim_response(answer.model_dump(scim_ctx=Context.SEARCH_RESPONSE))

    @router.get("/Schemas/{schema_id}", summary="One schema", response_class=Response)
    async def get_schema(schema_id: str) -> Response:
        for schema in _schemas():
            if schema.id == schema_id:
                return scim_response(schema.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
        raise NotFoundException(detail=f"no schema {schema_id}")

    @router.get(
        "/Users",
        summary="List or search Users (filter, startIndex, count, attributes)",
        description="`filter` supports `eq`, `ne`, `co`, `sw`, `ew`, `pr`, `and`, `or`, `not` on "
        '`userName`, `externalId`, `emails.value` (and `emails[value eq "..."]`), `active`, '
        "`id`, `displayName`, `title`, `employeeNumber`, `department`.",
        response_class=Response,
        responses={
            200: {"description": "A ListResponse", "content": {SCIM_JSON: {}}},
            "4XX": _SCIM_USER_ANSWER["4XX"],
        },
    )
    async def list_users(
        request: Request,
        _connection: str = authenticated,
        filter: Annotated[
            str | None, Query(max_length=2000, examples=['userName eq "ada@example.com"'])
        ] = None,
        start_index: Annotated[int, Query(alias="startIndex")] = 1,
        count: Annotated[int, Query()] = 100,
        attributes: Annotated[str | None, Query(max_length=2000)] = None,
        excluded_attributes: Annotated[
            str | None, Query(alias="excludedAttributes", max_length=2000)
        ] = None,
    ) -> Response:
        parameters = _parameters(attributes, excluded_attributes)
        wanted = min(max(count, 0), MAX_COUNT)
        listed = await users.list(filter, start_index, wanted)
        resources = [
            _user_body(employee, version, request, parameters) for employee, version in listed.users
        ]
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": listed.total,
            "startIndex": listed.start_index,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
        return scim_response(body)

    @router.post(
        "/Users",
        summary="Provision a User (links the HR employee with its employeeNumber or email)",
        status_code=201,
        response_class=Response,
        openapi_extra=_SCIM_BODY,
        responses={201: _SCIM_USER_ANSWER[200], "4XX": _SCIM_USER_ANSWER["4XX"]},
    )
    async def create_user(request: Request, connection_id: str = authenticated) -> Response:
        user = parse_user(await _json_body(request), Context.RESOURCE_CREATION_REQUEST)
        employee, version = await users.create(user, connection_id)
        return _user_response(employee, version, request, 201)

    @router.get(
        "/Users/{user_id}",
        summary="One User",
        response_class=Response,
        responses=_SCIM_USER_ANSWER,
    )
    async def get_user(
        user_id: str,
        request: Request,
        _connection: str = authenticated,
        attributes: Annotated[str | None, Query(max_length=2000)] = None,
        excluded_attributes: Annotated[
            str | None, Query(alias="excludedAttributes", max_length=2000)
        ] = None,
    ) -> Response:
        parameters = _parameters(attributes, excluded_attributes)
        employee, version = await users.get(user_id)
        body = _user_body(employee, version, request, parameters)
        return scim_response(body, headers={"ETag": domain.version_tag(version)})

    @router.put(
        "/Users/{user_id}",
        summary="Replace a User (the attributes it states; HR's other fields stay)",
        response_class=Response,
        openapi_extra=_SCIM_BODY,
        responses=_SCIM_USER_ANSWER,
    )
    async def replace_user(
        user_id: str, request: Request, connection_id: str = authenticated
    ) -> Response:
        if_match = _expected_version(request.headers.get("If-Match"))
        user = parse_user(await _json_body(request), Context.RESOURCE_REPLACEMENT_REQUEST)
        employee, version = await users.replace(user_id, user, connection_id, if_match)
        return _user_response(employee, version, request)

    @router.patch(
        "/Users/{user_id}",
        summary="Change a User: add, replace, remove (Okta and Entra ID forms)",
        response_class=Response,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    SCIM_JSON: {
                        "schema": {"type": "object"},
                        "example": {
                            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                            "Operations": [
                                {"op": "Replace", "path": "active", "value": "False"},
                                {
                                    "op": "Replace",
                                    "path": 'emails[type eq "work"].value',
                                    "value": "ada@example.com",
                                },
                            ],
                        },
                    }
                },
            }
        },
        responses=_SCIM_USER_ANSWER,
    )
    async def patch_user(
        user_id: str, request: Request, connection_id: str = authenticated
    ) -> Response:
        if_match = _expected_version(request.headers.get("If-Match"))
        patch = parse_patch(await _json_body(request))
        employee, version = await users.patch(user_id, patch, connection_id, if_match)
        return _user_response(employee, version, request)

    @router.delete(
        "/Users/{user_id}",
        summary="Deprovision a User: the employee is offboarded, as by an HR termination",
        status_code=204,
        response_class=Response,
        responses={"4XX": _SCIM_USER_ANSWER["4XX"]},
    )
    async def delete_user(
        user_id: str, request: Request, connection_id: str = authenticated
    ) -> Response:
        if_match = _expected_version(request.headers.get("If-Match"))
        await users.delete(user_id, connection_id, if_match)
        return Response(status_code=204)

    @router.api_route(
        "/Groups{rest:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    async def groups(rest: str, _connection: str = authenticated) -> Response:
        # Eligibility reads department, level and location; IdP groups are not kept (see the
        # SCIM page of the docs): say so in SCIM's words rather than with a bare 404 page.
        raise NotFoundException(detail="this service provider has no Groups; provision Users only")

    return router


class SCIMUnauthorized(SCIMException):
    status = 401
    scim_type = ""
    _default_detail = "Authorization failure"


def _schemas() -> list[Schema]:
    return [ScimUser.to_schema(), EnterpriseUser.to_schema(), RoundtableUser.to_schema()]


def connections_router(connections: ConnectionService) -> APIRouter:
    router = APIRouter(prefix="/v1/scim/connections", tags=["scim connections"])

    @router.post(
        "",
        status_code=201,
        summary="Connect an identity provider: a SCIM connection and its bearer token (shown once)",
    )
    async def create_connection(
        body: ConnectionCreate, request: Request, admin: DirectoryAdmin
    ) -> IssuedConnection:
        issued = await connections.create(body.name, admin.employee_id)
        return IssuedConnection(
            connection=connection_view(issued.connection, connections.now()),
            token=issued.token,
            scim_base_url=_base_url(request),
        )

    @router.get("", summary="The IdP connections, with their last sync and error counts")
    async def list_connections(_admin: DirectoryAdmin) -> list[ConnectionView]:
        return [
            connection_view(document, connections.now()) for document in await connections.list()
        ]

    @router.get("/{connection_id}", summary="One IdP connection")
    async def get_connection(connection_id: str, _admin: DirectoryAdmin) -> ConnectionView:
        return connection_view(await connections.get(connection_id), connections.now())

    @router.post(
        "/{connection_id}/rotations",
        status_code=201,
        summary="A new token; the previous ones keep working for the overlap, then stop",
    )
    async def rotate_token(
        connection_id: str, body: RotationRequest, request: Request, _admin: DirectoryAdmin
    ) -> IssuedConnection:
        issued = await connections.rotate(connection_id, timedelta(hours=body.overlap_hours))
        return IssuedConnection(
            connection=connection_view(issued.connection, connections.now()),
            token=issued.token,
            scim_base_url=_base_url(request),
        )

    @router.post(
        "/{connection_id}/revocation",
        summary="Revoke the connection: every token of it stops at once",
    )
    async def revoke_connection(connection_id: str, _admin: DirectoryAdmin) -> ConnectionView:
        return connection_view(await connections.revoke(connection_id), connections.now())

    return router


def _base_url(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}{SCIM_PREFIX}"
