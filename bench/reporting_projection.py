"""How fast the reporting projections apply events from JetStream (target: 1,000 events/s).

Run: ``uv run python -m bench.reporting_projection [--programs N]``.

Publishes ``--programs`` copies of the test suite's known program history (programs, 7
enrolments, groups, 5 sessions, 6 action steps, feedback, reminders: 43 events each, across the
three producers' streams) to JetStream first, then starts the reporting service's runtime (its
three durable consumers, real handlers, FerretDB or MongoDB) and measures how long it takes to
apply them all: a catch-up, the case that needs the most throughput (after a deploy or an
outage, or a rebuild). Prints events/s overall and per 10% of progress.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time

import nats
from nats.js import JetStreamContext

from bench.ceiling import servers
from reporting.app import build_app
from reporting.projections.consumers import consumer_name
from reporting.settings import ReportingSettings
from roundtable_dev.testing.http import running_app
from roundtable_dev.testing.reporting.history import History, known_history
from roundtable_shared.messaging.streams import PRODUCERS, durable_name, stream_name


def histories(programs: int) -> list[History]:
    out = []
    for n in range(programs):
        h = known_history()
        # a distinct program per copy: rewrite program and aggregate ids
        suffix = f"-{n}"
        h.events = [
            e.model_copy(
                update={
                    "subject": e.subject + suffix,
                    "data": {
                        k: (v + suffix if k.endswith("_id") and isinstance(v, str) else v)
                        for k, v in e.data.items()
                    },
                }
            )
            for e in h.events
        ]
        out.append(h)
    return out


async def still_to_apply(js: JetStreamContext, namespace: str) -> int:
    """Events not yet acknowledged by the projection consumers, as JetStream counts them: asking
    the database instead (a count of the inbox) would load the server being measured."""
    left = 0
    for producer in PRODUCERS:
        info = await js.consumer_info(
            stream_name(producer, namespace), durable_name(consumer_name(producer), namespace)
        )
        left += (info.num_pending or 0) + (info.num_ack_pending or 0)
    return left


async def run(programs: int) -> None:
    with servers() as local:
        namespace = "benchproj."
        settings = ReportingSettings(
            mongodb_uri=local.mongodb_uri, namespace=namespace, **local.service_nats("reporting")
        )
        nc = await nats.connect(local.nats_url)
        js = nc.jetstream()
        app = build_app(settings)
        events = [e for h in histories(programs) for e in h.events]
        # Streams exist once the runtime declared them: start it briefly, then publish.
        async with running_app(app):
            await app.state.runtime.mongo.drop_database(settings.database_name)
        app = build_app(settings)
        t = time.perf_counter()
        for start in range(0, len(events), 500):
            await asyncio.gather(
                *[
                    js.publish(namespace + e.type, e.to_json(), headers={"Nats-Msg-Id": e.id})
                    for e in events[start : start + 500]
                ]
            )
        print(f"published {len(events):,} events in {time.perf_counter() - t:.1f} s")
        async with running_app(app):
            t0 = time.perf_counter()
            marks = [len(events) * k // 10 for k in range(1, 11)]
            last = (t0, 0)
            while marks:
                done = len(events) - await still_to_apply(js, namespace)
                if done >= marks[0]:
                    now = time.perf_counter()
                    print(
                        f"  {done:>7,} applied, {(done - last[1]) / (now - last[0]):,.0f} events/s in this stretch"
                    )
                    last = (now, done)
                    while marks and done >= marks[0]:
                        marks.pop(0)
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - t0
            print(
                f"applied {len(events):,} events in {elapsed:.1f} s: {len(events) / elapsed:,.0f} events/s (target 1,000)"
            )
            await app.state.runtime.mongo.drop_database(settings.database_name)
        await nc.close()
        print(
            f"machine: {platform.platform()}, python {platform.python_version()}; servers: {local.mongo.kind or 'MONGODB_URI'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reporting_projection")
    parser.add_argument("--programs", type=int, default=200, help="copies of the 43-event history")
    asyncio.run(run(parser.parse_args().programs))


if __name__ == "__main__":
    main()
