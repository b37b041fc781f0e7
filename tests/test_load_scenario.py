"""The load scenario runs with one command: a short run answers every request and sees every lag.

What this proves: the whole system comes up, setup works over the public APIs only, every kind in
the mix gets a 2xx, and every HR termination and enrolment the driver made shows in reporting's
read model (so the lag figures in docs/benchmarks/load.md rest on real samples, not on none).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
HR_KINDS = {"hr_hire", "hr_update", "hr_terminate"}
KINDS = HR_KINDS | {"enrol", "session_record", "action_progress"}


@pytest.mark.parametrize("hr_batch", [1, 5])
def test_a_short_run_has_no_errors_and_sees_every_lag_marker(tmp_path: Path, hr_batch: int) -> None:
    out = tmp_path / "load.json"
    # The documented command, as its own process (the way docs/benchmarks/load.md runs it);
    # without the ceiling's phases, which this test does not look at.
    argv = ["--rate", "5", "--seconds", "4", "--drain-seconds", "60", "--json", str(out)]
    argv += ["--hr-batch", str(hr_batch), "--ceiling-seconds", "0"]
    run = subprocess.run(
        [sys.executable, "-m", "bench.load_scenario", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert out.exists(), run.stdout + run.stderr
    figures = json.loads(out.read_text())

    assert run.returncode == 0, run.stdout
    hr_events = figures["hr_events_sent"]
    assert 0 < hr_events < figures["requests"] == 20
    if hr_batch == 1:
        assert figures["requests_ok"] == figures["http_requests"] == 20
        assert set(figures["http"]) == KINDS
    else:  # the HR events travelled in batches of 5: 3 requests for 11 events
        batches = -(-hr_events // hr_batch)
        assert figures["requests_ok"] == figures["http_requests"] == 20 - hr_events + batches
        assert set(figures["http"]) == KINDS - HR_KINDS | {"hr_batch"}
        assert figures["http"]["hr_batch"]["n"] == batches
    assert figures["cpu_seconds"]["enrollment"] > 0  # the CPU of every process is read
    for kind, row in figures["http"].items():
        assert row["errors"] == {}, kind
        assert row["ok"] == row["n"] > 0, kind
    for kind, lag in figures["lag_seconds"].items():
        assert lag["n"] > 0 and lag["unseen"] == 0, (kind, lag)
        assert 0 < lag["p50"] <= lag["p99"], (kind, lag)
    assert figures["events_published"] >= figures["requests"] * 0.9  # ~one event per change
