"""Other people's words in a reminder stay words: markup in session titles, join URLs, action-step
titles and display names arrives as text in the HTML email (read back with the stdlib email and
HTML parsers), only http(s) addresses become links, and chat messages neither link, mention a
whole channel nor render Markdown links from them."""

from __future__ import annotations

import email
import email.policy
import html
import re
from email.message import EmailMessage
from html.parser import HTMLParser

import pytest

from reminders.delivery.channels import EmailChannel
from reminders.delivery.messages import (
    Message,
    compose,
    compose_digest,
    slack_payload,
    teams_payload,
    web_url,
)
from roundtable_shared.events.catalogue.reminders import ReminderKind

FRONTEND = "https://roundtable.example.com"
PHISH = '<a href="https://evil.example/login">Re-authenticate</a>'
TITLE = f"Q3 review {PHISH} <img src=x onerror=alert(1)> <script>alert(1)</script>"
JOIN = 'https://meet.example.com/abc?x="><script>alert(1)</script>'
STEP = "Ship it <b>now</b> [click](https://evil.example) <!channel> @here"
OWNER = '<i onmouseover="alert(1)">Mallory</i> <@U123>'
ME = "<h1>Ana</h1>"


class Page(HTMLParser):
    """What a mail client sees in the HTML part: its elements and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def links(self) -> list[str]:
        return [str(attrs.get("href")) for tag, attrs in self.tags if tag == "a"]


def upcoming(title: str, join_url: str | None, session_id: str = 'ses_1"><script>') -> Message:
    return compose(
        ReminderKind.SESSION_UPCOMING,
        {"title": title, "join_url": join_url, "starts_at": None},
        recipient_name=ME,
        recipient_zone="UTC",
        names={},
        frontend_url=FRONTEND,
        reminder_id="rem_1",
        session_id=session_id,
    )


def overdue() -> Message:
    return compose(
        ReminderKind.ACTION_OVERDUE,
        {"title": STEP, "owner_id": "emp_2"},
        recipient_name=ME,
        recipient_zone="UTC",
        names={"emp_2": OWNER},
        frontend_url=FRONTEND,
        reminder_id="rem_2",
        action_id="act_1",
    )


def introduction() -> Message:
    return compose(
        ReminderKind.GROUP_INTRODUCTION,
        {"group_name": TITLE, "peer_ids": ["emp_2"]},
        recipient_name=ME,
        recipient_zone="UTC",
        names={"emp_2": OWNER},
        frontend_url=FRONTEND,
        reminder_id="rem_3",
        group_id="grp_1",
    )


def html_part(message: Message) -> str:
    raw = EmailChannel("127.0.0.1", 25, "reminders@example.com", 5.0).build(
        "ana@example.com", message, "rem_1.email"
    )
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    part = parsed.get_body(("html",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def read(content: str) -> Page:
    page = Page()
    page.feed(content)
    page.close()
    return page


LAYOUT = {"html", "head", "meta", "title", "body", "p", "a", "hr"}


@pytest.mark.parametrize(
    "message",
    [
        upcoming(TITLE, JOIN),
        overdue(),
        introduction(),
        compose_digest(
            [upcoming(TITLE, JOIN), overdue()], recipient_name=ME, frontend_url=FRONTEND
        ),
    ],
    ids=["session title and join URL", "action step and owner", "group and peers", "digest"],
)
def test_markup_in_people_s_words_arrives_as_text_in_the_html_email(message: Message) -> None:
    page = read(html_part(message))

    # Only the template's own elements: nothing the words brought with them.
    assert {tag for tag, _ in page.tags} <= LAYOUT
    assert all(not name.startswith("on") for _, attrs in page.tags for name in attrs)
    # Every link is one of ours or the join URL, and a web address.
    assert all(web_url(href) for href in page.links())
    assert {href.split("/")[2] for href in page.links()} <= {
        "roundtable.example.com",
        "meet.example.com",
    }
    # And the words are all there, as the text a reader sees.
    text = "".join(page.text)
    assert ME in text
    for line in message.lines:
        assert line in text


def test_each_field_is_shown_verbatim() -> None:
    text = "".join(read(html_part(upcoming(TITLE, JOIN))).text)
    assert TITLE in text and JOIN in text
    text = "".join(read(html_part(overdue())).text)
    assert STEP in text and OWNER in text


def test_an_http_join_url_is_a_link_and_the_session_link_stays_one_path_segment() -> None:
    page = read(html_part(upcoming("Q3 review", JOIN)))
    assert JOIN in page.links()
    assert f"{FRONTEND}/sessions/ses_1%22%3E%3Cscript%3E" in page.links()


@pytest.mark.parametrize(
    "join_url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\nscript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "//evil.example/path",
        "https:\\\\evil.example",
    ],
)
def test_a_join_url_that_is_not_a_web_address_is_never_a_link_nor_shown(join_url: str) -> None:
    message = upcoming("Q3 review", join_url, session_id="ses_1")
    content = html_part(message)
    page = read(content)

    assert all(href.startswith(f"{FRONTEND}/") for href in page.links())
    assert message.join_url is None
    assert "script" not in content.lower() and "data:" not in content
    assert not any("Join" in line for line in message.lines)


SLACK_CONTROL = re.compile(r"<([^>]*)>")


def test_slack_shows_markup_as_text_and_links_only_ours() -> None:
    for message in (upcoming(TITLE, JOIN), overdue()):
        payload = slack_payload(message)
        section = payload["blocks"][1]["text"]["text"]
        # Slack parses <...> as links and mentions: the only one is our action link.
        assert SLACK_CONTROL.findall(section) == []
        [link] = SLACK_CONTROL.findall(payload["text"])
        assert link == f"{message.action_url.replace('&', '&amp;')}|{message.action_label}"
        for text in (payload["text"], section, payload["blocks"][0]["text"]["text"]):
            assert not re.search(r"@(here|channel|everyone)\b", text)
        # Unescaped (and without the invisible word joiner) the words read as written.
        shown = html.unescape(section).replace("\u2060", "")
        for line in message.lines:
            assert line in shown


MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\s*[\(\[:]")


def test_teams_shows_markdown_links_and_markup_as_text() -> None:
    for message in (upcoming(TITLE, JOIN), overdue(), introduction()):
        payload = teams_payload(message)
        for text in (payload["text"], payload["title"], payload["summary"]):
            assert not MARKDOWN_LINK.search(text)
            assert "<" not in text and ">" not in text
            assert not re.search(r"@(here|channel|everyone)\b", text)
        shown = html.unescape(payload["text"]).replace("\u2060", "")
        for line in message.lines:
            assert line in shown
        assert html.unescape(payload["title"]).replace("\u2060", "") == message.subject


def test_markdown_reference_links_are_broken_too() -> None:
    title = "see [the doc][1] and ![img](https://evil.example/x.png)\n[1]: https://evil.example"
    payload = teams_payload(upcoming(title, None))
    assert not MARKDOWN_LINK.search(payload["text"])
