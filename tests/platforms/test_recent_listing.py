# ruff: noqa: F811 - the fixtures (sandbox_url, sim, mocked) are imported and then requested
"""Whether a listing of an account's newest posts is the whole account, as each platform proves it
(``RecentListing.complete``), against the sandbox over real HTTP. Each case with its twin:

- Weibo ``user_timeline`` serves only the newest 5 whatever ``count`` asks; ``total_number`` counts
  all: 3 posts → complete, 7 posts → 5 listed, not complete (the listing is not the account);
  exactly 5 → complete, the author's ``statuses_count`` agreeing with the total at the cap;
- Weibo's commercial timeline (``statuses/user_timeline/other``, any account by uid): complete when
  the pages reach ``total_number``, not when ``limit`` cut it; a banned account is unavailable;
- Douyin/Toutiao ``video_list``: complete only on ``has_more`` false, not when ``limit`` stopped the paging;
- WeChat ``freepublish/batchget``: complete when the items read reach ``total_count``; 留言 of a 群发
  article are read past the first page of 49;
- and on recorded platform answers: a Weibo ``next_cursor`` or a missing ``total_number``, a Douyin
  page without ``has_more`` or an empty page that still says ``has_more`` prove nothing.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import responses

from platforms import AccountUnavailable, Credentials, InMemoryRateLimiter, InMemoryTokenStore
from platforms.interaction import WechatArticle, fetch_comments
from platforms.weibo_biz import WeiboBizReader
from tests.platforms.test_adapters_contract import Simulator, sandbox_url, sim  # noqa: F401 - fixtures
from tests.platforms.test_adapters_unit import BD_CREDS, DYV, WB, WB_CREDS, make, mocked  # noqa: F401 - fixture


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

    _, five = account_with_posts(sim, "weibo", 5)
    listing = adapter.recent_listing(five, 50)
    assert len(listing.posts) == 5 and listing.complete is True  # at the cap, statuses_count is 5 too


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
    profile, subject = reader.profile_of(uid)
    assert profile.name == "某县发布" and subject == "某县人民政府办公室" and profile.posts_count == 7

    other, _ = account_with_posts(sim, "weibo", 1)
    sim._post("/_sandbox/accounts", {"platform": "weibo", "uid": other, "status": "banned"})
    with pytest.raises(AccountUnavailable):
        reader.profile_of(other)
    with pytest.raises(AccountUnavailable):
        reader.listing_of(other, 10)


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


def _status(i: int) -> dict[str, Any]:
    return {"idstr": str(100 + i), "text": f"第{i}条", "created_at": "Sat Dec 05 10:00:00 +0800 2026"}


@pytest.mark.parametrize(
    ("extra", "complete"),
    [
        ({"total_number": 2, "next_cursor": 0}, True),
        ({"total_number": 2, "next_cursor": 4900000000001}, False),  # a next page exists
        ({}, False),  # no total: nothing proved
        ({"total_number": 9, "next_cursor": 0}, False),
    ],
)
def test_weibo_timeline_proof_on_recorded_answers(mocked: responses.RequestsMock, extra: dict, complete: bool) -> None:
    mocked.get(f"{WB}/2/statuses/user_timeline.json", json={"statuses": [_status(1), _status(2)], **extra})
    listing = make("weibo").recent_listing(WB_CREDS, 50)
    assert len(listing.posts) == 2 and listing.complete is complete


@pytest.mark.parametrize(
    ("data", "complete"),
    [
        ({"list": [{"item_id": "1", "share_url": "u", "create_time": 1}], "cursor": 1, "has_more": False}, True),
        ({"list": [{"item_id": "1", "share_url": "u", "create_time": 1}], "cursor": 1}, False),  # no has_more
        ({"list": [], "cursor": 0, "has_more": True}, False),  # an empty page that says there is more
    ],
)
def test_douyin_has_more_proof_on_recorded_answers(mocked: responses.RequestsMock, data: dict, complete: bool) -> None:
    mocked.get(f"{DYV}/video_list/", json={"data": {**data, "error_code": 0, "description": ""}})
    listing = make("douyin").recent_listing(BD_CREDS, 10)
    assert listing.complete is complete


def test_wechat_comments_of_a_mass_article_read_past_one_page(sim: Simulator) -> None:
    """``comment/list`` over the sandbox: 60 留言 on a 群发 article are read on two pages (49 + 11),
    and the one answered in the 公众平台 backend comes back with its reply."""
    data = sim._post("/_sandbox/accounts", {"platform": "wechat", "name": "某县发布", "subject": "某县人民政府办公室"})
    uid, creds = data["uid"], Credentials.from_mapping(data["credentials"], account_ref="wechat:c")
    post = sim._post(
        "/_sandbox/app/posts", {"platform": "wechat", "uid": uid, "title": "通知", "text": "摘要", "mass": True}
    )
    post_id, msg_data_id = post["post"]["post_id"], str(post["post"]["extra"]["msg_data_id"])
    made = [
        sim._post("/_sandbox/comments", {"platform": "wechat", "uid": uid, "post_id": post_id, "text": f"留言{i}"})
        for i in range(60)
    ]
    sim._post(
        "/_sandbox/comments/reply", {"platform": "wechat", "id": made[55]["comment"]["entry_id"], "text": "已办理"}
    )
    items = fetch_comments(sim.adapter("wechat"), creds, limit=100, articles=(WechatArticle(msg_data_id, 0),))
    assert sorted(i.text for i in items) == sorted(f"留言{i}" for i in range(60))
    answered = [i for i in items if i.replied_at is not None]
    assert [(i.text, i.reply_text) for i in answered] == [("留言55", "已办理")]
