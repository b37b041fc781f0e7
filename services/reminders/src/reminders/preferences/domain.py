"""A person's delivery preferences and the pure time rules: quiet hours in their zone, snooze."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from roundtable_shared.events.catalogue.reminders import Channel, ReminderKind


class ChannelName(StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    TEAMS = "teams"

    @property
    def event_channel(self) -> Channel:
        return Channel.EMAIL if self is ChannelName.EMAIL else Channel.CHAT


class QuietHours(BaseModel):
    """Local wall-clock times; ``start`` after ``end`` spans midnight (22:00 to 07:00)."""

    model_config = ConfigDict(frozen=True)

    start: time = Field(examples=["22:00"])
    end: time = Field(examples=["07:00"])

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet hours must start and end at different times")
        if self.start.tzinfo or self.end.tzinfo:
            raise ValueError("quiet hours are local wall-clock times, without an offset")
        return self


class DailyDigest(BaseModel):
    """One message a day instead of single reminders, at a local wall-clock time."""

    model_config = ConfigDict(frozen=True)

    at: time = Field(default=time(8, 0), examples=["08:00"])

    @model_validator(mode="after")
    def _wall_clock(self) -> DailyDigest:
        if self.at.tzinfo:
            raise ValueError("the digest time is a local wall-clock time, without an offset")
        return self


class Preferences(BaseModel):
    model_config = ConfigDict(frozen=True)

    channels: dict[ReminderKind, list[ChannelName]] = Field(default_factory=dict)
    default_channels: list[ChannelName] = Field(default_factory=lambda: [ChannelName.EMAIL])
    slack_webhook_url: str | None = None
    teams_webhook_url: str | None = None
    quiet_hours: QuietHours | None = None
    time_zone: str | None = None
    """Overrides the directory's time zone when set."""
    snoozed_until: datetime | None = None
    daily_digest: DailyDigest | None = None
    """Set: reminders that fall due wait for the next digest instead of going out singly."""

    def channels_for(self, kind: str) -> list[ChannelName]:
        """``kind`` may be one the catalogue does not know (a notice): the defaults then."""
        for known, channels in self.channels.items():
            if known == kind:
                return list(channels)
        return list(self.default_channels)


def zone(name: str | None) -> ZoneInfo:
    """The zone of that name; UTC when none is known or the name is not one we can read."""
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_instant(day: datetime, wall: time, tz: ZoneInfo) -> datetime:
    """``wall`` o'clock on ``day``'s date in ``tz``, as UTC. A wall time that a DST change skips
    (02:30 on a spring-forward night) is read with the offset before the change, i.e. it becomes
    the first moment after the gap the clock shows that much later."""
    return datetime.combine(day.date(), wall, tzinfo=tz).astimezone(UTC)


def next_digest_at(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The first digest time after ``now``: ``at`` o'clock in ``tz`` today, or else tomorrow.
    Across a DST change the wall time holds (08:00 stays 08:00 local, its UTC instant moves)."""
    local = now.astimezone(tz)
    today = local_instant(local, at, tz)
    if today > now:
        return today
    return local_instant(local + timedelta(days=1), at, tz)


def quiet_hours_end(now: datetime, quiet: QuietHours, tz: ZoneInfo) -> datetime | None:
    """If ``now`` falls inside the quiet hours in ``tz``, the instant they end; else None."""
    local = now.astimezone(tz)
    wall = local.time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        inside = quiet.start <= wall < quiet.end
        end_day = local
    else:  # spans midnight
        inside = wall >= quiet.start or wall < quiet.end
        end_day = local + timedelta(days=1) if wall >= quiet.start else local
    if not inside:
        return None
    return local_instant(end_day, quiet.end, tz)


def release_time(now: datetime, preferences: Preferences, directory_zone: str | None) -> datetime:
    """When a reminder due at ``now`` may go out: after a snooze, and outside quiet hours."""
    at = now
    if preferences.snoozed_until and preferences.snoozed_until > at:
        at = preferences.snoozed_until
    if preferences.quiet_hours:
        tz = zone(preferences.time_zone or directory_zone)
        end = quiet_hours_end(at, preferences.quiet_hours, tz)
        if end is not None:
            at = end
    return at
