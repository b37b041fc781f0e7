"""The HTTP side of CSV exports: a download response with a sensible file name."""

from __future__ import annotations

import re
from typing import Any

from fastapi.responses import Response

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def csv_response(body: str, filename: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return Response(
        body,
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


def csv_openapi(example: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"content": {"text/csv": {"example": example}}, "description": "CSV, one header line"}
    }
