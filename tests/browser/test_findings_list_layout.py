"""The 问题线索 list at 1280 px (normal and 大字模式) and at 390 px: short columns (编号, 平台, 账号名,
最近发现) stay on one line and the long 说明 is cut to two lines — its full text in the cell's title
and on the finding page — instead of squeezing the other columns into two or three lines each.
In 大字模式 at 1280 px 平台 moves under the account name and 最近发现's time under its date, so 说明
keeps fourteen characters a line instead of eight.
Screenshots: test-output/screenshots/findings-list-WIDTH-MODE.png."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from oversight.findings import FindingInput, upsert_many
from oversight.models import FindingKind
from registry.models import Account
from tests.browser.conftest import LiveStack, js_errors, login, shot
from tests.browser.test_phone_width import overflow

pytestmark = pytest.mark.browser

LONG = (
    "账号「{name}」已16天未更新，超过14天，按单项否决处理；请督促主办单位在整改期限内恢复更新，"
    "或按程序办理停更公告和关停备案，并在台账中如实登记账号的运行状态和最近一次发布时间。"
)

#: (display, width) — the office's desktop, its desktop with 大字模式, a phone
DISPLAYS = (("normal", 1280), ("large-font", 1280), ("normal", 390))


def lines(page: Any, selector: str) -> list[int]:
    """For each element matching ``selector``: how many lines its text takes."""
    return page.locator(selector).evaluate_all(
        """(els) => els.map((el) => {
             const r = document.createRange(); r.selectNodeContents(el);
             return new Set([...r.getClientRects()].filter((x) => x.width > 0).map((x) => Math.round(x.top))).size;
           })"""
    )


@pytest.fixture(scope="module")
def long_findings(live_stack: LiveStack) -> list[str]:
    with live_stack.db() as session:
        accounts = list(session.scalars(sa.select(Account).order_by(Account.id).limit(4)))
        messages = [LONG.format(name=a.name) for a in accounts]
        upsert_many(
            [
                FindingInput(
                    kind=FindingKind.inactive_14d,
                    fingerprint=f"layout:{a.id}",
                    evidence={"message": m},
                    account_id=a.id,
                    unit_id=a.unit_id,
                )
                for a, m in zip(accounts, messages, strict=True)
            ]
        )
    return messages


@pytest.mark.parametrize(("mode", "width"), DISPLAYS)
def test_findings_list_keeps_short_columns_on_one_line(
    page: Any, live_stack: LiveStack, long_findings: list[str], mode: str, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    login(page, "auditor")
    if mode == "large-font":
        page.get_by_role("button", name="大字模式").click()
    page.goto(live_stack.url_for("findings.workbench", status="open", kind="inactive_14d"))
    rows = page.locator("#findings tbody tr")
    assert rows.count() >= len(long_findings)
    shot(page, f"findings-list-{width}-{mode}", full_page=width < 1280)
    page_width, viewport, culprits, squeezed = overflow(page)
    assert page_width <= viewport, culprits
    assert not squeezed, squeezed
    message = page.locator("#findings td.message", has_text=long_findings[0][:12]).first
    assert message.get_attribute("title") == long_findings[0]  # the full text on hover
    if width >= 1280 and mode == "normal":
        for column in ("td:nth-child(1)", "td.platform", "td.account > a", "td.seen"):
            assert set(lines(page, f"#findings tbody {column}")) == {1}, column
    if width >= 1280 and mode == "large-font":
        # 平台 moves under the account name, 最近发现's time under its date: 说明 gets the room
        assert not page.locator("#findings th.platform").is_visible()
        assert page.locator("#findings td.account .platform-inline").first.is_visible()
        for column in ("td:nth-child(1)", "td.account > a", "td.seen > span"):
            assert set(lines(page, f"#findings tbody {column}")) == {1}, column
        chars = page.locator("#findings td.message > div").evaluate_all(
            "(ds) => ds.map((d) => d.clientWidth / parseFloat(getComputedStyle(d).fontSize))"
        )
        assert min(chars) >= 13.5, chars  # 十三四个字一行, not eight
    if width >= 1280:
        shown = page.locator("#findings td.message > div").evaluate_all(
            "(ds) => ds.map((d) => d.clientHeight / parseFloat(getComputedStyle(d).lineHeight))"
        )
        assert max(shown) <= 2.2, shown  # cut to two lines
        assert message.evaluate("(td) => td.querySelector('div').scrollHeight > td.querySelector('div').clientHeight")
    # the whole text is on the finding page
    message.locator("xpath=..").locator("td:nth-child(1) a").click()
    page.wait_for_load_state("load")
    assert long_findings[0] in page.locator("main").inner_text()
    assert not js_errors(page), js_errors(page)
