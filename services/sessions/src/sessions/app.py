"""The sessions service's process: wiring only (settings -> runtime -> repositories -> routes)."""

from __future__ import annotations

from fastapi import FastAPI

from roundtable_shared.clock import Clock, utc_now
from roundtable_shared.http.app import create_app
from roundtable_shared.messaging.consumer import EventConsumer
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings
from sessions import action_steps, conversations, feedback, guides, membership, scheduling
from sessions.action_steps import endpoints as action_endpoints
from sessions.action_steps.repository import ACTION_STEPS, ActionStepRepository
from sessions.action_steps.service import ActionStepService
from sessions.conversations import endpoints as conversation_endpoints
from sessions.conversations.repository import (
    PRIVATE_NOTES,
    ConversationRepository,
    PrivateNoteRepository,
)
from sessions.conversations.service import ConversationService
from sessions.erasure import consumers as erasure_consumers
from sessions.erasure.service import ErasureService
from sessions.feedback import endpoints as feedback_endpoints
from sessions.feedback.repository import FEEDBACK, FeedbackRepository
from sessions.feedback.service import FeedbackService
from sessions.guides import consumers as guide_consumers
from sessions.guides import endpoints as guide_endpoints
from sessions.guides.cloning import GuideCloning
from sessions.guides.repository import (
    GUIDES,
    GuideRepository,
    ProgramRepository,
    TemplateGuideRepository,
)
from sessions.guides.service import GuideService
from sessions.membership import consumers as membership_consumers
from sessions.membership.repository import EmployeeRepository, GroupRepository
from sessions.membership.service import MembershipService
from sessions.scheduling import endpoints as scheduling_endpoints
from sessions.scheduling.repository import SESSIONS, CalendarFeedRepository, SessionRepository
from sessions.scheduling.service import SchedulingService
from sessions.settings import SessionsSettings

CONSUMER = "sessions-enrollment"
MEMBERSHIP_CACHE_SECONDS = 2.0


def build_app(settings: ServiceSettings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    settings = settings or SessionsSettings()
    runtime = ServiceRuntime(
        settings,
        indexes=[
            *membership.repository.INDEXES,
            *scheduling.repository.INDEXES,
            *conversations.repository.INDEXES,
            *action_steps.repository.INDEXES,
            *feedback.repository.INDEXES,
            *guides.repository.INDEXES,
        ],
        outbox_collections=[SESSIONS, ACTION_STEPS, FEEDBACK],
        # The copies queries on indexes replaced (per group, per member, per note author).
        retired_collections=["group_schedules", "member_action_steps", "private_note_shelves"],
    )
    db = runtime.db
    store = runtime.aggregate_store

    # Each store and repository once; every service is given what it needs when it is built.
    session_store = store(SESSIONS)
    groups = GroupRepository(
        db,
        cache_seconds=(
            settings.membership_cache_seconds
            if isinstance(settings, SessionsSettings)
            else MEMBERSHIP_CACHE_SECONDS
        ),
    )
    steps = ActionStepRepository(db, store(ACTION_STEPS))
    ratings = FeedbackRepository(db, store(FEEDBACK))

    member_service = MembershipService(groups, EmployeeRepository(db))
    guide_repository = GuideRepository(db, store(GUIDES))
    guide_service = GuideService(guide_repository, ProgramRepository(db), groups, clock)
    cloning = GuideCloning(guide_repository, TemplateGuideRepository(db), clock)
    scheduling_service = SchedulingService(
        SessionRepository(db, session_store),
        CalendarFeedRepository(db),
        member_service,
        clock,
        step_count=steps.count_of_session,
        agenda_for=guide_service.agenda_for,
    )
    conversation_service = ConversationService(
        ConversationRepository(db, session_store),
        PrivateNoteRepository(db, store(PRIVATE_NOTES)),
        member_service,
        clock,
        commitments=steps.commitments,
    )
    action_service = ActionStepService(steps, member_service, clock)
    feedback_service = FeedbackService(ratings, member_service, clock)
    erasure_service = ErasureService(
        member_service,
        scheduling_service,
        conversation_service,
        action_service,
        ratings,
        runtime.keys.shred,
    )

    runtime.add_consumer(
        EventConsumer(
            name=CONSUMER,
            source_service="enrollment",
            handlers=guide_consumers.handlers(
                guide_service,
                cloning,
                {
                    **membership_consumers.handlers(
                        member_service, scheduling_service, action_service
                    ),
                    **erasure_consumers.handlers(erasure_service),
                },
            ),
            max_deliver=settings.consumer_max_deliver,
        )
    )
    return create_app(
        runtime,
        title="Roundtable sessions",
        description=(
            "Peer-coaching sessions: scheduling, the recorded conversation, action steps with "
            "accountability partners, feedback, and each program's session guide (the "
            "peer-coaching method step by step, the agenda of a session scheduled without one). A session's conversation is visible to the "
            "members who were in the group while it was held (members who joined later see "
            "that it was, and its content only when all who were there agree to share it); "
            "private notes to their author only; program admins see metadata."
        ),
        routers=[
            scheduling_endpoints.router(scheduling_service),
            conversation_endpoints.router(conversation_service),
            action_endpoints.router(action_service),
            feedback_endpoints.router(feedback_service),
            guide_endpoints.router(guide_service),
        ],
    )
