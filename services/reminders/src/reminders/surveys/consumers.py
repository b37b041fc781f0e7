"""The survey events the reminders service takes, on its existing enrollment consumer (same
durable name, same NATS permissions)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from reminders.surveys.service import SurveyNudges
from roundtable_shared.messaging.consumer import EventConsumer, joined_handlers

E = "roundtable.enrollment."


def with_survey_nudges(
    consumers: Iterable[EventConsumer], nudges: SurveyNudges
) -> list[EventConsumer]:
    handlers = {
        E + "survey.opened": nudges.opened,
        E + "survey.answered": nudges.answered,
        E + "survey.closed": nudges.closed,
        E + "employee.erased": nudges.erased,  # after the service's own erasure
    }
    return [
        dataclasses.replace(c, handlers=joined_handlers(c.handlers, handlers))
        if c.source_service == "enrollment"
        else c
        for c in consumers
    ]
