"""Fixtures of the sessions service's tests (defined in roundtable_dev.testing.sessions)."""

from __future__ import annotations

from roundtable_dev.testing.sessions import group_world, world

__all__ = ["group_world", "world"]
