"""Fixtures shared by the registry tests."""

from __future__ import annotations

import pytest

from auth.models import Role


@pytest.fixture
def people(make_unit, make_user, api_as):
    """An operator of 丙县人民政府, two auditors (four-eyes: one applies, the other approves) and an admin."""
    unit = make_unit("丙县人民政府")
    users = {
        "operator": make_user(Role.operator, unit=unit),
        "auditor": make_user(Role.auditor),
        "auditor2": make_user(Role.auditor),
        "admin": make_user(Role.admin),
    }
    return {"unit": unit, "users": users, "client": lambda who: api_as(users[who])}
