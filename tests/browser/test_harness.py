"""The harness itself: the live stack is whole, the helpers journeys rely on work, and axe
really reports violations (so a silent axe cannot pass every page)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from auth.models import User
from tests.browser.conftest import LiveStack, axe, wait_until

pytestmark = pytest.mark.browser


def test_live_stack_is_healthy_and_helpers_work(live_stack: LiveStack, as_user: Any) -> None:
    health = live_stack.api("GET", "/healthz").json()
    assert health["checks"]["worker"]["ok"] and health["checks"]["scheduler"]["ok"], health
    assert health["checks"]["database"]["dialect"] == "sqlite"
    token = live_stack.token("auditor")
    accounts = live_stack.api("GET", "/api/v1/accounts", token=token).json()
    assert accounts["total"] >= 8
    assert isinstance(live_stack.sandbox_posts(), list)
    assert live_stack.url_for("dashboard.index") == "/"
    assert live_stack.url_for("no.such_page") is None
    with live_stack.db() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(User)) >= 7
    assert wait_until(lambda: 42, timeout=1) == 42

    operator, reviewer = as_user("operator"), as_user("reviewer1")
    assert "运营-王敏" in operator.locator(".who").inner_text()
    assert "初审-李编辑" in reviewer.locator(".who").inner_text()
    operator.reload()
    assert "运营-王敏" in operator.locator(".who").inner_text()  # separate cookies per person


def test_axe_harness_reports_violations(page: Any) -> None:
    """The harness itself: axe finds a known problem and the helper fails on it, readably."""
    page.set_content(
        '<!doctype html><html lang="zh-CN"><head><title>t</title></head><body><main><h1>t</h1>'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<p style="color:#bbb;background:#fff">低对比度文字</p></main></body></html>'
    )
    violations = axe(page, "harness-self-test", fail=False)
    assert {"image-alt", "color-contrast"} <= {v["id"] for v in violations}
    with pytest.raises(pytest.fail.Exception, match=r"\[critical\] image-alt"):
        axe(page, "harness-self-test")
