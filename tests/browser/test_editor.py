"""The content editor in a browser (issue 20): type in the rich-text editor, 检查, jump to a hit,
应用建议, counters and the per-platform preview, save, refresh without a duplicate, autosave,
and the same editor usable at 390 px. Screenshots: test-output/screenshots/editor-*.png."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from common.timefmt import CN_TZ
from moderation.models import Content
from tests.browser.conftest import LiveStack, axe, login, shot

pytestmark = pytest.mark.browser

RESIDENT_ID = "11010519491231002X"
MASKED_ID = "110***********002X"
TITLE = "示范县老旧小区改造进展通报"


def count_titled(stack: LiveStack, title: str) -> int:

    with stack.db() as session:
        return int(session.scalar(sa.select(sa.func.count()).where(Content.title == title)) or 0)


def step(page: Any, name: str) -> None:
    shot(page, f"editor-{name}")
    errors = list(getattr(page, "js_errors", []))
    assert not errors, f"script errors or CSP violations at {name}: {errors}"


def no_page_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"the page scrolls sideways: {width} px wide in a {viewport} px window"


def test_editor_type_check_jump_apply_save_refresh(page: Any, live_stack: LiveStack) -> None:
    login(page, "operator")
    page.goto("/contents/new")
    editable = page.locator("#body-rich [contenteditable=true]")
    editable.wait_for()
    assert page.locator("textarea#body").is_hidden()  # enhanced: the textarea carries the HTML
    step(page, "01-empty")

    page.get_by_label("标题（必填）").fill(TITLE)
    editable.click()
    page.keyboard.type(f"今年以来完成改造 12 个小区。联系人身份证号 {RESIDENT_ID}，")
    page.keyboard.press("Control+b")
    page.keyboard.type("请核对")
    page.keyboard.press("Control+b")
    assert "<strong>请核对</strong>" in page.locator("textarea#body").input_value()

    # only the chosen platforms' counters and boxes; live counts
    assert page.locator('.counter-box[data-platform="weibo"]').is_hidden()
    page.get_by_role("group", name="微博", exact=True).get_by_label("示范县发布", exact=True).check()
    page.get_by_role("group", name="微信公众号", exact=True).get_by_label("示范县发布", exact=True).check()
    weibo = page.locator('.counter-box[data-platform="weibo"] .counter')
    title_counter = page.locator('.counter-box[data-platform="wechat"] .counter').first
    assert weibo.is_visible() and title_counter.is_visible()
    assert page.locator('.counter-box[data-platform="douyin"]').is_hidden()
    assert page.locator(".override-box[data-platform=douyin]").is_hidden()
    assert page.locator(".override-box[data-platform=weibo]").is_visible()
    assert title_counter.get_attribute("data-count") == str(len(TITLE))
    page.get_by_label("标题（必填）").fill(TITLE + "（第二期）")
    assert title_counter.get_attribute("data-count") == str(len(TITLE + "（第二期）"))
    page.get_by_label("标题（必填）").fill(TITLE)
    before = int(weibo.get_attribute("data-count"))
    page.get_by_label("微博", exact=True).fill("微博版：" + "很长的文案" * 30)
    assert int(weibo.get_attribute("data-count")) > 140 and weibo.get_attribute("data-over") == "1"
    page.get_by_label("微博", exact=True).fill("")
    assert int(weibo.get_attribute("data-count")) == before
    # 群发 or 发布 for the WeChat account, with the quota text
    choice = page.locator(".target-choice:visible")
    assert choice.count() == 1 and "群发额度（北京时间）" in choice.inner_text()
    step(page, "02-typed-counters")

    page.get_by_role("button", name="检查（不保存）").click()
    page.wait_for_load_state()
    jump = page.locator("#checks ol.jump-list li[data-rule='privacy.id18'] a")
    assert jump.count() == 1
    hit = page.locator("#findings-body li[data-rule='privacy.id18']")
    assert hit.count() == 1 and RESIDENT_ID in hit.inner_text()
    assert count_titled(live_stack, TITLE) == 0  # 检查 saves nothing
    # the form kept the formatting and the platforms
    assert "<strong>请核对</strong>" in page.locator("textarea#body").input_value()
    jump.click()
    assert page.evaluate("document.activeElement.id") == hit.get_attribute("id")
    assert page.url.endswith("#" + hit.get_attribute("id"))
    step(page, "03-checked-jumped-to-hit")

    hit.get_by_role("button", name=re.compile("应用建议")).click()
    page.wait_for_load_state()
    assert f"改为“{MASKED_ID}”，并重新检查" in page.locator("#fix-applied").inner_text()
    assert MASKED_ID in editable.inner_text() and RESIDENT_ID not in editable.inner_text()
    assert page.locator("li[data-rule='privacy.id18']").count() == 0  # checked again
    step(page, "04-suggestion-applied")

    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    assert re.search(r"/contents/\d+/edit$", page.url), page.url
    assert "稿件已保存" in page.locator(".flash").first.inner_text()
    preview = page.locator("#platform-preview")
    assert TITLE in preview.inner_text()
    page.get_by_label("标题（必填）").fill(TITLE + "（更新）")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    assert TITLE + "（更新）" in page.locator("#platform-preview").inner_text()  # the preview follows the save
    step(page, "05-saved-preview")

    page.reload()
    page.wait_for_load_state()
    assert count_titled(live_stack, TITLE + "（更新）") == 1 and count_titled(live_stack, TITLE) == 0
    step(page, "06-refreshed-no-duplicate")

    # autosave: a change is saved in the background, shown in Beijing time
    page.get_by_label("摘要（可选，用于微信摘要、微博短文等）").fill("自动保存的摘要")
    page.evaluate("window.govmediaAutosave()")
    status = page.locator("#autosave-status")
    status.filter(has_text="已自动保存").wait_for()
    assert re.search(r"已自动保存 \d\d:\d\d", status.inner_text())
    assert count_titled(live_stack, TITLE + "（更新）") == 1
    step(page, "07-autosaved")
    axe(page, "editor after autosave")


def test_editor_new_draft_autosaved_once_then_the_same(page: Any, live_stack: LiveStack) -> None:
    title = "示范县自动保存测试稿"
    login(page, "operator")
    page.goto("/contents/new")
    page.locator("#body-rich [contenteditable=true]").wait_for()
    page.get_by_label("标题（必填）").fill(title)
    page.evaluate("window.govmediaAutosave()")
    page.locator("#autosave-status").filter(has_text="已自动保存").wait_for()
    assert re.search(r"/contents/\d+/edit$", page.url)  # the address is the draft's now
    page.get_by_label("标题（必填）").fill(title + "二")
    page.evaluate("window.govmediaAutosave()")
    page.wait_for_function("document.getElementById('autosave-status').textContent.includes('已自动保存')")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_load_state()
    assert count_titled(live_stack, title + "二") == 1 and count_titled(live_stack, title) == 0


def test_editor_at_390_px(browser: Any, live_stack: LiveStack) -> None:

    context = browser.new_context(
        base_url=live_stack.url, locale="zh-CN", viewport={"width": 390, "height": 844}, timezone_id=CN_TZ.key
    )
    context.set_default_timeout(15_000)
    phone = context.new_page()
    try:
        login(phone, "operator")
        phone.goto("/contents/new")
        editable = phone.locator("#body-rich [contenteditable=true]")
        editable.wait_for()
        box = editable.bounding_box()
        assert box is not None and box["width"] >= 280 and box["x"] + box["width"] <= 390
        phone.get_by_label("标题（必填）").fill("手机上起草的稿件")
        editable.click()
        phone.keyboard.type(f"身份证号 {RESIDENT_ID}")
        phone.get_by_role("group", name="微博", exact=True).get_by_label("示范县发布", exact=True).check()
        no_page_scroll(phone)
        shot(phone, "editor-390-01-typed")
        phone.get_by_role("button", name="检查（不保存）").click()
        phone.wait_for_load_state()
        button = phone.locator("#findings-body").get_by_role("button", name=re.compile("应用建议"))
        button.scroll_into_view_if_needed()
        assert button.bounding_box()["x"] + button.bounding_box()["width"] <= 390
        no_page_scroll(phone)
        shot(phone, "editor-390-02-checked")
        button.click()
        phone.wait_for_load_state()
        assert MASKED_ID in phone.locator("#body-rich [contenteditable=true]").inner_text()
        no_page_scroll(phone)
        shot(phone, "editor-390-03-applied")
    finally:
        context.close()


def test_live_preview_follows_the_typing(page: Any, live_stack: LiveStack) -> None:
    """The per-platform preview under the editor follows what is typed (the platforms' own
    rendering), before anything is saved; an override for Weibo shows in Weibo's preview only."""
    title = "实时预览测试：冬季供暖热线开通"
    login(page, "operator")
    page.goto("/contents/new")
    editable = page.locator("#body-rich [contenteditable=true]")
    editable.wait_for()
    status = page.locator("#live-preview-status")
    assert "随输入更新" in status.inner_text()
    page.get_by_label("标题（必填）").fill(title)
    page.get_by_role("group", name="微博", exact=True).get_by_label("示范县发布", exact=True).check()
    page.get_by_role("group", name="微信公众号", exact=True).get_by_label("示范县发布", exact=True).check()
    editable.click()
    page.keyboard.type("供暖热线今天开通，24小时有人接听。")
    weibo = page.locator('#live-preview article.preview[data-platform="weibo"]')
    wechat = page.locator('#live-preview article.preview[data-platform="wechat"]')
    # WeChat carries the article's body; Weibo its title (or summary) and the link
    wechat.filter(has_text="24小时有人接听").wait_for()
    assert title in wechat.inner_text() and title in weibo.inner_text()
    assert "随输入更新，尚未保存" in page.locator("#live-preview").inner_text()
    assert "预览已更新" in status.inner_text()
    step(page, "live-01-typed")

    # keep typing: the preview follows; a Weibo-only text changes Weibo's preview only
    page.keyboard.type("热线号码12345。")
    wechat.filter(has_text="热线号码12345").wait_for()
    page.get_by_label("微博", exact=True).fill("【供暖】热线今起开通，微博网友可私信咨询。")
    weibo.filter(has_text="微博网友可私信咨询").wait_for()
    assert "微博网友可私信咨询" not in wechat.inner_text()
    step(page, "live-02-override")
    # nothing was saved by the preview (autosave runs on its own clock, not on preview)
    assert count_titled(live_stack, title) <= 1
