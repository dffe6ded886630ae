"""Each role lands on its own daily work after login (auth.views.LANDING), not the statistics."""

from __future__ import annotations

import pytest

from auth.models import Role
from tests.conftest import PASSWORD


@pytest.mark.parametrize(
    ("role", "landing", "shows"),
    [
        (Role.reviewer_1, "/review", "待审队列"),
        (Role.reviewer_3, "/review", "待审队列"),
        (Role.operator, "/contents", "稿件"),
        (Role.auditor, "/findings/", "问题线索"),
        (Role.admin, "/admin/", "系统管理"),
    ],
)
def test_each_role_lands_on_its_own_work(client, make_user, role, landing, shows):
    user = make_user(role)
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == landing
    page = client.get(landing, follow_redirects=True)
    assert page.status_code == 200 and shows in page.get_data(as_text=True)
