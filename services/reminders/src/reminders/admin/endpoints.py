"""Admin API: failed reminders, retrying them, delivery stats per program."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from reminders.admin.schemas import DeliveryStats, ReminderOut
from reminders.schedule.copies import SourceCopies
from reminders.schedule.domain import Status
from reminders.schedule.repository import ReminderRepository
from roundtable_shared.auth.dependencies import ProgramAdmin
from roundtable_shared.clock import Clock
from roundtable_shared.http.pagination import AfterId, Page, PageRequest, page_request
from roundtable_shared.http.problems import Conflict, NotFound

ReminderId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
ProgramId = Annotated[str, Path(min_length=1, max_length=128)]


def admin_router(
    repository: ReminderRepository,
    copies: SourceCopies,
    wake_worker: Callable[[], None],
    clock: Clock,
) -> APIRouter:
    """``wake_worker``: a retried reminder is due now, so the worker looks at once."""
    router = APIRouter(prefix="/v1/admin", tags=["admin"])

    @router.get(
        "/reminders/failed",
        summary="Reminders whose delivery failed for good",
        response_model=Page[ReminderOut],
    )
    async def failed_reminders(
        _: ProgramAdmin,
        page: Annotated[PageRequest, Depends(page_request)],
        program_id: Annotated[str | None, Query(max_length=128)] = None,
    ) -> Page[ReminderOut]:
        position = page.position(AfterId)
        after = position.after if position else None
        query: dict[str, object] = {"status": str(Status.FAILED)}
        if program_id:
            query["program_id"] = program_id
        docs = await repository.find(query, after=after, limit=page.limit + 1)
        items = [ReminderOut.from_document(doc) for doc in docs[: page.limit]]
        more = len(docs) > page.limit
        return Page(
            items=items,
            next_cursor=page.next_cursor(AfterId(after=items[-1].reminder_id)) if more else None,
        )

    @router.post(
        "/reminders/{reminder_id}/retry",
        summary="Send a failed reminder again, from its first attempt",
        response_model=ReminderOut,
        responses={404: {}, 409: {"description": "The reminder has not failed"}},
    )
    async def retry_reminder(_: ProgramAdmin, reminder_id: ReminderId) -> ReminderOut:
        if not await repository.retry(reminder_id, clock()):
            doc = await repository.get(reminder_id)
            if doc is None:
                raise NotFound(f"no reminder {reminder_id}")
            raise Conflict(f"reminder {reminder_id} is {doc['status']}, not failed")
        wake_worker()
        doc = await repository.get(reminder_id)
        assert doc is not None
        return ReminderOut.from_document(doc)

    @router.get(
        "/programs/{program_id}/stats",
        summary="Reminders of a program by delivery status",
        response_model=DeliveryStats,
        responses={404: {"description": "No program of that id is known here"}},
    )
    async def program_stats(_: ProgramAdmin, program_id: ProgramId) -> DeliveryStats:
        counts = await repository.stats(program_id)
        # Reminders can arrive before their program's own event, so either one makes it known.
        if not counts and await copies.copy(f"program:{program_id}") is None:
            raise NotFound(f"no program {program_id}")
        by_status = {str(status): counts.get(str(status), 0) for status in Status}
        return DeliveryStats(program_id=program_id, by_status=by_status)

    return router
