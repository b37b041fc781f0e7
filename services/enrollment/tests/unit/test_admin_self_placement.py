"""An admin action never places the acting admin's own enrolment into a group."""

from __future__ import annotations

import pytest

from enrollment.groups.domain import forbid_self_placement
from roundtable_shared.http.problems import Forbidden


def test_placing_oneself_is_forbidden_placing_others_is_not() -> None:
    with pytest.raises(Forbidden):
        forbid_self_placement("e-admin", ["e-1", "e-admin"])
    forbid_self_placement("e-admin", ["e-1", "e-2"])
    forbid_self_placement("e-admin", [])
