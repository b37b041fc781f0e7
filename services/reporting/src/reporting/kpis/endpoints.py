"""Summary, weekly time series and funnel of a program: JSON, and CSV for BI tools."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from reporting.dependencies import Reads, Viewer
from reporting.exports.domain import flatten, to_csv
from reporting.exports.responses import csv_openapi, csv_response
from reporting.kpis import domain, service

ProgramId = Annotated[str, Path(min_length=1, max_length=128, examples=["prg_2026_leadforward"])]
FromWeek = Annotated[
    str | None,
    Query(alias="from", description="First ISO week, e.g. 2026-W01.", examples=["2026-W01"]),
]
ToWeek = Annotated[
    str | None,
    Query(alias="to", description="Last ISO week, e.g. 2026-W26.", examples=["2026-W26"]),
]

# Examples as a sponsor sees them: every count a multiple of k = 5 (docs/disclosure.md).
SUMMARY_EXAMPLE: dict[str, Any] = {
    "program_id": "prg_2026_leadforward",
    "participants": {
        "enrolled": 120,
        "active": 110,
        "withdrawn": 10,
        "withdrawn_by_reason": {"self": 5, "terminated": 0, "admin": 0, "erased": 0},
        "waitlisted": 5,
        "retention": 0.9167,
    },
    "groups": {"formed": 20, "dissolved": 0, "active": 20, "engaged": 20, "engaged_share": 1.0},
    "sessions": {"scheduled": 140, "held": 120, "cancelled": 10, "attendance_rate": 0.9},
    "actions": {
        "committed": 300,
        "completed": 210,
        "dropped": 15,
        "open": 75,
        "overdue": 10,
        "completion_rate": 0.7,
        "median_days_to_complete": 9.0,
    },
    "feedback": {"ratings": 260, "average_rating": 4.3, "average_recommend_score": 8.6},
    "reminders": {"sent": 900, "failed": 5, "failure_rate": 0.0055},
}
WEEK_EXAMPLE: dict[str, Any] = {
    "week": "2026-W05",
    "enrolled": 15,
    "withdrawn": 0,
    "active": 95,
    "waitlisted": 5,
    "retention": 0.95,
    "groups_formed": 0,
    "groups_met": 15,
    "sessions_scheduled": 20,
    "sessions_held": 15,
    "sessions_cancelled": 0,
    "attendance_rate": 0.9,
    "actions_committed": 40,
    "actions_completed": 30,
    "actions_dropped": 0,
    "completion_rate": 0.7,
    "median_days_to_complete": 8.5,
    "average_rating": 4.4,
    "reminders_sent": 120,
    "reminders_failed": 0,
}
FUNNEL_EXAMPLE: dict[str, Any] = {
    "program_id": "prg_2026_leadforward",
    "stages": [
        {"stage": "enrolled", "people": 120, "share_of_enrolled": 1.0, "share_of_previous": None},
        {
            "stage": "matched",
            "people": 110,
            "share_of_enrolled": 0.9167,
            "share_of_previous": 0.9167,
        },
        {
            "stage": "first_session",
            "people": 105,
            "share_of_enrolled": 0.875,
            "share_of_previous": 0.9545,
        },
        {
            "stage": "three_sessions",
            "people": 80,
            "share_of_enrolled": 0.6667,
            "share_of_previous": 0.7619,
        },
        {
            "stage": "completed",
            "people": 60,
            "share_of_enrolled": 0.5,
            "share_of_previous": 0.75,
        },
    ],
}
_RELEASED = (
    " Every count is rounded to the nearest multiple of k (default 5), rates are worked out "
    "from those, and averages and medians cover only weeks that ended at least 7 days ago with "
    "k or more people taking part (docs/disclosure.md)."
)
WEEK_COLUMNS = list(domain.WeekPoint.model_fields)


def kpis_router(reads: Reads) -> APIRouter:
    router = APIRouter(prefix="/v1/programs/{program_id}", tags=["kpis"])

    @router.get(
        "/summary.csv",
        summary="The program's KPIs as CSV (one row)",
        response_class=Response,
        responses=csv_openapi(
            "program_id,participants.enrolled,...\r\nprg_2026_leadforward,120,...\r\n"
        ),
    )
    async def summary_csv(program_id: ProgramId, viewer: Viewer) -> Response:
        models = await reads.models()
        rule = reads.disclosure()
        result = await service.summary(models, viewer, program_id, rule)
        return csv_response(to_csv([flatten(result)]), f"{program_id}-summary.csv")

    @router.get(
        "/summary",
        summary="The program's KPIs to date",
        description="The program's figures to date." + _RELEASED,
        responses={200: {"content": {"application/json": {"example": SUMMARY_EXAMPLE}}}},
    )
    async def get_summary(program_id: ProgramId, viewer: Viewer) -> domain.Summary:
        models = await reads.models()
        rule = reads.disclosure()
        return await service.summary(models, viewer, program_id, rule)

    @router.get(
        "/timeseries.csv",
        summary="The program's KPIs per ISO week as CSV",
        response_class=Response,
        responses=csv_openapi(",".join(WEEK_COLUMNS) + "\r\n"),
    )
    async def time_series_csv(
        program_id: ProgramId,
        viewer: Viewer,
        first: FromWeek = None,
        last: ToWeek = None,
    ) -> Response:
        models = await reads.models()
        rule = reads.disclosure()
        points = await service.time_series(models, viewer, program_id, first, last, rule)
        return csv_response(
            to_csv([p.model_dump(mode="json") for p in points], WEEK_COLUMNS),
            f"{program_id}-timeseries.csv",
        )

    @router.get(
        "/timeseries",
        summary="The program's KPIs per ISO week",
        description="One point per week from `from` to `to` (default: from the first week with "
        "data to the current week); weeks without events are zeros. Weeks are ISO weeks in UTC."
        + _RELEASED,
        responses={200: {"content": {"application/json": {"example": [WEEK_EXAMPLE]}}}},
    )
    async def get_time_series(
        program_id: ProgramId,
        viewer: Viewer,
        first: FromWeek = None,
        last: ToWeek = None,
    ) -> list[domain.WeekPoint]:
        models = await reads.models()
        rule = reads.disclosure()
        return await service.time_series(models, viewer, program_id, first, last, rule)

    @router.get(
        "/funnel.csv",
        summary="The participant funnel as CSV",
        response_class=Response,
        responses=csv_openapi(
            "stage,people,share_of_enrolled,share_of_previous\r\nenrolled,120,1.0,\r\n"
        ),
    )
    async def funnel_csv(program_id: ProgramId, viewer: Viewer) -> Response:
        models = await reads.models()
        rule = reads.disclosure()
        result = await service.funnel(models, viewer, program_id, rule)
        rows = [stage.model_dump(mode="json") for stage in result.stages]
        return csv_response(
            to_csv(rows, list(domain.FunnelStage.model_fields)), f"{program_id}-funnel.csv"
        )

    @router.get(
        "/funnel",
        summary="The participant funnel",
        description="enrolled -> matched -> first session -> three or more sessions -> completed "
        "(still in the program when it closed, with three sessions or more)." + _RELEASED,
        responses={200: {"content": {"application/json": {"example": FUNNEL_EXAMPLE}}}},
    )
    async def get_funnel(program_id: ProgramId, viewer: Viewer) -> domain.Funnel:
        models = await reads.models()
        rule = reads.disclosure()
        return await service.funnel(models, viewer, program_id, rule)

    return router
