"""The people of a program as breakdowns count them: 0/1 flags and consented attributes only."""

from __future__ import annotations

from typing import Any

from reporting.projections.domain import THREE_SESSIONS
from reporting.projections.readmodel import ReadModels

METRICS = ("participants", "active", "matched", "first_session", "three_sessions")


async def people(models: ReadModels, program_id: str) -> list[dict[str, Any]]:
    cursor = models.persons.find(
        {"program_id": program_id, "enrolled": 1},
        {"attributes": 1, "withdrawn": 1, "matched": 1, "sessions_n": 1},
    )
    out = []
    async for doc in cursor:
        sessions = int(doc.get("sessions_n", 0))
        out.append(
            {
                "attributes": doc.get("attributes"),
                "participants": 1,
                "active": int(not doc.get("withdrawn")),
                "matched": int(bool(doc.get("matched"))),
                "first_session": int(sessions >= 1),
                "three_sessions": int(sessions >= THREE_SESSIONS),
            }
        )
    return out
