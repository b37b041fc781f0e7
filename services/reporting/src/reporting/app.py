"""The reporting service's process: wiring only (settings -> runtime -> read models -> projection
writer, rebuilds -> routers and consumers), every part given what it needs by its constructor."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from reporting.breakdowns.endpoints import breakdowns_router
from reporting.dashboard.endpoints import dashboard_router
from reporting.dashboard.endpoints import static as dashboard_static
from reporting.dependencies import Reads
from reporting.kpis.endpoints import kpis_router
from reporting.outcomes.endpoints import outcomes_router
from reporting.programs.endpoints import programs_router
from reporting.projections.consumers import projection_consumers
from reporting.projections.generations import FIRST, Generations
from reporting.projections.lease import LeaseTerms
from reporting.projections.readmodel import generation_indexes
from reporting.projections.writer import ProjectionWriter
from reporting.rebuilds.endpoints import rebuilds_router
from reporting.rebuilds.service import Rebuilds
from reporting.settings import ReportingSettings
from roundtable_shared.clock import Clock, utc_now
from roundtable_shared.http.app import create_app
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings


@dataclass(frozen=True)
class Services:
    """Every part of the service, built once, each given what it needs by its constructor."""

    generations: Generations
    writer: ProjectionWriter
    rebuilds: Rebuilds
    reads: Reads


def bootstrap(
    runtime: ServiceRuntime, settings: ReportingSettings, clock: Clock = utc_now
) -> Services:
    """The read models' generations, the projection writer (only the holder of the writer lease
    applies events; every process serves the API), rebuilds, and what the routes read."""
    generations = Generations(runtime.db)
    writer = ProjectionWriter(generations, LeaseTerms(settings.writer_lease_seconds))
    rebuilds = Rebuilds(
        generations,
        lambda: runtime.broker.connection.jetstream(),
        settings.namespace,
        runtime.keys,
        is_writer=writer.gate.is_set,
    )
    return Services(
        generations=generations,
        writer=writer,
        rebuilds=rebuilds,
        reads=Reads(generations, clock, settings.k_anonymity),
    )


def build_app(given: ServiceSettings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    """The service; ``clock`` is the time its figures are as of (tests fix it)."""
    if given is None:
        settings = ReportingSettings()  # from the environment
    elif isinstance(given, ReportingSettings):
        settings = given
    else:
        settings = ReportingSettings(**given.model_dump())
    # Indexes of the first generation; a rebuild declares those of the generation it fills.
    runtime = ServiceRuntime(settings, indexes=generation_indexes(FIRST))
    services = bootstrap(runtime, settings, clock)
    for consumer in projection_consumers(
        services.generations.current,
        max_deliver=settings.consumer_max_deliver,
        writer=services.writer,
    ):
        runtime.add_consumer(consumer)
    runtime.add_background(services.writer.run)
    runtime.add_background(services.rebuilds.cancel_on_stop)
    reads = services.reads
    app = create_app(
        runtime,
        title="Roundtable reporting",
        description="Sponsor KPIs built from events: summaries, time series, funnel, "
        "privacy-safe breakdowns, CSV export, dashboard.",
        routers=[
            programs_router(reads),
            kpis_router(reads),
            outcomes_router(reads),
            breakdowns_router(reads),
            dashboard_router(
                reads,
                cors_origins=settings.cors_origins,
                cookie_seconds=settings.dashboard_cookie_seconds,
            ),
            rebuilds_router(services.rebuilds),
        ],
    )
    app.mount("/dashboard/static", dashboard_static, name="dashboard-static")
    # For tests and operators' tools in the same process (the routes never read it).
    app.state.services = services
    return app


def services_of(app: FastAPI) -> Services:
    """The parts ``build_app`` built (tests and tools running in the same process)."""
    services = app.state.services
    if not isinstance(services, Services):
        raise TypeError("not an app build_app made")
    return services
