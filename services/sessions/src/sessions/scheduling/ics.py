"""iCalendar (RFC 5545) for sessions: one session's .ics, and an employee's feed of sessions.

Only the schedule goes into a calendar (title, time, place, link, status): calendars live at
third parties, so nothing said in a session, and not the agenda, is ever written into one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from sessions.scheduling.domain import Session, SessionStatus

PRODID = "-//Roundtable//Sessions//EN"


def _event(session: Session, now: datetime) -> Event:
    tz = ZoneInfo(session.time_zone)
    event = Event()
    event.add("uid", f"{session.id}@sessions.roundtable")
    event.add("dtstamp", now)
    event.add("dtstart", session.starts_at.astimezone(tz))
    event.add("dtend", session.ends_at.astimezone(tz))
    event.add("summary", session.title)
    event.add("sequence", session.version)
    if session.location:
        event.add("location", session.location)
    if session.join_url:
        event.add("url", session.join_url)
    cancelled = session.status is SessionStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def calendar(sessions: Iterable[Session], now: datetime, name: str | None = None) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if name:
        cal.add("x-wr-calname", name)
    for session in sessions:
        cal.add_component(_event(session, now))
    cal.add_missing_timezones()
    body: bytes = cal.to_ical()
    return body
