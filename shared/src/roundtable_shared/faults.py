"""Fault injection for the crash tests: a named point where the process kills itself with SIGKILL.

``ROUNDTABLE_CRASH_AT=<point>[:<n>]`` kills the process the n-th time (default the first) it
reaches ``<point>``. Unset in every real deployment; checking it costs one dict lookup.
"""

from __future__ import annotations

import os
import signal

_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    setting = os.environ.get("ROUNDTABLE_CRASH_AT")
    if not setting:
        return
    point, _, nth = setting.partition(":")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
