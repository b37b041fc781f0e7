"""Breakdowns of a program's participants by department, level or location: JSON and CSV."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from reporting.breakdowns.schemas import BreakdownOut, CellOut
from reporting.breakdowns.service import Dimension, breakdown
from reporting.dependencies import Reads, Viewer
from reporting.exports.domain import to_csv
from reporting.exports.responses import csv_openapi, csv_response
from reporting.kpis.endpoints import ProgramId

_DESCRIPTION = (
    "Counts per attribute value, only for participants who consented to reporting (the rest "
    "count as '(not reported)'). A value held by fewer than k people is not named: its people "
    "are pooled into '(other)', shown from k people on. Every count is rounded to the nearest "
    "multiple of k, so no count, and no difference of two counts, is ever 1 to k-1 "
    "(docs/disclosure.md)."
)
_EXAMPLE = {
    "program_id": "prg_2026_leadforward",
    "dimension": "department",
    "k": 5,
    "cells": [
        {
            "value": "Finance",
            "participants": 10,
            "active": 10,
            "matched": 10,
            "first_session": 10,
            "three_sessions": 5,
        },
        {
            "value": "(other)",
            "participants": 10,
            "active": 10,
            "matched": 5,
            "first_session": 5,
            "three_sessions": 5,
        },
    ],
}
COLUMNS = ["dimension", *CellOut.model_fields]


def breakdowns_router(reads: Reads) -> APIRouter:
    router = APIRouter(prefix="/v1/programs/{program_id}/breakdowns", tags=["breakdowns"])

    @router.get(
        "/{dimension}.csv",
        summary="A privacy-safe breakdown as CSV",
        description=_DESCRIPTION,
        response_class=Response,
        responses=csv_openapi(",".join(COLUMNS) + "\r\ndepartment,Finance,10,10,10,10,5\r\n"),
    )
    async def breakdown_csv(
        program_id: ProgramId, dimension: Dimension, viewer: Viewer
    ) -> Response:
        models = await reads.models()
        rule = reads.disclosure()
        out = BreakdownOut.of(
            program_id, await breakdown(models, viewer, program_id, dimension, rule)
        )
        rows = [{"dimension": out.dimension, **c.model_dump(mode="json")} for c in out.cells]
        return csv_response(to_csv(rows, COLUMNS), f"{program_id}-{dimension}.csv")

    @router.get(
        "/{dimension}",
        summary="A privacy-safe breakdown of the program's participants",
        description=_DESCRIPTION,
        responses={200: {"content": {"application/json": {"example": _EXAMPLE}}}},
    )
    async def get_breakdown(
        program_id: ProgramId, dimension: Dimension, viewer: Viewer
    ) -> BreakdownOut:
        models = await reads.models()
        rule = reads.disclosure()
        return BreakdownOut.of(
            program_id, await breakdown(models, viewer, program_id, dimension, rule)
        )

    return router
