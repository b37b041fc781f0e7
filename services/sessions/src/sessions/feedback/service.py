"""Feedback handlers."""

from __future__ import annotations

from roundtable_shared.auth.tokens import Principal
from roundtable_shared.clock import Clock
from roundtable_shared.http.idempotency import fingerprint
from roundtable_shared.http.problems import Conflict, NotFound
from roundtable_shared.storage.aggregates import AlreadyExists
from sessions.feedback import domain
from sessions.feedback.domain import Feedback, RatedSession
from sessions.feedback.repository import FeedbackRepository
from sessions.feedback.schemas import FeedbackRequest, FeedbackSummary
from sessions.membership.service import MembershipService


class FeedbackService:
    def __init__(
        self, feedback: FeedbackRepository, membership: MembershipService, clock: Clock
    ) -> None:
        self.feedback = feedback
        self.membership = membership
        self.clock = clock

    async def _session(self, session_id: str) -> RatedSession:
        session = await self.feedback.rated_session(session_id)
        if session is None:
            raise NotFound(f"no session {session_id!r}")
        return session

    async def submit(
        self, session_id: str, request: FeedbackRequest, principal: Principal
    ) -> tuple[Feedback, bool]:
        """The feedback, and whether it is new (a retry of the same answer is not)."""
        session = await self._session(session_id)
        await self.membership.member_group(session.group_id, principal)
        print_ = fingerprint(request.model_dump(mode="json"))
        feedback, events = domain.submit(
            session,
            principal.employee_id,
            rating=request.rating,
            recommend_score=request.recommend_score,
            comment=request.comment,
            now=self.clock(),
            fingerprint=print_,
        )
        try:
            return await self.feedback.add(feedback, events), True
        except AlreadyExists:
            existing = await self.feedback.get(feedback.id)
            if existing is None or existing.request_fingerprint != print_:
                raise Conflict("you already rated this session") from None
            return existing, False

    async def mine(self, session_id: str, principal: Principal) -> Feedback:
        session = await self._session(session_id)
        await self.membership.member_group(session.group_id, principal)
        feedback = await self.feedback.get(domain.feedback_id(session_id, principal.employee_id))
        if feedback is None:
            raise NotFound("you have not rated this session")
        return feedback

    async def summary(self, session_id: str, principal: Principal) -> FeedbackSummary:
        session = await self._session(session_id)
        await self.membership.group_for_metadata(session.group_id, principal)
        # How many, never what: in a group of 2 to 8 an average gives a peer's rating away
        # (in a pair, at once; in any group, by asking before and after a rating). What ratings
        # say reaches sponsors only through reporting's disclosure rule (docs/disclosure.md).
        ratings = await self.feedback.ratings(session_id)
        return FeedbackSummary(session_id=session_id, responses=len(ratings))
