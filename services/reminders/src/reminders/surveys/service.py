"""Survey nudges: plan them when a survey opens, cancel a person's when they answer, cancel
everyone's when it closes. Each handler is repeatable (nudge ids are deterministic, answers and
closings are upserts), so a redelivered event changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from reminders.broadcasts.roster import Roster
from reminders.schedule.domain import Plan
from reminders.schedule.repository import ReminderRepository
from reminders.surveys import domain
from reminders.surveys.repository import SurveyRepository
from roundtable_shared.clock import Clock
from roundtable_shared.events.catalogue.enrollment import (
    EmployeeErased,
    SurveyAnswered,
    SurveyClosed,
    SurveyOpened,
)
from roundtable_shared.events.envelope import Envelope, EventData
from roundtable_shared.storage.mongo import IDS_PER_READ, in_bulks


class SurveyNudges:
    def __init__(
        self,
        surveys: SurveyRepository,
        roster: Roster,
        reminders: ReminderRepository,
        *,
        store: Callable[[list[Plan]], Awaitable[None]],
        clock: Clock,
    ) -> None:
        self.surveys = surveys
        self.roster = roster
        self.reminders = reminders
        self.store = store
        """The schedule's own planning (``ScheduleService.store``): stale plans dropped, a
        paused participant's held."""
        self.clock = clock

    async def opened(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, SurveyOpened)
        survey = domain.OpenSurvey(
            data.survey_id,
            data.program_id,
            data.kind,
            data.group_id,
            data.opened_at,
            data.closes_at,
        )
        doc = await self.surveys.get(survey.survey_id)
        if doc is None or "asked_ids" not in doc:
            roster = await self.roster.of_program(survey.program_id, self.clock())
            members = await self.roster.group_members(survey.group_id) if survey.group_id else []
            asked = domain.asked(survey, roster, members)
            doc = await self.surveys.record_opening(survey, asked)
        if doc.get("closed") or doc.get("planned"):
            return
        answered = await self.surveys.answered_by(survey.survey_id)
        owing = [e for e in doc["asked_ids"] if e not in answered]
        await self.store(domain.plans(survey, owing, self.clock()))
        await self.surveys.mark_planned(survey.survey_id)
        # An answer applied while these were planned (another aggregate, applied side by side)
        # cancelled nothing yet: cancel the nudges of whoever answered meanwhile.
        late = await self.surveys.answered_by(survey.survey_id) - answered
        await self._cancel(survey.survey_id, late, "survey_answered")

    async def answered(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, SurveyAnswered)
        await self.surveys.record_answer(data.response_id, data.survey_id, data.employee_id)
        await self._cancel(data.survey_id, [data.employee_id], "survey_answered")

    async def closed(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, SurveyClosed)
        doc = await self.surveys.close(data.survey_id, data.program_id)
        await self._cancel(data.survey_id, doc.get("asked_ids") or [], "survey_closed")

    async def erased(self, envelope: Envelope, data: EventData) -> None:
        """After the service's own erasure (which cancels the person's reminders): forget which
        surveys asked them and which they answered."""
        assert isinstance(data, EmployeeErased)
        await self.surveys.forget(data.employee_id)

    async def _cancel(self, survey_id: str, employee_ids: Iterable[str], reason: str) -> None:
        ids = domain.nudge_ids(survey_id, sorted(employee_ids))
        for part in in_bulks(ids, IDS_PER_READ):
            await self.reminders.cancel({"_id": {"$in": list(part)}}, reason)
