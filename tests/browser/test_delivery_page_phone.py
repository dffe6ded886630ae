"""The 发布状态 page on a phone in 大字模式: each channel a card the operator can read and act on.

Before, the channels' table scrolled sideways in its own box with its columns squeezed to a
character or two, and the manual-publish row's hidden label pushed the whole page wider than
the screen (an absolutely placed element escapes a box that scrolls).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from auth.models import User
from common.db import utcnow
from moderation import service
from moderation.models import ContentStatus
from publishers.models import Delivery, DeliveryStatus
from registry.models import Account
from tests.browser.conftest import LiveStack, login, shot

pytestmark = pytest.mark.browser


def _published_with_manual_work(stack: LiveStack) -> int:
    """A post sent to Douyin and waiting for a person to publish it on Toutiao (no API there)."""
    with stack.db() as session:
        operator = session.scalar(sa.select(User).where(User.username == "operator"))
        accounts = {
            a.platform.value: a
            for a in session.scalars(sa.select(Account).where(Account.unit_id == operator.unit_id).order_by(Account.id))
        }
        douyin, toutiao = accounts["douyin"], accounts["toutiao"]
        content = service.create_content(
            {"title": "手机查看发布状态：冬季供暖服务热线开通", "body": "<p>热线开通。</p>", "target_ids": [douyin.id]},
            operator,
        )
        content.status = ContentStatus.partly_failed

        def delivery(account: Account, status: DeliveryStatus, **state: Any) -> Delivery:
            return Delivery(
                content_id=content.id,
                version=content.version,
                account_id=account.id,
                status=status,
                attempts=1,
                idempotency_key=uuid.uuid4().hex,
                content_hash="x" * 64,
                **state,
            )

        session.add_all(
            [
                delivery(
                    douyin,
                    DeliveryStatus.sent,
                    platform_post_id="phone-1",
                    platform_url="https://example.invalid/phone-1",
                    sent_at=utcnow(),
                ),
                delivery(
                    toutiao,
                    DeliveryStatus.manual,
                    last_error_code="manual_publish",
                    last_error_message="头条号没有公开的文章发布接口，请使用人工发布包在头条号后台发布",
                ),
            ]
        )
        session.flush()
        return content.id


def test_each_channel_is_a_readable_card_on_a_phone_in_large_font(browser: Any, live_stack: LiveStack) -> None:
    content_id = _published_with_manual_work(live_stack)
    context = browser.new_context(base_url=live_stack.url, locale="zh-CN", viewport={"width": 390, "height": 844})
    context.add_init_script("window.localStorage.setItem('gm-large-font', '1')")
    phone = context.new_page()
    try:
        login(phone, "operator")
        phone.goto(f"/publishing/contents/{content_id}")
        assert phone.evaluate("() => document.documentElement.classList.contains('gm-large-font')")
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390  # nothing sideways
        for platform in ("douyin", "toutiao"):
            row = phone.locator(f'#deliveries tr[data-platform="{platform}"]')
            box = row.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (platform, box)
            status = row.locator("td").nth(2)
            assert status.bounding_box()["width"] > 200  # a card's line, not a column a character wide
        toutiao = phone.locator('#deliveries tr[data-platform="toutiao"]')
        field = toutiao.get_by_label("平台链接（可选）")
        label = toutiao.locator("label", has_text="平台链接（可选）")
        assert field.is_visible() and label.is_visible() and label.bounding_box()["width"] > 50  # a label one can read
        button = toutiao.get_by_role("button", name="已人工处理：已在平台发布")
        button.scroll_into_view_if_needed()
        button_box = button.bounding_box()
        assert button_box["x"] + button_box["width"] <= 390 and button_box["height"] >= 24
        douyin = phone.locator('#deliveries tr[data-platform="douyin"]')
        last = douyin.locator("td").last
        # read as 操作：— , not a bare 操作：
        assert last.get_attribute("data-label") == "操作" and last.inner_text().strip() == "—"
        shot(phone, "delivery-page-phone-large-font")
    finally:
        context.close()
