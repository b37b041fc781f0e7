"""``python -m roundtable_dev.local.mailcatcher``: the local mail catcher of ``make run``.

An SMTP server (aiosmtpd) that keeps every message it receives as an ``.eml`` file under
``--data-dir``, and a small web page listing them (newest first) with each message's text, so a
person trying the system sees the reminders it sends. Development only: it accepts any mail.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import html
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, PlainTextResponse


class Store:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        (self.folder / name).write_bytes(envelope.original_content or b"")
        return "250 Message accepted for delivery"

    def messages(self, limit: int = 100) -> list[tuple[str, EmailMessage]]:
        files = sorted(self.folder.glob("*.eml"), reverse=True)[:limit]
        return [(f.stem, self.read(f.stem)) for f in files]

    def read(self, name: str) -> EmailMessage:
        raw = (self.folder / f"{Path(name).name}.eml").read_bytes()
        message: Any = email.message_from_bytes(raw, policy=email.policy.default)
        return message  # type: ignore[no-any-return]


def web_app(store: Store) -> FastAPI:
    app = FastAPI(title="Roundtable mail catcher")

    def read_or_404(name: str) -> EmailMessage:
        try:
            return store.read(name)
        except FileNotFoundError:
            raise HTTPException(404, "no such message") from None

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        rows = "".join(
            f"<tr><td>{html.escape(str(m['Date']))}</td><td>{html.escape(str(m['To']))}</td>"
            f"<td><a href='/messages/{name}'>{html.escape(str(m['Subject']))}</a></td></tr>"
            for name, m in store.messages()
        )
        return (
            "<!doctype html><title>Mail catcher</title><h1>Reminders sent</h1>"
            "<table border=1 cellpadding=4><tr><th>Date</th><th>To</th><th>Subject</th></tr>"
            f"{rows}</table>"
        )

    # Declared before /messages/{name}, which would otherwise take "x.eml" as a name.
    @app.get("/messages/{name}.eml", response_class=PlainTextResponse)
    async def raw(name: str) -> str:
        return read_or_404(name).as_string()

    @app.get("/messages/{name}", response_class=HTMLResponse)
    async def show(name: str) -> str:
        message = read_or_404(name)
        body = message.get_body(("html", "plain"))
        content = body.get_content() if body else ""
        if body is not None and body.get_content_type() == "text/plain":
            content = f"<pre>{html.escape(content)}</pre>"
        head = html.escape(f"To: {message['To']} | Subject: {message['Subject']}")
        return f"<!doctype html><p><a href='/'>all messages</a></p><p>{head}</p>{content}"

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--data-dir", type=Path, default=Path(".data"))
    args = parser.parse_args()
    store = Store(args.data_dir / "mail")
    controller = Controller(store, hostname="127.0.0.1", port=args.smtp_port)
    controller.start()
    try:
        uvicorn.run(web_app(store), host="127.0.0.1", port=args.http_port, log_level="warning")
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
