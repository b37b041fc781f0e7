"""The schedule handlers over in-memory repositories (see ``roundtable_dev.testing.reminders_fakes``)."""

from __future__ import annotations

import pytest

from roundtable_dev.testing.reminders_fakes import Schedule, make_schedule


@pytest.fixture
def schedule() -> Schedule:
    return make_schedule()
