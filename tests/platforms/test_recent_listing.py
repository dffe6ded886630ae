# ruff: noqa: F811 - the fixtures (sandbox_url, sim) are imported and then requested
"""Whether a listing of an account's newest posts is the whole account, as each platform proves it
(``RecentListing.complete``), against the sandbox over real HTTP. Each case with its twin:

- Weibo ``user_timeline`` serves only the newest 5 whatever ``count`` asks; ``total_number`` counts
  all: 3 posts → complete, 7 posts → 5 listed, not complete (the listing is not the account);
- Weibo's commercial timeline: complete when the pages reach ``total_number``, not when ``limit`` cut it;
- Douyin/Toutiao ``video_list``: complete only on ``has_more`` false, not when ``limit`` stopped the paging;
- WeChat ``freepublish/batchget``: complete when the items read reach ``total_count``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from platforms import Credentials, InMemoryRateLimiter, InMemoryTokenStore
from platforms.weibo_biz import WeiboBizReader
from tests.platforms.test_adapters_contract import Simulator, sandbox_url, sim  # noqa: F401 - fixtures


def account_with_posts(sim: Simulator, platform: str, n: int) -> tuple[str, Credentials]:
    data = sim._post("/_sandbox/accounts", {"platform": platform, "name": "某县发布", "subject": "某县人民政府办公室"})
    uid = data["uid"]
    for i in range(n):
        body: dict[str, Any] = {
            "platform": platform,
            "uid": uid,
            "text": f"第{i}条",
            "created_at": time.time() - (n - i) * 600,
        }
        if platform == "wechat":
            body["title"] = f"标题{i}"
        sim._post("/_sandbox/app/posts", body)
    return uid, Credentials.from_mapping(data["credentials"], account_ref=f"{platform}:{uid}")


def test_weibo_timeline_complete_only_when_total_number_says_so(sim: Simulator) -> None:
    adapter = sim.adapter("weibo")
    _, few = account_with_posts(sim, "weibo", 3)
    listing = adapter.recent_listing(few, 50)
    assert len(listing.posts) == 3 and listing.complete is True

    _, many = account_with_posts(sim, "weibo", 7)
    listing = adapter.recent_listing(many, 50)
    assert len(listing.posts) == 5  # fewer than asked …
    assert listing.complete is False  # … and not the whole account: total_number is 7
    assert [p.text for p in listing.posts] == [f"第{i}条" for i in range(6, 1, -1)]
    assert adapter.recent_posts(many, 50) == list(listing.posts)


def test_weibo_biz_timeline_complete_when_the_pages_reach_total_number(sim: Simulator) -> None:
    uid, _ = account_with_posts(sim, "weibo", 7)
    reader = WeiboBizReader(
        access_token="biz.contract",
        base_url=sim.base + "/weibo-biz",
        timeout=5,
        token_store=InMemoryTokenStore(),
        rate_limiter=InMemoryRateLimiter(),
    )
    whole = reader.listing_of(uid, 50)
    assert len(whole.posts) == 7 and whole.complete is True
    cut = reader.listing_of(uid, 4)
    assert len(cut.posts) == 4 and cut.complete is False


@pytest.mark.parametrize("platform", ["douyin", "toutiao"])
def test_bytedance_video_list_complete_only_on_has_more_false(sim: Simulator, platform: str) -> None:
    adapter = sim.adapter(platform)
    _, creds = account_with_posts(sim, platform, 3)
    whole = adapter.recent_listing(creds, 10)
    assert len(whole.posts) == 3 and whole.complete is True
    cut = adapter.recent_listing(creds, 2)
    assert len(cut.posts) == 2 and cut.complete is False


def test_wechat_published_list_complete_when_total_count_is_reached(sim: Simulator) -> None:
    adapter = sim.adapter("wechat")
    _, creds = account_with_posts(sim, "wechat", 3)
    whole = adapter.recent_listing(creds, 10)
    assert len(whole.posts) == 3 and whole.complete is True
    cut = adapter.recent_listing(creds, 2)
    assert len(cut.posts) == 2 and cut.complete is False
