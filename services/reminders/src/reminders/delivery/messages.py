"""What each kind of reminder says (pure), and its rendering as email text, HTML and chat.

Titles, join URLs, action-step titles and display names are other people's words: every
rendering shows them as text, never as markup. The HTML email escapes everything (autoescape is on
for every template but the plain-text one), only http(s) addresses become links, and the chat
payloads escape what Slack parses (``&``, ``<``, ``>``: links, ``<!channel>``) and break the
Markdown link syntax Teams renders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

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
    join_url: str | None = None
    """The session's video-call link: only ever an http(s) address (see ``web_url``)."""


_URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f\\]")


def web_url(url: object) -> str | None:
    """``url`` when it is an absolute http or https address that can be a link target; None
    otherwise (``javascript:``, ``data:``, relative, or with spaces, control characters or
    backslashes, which browsers and parsers read differently). Quotes and angle brackets in it
    are left to the template's escaping."""
    if not isinstance(url, str) or not url or _URL_FORBIDDEN.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def _path(identifier: str | None) -> str:
    # Ids come from other services' events: quoted, one can only ever be one path segment.
    return quote(identifier or "", safe="")


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
    session, action, group = _path(session_id), _path(action_id), _path(group_id)
    title = context.get("title") or "your session"
    join_url = None
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
        url, label = f"{base}/groups/{group}", "Schedule the first session"
    elif kind is ReminderKind.SESSION_UPCOMING:
        subject = f"Coming up: {title}"
        lines = [f"{title} starts {_when(context.get('starts_at'), recipient_zone)}."]
        # A join URL that is not a web address (javascript:, data:) is left out altogether.
        join_url = web_url(context.get("join_url"))
        url, label = f"{base}/sessions/{session}", "See the session"
    elif kind is ReminderKind.SESSION_CANCELLED:
        subject = f"Cancelled: {title}"
        lines = [
            f"{title}, planned for {_when(context.get('starts_at'), recipient_zone)}, "
            "will not take place."
        ]
        url, label = f"{base}/groups/{group}", "Plan another session"
    elif kind is ReminderKind.RECORD_ACTION_STEPS:
        subject = "Record your action steps"
        lines = ["Your session is over: write down the action steps you committed to."]
        url, label = f"{base}/sessions/{session}", "Record action steps"
    elif kind is ReminderKind.ACTION_DUE:
        subject = f"Due soon: {title}"
        lines = [f"Your action step is due {_when(context.get('due_at'), recipient_zone)}."]
        url, label = f"{base}/actions/{action}", "Update the action step"
    elif kind is ReminderKind.ACTION_OVERDUE_OWNER:
        subject = f"Overdue: {title}"
        lines = [
            "Your action step is past its due date. Complete it, or agree a new date with "
            "your accountability partner."
        ]
        url, label = f"{base}/actions/{action}", "Update the action step"
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
        url, label = f"{base}/actions/{action}", "See the action step"
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
        url, label = f"{base}/groups/{group}", "Schedule a session"
    return Message(
        subject=subject,
        lines=lines,
        action_label=label,
        action_url=url,
        preferences_url=f"{base}/settings/reminders",
        greeting=f"Hello {recipient_name}," if recipient_name else "Hello,",
        join_url=join_url,
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
    lines = [
        f"{item.subject}: {' '.join(item.lines)}"
        + (f" Join: {item.join_url}" if item.join_url else "")
        + f" ({item.action_url})"
        for item in items
    ]
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
    # Escaped unless the template is plain text: a template added under any other name (or a
    # ".html.j2" that select_autoescape(["html"]) would miss) is escaped by default.
    autoescape=select_autoescape(
        enabled_extensions=("html", "htm", "xml", "html.j2"),
        disabled_extensions=("txt", "txt.j2"),
        default_for_string=True,
        default=True,
    ),
    keep_trailing_newline=True,
)
_templates.tests["web_url"] = lambda url: web_url(url) is not None


def email_text(message: Message) -> str:
    return _templates.get_template("email.txt.j2").render(m=message)


def email_html(message: Message) -> str:
    return _templates.get_template("email.html.j2").render(m=message)


# "@here", "@channel", "@everyone" typed in a title: a word joiner after the "@" keeps them from
# notifying a whole channel, whatever the workspace's parsing settings.
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone)\b)", re.IGNORECASE)
_WORD_JOINER = "\u2060"


def slack_text(text: str) -> str:
    """``text`` as Slack shows it literally: ``&``, ``<`` and ``>`` are its control characters
    (links ``<url|text>``, mentions ``<!channel>``, ``<@U123>``) and become entities."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + _WORD_JOINER, escaped)


def slack_plain(text: str) -> str:
    """For ``plain_text`` objects, which Slack does not parse for links: broadcasts only."""
    return _BROADCAST.sub("@" + _WORD_JOINER, text)


def teams_text(text: str) -> str:
    """``text`` as Teams shows it literally. Its cards render Markdown and a little HTML: markup
    characters become entities, and a word joiner after each ``]`` breaks every Markdown link
    form (``[text](url)``, ``[text][ref]``, ``[ref]: url``, images) while reading the same."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + _WORD_JOINER, escaped.replace("]", "]" + _WORD_JOINER))


def _slack_link(url: str, label: str) -> str:
    # Our own link (the frontend's URL and quoted ids): "|" and ">" would end it early.
    target = url.replace("&", "&amp;").replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")
    return f"<{target}|{slack_text(label)}>"


def _chat_lines(message: Message) -> list[str]:
    return [*message.lines, *([f"Join: {message.join_url}"] if message.join_url else [])]


def slack_payload(message: Message) -> dict[str, Any]:
    text = "\n".join(slack_text(line) for line in _chat_lines(message))
    link = _slack_link(message.action_url, message.action_label)
    return {
        "text": f"{slack_text(message.subject)}\n{text}\n{link}",
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": slack_plain(message.subject)[:150]},
            },
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
    subject = teams_text(message.subject)
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": subject,
        "title": subject,
        "text": "\n\n".join(teams_text(line) for line in _chat_lines(message)),
        "potentialAction": [
            {
                "@type": "OpenUri",
                "name": message.action_label,
                "targets": [{"os": "default", "uri": message.action_url}],
            }
        ],
    }
