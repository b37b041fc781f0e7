"""A program's own messages follow it when it is made from a template or cloned, against real
NATS, FerretDB and SMTP: enrollment's template and program events in, the new program's wording
out (and in a real inbox); redeliveries change nothing, a deleted template's copy goes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from nats.aio.client import Client as NatsClient

from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.reminders import World, enrol, now, program, reminders_world
from roundtable_shared.events.catalogue import enrollment as en

TEMPLATE_WORDING = {"subject": "Welcome to {{ program_name }}", "body": "Bring a challenge."}
LATER_WORDING = {"subject": "Changed later", "body": "Not in the template."}


def created(program_id: str, origin: en.ProgramOrigin | None) -> en.ProgramCreated:
    return en.ProgramCreated(
        program_id=program_id,
        name=f"Program {program_id}",
        status=en.ProgramStatus.DRAFT,
        format=en.ProgramFormat.PAIRS,
        group_size_min=2,
        group_size_max=2,
        cadence=en.Cadence.BIWEEKLY,
        session_duration_minutes=45,
        time_zone="Europe/Berlin",
        sponsor_ids=[],
        reminders=en.ReminderSettings(before_session_minutes=[60], before_action_due_hours=[24]),
        created_at=now() - timedelta(days=1),
        copied_from=origin,
    )


def welcome(program_id: str) -> str:
    return f"/v1/programs/{program_id}/messages/welcome"


async def edit(w: World, program_id: str, wording: dict[str, str]) -> None:
    admin = w.token("emp_admin", "program_admin")
    current = await w.client.get(welcome(program_id), headers=admin)
    assert current.status_code == 200, current.text
    edited = await w.client.put(
        welcome(program_id), json=wording, headers={**admin, "If-Match": current.headers["ETag"]}
    )
    assert edited.status_code == 200, edited.text


async def wording_of(w: World, program_id: str) -> dict[str, Any] | None:
    """The program's welcome once its program is known here; None before."""
    r = await w.client.get(welcome(program_id), headers=w.token("emp_admin", "program_admin"))
    return r.json() if r.status_code == 200 else None


async def saved(w: World, template_id: str, program_id: str) -> en.ProgramTemplateSaved:
    data = en.ProgramTemplateSaved(template_id=template_id, program_id=program_id, saved_at=now())
    await w.publish(data, subject=template_id)
    await w.until(lambda: w.db["template_messages"].find_one({"_id": template_id}))
    return data


async def made(
    w: World, program_id: str, kind: en.OriginKind, source: str, subject: str
) -> dict[str, Any]:
    origin = en.ProgramOrigin(kind=kind, id=source)
    await w.publish(created(program_id, origin), subject=program_id)

    async def worded() -> dict[str, Any] | None:
        found = await wording_of(w, program_id)
        return found if found and found["subject"] == subject else None

    return await w.until(worded, timeout=30)


async def test_an_edited_message_follows_a_saved_template_into_a_new_programs_inbox(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer, smtp: Any
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, smtp_port=smtp.port
    ) as w:
        await program(w, "prg_1")
        await edit(w, "prg_1", TEMPLATE_WORDING)
        template = await saved(w, "tpl_1", "prg_1")
        # Edited after the save: the template keeps the wording it had, also on a redelivery.
        await edit(w, "prg_1", LATER_WORDING)
        await w.publish(template, subject="tpl_1")  # a new event id: not deduplicated
        copy = await made(
            w, "prg_new", en.OriginKind.TEMPLATE, "tpl_1", TEMPLATE_WORDING["subject"]
        )
        assert copy["customised"] is True and copy["version"] == 1

        await w.employee("emp_a")
        await enrol(w, "emp_a", program_id="prg_new")
        await w.until(lambda: _one(smtp.to("emp_a@example.com")), timeout=20)
        assert smtp.to("emp_a@example.com")[0]["Subject"] == "Welcome to Program prg_new"

        # Its admin edits the copy; a redelivered program.created does not copy over it.
        await edit(w, "prg_new", {"subject": "Ours now", "body": "Hello."})
        origin = en.ProgramOrigin(kind=en.OriginKind.TEMPLATE, id="tpl_1")
        await w.publish(created("prg_new", origin), subject="prg_new")
        await made(w, "prg_marker", en.OriginKind.PROGRAM, "prg_1", LATER_WORDING["subject"])
        assert (await wording_of(w, "prg_new") or {})["subject"] == "Ours now"
        assert await w.db["template_messages"].count_documents({}) == 1


async def test_clones_built_in_templates_and_templates_heard_of_late(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, worker_enabled=False
    ) as w:
        await program(w, "prg_1")
        await edit(w, "prg_1", TEMPLATE_WORDING)
        clone = await made(
            w, "prg_clone", en.OriginKind.PROGRAM, "prg_1", TEMPLATE_WORDING["subject"]
        )
        assert clone["body"] == TEMPLATE_WORDING["body"]
        default = "Welcome to your peer program"
        await made(w, "prg_kit", en.OriginKind.BUILT_IN_TEMPLATE, "builtin-peer-pairs", default)
        # Made from a template whose save comes after: redelivered until it has come.
        origin = en.ProgramOrigin(kind=en.OriginKind.TEMPLATE, id="tpl_late")
        await w.publish(created("prg_early", origin), subject="prg_early")
        await saved(w, "tpl_late", "prg_1")

        async def copied() -> bool:
            found = await wording_of(w, "prg_early")
            return bool(found and found["subject"] == TEMPLATE_WORDING["subject"])

        await w.until(copied, timeout=30)
        # prg_kit's event came before: handled by now, and it kept the default wording.
        assert (await wording_of(w, "prg_kit") or {})["customised"] is False


async def test_a_deleted_templates_copy_is_removed_and_a_late_save_does_not_restore_it(
    make_settings: Any, nats_client: NatsClient, namespace: str, dev_issuer: DevIssuer
) -> None:
    async with reminders_world(
        make_settings, nats_client, namespace, dev_issuer, worker_enabled=False
    ) as w:
        await program(w, "prg_1")
        await edit(w, "prg_1", TEMPLATE_WORDING)
        template = await saved(w, "tpl_gone", "prg_1")
        deleted = en.ProgramTemplateDeleted(
            template_id="tpl_gone", program_id="prg_1", deleted_at=now()
        )
        await w.publish(deleted, subject="tpl_gone", version=2)

        async def removed() -> bool:
            kept = await w.db["template_messages"].find_one({"_id": "tpl_gone"})
            return bool(kept and kept["deleted"] and kept["wordings"] == {})

        await w.until(removed)
        await w.publish(template, subject="tpl_gone")  # redelivered after the deletion
        await w.publish(deleted, subject="tpl_gone", version=2)
        await made(
            w, "prg_after", en.OriginKind.TEMPLATE, "tpl_gone", "Welcome to your peer program"
        )
        # A clone published after it is copied: prg_after's event was handled (stream order).
        await made(w, "prg_marker", en.OriginKind.PROGRAM, "prg_1", TEMPLATE_WORDING["subject"])
        assert (await wording_of(w, "prg_after") or {})["customised"] is False
        assert await removed()


async def _one(items: list[Any]) -> bool:
    return len(items) == 1
