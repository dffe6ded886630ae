"""The office follows a 检查命中 finding to the post itself: the finding shows the hit in its place
(an excerpt, not the whole post), its link opens the post's page with the whole text and the hit
marked, numbered like the 问题清单; the page fits a phone (390 px) in 大字模式 too."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from common.db import utcnow
from oversight.inspection import service, sources
from oversight.models import Finding, FindingKind
from registry.models import Account
from tests.browser.conftest import LiveStack, login, shot

pytestmark = pytest.mark.browser

TEXT = "今天" + "全县开展冬季安全生产大检查，" * 8 + "庆祝中华人民共合国成立七十七周年" + "欢迎群众监督。" * 8


def _found_post(live_stack: LiveStack) -> tuple[int, int]:
    """A post made in the platform's app, read by the inspection as the daily sweep reads it:
    (its finding's id, the live post's id)."""
    with live_stack.db() as session:
        account = session.scalars(
            sa.select(Account)
            .where(Account.platform_uid.is_not(None), Account.status.in_(service.INSPECTED_STATUSES))
            .order_by(Account.id)
        ).first()
        now = utcnow()
        post_id = f"browser-post-{now.timestamp():.0f}"
        reading = sources.Reading(
            account_id=account.id,
            source="import",
            at=now,
            ok=True,
            posts=(sources.SeenPost(post_id=post_id, published_at=now - timedelta(hours=2), text=TEXT),),
            complete_since=datetime.max,  # an export: it covers only what it lists
        )
        outcome = service.apply(reading, now)
        assert outcome.result == "checked", outcome
        finding = session.scalars(
            sa.select(Finding).where(
                Finding.kind == FindingKind.post_check_hit, Finding.fingerprint.endswith(f"post={post_id}")
            )
        ).one()
        return finding.id, finding.evidence["live_post_id"]


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large-font"])
def test_auditor_follows_a_check_hit_to_the_post(browser, live_stack: LiveStack, large: bool):
    finding_id, post_id = _found_post(live_stack)
    context = browser.new_context(
        base_url=live_stack.url, locale="zh-CN", viewport={"width": 390, "height": 844}, timezone_id="Asia/Shanghai"
    )
    try:
        page = context.new_page()
        login(page, "auditor")
        if large:
            page.get_by_role("button", name="大字模式").click()
        page.goto(f"/findings/{finding_id}")
        excerpt = page.locator("dd", has_text="【中华人民共合国】")
        assert excerpt.count() == 1 and "全县开展冬季安全生产大检查，" * 3 not in excerpt.inner_text()

        page.get_by_role("link", name="该条内容全文与检查结果").click()
        page.wait_for_url(f"**/inspection/posts/{post_id}")
        mark = page.locator("mark.finding-block")
        assert mark.inner_text() == "中华人民共合国"
        assert page.locator("#post-checks").get_by_text("欢迎群众监督。" * 8).count() == 1  # the whole text
        assert page.locator("#finding-1").get_by_text("中华人民共和国").count() == 1  # the suggested fix
        assert "已生成问题线索" in page.locator("#post-checks").inner_text()  # not a draft's 必须修改后才能提交审核
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the post page is {width} px wide at 390 px"
        shot(page, f"live-post-page-390-{'large' if large else 'normal'}")
    finally:
        context.close()
