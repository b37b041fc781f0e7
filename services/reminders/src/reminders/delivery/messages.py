"""What each kind of reminder says (pure), and its rendering as email text, HTML and chat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from reminders.preferences.domain import zone
from reminders.schedule.domain import Kind
from roundtable_shared.events.catalogue.reminders import ReminderKind


@dataclass(frozen=True)
class Message:
    subject: str
    lines: list[str]
    action_label: str
    action_url: str
    preferences_url: str
    greeting: str


def _when(iso: str | None, tz_name: str | None) -> str:
    if not iso:
        return "the planned time"
    local = datetime.fromisoformat(iso).astimezone(zone(tz_name))
    return local.strftime("%a %d %b %Y, %H:%M ") + (local.tzname() or "")


def compose(
    kind: Kind,
    context: dict[str, Any],
    *,
    recipient_name: str | None,
    recipient_zone: str | None,
    names: dict[str, str],
    frontend_url: str,
    reminder_id: str,
    session_id: str | None = None,
    action_id: str | None = None,
    group_id: str | None = None,
) -> Message:
    base = frontend_url.rstrip("/")
    title = context.get("title") or "your session"
    peers = [names.get(p, "a peer") for p in context.get("peer_ids", [])]
    url, label = f"{base}/", "Open Roundtable"
    if kind is ReminderKind.WELCOME:
        subject = "Welcome to your peer program"
        lines = [
            "You are enrolled. You will be matched with peers at a similar stage, meet for "
            "peer-coaching conversations and commit to action steps your peers hold you to."
        ]
    elif kind is ReminderKind.GROUP_INTRODUCTION:
        subject = f"Meet your peers in {context.get('group_name', 'your group')}"
        lines = [
            f"Your peers: {', '.join(peers) or 'your group'}.",
            "Agree on a time and schedule your first session.",
        ]
        url, label = f"{base}/groups/{group_id}", "Schedule the first session"
    elif kind is ReminderKind.SESSION_UPCOMING:
        subject = f"Coming up: {title}"
        lines = [f"{title} starts {_when(context.get('starts_at'), recipient_zone)}."]
        if context.get("join_url"):
            lines.append(f"Join: {context['join_url']}")
        url, label = f"{base}/sessions/{session_id}", "See the session"
    elif kind is ReminderKind.SESSION_CANCELLED:
        subject = f"Cancelled: {title}"
        lines = [
            f"{title}, planned for {_when(context.get('starts_at'), recipient_zone)}, "
            "will not take place."
        ]
        url, label = f"{base}/groups/{group_id}", "Plan another session"
    elif kind is ReminderKind.RECORD_ACTION_STEPS:
        subject = "Record your action steps"
        lines = ["Your session is over: write down the action steps you committed to."]
        url, label = f"{base}/sessions/{session_id}", "Record action steps"
    elif kind is ReminderKind.ACTION_DUE:
        subject = f"Due soon: {title}"
        lines = [f"Your action step is due {_when(context.get('due_at'), recipient_zone)}."]
        url, label = f"{base}/actions/{action_id}", "Update the action step"
    elif kind is ReminderKind.ACTION_OVERDUE_OWNER:
        subject = f"Overdue: {title}"
        lines = [
            "Your action step is past its due date. Complete it, or agree a new date with "
            "your accountability partner."
        ]
        url, label = f"{base}/actions/{action_id}", "Update the action step"
    elif kind is ReminderKind.ACTION_OVERDUE:
        owner = names.get(context.get("owner_id", ""), "your peer")
        subject = f"Check in with {owner}"
        # The title is gone when the owner was erased (it was their words).
        step = (
            f"action step \u201c{context['title']}\u201d" if context.get("title") else "action step"
        )
        lines = [
            f"{owner}'s {step} is overdue.",
            "You are their accountability partner: ask how it is going.",
        ]
        url, label = f"{base}/actions/{action_id}", "See the action step"
    elif kind is ReminderKind.WELCOME_BACK:
        subject = "Welcome back to your peer program"
        lines = [
            "Your participation is active again, and so are your reminders. "
            "See what your group planned while you were away."
        ]
    elif kind is ReminderKind.PARTNER_THANKS:
        owner = names.get(context.get("owner_id", ""), "your peer")
        step = context.get("title") or "their action step"
        subject = f"{owner} completed an action step"
        lines = [
            f"{owner} completed \u201c{step}\u201d.",
            "Thank you for holding them accountable.",
        ]
    else:  # SCHEDULE_NEXT_SESSION
        subject = "Time to schedule your next session"
        lines = [
            f"Your group has no session planned within its {context.get('cadence_days', '')}"
            "-day rhythm. Pick a time together."
        ]
        url, label = f"{base}/groups/{group_id}", "Schedule a session"
    return Message(
        subject=subject,
        lines=lines,
        action_label=label,
        action_url=url,
        preferences_url=f"{base}/settings/reminders",
        greeting=f"Hello {recipient_name}," if recipient_name else "Hello,",
    )


def compose_digest(
    items: list[Message],
    *,
    recipient_name: str | None,
    frontend_url: str,
) -> Message:
    """One person's daily digest: each bundled reminder as its subject and what it says."""
    base = frontend_url.rstrip("/")
    count = len(items)
    lines = [f"{item.subject}: {' '.join(item.lines)} ({item.action_url})" for item in items]
    return Message(
        subject=f"Your Roundtable digest: {count} reminder{'s' if count != 1 else ''}",
        lines=lines,
        action_label="Open Roundtable",
        action_url=f"{base}/",
        preferences_url=f"{base}/settings/reminders",
        greeting=f"Hello {recipient_name}," if recipient_name else "Hello,",
    )


_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)


def email_text(message: Message) -> str:
    return _templates.get_template("email.txt.j2").render(m=message)


def email_html(message: Message) -> str:
    return _templates.get_template("email.html.j2").render(m=message)


def slack_payload(message: Message) -> dict[str, Any]:
    text = "\n".join(message.lines)
    return {
        "text": f"{message.subject}\n{text}\n<{message.action_url}|{message.action_label}>",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": message.action_label},
                        "url": message.action_url,
                    }
                ],
            },
        ],
    }


def teams_payload(message: Message) -> dict[str, Any]:
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": message.subject,
        "title": message.subject,
        "text": "\n\n".join(message.lines),
        "potentialAction": [
            {
                "@type": "OpenUri",
                "name": message.action_label,
                "targets": [{"os": "default", "uri": message.action_url}],
            }
        ],
    }
