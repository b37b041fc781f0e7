"""Breakdowns of a program's participants by department, level or location: JSON and CSV."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from reporting.breakdowns.schemas import BreakdownOut, CellOut
from reporting.breakdowns.service import Dimension, breakdown
from reporting.dependencies import K, Models, Viewer
from reporting.exports.domain import to_csv
from reporting.exports.responses import csv_openapi, csv_response
from reporting.kpis.endpoints import ProgramId

router = APIRouter(prefix="/v1/programs/{program_id}/breakdowns", tags=["breakdowns"])

_DESCRIPTION = (
    "Counts per attribute value, only for participants who consented to reporting (the rest "
    "form the '(not reported)' cell). A cell with fewer than k people is suppressed, and so is "
    "at least one more (complementary suppression), so no hidden cell can be worked out from "
    "the totals; a program with fewer than k people shows no cell at all."
)
_EXAMPLE = {
    "program_id": "prg_2026_leadforward",
    "dimension": "department",
    "k": 5,
    "cells": [
        {
            "value": "Finance",
            "suppressed": False,
            "suppression": None,
            "participants": 12,
            "active": 11,
            "matched": 11,
            "first_session": 10,
            "three_sessions": 7,
        },
        {
            "value": "Legal",
            "suppressed": True,
            "suppression": "below_k",
            "participants": None,
            "active": None,
            "matched": None,
            "first_session": None,
            "three_sessions": None,
        },
        {
            "value": "Sales",
            "suppressed": True,
            "suppression": "complementary",
            "participants": None,
            "active": None,
            "matched": None,
            "first_session": None,
            "three_sessions": None,
        },
    ],
}
COLUMNS = ["dimension", *CellOut.model_fields]


@router.get(
    "/{dimension}.csv",
    summary="A privacy-safe breakdown as CSV",
    description=_DESCRIPTION,
    response_class=Response,
    responses=csv_openapi(",".join(COLUMNS) + "\r\ndepartment,Finance,false,,12,11,11,10,7\r\n"),
)
async def breakdown_csv(
    program_id: ProgramId, dimension: Dimension, viewer: Viewer, models: Models, k: K
) -> Response:
    out = BreakdownOut.of(program_id, await breakdown(models, viewer, program_id, dimension, k))
    rows = [{"dimension": out.dimension, **c.model_dump(mode="json")} for c in out.cells]
    return csv_response(to_csv(rows, COLUMNS), f"{program_id}-{dimension}.csv")


@router.get(
    "/{dimension}",
    summary="A privacy-safe breakdown of the program's participants",
    description=_DESCRIPTION,
    responses={200: {"content": {"application/json": {"example": _EXAMPLE}}}},
)
async def get_breakdown(
    program_id: ProgramId, dimension: Dimension, viewer: Viewer, models: Models, k: K
) -> BreakdownOut:
    return BreakdownOut.of(program_id, await breakdown(models, viewer, program_id, dimension, k))
