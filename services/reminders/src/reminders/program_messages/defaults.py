"""The service's own wording of each kind, written in the variables a program admin may use: what
``GET`` shows before any edit and where an edit starts from.

Delivery words a message without an override from its kind's template
(``reminders/delivery/templates/kinds/``); a unit test renders both for the same sample reminder
and finds the same subject and lines, so the two cannot drift apart.
"""

from __future__ import annotations

from reminders.program_messages.domain import Wording
from roundtable_shared.events.catalogue.reminders import ReminderKind as K

DEFAULTS: dict[K, Wording] = {
    K.SESSION_UPCOMING: Wording(
        "Coming up: {{ session_title }}", "{{ session_title }} starts {{ session_time }}."
    ),
    K.SESSION_CANCELLED: Wording(
        "Cancelled: {{ session_title }}",
        "{{ session_title }}, planned for {{ session_time }}, will not take place.",
    ),
    K.ACTION_DUE: Wording(
        "Due soon: {{ action_title }}", "Your action step is due {{ due_time }}."
    ),
    K.ACTION_OVERDUE_OWNER: Wording(
        "Overdue: {{ action_title }}",
        "Your action step is past its due date. Complete it, or agree a new date with your "
        "accountability partner.",
    ),
    K.ACTION_OVERDUE: Wording(
        "Check in with {{ owner_name }}",
        "{{ owner_name }}'s {% if action_title %}action step “{{ action_title }}”"
        "{% else %}action step{% endif %} is overdue.\n\n"
        "You are their accountability partner: ask how it is going.",
    ),
    K.PARTNER_THANKS: Wording(
        "{{ owner_name }} completed an action step",
        '{{ owner_name }} completed “{{ action_title or "their action step" }}”.\n\n'
        "Thank you for holding them accountable.",
    ),
    K.GROUP_INTRODUCTION: Wording(
        "Meet your peers in {{ group_name }}",
        'Your peers: {{ peer_names or "your group" }}.\n\n'
        "Agree on a time and schedule your first session.",
    ),
    K.SCHEDULE_NEXT_SESSION: Wording(
        "Time to schedule your next session",
        "Your group has no session planned within its {{ cadence_days }}-day rhythm. "
        "Pick a time together.",
    ),
    K.RECORD_ACTION_STEPS: Wording(
        "Record your action steps",
        "Your session is over: write down the action steps you committed to.",
    ),
    K.WELCOME: Wording(
        "Welcome to your peer program",
        "You are enrolled. You will be matched with peers at a similar stage, meet for "
        "peer-coaching conversations and commit to action steps your peers hold you to.",
    ),
    K.SURVEY_NUDGE: Wording(
        "A few minutes for {{ survey_name }}?",
        "You have not answered {{ survey_name }} yet. It takes a few minutes and stays open "
        "until {{ closing_time }}.",
    ),
    K.WELCOME_BACK: Wording(
        "Welcome back to your peer program",
        "Your participation is active again, and so are your reminders. See what your group "
        "planned while you were away.",
    ),
}
