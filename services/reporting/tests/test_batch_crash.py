"""The service killed with SIGKILL in the middle of applying a batch: once restarted, the read
models equal a rebuild from the streams (nothing short, nothing counted twice)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest
from nats.aio.client import Client as NatsClient

from reporting.app import build_app
from reporting.projections.batch import read_journal
from reporting.rebuild import rebuild
from reporting.settings import ReportingSettings
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.http import listening_socket, running_app
from roundtable_dev.testing.reporting.history import (
    PROGRAM,
    SPONSOR,
    known_history,
    reversed_with_repeats,
)
from roundtable_dev.testing.reporting.readmodels import contents
from roundtable_dev.testing.reporting.world import World
from roundtable_shared.messaging.streams import PRODUCERS, declare_stream, stream_config

pytestmark = pytest.mark.slow


def run_service(settings: ReportingSettings, crash_at: str) -> int:
    """``python -m reporting`` on this test's servers until ``crash_at`` kills it."""
    with listening_socket() as sock:
        port = sock.getsockname()[1]  # a free port; the service binds it once this one closes
    env = {
        **os.environ,
        "REPORTING_MONGODB_URI": settings.mongodb_uri,
        "REPORTING_NATS_URL": settings.nats_url,
        "REPORTING_NATS_USER": settings.nats_user,
        "REPORTING_NATS_PASSWORD": settings.nats_password.get_secret_value(),
        "REPORTING_NAMESPACE": settings.namespace,
        "REPORTING_JWT_ISSUER": settings.jwt_issuer,
        "REPORTING_JWKS_URL": settings.jwks_url,
        "REPORTING_HTTP_PORT": str(port),
        "ROUNDTABLE_CRASH_AT": crash_at,
    }
    return subprocess.run(
        [sys.executable, "-m", "reporting"], env=env, timeout=60, capture_output=True
    ).returncode


@pytest.mark.parametrize(
    "crash_at",
    [
        "reporting.batch.journaled",  # nothing of the batch written yet but its journal
        "reporting.batch.copies_written",  # markers and copies written, no counter
        "reporting.batch.rollups_written",  # the weekly counters written, not the totals
    ],
)
async def test_a_crash_mid_batch_leaves_the_read_models_equal_to_a_rebuild(
    settings: ReportingSettings,
    nats_client: NatsClient,
    namespace: str,
    dev_issuer: DevIssuer,
    crash_at: str,
) -> None:
    js = nats_client.jetstream()
    for producer in PRODUCERS:
        await declare_stream(js, stream_config(producer, namespace, 1))
    history = reversed_with_repeats(known_history().events)
    for envelope, msg_id in history:
        await js.publish(
            namespace + envelope.type, envelope.to_json(), headers={"Nats-Msg-Id": msg_id}
        )

    killed = await asyncio.to_thread(run_service, settings, crash_at)
    assert killed == -signal.SIGKILL

    app = build_app(settings)
    async with running_app(app) as client:
        try:
            db = app.state.runtime.db
            # the killed batch is the journal's, and its totals were not written: proof the
            # crash came mid-batch (what it did not write comes only from the journal: its
            # effect markers, at least, were claimed or are in the journal alone)
            journal = await db["g1_journal"].find_one({"_id": "last"})
            assert journal is not None
            batch = read_journal(journal)
            totals = {c["id"] for c in batch["incs"] if c["c"] == "totals"} | {
                c["id"] for e in batch["effects"] for c in e["changes"] if c["c"] == "totals"
            }
            assert totals
            for program_id in totals:
                doc = await db["g1_totals"].find_one({"_id": program_id})
                assert doc is None or doc.get("applied_batch") != batch["id"]
            w = World(app, nats_client, namespace, dev_issuer)
            w.event_ids = {envelope.id for envelope, _ in history}
            # what the dead process held comes back after the consumers' 30 s ack wait
            await w.settle(seconds=90)
            recovered = await contents(await app.state.services.generations.current())
            headers = w.headers(SPONSOR, ["sponsor"])
            summary = await client.get(f"/v1/programs/{PROGRAM}/summary", headers=headers)
            assert summary.status_code == 200

            assert await rebuild(settings) == "g2"

            app.state.services.generations._cached = None
            rebuilt = await contents(await app.state.services.generations.current())
            assert rebuilt == recovered
            again = await client.get(f"/v1/programs/{PROGRAM}/summary", headers=headers)
            assert again.json() == summary.json()
        finally:
            await app.state.runtime.mongo.drop_database(settings.database_name)
