"""Bounded numbers: the ranges every integer of a request or an event is held to.

A number nobody bounds reaches the database (BSON stores at most a signed 64-bit integer: above it
PyMongo raises ``OverflowError``, a 500) or date arithmetic (``timedelta(minutes=10**12)``
overflows), and an absurd but storable one (a reminder a million days ahead) is kept as if it
meant something. So each integer a caller or a producer sends is one of these types, with a range
that fits what it measures; the schema (OpenAPI, AsyncAPI) shows the range and a value outside it
is a 422 or a dead letter. Lists carry a ``max_length`` where they are declared.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

INT64_MAX = 2**63 - 1
"""The largest integer BSON (so MongoDB and FerretDB) stores."""

MAX_LEAD_DAYS = 30
"""How far ahead of a session or a due date a reminder may go out."""

MAX_REMINDER_OFFSETS = 10
"""How many reminders one session or one action step may get."""

MAX_SPONSORS = 100
"""How many sponsors one program may have."""

MAX_SEATS = 1_000_000
"""More seats than any company has employees."""

Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
"""How many of something: storable, never negative."""

Version = Annotated[int, Field(ge=1, le=INT64_MAX)]
"""An aggregate's version (grows by one per change)."""

Attempts = Annotated[int, Field(ge=1, le=1_000)]
"""Delivery attempts of one message."""

Seats = Annotated[int, Field(gt=0, le=MAX_SEATS)]
"""A program's capacity."""

QueuePosition = Annotated[int, Field(ge=1, le=MAX_SEATS * 10)]
"""A place on a waitlist; 1 is next in line."""

SessionMinutes = Annotated[int, Field(gt=0, le=480)]
"""How long one coaching session lasts: up to a working day."""

TenureDays = Annotated[int, Field(ge=0, le=36_500)]
"""Days since hire: up to a hundred years."""

MinutesBefore = Annotated[int, Field(gt=0, le=MAX_LEAD_DAYS * 24 * 60)]
"""How many minutes before a session a reminder goes out."""

HoursBefore = Annotated[int, Field(gt=0, le=MAX_LEAD_DAYS * 24)]
"""How many hours before a due date a reminder goes out."""

DaysAfter = Annotated[int, Field(ge=0, le=60)]
"""How many days after a date a follow-up goes out (0: on the day)."""
