"""The local mail catcher of `make run`: keeps what it receives and shows it on a web page."""

from __future__ import annotations

import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx

from roundtable_dev.local.servers import free_port, wait_for_port


async def test_the_mail_catcher_keeps_messages_and_lists_them_in_a_browser(tmp_path: Path) -> None:
    smtp_port, http_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "roundtable_dev.local.mailcatcher",
            "--smtp-port",
            str(smtp_port),
            "--http-port",
            str(http_port),
            "--data-dir",
            str(tmp_path),
        ]
    )
    try:
        wait_for_port(http_port, 20, process)  # type: ignore[arg-type]
        message = EmailMessage()
        message["From"], message["To"] = "reminders@roundtable.example", "ada@example.com"
        message["Subject"] = "Coming up: <session 1>"
        message.set_content("See you at 10:00.")
        await aiosmtplib.send(message, hostname="127.0.0.1", port=smtp_port)
        assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as client:
            index = (await client.get("/")).text
            assert "ada@example.com" in index and "Coming up: &lt;session 1&gt;" in index
            name = next((tmp_path / "mail").glob("*.eml")).stem
            page = (await client.get(f"/messages/{name}")).text
            assert "See you at 10:00." in page
            raw = await client.get(f"/messages/{name}.eml")
            assert raw.status_code == 200 and "Subject: Coming up: <session 1>" in raw.text
            assert (await client.get("/messages/nothing-here")).status_code == 404
    finally:
        process.terminate()
        process.wait(10)
