"""Erasure: a person's words leave every record; their opaque id stays so aggregates still count.

Ids are never personal data (the event contracts say so), so pseudonymising means dropping the
names this service copied and the content the person wrote or brought: hot-seat content, their
suggestions, shared and private notes, action-step texts and comments, feedback comments, the
titles, places, links and agendas of sessions and the notes of cancellations they wrote. Their
open action steps are dropped, they are no longer invited to their groups' upcoming sessions
and their calendar feed is revoked. Every step is repeatable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sessions.action_steps.service import ActionStepService
from sessions.conversations.service import ConversationService
from sessions.feedback.repository import FeedbackRepository
from sessions.membership.service import MembershipService
from sessions.scheduling.service import SchedulingService


class ErasureService:
    def __init__(
        self,
        membership: MembershipService,
        scheduling: SchedulingService,
        conversations: ConversationService,
        actions: ActionStepService,
        feedback: FeedbackRepository,
        shred: Callable[[str], Awaitable[None]],
    ) -> None:
        """``shred``: destroys the person's key of this service's events (crypto-shredding)."""
        self.membership = membership
        self.scheduling = scheduling
        self.conversations = conversations
        self.actions = actions
        self.feedback = feedback
        self.shred = shred

    async def erase(self, employee_id: str, version: int) -> None:
        # First: the action-step titles in the stream are unreadable whatever follows.
        await self.shred(employee_id)
        group_ids = await self.membership.employee_erased(employee_id, version)
        for group_id in group_ids:
            await self.scheduling.reinvite_upcoming(group_id)
        await self.scheduling.erase_words(employee_id)
        await self.conversations.erase(employee_id)
        await self.actions.erase(employee_id)
        await self.feedback.erase_comments(employee_id)
        await self.scheduling.revoke_feed(employee_id)
