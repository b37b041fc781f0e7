"""The enrollment service's process: wiring only (settings -> runtime -> repositories ->
handlers -> routers and consumers), every part given what it needs by its constructor."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from scim2_models import Error

from enrollment.directory.endpoints import (
    HR_BATCH_PATH,
    directory_router,
    hr_batch_schema,
    hr_event_schema,
)
from enrollment.directory.repository import EMPLOYEES, EmployeeRepository
from enrollment.directory.repository import INDEXES as EMPLOYEE_INDEXES
from enrollment.directory.service import DirectoryService
from enrollment.groups.endpoints import groups_router
from enrollment.groups.repository import GROUPS, GroupRepository
from enrollment.groups.repository import INDEXES as GROUP_INDEXES
from enrollment.groups.service import GroupService
from enrollment.matching.endpoints import matching_router
from enrollment.matching.repository import INDEXES as PROPOSAL_INDEXES
from enrollment.matching.repository import ProposalRepository
from enrollment.matching.service import MatchingService, match_when_enrolment_closes
from enrollment.participants.consumers import directory_cascade, finish_cascades_at_start
from enrollment.participants.endpoints import participants_router
from enrollment.participants.repository import INDEXES as PARTICIPANT_INDEXES
from enrollment.participants.repository import PARTICIPANTS, ParticipantRepository
from enrollment.participants.service import ParticipantService
from enrollment.programs.endpoints import programs_router
from enrollment.programs.repository import INDEXES as PROGRAM_INDEXES
from enrollment.programs.repository import PROGRAMS, ProgramRepository
from enrollment.programs.service import ProgramService
from enrollment.questions.endpoints import questions_router
from enrollment.scim.endpoints import connections_router, scim_router
from enrollment.scim.models import ScimUser
from enrollment.scim.repository import INDEXES as CONNECTION_INDEXES
from enrollment.scim.repository import ConnectionRepository, ScimUsers, UserNameClaims
from enrollment.scim.service import ConnectionService, ScimUserService
from enrollment.settings import EnrollmentSettings
from enrollment.surveys import repository as surveys
from enrollment.surveys.endpoints import surveys_router
from enrollment.surveys.service import SurveyService
from enrollment.templates import repository as templates
from enrollment.templates.endpoints import templates_router
from enrollment.templates.service import TemplateService
from roundtable_shared.clock import Clock, utc_now
from roundtable_shared.http.app import create_app
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings

IMPORT_PATH = "/v1/directory/imports"
HR_BATCH_MAX_BYTES = 4 * 1024 * 1024
"""An HR batch is signed as a whole, so it is held whole: 1,000 events of up to ~4 KiB each."""


@dataclass(frozen=True)
class Services:
    """Every handler of the service, built once, each given what it needs by its constructor."""

    directory: DirectoryService
    programs: ProgramService
    participants: ParticipantService
    matching: MatchingService
    groups: GroupService
    connections: ConnectionService
    scim_users: ScimUserService
    templates: TemplateService
    surveys: SurveyService


def bootstrap(
    runtime: ServiceRuntime, settings: EnrollmentSettings, clock: Clock = utc_now
) -> Services:
    """Repositories on the runtime's stores (each store tells the relay which documents its
    writes filled), then the handlers, in the order they depend on one another."""
    employees = EmployeeRepository(runtime.aggregate_store(EMPLOYEES))
    programs = ProgramRepository(runtime.aggregate_store(PROGRAMS))
    participants = ParticipantRepository(runtime.aggregate_store(PARTICIPANTS))
    groups = GroupRepository(runtime.aggregate_store(GROUPS))
    matching = MatchingService(
        programs, participants, employees, groups, ProposalRepository(runtime.db), clock=clock
    )
    group_service = GroupService(groups, participants, matching, clock=clock)
    survey_service = SurveyService(
        surveys.SurveyRepository(runtime.aggregate_store(surveys.SURVEYS)),
        surveys.ResponseRepository(runtime.aggregate_store(surveys.RESPONSES)),
        programs,
        participants,
        groups,
        clock=clock,
    )
    directory = DirectoryService(
        employees,
        batch_size=settings.import_batch_size,
        relay_paused=runtime.relay.paused,
        clock=clock,
    )
    program_service = ProgramService(
        programs, clock=clock, on_closed=[survey_service.close_for_program]
    )
    return Services(
        directory=directory,
        programs=program_service,
        participants=ParticipantService(
            participants,
            programs,
            employees,
            on_left_group=group_service.on_participant_left,
            on_erased=[
                runtime.keys.shred,  # first: every event naming the person becomes unreadable
                matching.forget_in_previews,
                group_service.forget_member_name,
                survey_service.forget_responses,
            ],
            clock=clock,
            seat_claim_grace=timedelta(seconds=settings.seat_claim_seconds),
        ),
        matching=matching,
        groups=group_service,
        connections=ConnectionService(ConnectionRepository(runtime.db)),
        scim_users=ScimUserService(
            directory,
            ScimUsers(employees.collection),
            UserNameClaims(runtime.db, employees.collection),
        ),
        templates=TemplateService(
            templates.TemplateRepository(runtime.aggregate_store(templates.PROGRAM_TEMPLATES)),
            program_service,
            clock=clock,
        ),
        surveys=survey_service,
    )


def build_app(settings: ServiceSettings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    if not isinstance(settings, EnrollmentSettings):
        settings = EnrollmentSettings(**(settings.model_dump() if settings else {}))
    runtime = ServiceRuntime(
        settings,
        indexes=[
            EMPLOYEE_INDEXES,
            PROGRAM_INDEXES,
            PARTICIPANT_INDEXES,
            GROUP_INDEXES,
            PROPOSAL_INDEXES,
            CONNECTION_INDEXES,
            templates.INDEXES,
            *surveys.INDEXES,
        ],
        outbox_collections=[
            EMPLOYEES,
            PROGRAMS,
            PARTICIPANTS,
            GROUPS,
            templates.PROGRAM_TEMPLATES,
            *surveys.OUTBOXES,
        ],
    )
    services = bootstrap(runtime, settings, clock)
    _run_in_background(runtime, settings, services)
    app = create_app(
        runtime,
        title="Roundtable enrollment",
        description="Employee directory from HR, peer programs and eligibility, enrolments, "
        "matching into peer pairs and roundtables.",
        routers=[
            directory_router(services.directory, settings.hr_webhook_secrets),
            scim_router(services.scim_users, services.connections),
            connections_router(services.connections),
            programs_router(services.programs),
            questions_router(services.programs),
            participants_router(services.participants),
            matching_router(services.matching),
            groups_router(services.groups),
            templates_router(services.templates),
            surveys_router(services.surveys),
        ],
        body_limits={
            IMPORT_PATH: settings.import_max_bytes,  # streamed, never held whole
            HR_BATCH_PATH: HR_BATCH_MAX_BYTES,
        },
    )
    _document_raw_bodies(app)
    return app


def _run_in_background(
    runtime: ServiceRuntime, settings: EnrollmentSettings, services: Services
) -> None:
    """The consumer and the loops the runtime starts and stops with the app."""
    matching, participants, connections = (
        services.matching,
        services.participants,
        services.connections,
    )
    runtime.add_background(
        lambda: match_when_enrolment_closes(matching, settings.auto_match_poll_seconds)
    )
    runtime.add_background(participants.drop_retired_copies)  # once, at start
    if settings.cascade_consumer:
        runtime.add_consumer(
            directory_cascade(participants, max_deliver=settings.consumer_max_deliver)
        )
        runtime.add_background(lambda: finish_cascades_at_start(participants))
    runtime.add_background(lambda: connections.flush_every(1.0))
    runtime.add_background(lambda: services.surveys.close_due_every(settings.survey_close_seconds))
    bootstrap_token = settings.scim_bootstrap_token
    if bootstrap_token is not None:
        token = bootstrap_token.get_secret_value()
        runtime.add_background(lambda: connections.ensure(token, "Embedded stack (make run)"))


def _document_raw_bodies(app: FastAPI) -> None:
    """Routes that read their body themselves still document its schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        hr = hr_event_schema()
        components.update(hr.pop("$defs", {}))
        components["HrEventBody"] = hr
        batch = hr_batch_schema()
        components.update(batch.pop("$defs", {}))
        components["HrEventBatch"] = batch
        # Through JSON: scim2-models keys the extensions by URN objects, not plain strings.
        scim_user = json.loads(
            json.dumps(ScimUser.model_json_schema(ref_template="#/components/schemas/{model}"))
        )
        components.update(scim_user.pop("$defs", {}))
        components["ScimUser"] = scim_user
        components["ScimError"] = Error.model_json_schema()
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
