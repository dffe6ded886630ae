# ruff: noqa: F811 - the mocked fixture is imported and then requested
"""Platform truth for the listings the inspection calls complete, and for the 留言 reads, replayed with
``responses`` from the stored samples (``tests/platforms/samples/{weibo,wechat,douyin}/``;
docs/adapters.md, "平台实况核对（二）"):

- Weibo ``statuses/user_timeline``: the wiki's JSON示例 (cursors marked 暂未支持, a total_number far
  above what is served) proves nothing; a recorded answer of a 4-post account is complete; at the
  5-post cap a total_number that equals it is no proof unless the author's statuses_count agrees;
- Weibo 商业接口: other accounts are read on the documented ``*/other`` paths (``users/show_batch/
  other`` with ``uids``, ``statuses/user_timeline/other`` with ``uid``), not ``*/biz`` (the token's
  own account); an account left out of ``users`` is unavailable;
- Douyin ``video_list``: the SDK-shaped last page (cursor 0, has_more false, string counts) is a
  complete listing; the next page is asked with the cursor the platform returned; the header-token
  GET carries ``content-type: application/json`` as the pages require;
- WeChat ``freepublish/batchget``: the doc-shaped answer (a deleted article skipped); a page without
  ``content`` (``no_content`` read the other way) is asked again with ``no_content: 0``, and an item
  still without it is listed by article_id: every published message kept;
- WeChat ``comment/list``: a full page is followed by the next one even when ``total`` equals the
  page (as developers report), and ``reply`` is read as an object (the page) or a list (SKIT);
- WeChat ``freepublish/get``: ``fail_idx`` is reported for status 2 and 4 (“当发布状态为2或4时”).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from platforms import AccountUnavailable, InMemoryRateLimiter, InMemoryTokenStore
from platforms.interaction import WechatArticle, fetch_comments
from platforms.weibo_biz import WeiboBizReader
from tests.platforms.test_adapters_unit import (  # noqa: F401 - fixture
    BD_CREDS,
    DYV,
    WB,
    WB_CREDS,
    WX,
    WX_CREDS,
    jbody,
    make,
    mocked,
    query,
    wx_token,
)

SAMPLES = Path(__file__).with_name("samples")
BIZ = "https://c.api.weibo.com"


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


# ---------------------------------------------------------------- Weibo open API


def test_weibo_wiki_sample_parses_and_proves_nothing(mocked: responses.RequestsMock) -> None:
    doc = sample("weibo/user_timeline")
    mocked.get(f"{WB}/2/statuses/user_timeline.json", json=doc["success"])
    listing = make("weibo").recent_listing(WB_CREDS, 50)
    (post,) = listing.posts
    assert post.post_id == "11488058246" and post.text == "求关注。" and post.original is True
    assert listing.complete is False  # total_number 81655, a next_cursor: not the whole account


def test_weibo_recorded_answer_of_a_small_account_is_complete(mocked: responses.RequestsMock) -> None:
    doc = sample("weibo/user_timeline")
    status = doc["success"]["statuses"][0]
    statuses = [{**copy(status), "id": 100 + i, "user": {**status["user"], "statuses_count": 4}} for i in range(4)]
    mocked.get(f"{WB}/2/statuses/user_timeline.json", json={"statuses": statuses, **doc["recorded"]["envelope"]})
    listing = make("weibo").recent_listing(WB_CREDS, 50)
    assert len(listing.posts) == 4 and listing.complete is True


@pytest.mark.parametrize(("statuses_count", "complete"), [(7, False), (5, True), (None, False)])
def test_weibo_total_at_the_cap_needs_the_authors_statuses_count(
    mocked: responses.RequestsMock, statuses_count: int | None, complete: bool
) -> None:
    """Five statuses served (the documented cap) and total_number 5: a capped count or the whole
    account — only the author's 微博数 tells."""
    user = {"id": 1, "idstr": "1"} if statuses_count is None else {"id": 1, "statuses_count": statuses_count}
    statuses = [{"idstr": str(i), "text": f"第{i}条", "user": user} for i in range(5)]
    body = {"statuses": statuses, "previous_cursor": 0, "next_cursor": 0, "total_number": 5}
    mocked.get(f"{WB}/2/statuses/user_timeline.json", json=body)
    listing = make("weibo").recent_listing(WB_CREDS, 50)
    assert len(listing.posts) == 5 and listing.complete is complete


# ---------------------------------------------------------------- Weibo 商业接口


def biz_reader() -> WeiboBizReader:
    return WeiboBizReader(
        access_token="biz.contract", timeout=5, token_store=InMemoryTokenStore(), rate_limiter=InMemoryRateLimiter()
    )


def test_weibo_biz_profile_from_the_recorded_show_batch_other_answer(mocked: responses.RequestsMock) -> None:
    doc = sample("weibo/users_show_batch_other")
    users = mocked.get(f"{BIZ}/2/users/show_batch/other.json", json=doc["success"])
    profile, subject = biz_reader().profile_of("5225532117")
    assert query(users.calls[0])["uids"] == ["5225532117"]
    assert (profile.uid, profile.name, profile.posts_count, profile.followers) == ("5225532117", "emacsist", 24, 16)
    assert profile.verified is False and subject is None  # verified_reason "" → no 主体


def test_weibo_biz_account_left_out_of_users_is_unavailable(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{BIZ}/2/users/show_batch/other.json", json={"users": [], "total_number": 0, "states": [{"42": 0}]})
    with pytest.raises(AccountUnavailable):
        biz_reader().profile_of("42")


def _page(first: int, n: int) -> list[dict[str, Any]]:
    return [{"idstr": str(first + i), "text": f"第{first + i}条"} for i in range(n)]


def test_weibo_biz_timeline_pages_other_json_until_a_short_page(mocked: responses.RequestsMock) -> None:
    pages = {"1": _page(0, 20), "2": _page(20, 3)}

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        page = request.url.split("page=")[1].split("&")[0]
        return 200, {}, json.dumps({"statuses": pages.get(page, []), "total_number": 23})

    mocked.add_callback(responses.GET, f"{BIZ}/2/statuses/user_timeline/other.json", callback=answer)
    listing = biz_reader().listing_of("5225532117", 50)
    assert len(listing.posts) == 23 and listing.complete is True
    asked = [query(c) for c in mocked.calls]
    assert [q["page"] for q in asked] == [["1"], ["2"]] and {q["count"][0] for q in asked} == {"20"}
    assert all(q["uid"] == ["5225532117"] for q in asked)


def test_weibo_biz_full_last_page_is_no_proof_even_at_total_number(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{BIZ}/2/statuses/user_timeline/other.json", json={"statuses": _page(0, 20), "total_number": 20})
    listing = biz_reader().listing_of("1", 20)  # limit reached on a full page: a next one may exist
    assert len(listing.posts) == 20 and listing.complete is False


# ---------------------------------------------------------------- Douyin video_list


def test_douyin_sdk_shaped_last_page_is_a_complete_listing(mocked: responses.RequestsMock) -> None:
    doc = sample("douyin/video_list")
    listing_call = mocked.get(f"{DYV}/video_list/", json=doc["last_page"])
    listing = make("douyin").recent_listing(BD_CREDS, 10)
    (post,) = listing.posts
    row = doc["last_page"]["data"]["list"][0]
    assert post.post_id == row["item_id"] and post.url == row["share_url"] and post.state == "published"
    assert post.created_at is not None and int(post.created_at.timestamp()) == row["create_time"]
    assert listing.complete is True
    request = listing_call.calls[0].request
    assert request.headers["access-token"] == BD_CREDS.access_token
    assert request.headers["content-type"] == "application/json"


def test_douyin_next_page_asks_with_the_returned_cursor(mocked: responses.RequestsMock) -> None:
    doc = sample("douyin/video_list")
    mocked.get(f"{DYV}/video_list/", json=doc["more_page"])
    mocked.get(f"{DYV}/video_list/", json=doc["last_page"])
    listing = make("douyin").recent_listing(BD_CREDS, 10)
    assert [p.post_id for p in listing.posts] == ["@older", doc["last_page"]["data"]["list"][0]["item_id"]]
    assert listing.complete is True
    assert [query(c)["cursor"] for c in mocked.calls] == [["0"], [str(doc["more_page"]["data"]["cursor"])]]


# ---------------------------------------------------------------- WeChat 发布 list


def test_wechat_batchget_doc_shape_keeps_live_articles_and_proves_the_whole(mocked: responses.RequestsMock) -> None:
    doc = sample("wechat/freepublish_batchget")
    wx_token(mocked)
    mocked.post(f"{WX}/freepublish/batchget", json=doc["success"])
    listing = make("wechat").recent_listing(WX_CREDS, 10)
    (post,) = listing.posts  # ARTICLE_ID_1's only article is_deleted
    news = doc["success"]["item"][0]["content"]["news_item"][0]
    assert (post.post_id, post.title, post.url, post.canonical_url) == (
        "ARTICLE_ID_2",
        news["title"],
        news["url"],
        news["content_source_url"],
    )
    assert listing.complete is True


def test_wechat_batchget_item_without_content_is_asked_again_then_still_listed(mocked: responses.RequestsMock) -> None:
    """``no_content: 1`` read the other way (the whole ``content`` left out): the page is asked again
    with ``no_content: 0``; an item still without it is one of the account's posts all the same,
    listed by article_id, so a complete listing misses none."""
    doc = sample("wechat/freepublish_batchget")
    wx_token(mocked)
    batch = mocked.post(f"{WX}/freepublish/batchget", json=doc["without_content"])
    listing = make("wechat").recent_listing(WX_CREDS, 10)
    assert [jbody(c)["no_content"] for c in batch.calls] == [1, 0]
    (post,) = listing.posts
    assert post.post_id == "ARTICLE_ID_3" and post.created_at is not None and post.title == ""
    assert listing.complete is True


def test_wechat_batchget_without_content_then_with_it_gives_the_titles(mocked: responses.RequestsMock) -> None:
    doc = sample("wechat/freepublish_batchget")
    wx_token(mocked)
    mocked.post(f"{WX}/freepublish/batchget", json={**doc["success"], "item": [{"article_id": "ARTICLE_ID_2"}] * 2})
    mocked.post(f"{WX}/freepublish/batchget", json=doc["success"])
    listing = make("wechat").recent_listing(WX_CREDS, 10)
    assert [p.title for p in listing.posts] == ["关于防汛工作的通知"] and listing.complete is True


@pytest.mark.parametrize("status", [2, 4])
def test_wechat_publish_failure_names_the_failing_articles(mocked: responses.RequestsMock, status: int) -> None:
    wx_token(mocked)
    mocked.post(f"{WX}/freepublish/get", json={"publish_id": 2247483655, "publish_status": status, "fail_idx": [1, 2]})
    result = make("wechat").status(WX_CREDS, "2247483655")
    assert result.state == "rejected" and "1、2" in (result.detail or "")


# ---------------------------------------------------------------- WeChat 留言


def _comments(first: int, n: int) -> list[dict[str, Any]]:
    return [
        {"user_comment_id": k, "openid": f"o{k}", "create_time": 1733450000 + k, "content": "留言"}
        for k in range(first, first + n)
    ]


def test_wechat_comment_paging_does_not_stop_on_a_total_that_is_the_page_size(mocked: responses.RequestsMock) -> None:
    wx_token(mocked)
    mocked.post(f"{WX}/comment/list", json={"errcode": 0, "errmsg": "ok", "total": 49, "comment": _comments(0, 49)})
    mocked.post(f"{WX}/comment/list", json={"errcode": 0, "errmsg": "ok", "total": 11, "comment": _comments(49, 11)})
    items = fetch_comments(make("wechat"), WX_CREDS, limit=100, articles=(WechatArticle("2247483647", 0),))
    assert len(items) == 60 and len({i.platform_item_id for i in items}) == 60
    assert [jbody(c)["begin"] for c in mocked.calls if c.request.url.startswith(f"{WX}/comment/list")] == [0, 49]


def test_wechat_comment_reply_read_as_object_and_as_list(mocked: responses.RequestsMock) -> None:
    doc = sample("wechat/comment_list")
    page = copy(doc["page"])
    page["comment"].append(doc["sdk_reply_list"]["comment"])
    stranger = {"user_comment_id": 3, "create_time": 1733450500, "content": "非微信身份的留言", "reply": []}
    page["comment"].append(stranger)
    wx_token(mocked)
    mocked.post(f"{WX}/comment/list", json=page)
    items = {i.platform_item_id: i for i in fetch_comments(make("wechat"), WX_CREDS, articles=(WechatArticle("9", 0),))}
    assert items["9:0:1"].reply_text == "您好，请到各村委会领取。" and items["9:0:1"].replied_at is not None
    assert items["9:0:2"].reply_text == "明天上午九点恢复供水。"
    assert items["9:0:2"].author_ref == "oPUBLIC0000000000000000002"
    assert items["9:0:3"].replied_at is None and items["9:0:3"].author_ref is None  # no openid: not a WeChat identity


def test_the_samples_name_their_sources() -> None:
    for name in (
        "weibo/user_timeline",
        "weibo/users_show_batch_other",
        "douyin/video_list",
        "wechat/freepublish_batchget",
        "wechat/comment_list",
    ):
        doc = sample(name)
        assert doc["source"] and doc["sample_kind"] and doc["endpoint"]
