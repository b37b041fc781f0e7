"""What each kind of reminder says (one plain-text template per kind, ``templates/kinds/``: its
subject, lines and link), and its rendering as email text, HTML and chat.

Titles, join URLs, action-step titles and display names are other people's words: every
rendering shows them as text, never as markup. The HTML email escapes everything (autoescape is on
for every template but the plain-text one), only http(s) addresses become links, and the chat
payloads escape what Slack parses (``&``, ``<``, ``>``: links, ``<!channel>``) and break the
Markdown link syntax Teams renders.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, Template, select_autoescape

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


def local_time(iso: str | None, tz_name: str | None) -> str:
    """An instant as messages show it: in the recipient's zone, with the zone's abbreviation."""
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
    """What a reminder of ``kind`` says: its subject, lines and link come from the kind's
    template (``templates/kinds/<kind>.txt.j2``: plain text, escaped by each rendering)."""
    base = frontend_url.rstrip("/")
    template = _kind_template(str(kind))
    variables = {
        "context": context,
        "title": context.get("title") or "your session",
        "peers": [names.get(p, "a peer") for p in context.get("peer_ids", [])],
        "owner": names.get(context.get("owner_id", ""), "your peer"),
        "session": _path(session_id),
        "action": _path(action_id),
        "group": _path(group_id),
        "when": lambda iso: local_time(iso, recipient_zone),
    }
    blocks = template.new_context(variables)

    def block(name: str) -> str:
        return "".join(template.blocks[name](blocks))

    link = block("link") if "link" in template.blocks else "/"
    return Message(
        subject=block("subject"),
        lines=[block(name) for name in _LINES if name in template.blocks],
        action_label=block("label") if "label" in template.blocks else "Open Roundtable",
        action_url=base + link,
        preferences_url=f"{base}/settings/reminders",
        greeting=f"Hello {recipient_name}," if recipient_name else "Hello,",
        # A join URL that is not a web address (javascript:, data:) is left out altogether.
        join_url=web_url(block("join")) if "join" in template.blocks else None,
    )


_LINES = ("line1", "line2", "line3")


@functools.cache
def _kind_template(kind: str) -> Template:
    # A kind without a template of its own (none today) reads as a nudge to schedule, as before.
    return _templates.select_template(
        [f"kinds/{kind}.txt.j2", f"kinds/{ReminderKind.SCHEDULE_NEXT_SESSION}.txt.j2"]
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
    # The templates ship with the code: no stat of their files at every message.
    auto_reload=False,
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
