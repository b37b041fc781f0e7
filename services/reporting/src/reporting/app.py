"""The reporting service's process: its runtime (database, NATS, consumers) and HTTP API."""

from __future__ import annotations

from fastapi import FastAPI

from reporting.breakdowns.endpoints import router as breakdowns_router
from reporting.dashboard.endpoints import router as dashboard_router
from reporting.dashboard.endpoints import static as dashboard_static
from reporting.kpis.endpoints import router as kpis_router
from reporting.programs.endpoints import router as programs_router
from reporting.projections.consumers import projection_consumers
from reporting.projections.generations import FIRST, Generations
from reporting.projections.lease import LeaseTerms
from reporting.projections.readmodel import generation_indexes
from reporting.projections.writer import ProjectionWriter
from reporting.rebuilds.endpoints import router as rebuilds_router
from reporting.rebuilds.service import Rebuilds
from reporting.settings import ReportingSettings
from roundtable_shared.clock import Clock, utc_now
from roundtable_shared.http.app import create_app
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings


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
    generations = Generations(runtime.db)
    # Every process serves the API; only the holder of the writer lease applies events.
    writer = ProjectionWriter(generations, LeaseTerms(settings.writer_lease_seconds))
    for consumer in projection_consumers(
        generations.current,
        max_deliver=settings.consumer_max_deliver,
        writer=writer,
    ):
        runtime.add_consumer(consumer)
    runtime.add_background(writer.run)
    rebuilds = Rebuilds(
        generations,
        lambda: runtime.broker.connection.jetstream(),
        settings.namespace,
        runtime.keys,
        is_writer=writer.gate.is_set,
    )
    runtime.add_background(rebuilds.cancel_on_stop)
    app = create_app(
        runtime,
        title="Roundtable reporting",
        description="Sponsor KPIs built from events: summaries, time series, funnel, "
        "privacy-safe breakdowns, CSV export, dashboard.",
        routers=[
            programs_router,
            kpis_router,
            breakdowns_router,
            dashboard_router,
            rebuilds_router,
        ],
    )
    app.mount("/dashboard/static", dashboard_static, name="dashboard-static")
    app.state.settings = settings
    app.state.clock = clock
    app.state.generations = generations
    app.state.rebuilds = rebuilds
    app.state.writer = writer
    return app
