"""A program's guide follows it when it is made from a template or cloned, against real NATS and
the MongoDB-wire server: enrollment's template and program events in, the new program's guide
out; redeliveries change nothing, a deleted template's copy goes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from roundtable_dev.testing.sessions import World, eventually
from roundtable_shared.events.catalogue import enrollment as en

ADMIN = ("program_admin",)
AT = datetime(2026, 9, 1, tzinfo=UTC)

OWN_GUIDE: dict[str, Any] = {
    "title": "Our hot seat",
    "introduction": "Questions first, then suggestions.",
    "steps": [
        {
            "key": "hot_seat",
            "title": "The hot seat: the challenge, the results wanted, the obstacles",
            "minutes": 10,
            "per_hot_seat": True,
            "record_fields": ["hot_seats.challenge", "hot_seats.desired_results"],
        },
        {
            "key": "commitments",
            "title": "Commitments with an accountability partner",
            "minutes": 10,
            "per_hot_seat": True,
            "record_fields": ["hot_seats.commitments"],
        },
    ],
}


def created(
    program_id: str, origin: en.ProgramOrigin | None = None, *, pairs: bool = False
) -> en.ProgramCreated:
    return en.ProgramCreated(
        program_id=program_id,
        name=f"Program {program_id}",
        status=en.ProgramStatus.DRAFT,
        format=en.ProgramFormat.PAIRS if pairs else en.ProgramFormat.ROUNDTABLE,
        group_size_min=2 if pairs else 5,
        group_size_max=2 if pairs else 8,
        cadence=en.Cadence.MONTHLY,
        session_duration_minutes=90,
        time_zone="UTC",
        sponsor_ids=[],
        reminders=en.ReminderSettings(before_session_minutes=[60], before_action_due_hours=[24]),
        created_at=AT,
        copied_from=origin,
    )


async def known(w: World, program_id: str) -> None:
    await w.publish(created(program_id), subject=program_id, version=1)

    async def copied() -> Any:
        return await w.db["programs"].find_one({"_id": program_id})

    assert await eventually(copied, timeout=30), f"program {program_id} never copied"


async def guide(w: World, program_id: str) -> dict[str, Any]:
    response = await w.client.get(f"/v1/programs/{program_id}/guide", headers=w.auth("adm", *ADMIN))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def edit(w: World, program_id: str, body: dict[str, Any]) -> httpx.Response:
    current = await guide(w, program_id)
    return await w.client.put(
        f"/v1/programs/{program_id}/guide",
        json=body,
        headers={**w.auth("adm", *ADMIN), "If-Match": f'"{current["version"]}"'},
    )


async def made_with_title(w: World, program_id: str, title: str) -> bool:
    response = await w.client.get(f"/v1/programs/{program_id}/guide", headers=w.auth("adm", *ADMIN))
    return response.status_code == 200 and response.json()["title"] == title


async def settled(w: World, marker: str) -> None:
    """Every event published before has been handled: a clone of ``prg_src`` (whose guide is
    its own) published after them has its copy (the consumer applies events in stream order)."""
    origin = en.ProgramOrigin(kind=en.OriginKind.PROGRAM, id="prg_src")
    await w.publish(created(marker, origin), subject=marker, version=1)
    assert await eventually(lambda: made_with_title(w, marker, "Our hot seat"), timeout=30)


async def saved(w: World, template_id: str, program_id: str) -> en.ProgramTemplateSaved:
    data = en.ProgramTemplateSaved(template_id=template_id, program_id=program_id, saved_at=AT)
    await w.publish(data, subject=template_id, version=1)

    async def kept() -> Any:
        return await w.db["template_guides"].find_one({"_id": template_id})

    assert await eventually(kept, timeout=30), f"template {template_id} never kept"
    return data


async def test_a_saved_templates_guide_follows_into_a_program_made_from_it(world: World) -> None:
    w = world
    await known(w, "prg_src")
    assert (await edit(w, "prg_src", OWN_GUIDE)).status_code == 200
    template = await saved(w, "tpl_1", "prg_src")
    # The source's guide changes after the save: the template keeps the one it had then, and
    # a redelivered save does not take the new one.
    assert (await edit(w, "prg_src", {**OWN_GUIDE, "title": "Changed later"})).status_code == 200
    await w.publish(template, subject="tpl_1", version=1)  # a new event id: not deduplicated
    origin = en.ProgramOrigin(kind=en.OriginKind.TEMPLATE, id="tpl_1")
    event = created("prg_new", origin)
    envelope = await w.publish(event, subject="prg_new", version=1)
    assert await eventually(lambda: made_with_title(w, "prg_new", "Our hot seat"), timeout=30)
    copy = await guide(w, "prg_new")
    assert copy["built_in"] is False and copy["version"] == 1
    assert [s["key"] for s in copy["steps"]] == ["hot_seat", "commitments"]

    # Its admin edits the copy; a redelivered program.created does not copy over it.
    assert (await edit(w, "prg_new", {**OWN_GUIDE, "title": "Ours now"})).status_code == 200
    await w.redeliver(envelope, msg_id="redelivered")
    marker = created("prg_marker")
    await w.publish(marker, subject="prg_marker", version=1)  # handled after the redelivery

    async def marker_known() -> Any:
        return await w.db["programs"].find_one({"_id": "prg_marker"})

    assert await eventually(marker_known, timeout=30)
    assert (await guide(w, "prg_new"))["title"] == "Ours now"
    assert await w.db["template_guides"].count_documents({}) == 1


async def test_a_clone_gets_the_source_programs_guide(world: World) -> None:
    w = world
    await known(w, "prg_src")
    assert (await edit(w, "prg_src", OWN_GUIDE)).status_code == 200
    origin = en.ProgramOrigin(kind=en.OriginKind.PROGRAM, id="prg_src")
    await w.publish(created("prg_clone", origin), subject="prg_clone", version=1)
    assert await eventually(lambda: made_with_title(w, "prg_clone", "Our hot seat"), timeout=30)


async def test_built_in_templates_and_unedited_sources_give_the_built_in_guide(
    world: World,
) -> None:
    w = world
    await known(w, "prg_src")
    assert (await edit(w, "prg_src", OWN_GUIDE)).status_code == 200
    await known(w, "prg_plain")  # never edited its guide
    await saved(w, "tpl_plain", "prg_plain")
    origins = {
        "prg_a": en.ProgramOrigin(
            kind=en.OriginKind.BUILT_IN_TEMPLATE, id="builtin-new-manager-roundtables"
        ),
        "prg_b": en.ProgramOrigin(kind=en.OriginKind.TEMPLATE, id="tpl_plain"),
        "prg_c": en.ProgramOrigin(kind=en.OriginKind.PROGRAM, id="prg_plain"),
    }
    for program_id, origin in origins.items():
        await w.publish(created(program_id, origin), subject=program_id, version=1)
    pairs = en.ProgramOrigin(kind=en.OriginKind.BUILT_IN_TEMPLATE, id="builtin-peer-pairs")
    await w.publish(created("prg_pairs", pairs, pairs=True), subject="prg_pairs", version=1)
    for program_id in origins:
        assert await eventually(
            lambda p=program_id: made_with_title(w, p, "Roundtable peer-coaching guide"),
            timeout=30,
        )
        hot_seat = await guide(w, program_id)
        assert hot_seat["built_in"] is True
        assert [s["key"] for s in hot_seat["steps"]][1:3] == ["hot_seat", "inquiry"]
    await settled(w, "prg_marker")
    assert await eventually(lambda: made_with_title(w, "prg_pairs", "Peer pair coaching guide"))
    for program_id in origins:
        assert (await guide(w, program_id))["built_in"] is True
    assert await w.db["guides"].count_documents({"_id": {"$nin": ["prg_src", "prg_marker"]}}) == 0


async def test_a_program_made_before_its_template_was_heard_of_gets_the_guide_once_it_is(
    world: World,
) -> None:
    w = world
    await known(w, "prg_src")
    assert (await edit(w, "prg_src", OWN_GUIDE)).status_code == 200
    origin = en.ProgramOrigin(kind=en.OriginKind.TEMPLATE, id="tpl_late")
    await w.publish(created("prg_early", origin), subject="prg_early", version=1)
    await saved(w, "tpl_late", "prg_src")
    assert await eventually(lambda: made_with_title(w, "prg_early", "Our hot seat"), timeout=30)


async def test_a_deleted_templates_copy_is_removed_and_a_late_save_does_not_restore_it(
    world: World,
) -> None:
    w = world
    await known(w, "prg_src")
    assert (await edit(w, "prg_src", OWN_GUIDE)).status_code == 200
    template = await saved(w, "tpl_gone", "prg_src")
    deleted = en.ProgramTemplateDeleted(template_id="tpl_gone", program_id="prg_src", deleted_at=AT)
    await w.publish(deleted, subject="tpl_gone", version=2)

    async def removed() -> bool:
        kept = await w.db["template_guides"].find_one({"_id": "tpl_gone"})
        return bool(kept and kept["deleted"] and kept["custom"] is None)

    assert await eventually(removed, timeout=30)
    await w.publish(template, subject="tpl_gone", version=1)  # redelivered after the deletion
    await w.publish(deleted, subject="tpl_gone", version=2)
    origin = en.ProgramOrigin(kind=en.OriginKind.TEMPLATE, id="tpl_gone")
    await w.publish(created("prg_after", origin), subject="prg_after", version=1)
    title = "Roundtable peer-coaching guide"
    assert await eventually(lambda: made_with_title(w, "prg_after", title), timeout=30)
    await settled(w, "prg_marker")
    assert await removed()
    assert (await guide(w, "prg_after"))["built_in"] is True
