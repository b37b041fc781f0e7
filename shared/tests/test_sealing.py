"""Crypto-shredding against a real NATS server: personal fields sealed on the wire, opened by any
service while the person's key exists, unreadable by anyone once it is shredded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient

from roundtable_shared.events import catalogue
from roundtable_shared.events.catalogue.enrollment import (
    EmployeeUpserted,
    EmploymentStatus,
    GroupChanged,
    GroupChangeReason,
    GroupMember,
    ParticipantUpdated,
    ReportingAttributes,
)
from roundtable_shared.events.catalogue.sessions import ActionCommitted
from roundtable_shared.events.envelope import Envelope, EventData, InvalidEvent, new_envelope
from roundtable_shared.events.registry import EVENT_TYPES, parse_data
from roundtable_shared.events.sealing import KeyRing, key_bucket, sealed_paths
from roundtable_shared.messaging.consumer import EventConsumer
from roundtable_shared.messaging.streams import PRODUCERS, dead_letter_stream
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADA = "Ada Lovelace-Marker"
ADA_EMAIL = "ada.marker@example.com"
STEP = "Ada's own words: ask the CFO for a skip-level"


def employee(employee_id: str, name: str, email: str) -> Envelope:
    data = EmployeeUpserted(
        employee_id=employee_id,
        display_name=name,
        email=email,
        time_zone="Europe/London",
        employment_status=EmploymentStatus.ACTIVE,
        updated_at=NOW,
    )
    return wrap(data, employee_id, "enrollment")


def wrap(data: EventData, subject: str, service: str) -> Envelope:
    return new_envelope(data, subject=subject, aggregate_version=1, source=f"/roundtable/{service}")


def group(members: dict[str, str]) -> Envelope:
    data = GroupChanged(
        group_id="g-1",
        program_id="p-1",
        name="Roundtable 1",
        members=[
            GroupMember(employee_id=e, participant_id=f"par-{e}", display_name=n)
            for e, n in members.items()
        ],
        reason=GroupChangeReason.ADMIN,
        changed_at=NOW,
    )
    return wrap(data, "g-1", "enrollment")


def step(owner: str) -> Envelope:
    data = ActionCommitted(
        action_id="a-1",
        session_id="s-1",
        group_id="g-1",
        program_id="p-1",
        owner_id=owner,
        accountability_partner_id="e-partner",
        title=STEP,
        due_at=NOW,
        committed_at=NOW,
    )
    return wrap(data, "a-1", "sessions")


@pytest.fixture
async def rings(nats_client: NatsClient, namespace: str) -> dict[str, KeyRing]:
    """Each producer's key ring, and reporting's (which only opens), on one namespace."""
    js = nats_client.jetstream()
    found = {}
    for service in ("enrollment", "sessions", "reporting"):
        ring = KeyRing(service, namespace)
        await ring.bind(js, PRODUCERS)
        found[service] = ring
    return found


def wire(envelope: Envelope) -> str:
    return envelope.to_json().decode()


async def test_personal_fields_travel_sealed_and_open_for_any_service(
    rings: dict[str, KeyRing],
) -> None:
    sealed = await rings["enrollment"].seal(employee("e-ada", ADA, ADA_EMAIL))
    assert ADA not in wire(sealed) and ADA_EMAIL not in wire(sealed)
    assert sealed.data["display_name"]["alg"] == "A256GCM"
    assert sealed.data["employee_id"] == "e-ada"  # ids stay readable: aggregates still count

    opened = parse_data(await rings["reporting"].open(Envelope.from_json(sealed.to_json())))
    assert isinstance(opened, EmployeeUpserted)
    assert (opened.display_name, opened.email) == (ADA, ADA_EMAIL)

    titled = await rings["sessions"].seal(step("e-ada"))
    assert STEP not in wire(titled)
    committed = parse_data(await rings["enrollment"].open(titled))
    assert isinstance(committed, ActionCommitted) and committed.title == STEP


async def test_after_shredding_nothing_opens_and_nothing_new_is_sealed_readably(
    rings: dict[str, KeyRing], nats_client: NatsClient, namespace: str
) -> None:
    before = await rings["enrollment"].seal(group({"e-ada": ADA, "e-bob": "Bob Marker"}))
    attributes = ParticipantUpdated(
        participant_id="par-e-ada",
        program_id="p-1",
        employee_id="e-ada",
        consent_to_reporting=True,
        reporting_attributes=ReportingAttributes(department="Finance-Marker", level="L5"),
        updated_at=NOW,
    )
    consented = await rings["enrollment"].seal(wrap(attributes, "par-e-ada", "enrollment"))
    assert "Finance-Marker" not in wire(consented)
    key_before = await (await rings["enrollment"].own()).for_opening("e-ada")
    assert key_before is not None

    await rings["enrollment"].shred("e-ada")
    await rings["enrollment"].shred("e-ada")  # repeatable, as consumers redeliver

    # A process that never cached the key, as a replay after the erasure is.
    fresh = KeyRing("reporting", namespace)
    await fresh.bind(nats_client.jetstream(), PRODUCERS)
    members = parse_data(await fresh.open(before))
    assert isinstance(members, GroupChanged)
    assert [m.display_name for m in members.members] == [None, "Bob Marker"]
    updated = parse_data(await fresh.open(consented))
    assert isinstance(updated, ParticipantUpdated)
    assert (updated.consent_to_reporting, updated.reporting_attributes) == (True, None)

    # What enrollment publishes about the person afterwards carries nothing of them.
    later = await rings["enrollment"].seal(employee("e-ada", ADA, ADA_EMAIL))
    assert (later.data["display_name"], later.data["email"]) == (None, None)

    # The key's bytes are in no message of the bucket's stream any more.
    js = nats_client.jetstream()
    stream = f"KV_{key_bucket('enrollment', namespace)}"
    info = await js.stream_info(stream)
    stored = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            stored.append((await js.get_msg(stream, seq)).data or b"")
        except Exception:  # deleted: nothing to read
            continue
    assert stored and key_before not in stored


async def test_a_sealed_value_moved_to_another_field_or_event_does_not_open(
    rings: dict[str, KeyRing],
) -> None:
    sealed = await rings["enrollment"].seal(group({"e-ada": ADA, "e-bob": "Bob Marker"}))
    data: dict[str, Any] = json.loads(json.dumps(sealed.data))
    # Ada's sealed name put in Bob's place (the same key would not matter: the path differs).
    data["members"][1]["display_name"] = data["members"][0]["display_name"]
    data["members"][1]["employee_id"] = "e-ada"
    with pytest.raises(InvalidEvent, match="does not open"):
        await rings["reporting"].open(sealed.model_copy(update={"data": data}))
    with pytest.raises(InvalidEvent, match="does not open"):
        await rings["reporting"].open(sealed.model_copy(update={"id": "another-event"}))


async def test_an_event_from_before_sealing_is_read_as_it_was(rings: dict[str, KeyRing]) -> None:
    plain = employee("e-old", "Old Timer", "old@example.com")
    opened = parse_data(await rings["reporting"].open(plain))
    assert isinstance(opened, EmployeeUpserted) and opened.display_name == "Old Timer"


def test_the_catalogue_seals_every_field_that_holds_a_name_an_email_or_words() -> None:
    """Fields by these names carry a person's data wherever they appear in a contract."""
    assert catalogue  # the catalogue is loaded, every type registered
    personal = {"display_name", "email", "title", "join_url", "reporting_attributes"}
    for event_type, model in EVENT_TYPES.items():
        named = {name for name in model.model_fields if name in personal}
        if "members" in model.model_fields:
            named.add("members.*.display_name")
        assert named <= set(sealed_paths(model)), (event_type, named - set(sealed_paths(model)))
    schema = json.dumps(EmployeeUpserted.model_json_schema())
    assert '"x-personal": true' in schema


async def test_a_dead_letter_keeps_the_event_sealed_and_shredding_reaches_it(
    make_settings: Callable[..., ServiceSettings], nats_client: NatsClient, namespace: str
) -> None:
    seen: list[str | None] = []

    async def always_fails(envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ActionCommitted)
        seen.append(data.title)
        raise RuntimeError("cannot store it")

    producer = ServiceRuntime(make_settings(ServiceSettings, service_name="sessions"))
    consumer = ServiceRuntime(make_settings(ServiceSettings, service_name="reporting"))
    consumer.add_consumer(
        EventConsumer(
            name="sealed-consumer",
            source_service="sessions",
            handlers={ActionCommitted.event_type: always_fails},
            max_deliver=2,
            backoff_seconds=(0.05,),
        )
    )
    await producer.start()
    await consumer.start()
    try:
        await producer.publisher.publish(step("e-ada"))
        js = nats_client.jetstream()
        stream = dead_letter_stream(namespace)
        for _ in range(200):
            if (await js.stream_info(stream)).state.messages:
                break
            await asyncio.sleep(0.05)
        letter = (await js.get_msg(stream, 1)).data or b""

        assert seen and seen[0] == STEP  # the consumer had the owner's words while keyed
        assert STEP.encode() not in letter
        dead = Envelope.from_json(letter)
        fresh = KeyRing("support-tool", namespace)
        await fresh.bind(js, PRODUCERS)
        assert (await fresh.open(dead)).data["title"] == STEP

        await producer.keys.shred("e-ada")
        after = KeyRing("support-tool", namespace)
        await after.bind(js, PRODUCERS)
        assert (await after.open(dead)).data["title"] is None
    finally:
        await consumer.stop()
        await producer.stop()
