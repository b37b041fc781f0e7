"""Channels: email over SMTP (aiosmtplib) here, chat incoming webhooks in ``chat_webhook``.

Each send carries the reminder's idempotency key (the email's Message-ID, the webhook's
Idempotency-Key header), so a receiver that honours it never shows one reminder twice. A send
returns an ``Outcome``: sent, or failed with a reason, the channel's code, and whether to retry.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import uuid
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr

import aiosmtplib

from reminders.delivery.messages import Message, email_html, email_text
from reminders.schedule.reminder import Outcome as Outcome  # where the channels import it from
from roundtable_shared.events.catalogue.reminders import FailureReason


def message_id(idempotency_key: str) -> str:
    return f"<{idempotency_key}@reminders.roundtable>"


class EmailChannel:
    """Sends over a few kept-open SMTP connections: a connection per message costs the greeting,
    EHLO and QUIT round trips each time, more than the message itself."""

    def __init__(
        self, host: str, port: int, sender: str, timeout: float, connections: int = 8
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self._from = formataddr(parseaddr(sender), charset="utf-8")
        self.timeout = timeout
        self._idle: list[aiosmtplib.SMTP] = []
        self._connections = asyncio.Semaphore(connections)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()

    async def _connected(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=self.host, port=self.port, timeout=self.timeout, start_tls=False
        )
        await client.connect()
        return client

    async def _transmit(self, to: str, email: bytes) -> None:
        async with self._connections:
            reused = self._idle.pop() if self._idle else None
            if reused is not None and reused.is_connected:
                try:
                    await reused.sendmail(self.sender, [to], email)
                except aiosmtplib.SMTPServerDisconnected:
                    # The server closed a connection we kept (idle timeout, restart): nothing
                    # was accepted on it, so the message goes again on a new one.
                    reused.close()
                except BaseException:
                    reused.close()
                    raise
                else:
                    self._idle.append(reused)
                    return
            client = await self._connected()
            try:
                await client.sendmail(self.sender, [to], email)
            except BaseException:
                # After a refusal or a fault the session's state is unknown: start afresh.
                client.close()
                raise
            self._idle.append(client)

    def build(self, to: str, message: Message, idempotency_key: str) -> bytes:
        """The message as it goes on the wire (RFC 5322, MIME): plain text and HTML alternatives
        in UTF-8, base64-encoded, so it is 7-bit clean whatever the names in it.

        Written out here rather than by the email package: its objects cost 0.5 ms (classic API)
        to 1.6 ms (``EmailMessage``) a message, a quarter of what a whole delivery may cost at
        hundreds a second, for a message whose shape never changes. The tests read it back with
        the email package's parser."""
        boundary = f"=_{uuid.uuid4().hex}"
        head = (
            f"From: {self._from}\r\n"
            f"To: {to}\r\n"
            f"Subject: {_header_value('Subject', message.subject)}\r\n"
            f"Date: {formatdate(localtime=False)}\r\n"
            f"Message-ID: {message_id(idempotency_key)}\r\n"
            f"X-Roundtable-Reminder: {idempotency_key}\r\n"
            "MIME-Version: 1.0\r\n"
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n'
        )
        parts = [_text_part("plain", email_text(message)), _text_part("html", email_html(message))]
        body = "".join(f"--{boundary}\r\n{part}" for part in parts) + f"--{boundary}--\r\n"
        return (head + body).encode("ascii")

    async def send(self, to: str | None, message: Message, idempotency_key: str) -> Outcome:
        # An address that is not ASCII would need SMTPUTF8, which not every relay offers: it
        # fails for good, with the reason, rather than be retried for ever.
        if not to or "@" not in to or any(c in to for c in "\r\n <>") or not to.isascii():
            return Outcome.failed(FailureReason.INVALID_ADDRESS, None, retry=False)
        email = self.build(to, message, idempotency_key)
        try:
            await self._transmit(to, email)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            code = min((r.code for r in exc.recipients), default=550)
            return _smtp_answer(code)
        except aiosmtplib.SMTPResponseException as exc:
            return _smtp_answer(exc.code)
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):
            return Outcome.failed(FailureReason.TIMEOUT, None, retry=True)
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError):
            return Outcome.failed(FailureReason.UNREACHABLE, None, retry=True)
        return Outcome.ok()


def _header_value(name: str, text: str) -> str:
    """A header's value on one line when it fits, else folded; encoded (RFC 2047) when it is not
    ASCII. Line breaks a title was typed with become spaces: they could not add a header."""
    text = " ".join(text.split())
    if text.isascii() and len(name) + 2 + len(text) <= 78:
        return text
    charset = "us-ascii" if text.isascii() else "utf-8"
    return Header(text, charset, header_name=name).encode(linesep="\r\n")


def _text_part(subtype: str, text: str) -> str:
    encoded = base64.encodebytes(text.encode()).decode("ascii").replace("\n", "\r\n")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}"
    )


def _smtp_answer(code: int) -> Outcome:
    # 4xx: try again later; 5xx: the server will never take it.
    if 500 <= code < 600:
        reason = FailureReason.INVALID_ADDRESS if code in (550, 553) else FailureReason.REJECTED
        return Outcome.failed(reason, str(code), retry=False)
    return Outcome.failed(FailureReason.REJECTED, str(code), retry=True)
