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
KINDS = {"hr_hire", "hr_update", "hr_terminate", "enrol", "session_record", "action_progress"}


def test_a_short_run_has_no_errors_and_sees_every_lag_marker(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    # The documented command, as its own process (the way docs/benchmarks/load.md runs it).
    argv = ["--rate", "5", "--seconds", "4", "--drain-seconds", "60", "--json", str(out)]
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
    assert figures["requests_ok"] == figures["requests"] == 20
    assert set(figures["http"]) == KINDS
    for kind, row in figures["http"].items():
        assert row["errors"] == {}, kind
        assert row["ok"] == row["n"] > 0, kind
    for kind, lag in figures["lag_seconds"].items():
        assert lag["n"] > 0 and lag["unseen"] == 0, (kind, lag)
        assert 0 < lag["p50"] <= lag["p99"], (kind, lag)
    assert figures["events_published"] >= figures["requests"] * 0.9  # ~one event per change
