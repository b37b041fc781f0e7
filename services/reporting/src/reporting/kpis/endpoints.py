"""Summary, weekly time series and funnel of a program: JSON, and CSV for BI tools."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from reporting.dependencies import Models, Now, Viewer
from reporting.exports.domain import flatten, to_csv
from reporting.exports.responses import csv_openapi, csv_response
from reporting.kpis import domain, service

router = APIRouter(prefix="/v1/programs/{program_id}", tags=["kpis"])

ProgramId = Annotated[str, Path(min_length=1, max_length=128, examples=["prg_2026_leadforward"])]
FromWeek = Annotated[
    str | None,
    Query(alias="from", description="First ISO week, e.g. 2026-W01.", examples=["2026-W01"]),
]
ToWeek = Annotated[
    str | None,
    Query(alias="to", description="Last ISO week, e.g. 2026-W26.", examples=["2026-W26"]),
]

SUMMARY_EXAMPLE: dict[str, Any] = {
    "program_id": "prg_2026_leadforward",
    "participants": {
        "enrolled": 120,
        "active": 111,
        "withdrawn": 9,
        "withdrawn_by_reason": {"self": 6, "terminated": 2, "admin": 1, "erased": 0},
        "waitlisted": 4,
        "retention": 0.925,
    },
    "groups": {"formed": 22, "dissolved": 1, "active": 21, "engaged": 18, "engaged_share": 0.8571},
    "sessions": {"scheduled": 140, "held": 118, "cancelled": 12, "attendance_rate": 0.91},
    "actions": {
        "committed": 300,
        "completed": 210,
        "dropped": 15,
        "open": 75,
        "overdue": 9,
        "completion_rate": 0.7,
        "median_days_to_complete": 9.0,
    },
    "feedback": {"ratings": 260, "average_rating": 4.3, "average_recommend_score": 8.6},
    "reminders": {"sent": 900, "failed": 7, "failure_rate": 0.0077},
}
WEEK_EXAMPLE: dict[str, Any] = {
    "week": "2026-W05",
    "enrolled": 14,
    "withdrawn": 1,
    "active": 96,
    "waitlisted": 3,
    "retention": 0.94,
    "groups_formed": 2,
    "groups_met": 17,
    "sessions_scheduled": 20,
    "sessions_held": 17,
    "sessions_cancelled": 2,
    "attendance_rate": 0.92,
    "actions_committed": 40,
    "actions_completed": 31,
    "actions_dropped": 2,
    "completion_rate": 0.69,
    "median_days_to_complete": 8.5,
    "average_rating": 4.4,
    "reminders_sent": 120,
    "reminders_failed": 1,
}
FUNNEL_EXAMPLE: dict[str, Any] = {
    "program_id": "prg_2026_leadforward",
    "stages": [
        {"stage": "enrolled", "people": 120, "share_of_enrolled": 1.0, "share_of_previous": None},
        {
            "stage": "matched",
            "people": 112,
            "share_of_enrolled": 0.9333,
            "share_of_previous": 0.9333,
        },
        {
            "stage": "first_session",
            "people": 104,
            "share_of_enrolled": 0.8667,
            "share_of_previous": 0.9286,
        },
        {
            "stage": "three_sessions",
            "people": 80,
            "share_of_enrolled": 0.6667,
            "share_of_previous": 0.7692,
        },
        {
            "stage": "completed",
            "people": 61,
            "share_of_enrolled": 0.5083,
            "share_of_previous": 0.7625,
        },
    ],
}
WEEK_COLUMNS = list(domain.WeekPoint.model_fields)


@router.get(
    "/summary.csv",
    summary="The program's KPIs as CSV (one row)",
    response_class=Response,
    responses=csv_openapi(
        "program_id,participants.enrolled,...\r\nprg_2026_leadforward,120,...\r\n"
    ),
)
async def summary_csv(program_id: ProgramId, viewer: Viewer, models: Models, now: Now) -> Response:
    result = await service.summary(models, viewer, program_id, now)
    return csv_response(to_csv([flatten(result)]), f"{program_id}-summary.csv")


@router.get(
    "/summary",
    summary="The program's KPIs to date",
    responses={200: {"content": {"application/json": {"example": SUMMARY_EXAMPLE}}}},
)
async def get_summary(
    program_id: ProgramId, viewer: Viewer, models: Models, now: Now
) -> domain.Summary:
    return await service.summary(models, viewer, program_id, now)


@router.get(
    "/timeseries.csv",
    summary="The program's KPIs per ISO week as CSV",
    response_class=Response,
    responses=csv_openapi(",".join(WEEK_COLUMNS) + "\r\n"),
)
async def time_series_csv(
    program_id: ProgramId,
    viewer: Viewer,
    models: Models,
    first: FromWeek = None,
    last: ToWeek = None,
) -> Response:
    points = await service.time_series(models, viewer, program_id, first, last)
    return csv_response(
        to_csv([p.model_dump(mode="json") for p in points], WEEK_COLUMNS),
        f"{program_id}-timeseries.csv",
    )


@router.get(
    "/timeseries",
    summary="The program's KPIs per ISO week",
    description="One point per week from `from` to `to` (default: the weeks with data); weeks "
    "without events are zeros. Weeks are ISO weeks in UTC.",
    responses={200: {"content": {"application/json": {"example": [WEEK_EXAMPLE]}}}},
)
async def get_time_series(
    program_id: ProgramId,
    viewer: Viewer,
    models: Models,
    first: FromWeek = None,
    last: ToWeek = None,
) -> list[domain.WeekPoint]:
    return await service.time_series(models, viewer, program_id, first, last)


@router.get(
    "/funnel.csv",
    summary="The participant funnel as CSV",
    response_class=Response,
    responses=csv_openapi(
        "stage,people,share_of_enrolled,share_of_previous\r\nenrolled,120,1.0,\r\n"
    ),
)
async def funnel_csv(program_id: ProgramId, viewer: Viewer, models: Models) -> Response:
    result = await service.funnel(models, viewer, program_id)
    rows = [stage.model_dump(mode="json") for stage in result.stages]
    return csv_response(
        to_csv(rows, list(domain.FunnelStage.model_fields)), f"{program_id}-funnel.csv"
    )


@router.get(
    "/funnel",
    summary="The participant funnel",
    description="enrolled -> matched -> first session -> three or more sessions -> completed "
    "(still in the program when it closed, with three sessions or more).",
    responses={200: {"content": {"application/json": {"example": FUNNEL_EXAMPLE}}}},
)
async def get_funnel(program_id: ProgramId, viewer: Viewer, models: Models) -> domain.Funnel:
    return await service.funnel(models, viewer, program_id)
