"""Reading and editing a person's preferences: validation beyond shapes, optimistic concurrency."""

from __future__ import annotations

from reminders.people.repository import RecipientRepository
from reminders.preferences.domain import ChannelName, Preferences, valid_zone
from reminders.preferences.repository import PreferencesRepository
from reminders.preferences.schemas import PreferencesIn, PreferencesOut
from reminders.preferences.webhooks import WebhookRules, webhook_url_problem
from roundtable_shared.http.concurrency import stale_write
from roundtable_shared.http.problems import Conflict, Unprocessable


class PreferencesService:
    def __init__(
        self,
        preferences: PreferencesRepository,
        recipients: RecipientRepository,
        *,
        webhook_rules: WebhookRules,
    ) -> None:
        self.preferences = preferences
        self.recipients = recipients
        self.webhook_rules = webhook_rules

    async def read(self, employee_id: str) -> PreferencesOut:
        preferences, version = await self.preferences.get(employee_id)
        return await self._out(employee_id, preferences, version)

    async def replace(
        self, employee_id: str, expected_version: int, body: PreferencesIn
    ) -> PreferencesOut:
        self._validate(body)
        await self._refuse_if_erased(employee_id)
        preferences = Preferences.model_validate(body.model_dump())
        if not await self.preferences.save(employee_id, expected_version, preferences):
            _, current = await self.preferences.get(employee_id)
            raise stale_write(current)
        # The erasure may have run between the check and the save: it wins.
        await self._refuse_if_erased(employee_id)
        return await self._out(employee_id, preferences, expected_version + 1)

    async def _refuse_if_erased(self, employee_id: str) -> None:
        """An erased person's token may still be valid for a while; what they would store here
        (a webhook URL, a time zone) is personal data the erasure promised to remove."""
        recipient = await self.recipients.get(employee_id)
        if recipient is not None and recipient.erased:
            await self.preferences.erase(employee_id)
            raise Conflict("this person was erased: their preferences are not kept")

    def _validate(self, body: PreferencesIn) -> None:
        errors = []
        if body.time_zone is not None and not valid_zone(body.time_zone):
            errors.append({"field": "time_zone", "message": "not an IANA time zone name"})
        for field, url in (
            ("slack_webhook_url", body.slack_webhook_url),
            ("teams_webhook_url", body.teams_webhook_url),
        ):
            problem = url is not None and webhook_url_problem(url, self.webhook_rules)
            if problem:
                errors.append({"field": field, "message": problem})
        used = set(body.default_channels).union(*body.channels.values())
        for channel, url in (
            (ChannelName.SLACK, body.slack_webhook_url),
            (ChannelName.TEAMS, body.teams_webhook_url),
        ):
            if channel in used and not url:
                errors.append(
                    {"field": f"{channel}_webhook_url", "message": f"needed to use {channel}"}
                )
        if errors:
            summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            raise Unprocessable(f"invalid preferences: {summary}", errors=errors)

    async def _out(
        self, employee_id: str, preferences: Preferences, version: int
    ) -> PreferencesOut:
        recipient = await self.recipients.get(employee_id)
        directory_zone = recipient.time_zone if recipient else None
        return PreferencesOut(
            **preferences.model_dump(),
            employee_id=employee_id,
            version=version,
            effective_time_zone=preferences.time_zone or directory_zone or "UTC",
        )
