"""Fixtures of the sessions service's tests (defined in sessions_world.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from sessions_world import group_world, world

__all__ = ["group_world", "world"]
