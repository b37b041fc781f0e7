"""HTTP models of the preferences API, with OpenAPI examples."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from reminders.preferences.domain import ChannelName, DailyDigest, QuietHours
from roundtable_shared.events.catalogue.reminders import ReminderKind

_EXAMPLE: dict[str, Any] = {
    "channels": {"action_due": ["email", "slack"], "session_upcoming": ["teams"]},
    "default_channels": ["email"],
    "slack_webhook_url": "https://hooks.slack.com/services/T000/B000/XXXX",
    "teams_webhook_url": "https://example.webhook.office.com/webhookb2/abc",
    "quiet_hours": {"start": "22:00", "end": "07:00"},
    "time_zone": "Pacific/Auckland",
    "snoozed_until": None,
    "daily_digest": {"at": "08:00"},
}


class PreferencesIn(BaseModel):
    """The whole of a person's preferences (PUT replaces them)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    channels: dict[ReminderKind, Annotated[list[ChannelName], Field(max_length=3)]] = Field(
        default_factory=dict, description="Channels per kind of reminder; others use the default."
    )
    default_channels: list[ChannelName] = Field(
        default_factory=lambda: [ChannelName.EMAIL], min_length=1, max_length=3
    )
    slack_webhook_url: str | None = Field(
        default=None,
        max_length=2000,
        description=(
            "A Slack incoming webhook (https://hooks.slack.com/...). Only https URLs to the chat "
            "vendors' webhook hosts are accepted (the operator's allow-list), by name: an IP "
            "address, user-info or another host is a 422."
        ),
    )
    teams_webhook_url: str | None = Field(
        default=None,
        max_length=2000,
        description=(
            "A Microsoft Teams incoming webhook or Workflows (Power Automate) trigger URL; the "
            "same rules as the Slack URL."
        ),
    )
    quiet_hours: QuietHours | None = Field(
        default=None, description="Held to their end, in the person's time zone."
    )
    time_zone: str | None = Field(
        default=None, max_length=64, description="IANA zone; overrides the directory's."
    )
    snoozed_until: AwareDatetime | None = Field(
        default=None, description="Nothing is sent before this time."
    )
    daily_digest: DailyDigest | None = Field(
        default=None,
        description=(
            "One message a day, at this local time, bundling every reminder that fell due since "
            "the last one, instead of single messages. Quiet hours and snooze still apply."
        ),
    )


class PreferencesOut(PreferencesIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "employee_id": "emp_4711",
                    "version": 3,
                    "effective_time_zone": "Pacific/Auckland",
                }
            ]
        },
    )

    employee_id: str
    version: int = Field(description="Also the ETag; send it back in If-Match to edit.")
    effective_time_zone: str = Field(description="The zone quiet hours are read in.")
    snoozed_until: datetime | None = None
