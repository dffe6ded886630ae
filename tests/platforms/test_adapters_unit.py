"""Adapter unit tests with ``responses``: request shapes (PROTOCOLS.md) and error mapping."""

from __future__ import annotations

import json
import logging
import pickle
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import requests
import responses

from devkit import services
from platforms import (
    AccountUnavailable,
    AdapterError,
    ContentInput,
    ContentRejected,
    Credentials,
    CredentialsError,
    DuplicateContent,
    InMemoryRateLimiter,
    InMemoryTokenStore,
    InvalidRequest,
    MediaFile,
    RateLimited,
    RedisRateLimiter,
    RedisTokenStore,
    TokenExpired,
    TransientError,
    Unsupported,
    get_adapter,
    registered_platforms,
)
from platforms.errors import map_http_error, parse_retry_after
from platforms.ratelimit import Limit, window
from platforms.session import PlatformSession

WX = "https://api.weixin.qq.com/cgi-bin"
WB = "https://api.weibo.com"
DY = "https://open.douyin.com"
DYV = f"{DY}/api/douyin/v1/video"
TT = "https://open.snssdk.com"

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 1000

WX_CREDS = Credentials(app_id="wxapp1", app_secret="wx-secret-value")
WB_CREDS = Credentials(access_token="weibo-token-value", account_ref="acc-wb")
BD_CREDS = Credentials(
    client_key="ck1",
    client_secret="cs1",
    access_token="act.old-token-value",
    refresh_token="rft.refresh-value",
    open_id="open-1",
)


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def make(platform: str, **kw: Any) -> Any:
    kw.setdefault("token_store", InMemoryTokenStore())
    kw.setdefault("rate_limiter", InMemoryRateLimiter())
    kw.setdefault("timeout", 5)
    return get_adapter(platform, **kw)


def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def path(call: Any) -> str:
    return urlsplit(call.request.url).path


def form(call: Any) -> dict[str, list[str]]:
    body = call.request.body
    if isinstance(body, bytes):
        body = body.decode()
    return parse_qs(body or "")


def jbody(call: Any) -> Any:
    return json.loads(call.request.body)


def article(**kw: Any) -> ContentInput:
    data: dict[str, Any] = {
        "title": "市政府召开常务会议",
        "html": '<p>会议研究了近期工作。</p><p><img src="pic1.png"></p>',
        "text": "会议研究了近期工作。",
        "summary": "市政府常务会议研究近期工作",
        "media": (MediaFile("pic1.png", "image/png", PNG),),
        "cover": MediaFile("cover.jpg", "image/jpeg", JPEG),
        "canonical_url": "https://gov.example.cn/news/1.html",
        "author": "市政府办公室",
    }
    data.update(kw)
    return ContentInput(**data)


# =========================================================================== registry / base


def test_registry_has_the_four_platforms() -> None:
    assert registered_platforms() == ("douyin", "toutiao", "wechat", "weibo")
    with pytest.raises(ValueError, match="未知平台"):
        get_adapter("myspace")


def test_capabilities() -> None:
    assert "withdraw" in make("wechat").capabilities
    assert "withdraw" in make("weibo").capabilities
    assert "withdraw" not in make("douyin").capabilities
    assert "withdraw" not in make("toutiao").capabilities
    assert "publish_article" not in make("toutiao").capabilities
    legacy = make("toutiao", options={"legacy_articles": True, "legacy_base_url": "https://mp.toutiao.com"})
    assert "publish_article" in legacy.capabilities
    assert "search_accounts" not in make("weibo").capabilities
    assert "search_accounts" in make("weibo", options={"search_url": "http://x/_search/accounts"}).capabilities


def test_credentials_hide_secrets_and_round_trip() -> None:
    creds = Credentials.from_mapping(
        {"app_id": "a", "app_secret": "s3cr3t", "expires_at": "2030-01-01T00:00:00+00:00", "unknown": 1},
        account_ref="7",
    )
    assert "s3cr3t" not in repr(creds)
    assert creds.expires_at == pytest.approx(1893456000.0)
    assert creds.account_ref == "7"
    assert creds.to_dict() == {"app_id": "a", "app_secret": "s3cr3t", "expires_at": 1893456000.0}


def test_media_file_sha256() -> None:
    media = MediaFile("a.png", "image/png", b"abc")
    assert media.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert media.is_image
    assert not media.is_video


# =========================================================================== HTTP-level mapping


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (requests.ReadTimeout("boom"), "timeout"),
        (requests.ConnectTimeout("boom"), "timeout"),
        (requests.ConnectionError("boom"), "connection_error"),
        (requests.RequestException("boom"), "request_error"),
    ],
)
def test_transport_errors_are_transient(exc: Exception, code: str) -> None:
    err = map_http_error("wechat", exc=exc)
    assert isinstance(err, TransientError)
    assert err.code == code
    assert err.retryable


def _response(status: int, headers: dict[str, str] | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


def test_5xx_and_429_mapping() -> None:
    assert isinstance(map_http_error("weibo", _response(502)), TransientError)
    limited = map_http_error("weibo", _response(429, {"Retry-After": "17"}))
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 17
    assert limited.scope == "minute"
    assert map_http_error("weibo", _response(400)) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10


def test_timeout_error_never_carries_the_url_with_token(mocked: responses.RequestsMock) -> None:
    adapter = make("wechat")
    adapter.token_store.set("wechat:token:wxapp1", "TOKEN-IN-URL", 3600)
    mocked.post(f"{WX}/freepublish/batchget", body=requests.ReadTimeout("read timed out for ...TOKEN-IN-URL"))
    with pytest.raises(TransientError) as info:
        adapter.recent_posts(WX_CREDS)
    assert info.value.code == "timeout"
    assert "TOKEN-IN-URL" not in str(info.value)
    assert info.value.__suppress_context__
    assert info.value.__cause__ is None


def test_http_5xx_and_429_through_an_adapter(mocked: responses.RequestsMock) -> None:
    adapter = make("weibo")
    mocked.get(f"{WB}/2/statuses/user_timeline.json", status=503, body="<html>busy</html>")
    with pytest.raises(TransientError) as info:
        adapter.recent_posts(WB_CREDS)
    assert info.value.code == "http_503"
    mocked.replace(responses.GET, f"{WB}/2/statuses/user_timeline.json", status=429, headers={"Retry-After": "5"})
    with pytest.raises(RateLimited) as limited:
        adapter.recent_posts(WB_CREDS)
    assert limited.value.retry_after == 5


def test_non_json_4xx_falls_back_on_status(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{WB}/2/statuses/user_timeline.json", status=403, body="forbidden")
    with pytest.raises(CredentialsError):
        make("weibo").recent_posts(WB_CREDS)


def test_errors_pickle_and_messages_are_chinese() -> None:
    err = RateLimited("weibo", 20016, "发微博过于频繁", retry_after=12.5, scope="hour", platform_message="x" * 40)
    copy = pickle.loads(pickle.dumps(err))  # noqa: S301  round-trip of our own object
    assert isinstance(copy, RateLimited)
    assert (copy.platform, copy.code, copy.retry_after, copy.scope) == ("weibo", "20016", 12.5, "hour")
    assert copy.platform_message == "***"  # token-like runs are redacted
    assert "发微博过于频繁" in str(copy)


# =========================================================================== WeChat


def wx_token(mocked: responses.RequestsMock, value: str = "TOKEN-1", expires_in: int = 7200) -> None:
    mocked.post(f"{WX}/stable_token", json={"access_token": value, "expires_in": expires_in})


def wx_publish_routes(mocked: responses.RequestsMock) -> None:
    wx_token(mocked)
    mocked.post(f"{WX}/media/uploadimg", json={"url": "http://mmbiz.qpic.cn/pic1.png"})
    mocked.post(f"{WX}/material/add_material", json={"media_id": "THUMB-1", "url": "http://mmbiz.qpic.cn/c"})
    mocked.post(f"{WX}/draft/add", json={"media_id": "DRAFT-1"})
    mocked.post(
        f"{WX}/freepublish/submit", json={"errcode": 0, "errmsg": "ok", "publish_id": 100000001, "msg_data_id": "9"}
    )


def test_wechat_publish_request_shapes(mocked: responses.RequestsMock) -> None:
    wx_publish_routes(mocked)
    adapter = make("wechat")
    rendered = adapter.render(article())
    assert rendered.ok, rendered.problems
    result = adapter.publish(WX_CREDS, rendered.post)

    assert result.state == "pending"
    assert result.post_id == "100000001"  # an int publish_id is accepted and kept as digits
    calls = {path(c).rsplit("/cgi-bin/", 1)[1]: c for c in mocked.calls}

    token_call = calls["stable_token"]
    assert jbody(token_call) == {
        "grant_type": "client_credential",
        "appid": "wxapp1",
        "secret": "wx-secret-value",
        "force_refresh": False,
    }
    for name in ("media/uploadimg", "material/add_material", "draft/add", "freepublish/submit"):
        assert query(calls[name])["access_token"] == ["TOKEN-1"], name
    assert query(calls["material/add_material"])["type"] == ["thumb"]
    assert b'name="media"; filename="cover.jpg"' in calls["material/add_material"].request.body
    assert b'name="media"; filename="pic1.png"' in calls["media/uploadimg"].request.body

    draft_call = calls["draft/add"]
    assert "市政府".encode() in draft_call.request.body  # raw UTF-8, not \\u escapes
    (item,) = jbody(draft_call)["articles"]
    assert item["article_type"] == "news"
    assert item["title"] == "市政府召开常务会议"
    assert item["author"] == "市政府办公室"
    assert item["digest"] == "市政府常务会议研究近期工作"
    assert item["thumb_media_id"] == "THUMB-1"
    assert item["content_source_url"] == "https://gov.example.cn/news/1.html"
    assert 'src="http://mmbiz.qpic.cn/pic1.png"' in item["content"]
    assert 'pic1.png"' not in item["content"].replace("mmbiz.qpic.cn/pic1.png", "")
    assert item["need_open_comment"] == 0
    assert jbody(calls["freepublish/submit"]) == {"media_id": "DRAFT-1"}


def test_wechat_token_is_cached(mocked: responses.RequestsMock) -> None:
    wx_token(mocked)
    mocked.post(f"{WX}/freepublish/batchget", json={"total_count": 0, "item_count": 0, "item": []})
    adapter = make("wechat")
    adapter.recent_posts(WX_CREDS)
    adapter.recent_posts(WX_CREDS)
    assert [path(c) for c in mocked.calls].count("/cgi-bin/stable_token") == 1


def test_wechat_token_cache_expires_five_minutes_early(mocked: responses.RequestsMock) -> None:
    wx_token(mocked, expires_in=300)  # nothing left after the 5-minute margin: never cached
    mocked.post(f"{WX}/freepublish/batchget", json={"total_count": 0, "item": []})
    adapter = make("wechat")
    adapter.recent_posts(WX_CREDS)
    adapter.recent_posts(WX_CREDS)
    assert [path(c) for c in mocked.calls].count("/cgi-bin/stable_token") == 2


@pytest.mark.parametrize("code", [40001, 40014, 42001])
def test_wechat_token_error_refreshes_once_and_retries(mocked: responses.RequestsMock, code: int) -> None:
    mocked.post(f"{WX}/stable_token", json={"access_token": "OLD", "expires_in": 7200})
    mocked.post(f"{WX}/stable_token", json={"access_token": "NEW", "expires_in": 7200})
    mocked.post(f"{WX}/freepublish/batchget", json={"errcode": code, "errmsg": "expired"})
    mocked.post(f"{WX}/freepublish/batchget", json={"total_count": 0, "item": []})
    adapter = make("wechat")
    assert adapter.recent_posts(WX_CREDS) == []
    token_calls = [c for c in mocked.calls if path(c).endswith("stable_token")]
    assert [jbody(c)["force_refresh"] for c in token_calls] == [False, False]  # normal mode first (issue 15)
    api_calls = [c for c in mocked.calls if path(c).endswith("batchget")]
    assert [query(c)["access_token"] for c in api_calls] == [["OLD"], ["NEW"]]
    assert adapter.token_store.get("wechat:token:wxapp1") == "NEW"


def test_wechat_token_error_twice_raises_token_expired(mocked: responses.RequestsMock) -> None:
    wx_token(mocked)
    mocked.post(f"{WX}/freepublish/batchget", json={"errcode": 42001, "errmsg": "expired"})
    with pytest.raises(TokenExpired):
        make("wechat").recent_posts(WX_CREDS)
    assert [path(c) for c in mocked.calls].count("/cgi-bin/freepublish/batchget") == 2


def test_wechat_uses_a_token_another_worker_refreshed(mocked: responses.RequestsMock) -> None:
    store = InMemoryTokenStore()
    adapter = make("wechat", token_store=store)
    store.set("wechat:token:wxapp1", "STALE", 3600)

    def batchget(request: Any) -> tuple[int, dict[str, str], str]:
        token = parse_qs(urlsplit(request.url).query)["access_token"][0]
        if token == "STALE":
            store.set("wechat:token:wxapp1", "FRESH-FROM-PEER", 3600)  # a peer refreshed meanwhile
            return 200, {}, json.dumps({"errcode": 40001, "errmsg": "invalid credential"})
        return 200, {}, json.dumps({"total_count": 0, "item": []})

    mocked.add_callback(responses.POST, f"{WX}/freepublish/batchget", callback=batchget)
    assert adapter.recent_posts(WX_CREDS) == []
    assert not [c for c in mocked.calls if path(c).endswith("stable_token")]  # no force_refresh needed


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (40013, CredentialsError),
        (40125, CredentialsError),
        (40164, CredentialsError),
        (40001, CredentialsError),  # on the token endpoint: wrong AppSecret
        (45009, RateLimited),
        (-1, TransientError),
    ],
)
def test_wechat_token_endpoint_errors(mocked: responses.RequestsMock, code: int, cls: type) -> None:
    mocked.post(f"{WX}/stable_token", json={"errcode": code, "errmsg": "bad"})
    with pytest.raises(cls) as info:
        make("wechat").profile(WX_CREDS)
    assert info.value.code == str(code)


WECHAT_TABLE = [
    (-1, TransientError),
    (41001, InvalidRequest),
    (45009, RateLimited),
    (45011, RateLimited),
    (48001, AccountUnavailable),
    (50001, AccountUnavailable),
    (50002, AccountUnavailable),
    (53503, ContentRejected),
    (53504, ContentRejected),
    (53505, ContentRejected),
    (40007, InvalidRequest),
    (45166, ContentRejected),
    (47001, InvalidRequest),
    (40005, ContentRejected),
    (40009, ContentRejected),
    (53600, InvalidRequest),
    (48006, RateLimited),
    (40013, CredentialsError),
    (40125, CredentialsError),
    (40164, CredentialsError),
    (40001, TokenExpired),
    (40014, TokenExpired),
    (42001, TokenExpired),
]


@pytest.mark.parametrize(("code", "cls"), WECHAT_TABLE)
def test_wechat_code_table(mocked: responses.RequestsMock, code: int, cls: type) -> None:
    wx_token(mocked)
    mocked.post(f"{WX}/freepublish/batchget", json={"errcode": code, "errmsg": f"err {code} rid: abc"})
    with pytest.raises(cls) as info:
        make("wechat").recent_posts(WX_CREDS)
    err = info.value
    assert type(err) is cls
    assert err.platform == "wechat"
    assert err.code == str(code)
    assert "TOKEN-1" not in str(err)
    assert "rid" not in err.message


def test_wechat_rate_limit_scopes(mocked: responses.RequestsMock) -> None:
    wx_token(mocked)
    mocked.post(f"{WX}/freepublish/batchget", json={"errcode": 45009, "errmsg": "reach max api daily quota limit"})
    with pytest.raises(RateLimited) as daily:
        make("wechat").recent_posts(WX_CREDS)
    assert daily.value.scope == "day"
    assert 0 < daily.value.retry_after <= 86400
    assert daily.value.retry_after == pytest.approx(window("day", time.time())[1], abs=5)
    mocked.replace(responses.POST, f"{WX}/freepublish/batchget", json={"errcode": 45011, "errmsg": "minute"})
    with pytest.raises(RateLimited) as minute:
        make("wechat").recent_posts(WX_CREDS)
    assert minute.value.scope == "minute"
    assert 0 < minute.value.retry_after <= 60


@pytest.mark.parametrize(
    ("status", "state", "code"),
    [
        (0, "published", None),
        (1, "pending", None),
        (2, "rejected", "publish_status:2"),
        (3, "rejected", "publish_status:3"),
        (4, "rejected", "publish_status:4"),
        (5, "withdrawn", None),
        (6, "rejected", "publish_status:6"),
    ],
)
def test_wechat_status_mapping(mocked: responses.RequestsMock, status: int, state: str, code: str | None) -> None:
    wx_token(mocked)
    body: dict[str, Any] = {"publish_id": "100", "publish_status": status, "fail_idx": [1] if status == 3 else []}
    if status in (0, 5, 6):
        body.update(article_id="ART", article_detail={"count": 1, "item": [{"idx": 1, "article_url": "https://mp/a"}]})
    mocked.post(f"{WX}/freepublish/get", json=body)
    result = make("wechat").status(WX_CREDS, "100")
    assert jbody(mocked.calls[-1]) == {"publish_id": "100"}
    assert result.state == state
    assert result.platform_code == code
    assert result.raw_status == f"publish_status={status}"
    if status == 0:
        assert result.post_id == "100:ART"
        assert result.url == "https://mp/a"
    if status == 3:
        assert "1" in result.detail


def test_wechat_status_by_article_only(mocked: responses.RequestsMock) -> None:
    wx_token(mocked)
    mocked.post(f"{WX}/freepublish/getarticle", json={"news_item": [{"title": "t", "url": "u", "is_deleted": True}]})
    result = make("wechat").status(WX_CREDS, ":ART")
    assert result.state == "withdrawn"
    assert jbody(mocked.calls[-1]) == {"article_id": "ART"}


def test_wechat_withdraw_with_article_id(mocked: responses.RequestsMock) -> None:
    wx_token(mocked)
    mocked.post(f"{WX}/freepublish/delete", json={"errcode": 0, "errmsg": "ok"})
    result = make("wechat").withdraw(WX_CREDS, "100:ART")
    assert result.state == "withdrawn"
    assert jbody(mocked.calls[-1]) == {"article_id": "ART", "index": 0}
    assert query(mocked.calls[-1])["access_token"] == ["TOKEN-1"]


def test_wechat_withdraw_looks_up_article_id(mocked: responses.RequestsMock) -> None:
    wx_token(mocked)
    mocked.post(
        f"{WX}/freepublish/get",
        json={"publish_id": "100", "publish_status": 0, "article_id": "ART", "article_detail": {"item": []}},
    )
    mocked.post(f"{WX}/freepublish/delete", json={"errcode": 0, "errmsg": "ok"})
    result = make("wechat").withdraw(WX_CREDS, "100")
    assert result.post_id == "100:ART"
    assert jbody(mocked.calls[-1]) == {"article_id": "ART", "index": 0}


def test_wechat_withdraw_while_publishing_is_transient(mocked: responses.RequestsMock) -> None:
    wx_token(mocked)
    mocked.post(f"{WX}/freepublish/get", json={"publish_id": "100", "publish_status": 1})
    with pytest.raises(TransientError):
        make("wechat").withdraw(WX_CREDS, "100")


def test_wechat_local_limits_delete_10_per_day(mocked: responses.RequestsMock) -> None:
    wx_token(mocked)
    mocked.post(f"{WX}/freepublish/delete", json={"errcode": 0, "errmsg": "ok"})
    adapter = make("wechat")
    for i in range(10):
        adapter.withdraw(WX_CREDS, f"{i}:A{i}")
    before = len(mocked.calls)
    with pytest.raises(RateLimited) as info:
        adapter.withdraw(WX_CREDS, "11:A11")
    assert info.value.scope == "day"
    assert info.value.code == "local_rate_limit"
    assert len(mocked.calls) == before  # refused before any request


def test_wechat_publish_limit_is_configurable(mocked: responses.RequestsMock) -> None:
    wx_publish_routes(mocked)
    adapter = make("wechat", options={"rate_limits": {"publish": {"day": 1}}})
    post = adapter.render(article()).post
    adapter.publish(WX_CREDS, post)
    with pytest.raises(RateLimited):
        adapter.publish(WX_CREDS, post)


def test_wechat_recent_posts_profile_and_find_published(mocked: responses.RequestsMock) -> None:
    wx_token(mocked)
    items = {
        "total_count": 2,
        "item_count": 2,
        "item": [
            {
                "article_id": "A2",
                "update_time": 1700000100,
                "content": {
                    "news_item": [
                        {
                            "title": "T2",
                            "digest": "d2",
                            "url": "https://mp/2",
                            "is_deleted": False,
                            "content_source_url": "https://gov.example.cn/news/1.html",
                        },
                    ]
                },
            },
            {
                "article_id": "A1",
                "update_time": 1700000000,
                "content": {"news_item": [{"title": "T1", "url": "https://mp/1", "is_deleted": True}]},
            },
        ],
    }
    mocked.post(f"{WX}/freepublish/batchget", json=items)
    adapter = make("wechat")
    recent = adapter.recent_posts(WX_CREDS, 5)
    assert [r.post_id for r in recent] == ["A2"]  # deleted articles are skipped
    assert jbody(mocked.calls[-1]) == {"offset": 0, "count": 5, "no_content": 1}
    profile = adapter.profile(WX_CREDS)
    assert profile.posts_count == 2
    assert profile.last_post_at is not None
    assert profile.last_post_at.timestamp() == 1700000100
    found = adapter.find_published(WX_CREDS, adapter.render(article()).post)
    assert found is not None
    assert found.post_id == ":A2"
    assert found.state == "published"
    assert adapter.find_published(WX_CREDS, adapter.render(article(canonical_url="https://x/9")).post) is None


def test_wechat_render_limits() -> None:
    adapter = make("wechat")
    result = adapter.render(
        article(
            title="标" * 33,
            author="作" * 17,
            summary="摘" * 129,
            html="<p>" + "字" * 20000 + "</p>",
            cover=None,
            media=(MediaFile("big.png", "image/png", b"\x89PNG" + b"0" * 1024 * 1024),),
        )
    )
    codes = {p.code for p in result.problems}
    assert {
        "title_too_long",
        "author_too_long",
        "summary_too_long",
        "content_too_long",
        "cover_missing",
        "media_too_large",
    } <= codes
    assert all(p.message and not p.message.isascii() for p in result.problems)
    big_cover = adapter.render(article(cover=MediaFile("c.jpg", "image/jpeg", JPEG * 400)))
    assert [p.code for p in big_cover.problems] == ["media_too_large"]
    assert (
        make("wechat", options={"thumb_material_type": "image"})
        .render(article(cover=MediaFile("c.jpg", "image/jpeg", JPEG * 400)))
        .ok
    )


# =========================================================================== Weibo


def wb_status(ident: str = "4900000000000001", text: str = "x", uid: int = 123) -> dict[str, Any]:
    return {
        "id": int(ident),
        "idstr": ident,
        "mid": ident,
        "text": text,
        "user": {"id": uid, "idstr": str(uid)},
        "created_at": "Tue May 31 17:46:55 +0800 2011",
    }


def weibo_content(**kw: Any) -> ContentInput:
    data: dict[str, Any] = {"title": "标题", "summary": "今天的政务要闻", "canonical_url": "https://gov.example.cn/n/1"}
    data.update(kw)
    return ContentInput(**data)


def test_weibo_publish_form_encoded(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{WB}/2/statuses/share.json", json=wb_status())
    adapter = make("weibo", options={"rip": "203.0.113.9", "safe_domain": "gov.example.cn"})
    rendered = adapter.render(weibo_content())
    assert rendered.ok, rendered.problems
    assert rendered.post.text == "今天的政务要闻 https://gov.example.cn/n/1"
    result = adapter.publish(WB_CREDS, rendered.post)
    call = mocked.calls[0]
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(call) == {
        "status": ["今天的政务要闻 https://gov.example.cn/n/1"],
        "rip": ["203.0.113.9"],
        "access_token": ["weibo-token-value"],
    }
    assert "access_token" not in query(call)
    assert result.state == "published"
    assert result.post_id == "4900000000000001"
    assert result.url == "https://weibo.com/123/4900000000000001"


def test_weibo_publish_with_picture_is_multipart(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{WB}/2/statuses/share.json", json=wb_status())
    adapter = make("weibo")
    post = adapter.render(weibo_content(media=(MediaFile("p.jpg", "image/jpeg", JPEG),))).post
    adapter.publish(WB_CREDS, post)
    request = mocked.calls[0].request
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="pic"; filename="p.jpg"' in request.body
    assert b'name="access_token"' in request.body
    assert b'name="status"' in request.body


def test_weibo_overrides_text() -> None:
    post = make("weibo").render(weibo_content(), {"weibo": "专门的微博文案"}).post
    assert post.text.startswith("专门的微博文案 ")


def test_weibo_render_limits() -> None:
    adapter = make("weibo", options={"safe_domain": "gov.example.cn"})
    long_text = adapter.render(weibo_content(summary="字" * 140))
    assert "text_too_long" in {p.code for p in long_text.problems}
    assert adapter.render(weibo_content(summary="字" * 129)).ok  # link 10 + space ½ + 129
    assert "text_too_long" in {
        p.code
        for p in make("weibo", options={"length_mode": "chars"}).render(weibo_content(summary="字" * 120)).problems
    }
    topic = adapter.render(weibo_content(summary="#两会# 开幕"))
    assert "topic_not_allowed" in {p.code for p in topic.problems}
    assert "link_missing" in {p.code for p in adapter.render(weibo_content(canonical_url=None)).problems}
    assert "link_not_safe_domain" in {
        p.code for p in adapter.render(weibo_content(canonical_url="https://evil.example.com/x")).problems
    }
    pics = adapter.render(weibo_content(media=(MediaFile("p.bmp", "image/bmp", b"B" * (5 * 1024 * 1024)),)))
    assert {"media_type", "media_too_large"} <= {p.code for p in pics.problems}


def test_weibo_status_show_and_gone(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{WB}/2/statuses/show.json", json=wb_status())
    adapter = make("weibo")
    result = adapter.status(WB_CREDS, "4900000000000001")
    assert result.state == "published"
    assert query(mocked.calls[0]) == {"id": ["4900000000000001"], "access_token": ["weibo-token-value"]}
    mocked.replace(
        responses.GET,
        f"{WB}/2/statuses/show.json",
        status=400,
        json={"error": "target weibo does not exist!", "error_code": 20101, "request": "/2/statuses/show.json"},
    )
    assert adapter.status(WB_CREDS, "4900000000000001").state == "withdrawn"
    mocked.replace(
        responses.GET,
        f"{WB}/2/statuses/show.json",
        status=200,
        json={"error": "delayed", "error_code": 20032, "request": "/2/statuses/show.json"},
    )
    assert adapter.status(WB_CREDS, "4900000000000001").state == "pending"


def test_weibo_withdraw(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{WB}/2/statuses/destroy.json", json=wb_status())
    result = make("weibo").withdraw(WB_CREDS, "4900000000000001")
    assert result.state == "withdrawn"
    assert form(mocked.calls[0]) == {"id": ["4900000000000001"], "access_token": ["weibo-token-value"]}
    mocked.replace(
        responses.POST,
        f"{WB}/2/statuses/destroy.json",
        status=400,
        json={"error": "not exist", "error_code": 20101, "request": "/2/statuses/destroy.json"},
    )
    assert make("weibo").withdraw(WB_CREDS, "4900000000000001").state == "withdrawn"  # idempotent


def test_weibo_30_posts_per_hour_is_enforced_locally(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{WB}/2/statuses/share.json", json=wb_status())
    adapter = make("weibo")
    post = adapter.render(weibo_content()).post
    for _ in range(30):
        adapter.publish(WB_CREDS, post)
    with pytest.raises(RateLimited) as info:
        adapter.publish(WB_CREDS, post)
    assert info.value.scope == "hour"
    assert 0 < info.value.retry_after <= 3600
    assert len(mocked.calls) == 30


def test_weibo_duplicate_after_lost_answer_returns_the_existing_post(mocked: responses.RequestsMock) -> None:
    mocked.post(
        f"{WB}/2/statuses/share.json",
        status=400,
        json={"error": "repeat content!", "error_code": 20019, "request": "/2/statuses/share.json"},
    )
    mocked.get(
        f"{WB}/2/statuses/user_timeline.json",
        json={"statuses": [wb_status("4900000000000007", "今天的政务要闻 http://t.cn/A6abc")]},
    )
    adapter = make("weibo")
    found = adapter.publish(WB_CREDS, adapter.render(weibo_content()).post)
    assert found.post_id == "4900000000000007"
    assert found.state == "published"
    mocked.replace(responses.GET, f"{WB}/2/statuses/user_timeline.json", json={"statuses": []})
    with pytest.raises(DuplicateContent):
        adapter.publish(WB_CREDS, adapter.render(weibo_content()).post)


def test_weibo_delayed_publish_is_pending(mocked: responses.RequestsMock) -> None:
    mocked.post(
        f"{WB}/2/statuses/share.json",
        status=400,
        json={"error": "delayed", "error_code": 20032, "request": "/2/statuses/share.json"},
    )
    adapter = make("weibo")
    result = adapter.publish(WB_CREDS, adapter.render(weibo_content()).post)
    assert result.state == "pending"
    assert result.platform_code == "20032"


def test_weibo_profile(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{WB}/oauth2/get_token_info", json={"uid": 123, "appkey": "k", "scope": "", "expire_in": 3600})
    mocked.get(
        f"{WB}/2/users/show.json",
        json={
            "id": 123,
            "idstr": "123",
            "screen_name": "某市发布",
            "followers_count": 10,
            "statuses_count": 4,
            "verified": True,
            "status": {"created_at": "Tue May 31 17:46:55 +0800 2011"},
        },
    )
    profile = make("weibo").profile(WB_CREDS)
    assert form(mocked.calls[0]) == {"access_token": ["weibo-token-value"]}
    assert query(mocked.calls[1]) == {"uid": ["123"], "access_token": ["weibo-token-value"]}
    assert (profile.uid, profile.name, profile.followers, profile.posts_count) == ("123", "某市发布", 10, 4)
    assert profile.verified is True
    assert profile.token_expires_in == 3600
    assert profile.last_post_at is not None
    assert profile.last_post_at.year == 2011


def test_weibo_recent_posts(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{WB}/2/statuses/user_timeline.json", json={"statuses": [wb_status(text="hello")]})
    posts = make("weibo").recent_posts(WB_CREDS, 5)
    assert query(mocked.calls[0]) == {"count": ["5"], "access_token": ["weibo-token-value"]}
    assert posts[0].text == "hello"
    assert posts[0].created_at is not None


WEIBO_TABLE = [
    (10001, TransientError, 500),
    (10002, TransientError, 400),
    (10009, TransientError, 400),
    (10022, RateLimited, 403),
    (10023, RateLimited, 403),
    (10024, RateLimited, 403),
    (20016, RateLimited, 403),
    (20017, DuplicateContent, 400),
    (20019, DuplicateContent, 400),
    (20111, DuplicateContent, 400),
    (20018, ContentRejected, 400),
    (20020, ContentRejected, 400),
    (20021, ContentRejected, 400),
    (10017, ContentRejected, 400),
    (20003, AccountUnavailable, 403),
    (10013, AccountUnavailable, 403),
    (21314, CredentialsError, 401),
    (21315, TokenExpired, 401),
    (21316, CredentialsError, 401),
    (21317, CredentialsError, 401),
    (21319, CredentialsError, 401),
    (21327, TokenExpired, 401),
    (21332, TokenExpired, 401),
    (10014, CredentialsError, 403),
    (10008, InvalidRequest, 400),
    (11001, RateLimited, 400),
    (11002, TransientError, 400),
    (11003, TransientError, 400),
    (20101, InvalidRequest, 400),
    (20102, InvalidRequest, 403),
]


@pytest.mark.parametrize(("code", "cls", "status"), WEIBO_TABLE)
def test_weibo_code_table(mocked: responses.RequestsMock, code: int, cls: type, status: int) -> None:
    mocked.get(
        f"{WB}/2/statuses/user_timeline.json",
        status=status,
        json={"error": "some error", "error_code": code, "request": "/2/statuses/user_timeline.json"},
    )
    with pytest.raises(cls) as info:
        make("weibo").recent_posts(WB_CREDS)
    if status < 500:
        assert type(info.value) is cls
        assert info.value.code == str(code)
    assert "weibo-token-value" not in str(info.value)


def test_weibo_token_expired_is_not_retryable() -> None:
    err = make("weibo")._error_for(21327)
    assert isinstance(err, TokenExpired)
    assert err.needs_reauth
    assert not err.retryable


# =========================================================================== Douyin


def dy_ok(data: dict[str, Any]) -> dict[str, Any]:
    return {"data": {**data, "error_code": 0, "description": ""}, "extra": {"error_code": 0, "logid": "x"}}


def test_douyin_video_publish_shapes(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{DYV}/upload_video/", json=dy_ok({"video": {"video_id": "v.enc.1", "width": 1, "height": 1}}))
    mocked.post(f"{DYV}/create_video/", json=dy_ok({"item_id": "@item1"}))
    adapter = make("douyin")
    rendered = adapter.render(
        ContentInput(title="短视频", summary="政务短视频", media=(MediaFile("v.mp4", "video/mp4", MP4),))
    )
    assert rendered.ok, rendered.problems
    result = adapter.publish(BD_CREDS, rendered.post)
    assert result.state == "pending"
    assert result.post_id == "@item1"
    upload, create = mocked.calls
    for call in (upload, create):
        assert call.request.headers["access-token"] == "act.old-token-value"
        assert query(call) == {"open_id": ["open-1"]}
    assert b'name="video"; filename="v.mp4"' in upload.request.body
    assert jbody(create) == {"video_id": "v.enc.1", "text": "政务短视频"}


def test_douyin_chunked_upload_above_threshold(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{DYV}/init_video_part_upload/", json=dy_ok({"upload_id": "UP/1"}))
    mocked.post(f"{DYV}/upload_video_part/", json=dy_ok({}))
    mocked.post(f"{DYV}/complete_video_part_upload/", json=dy_ok({"video": {"video_id": "v.big"}}))
    mocked.post(f"{DYV}/create_video/", json=dy_ok({"item_id": "@big"}))
    adapter = make("douyin", options={"chunk_threshold": 400, "chunk_size": 400})
    post = adapter.render(ContentInput(title="t", media=(MediaFile("v.mp4", "video/mp4", MP4),))).post
    adapter.publish(BD_CREDS, post)
    names = [path(c).rsplit("/", 2)[1] for c in mocked.calls]
    assert names == [
        "init_video_part_upload",
        "upload_video_part",
        "upload_video_part",
        "upload_video_part",
        "complete_video_part_upload",
        "create_video",
    ]
    parts = [c for c in mocked.calls if "upload_video_part" in path(c)]
    assert [query(c)["part_number"] for c in parts] == [["1"], ["2"], ["3"]]
    assert all(query(c)["upload_id"] == ["UP/1"] for c in parts)
    assert query(mocked.calls[4])["upload_id"] == ["UP/1"]
    sizes = [len(c.request.body) for c in parts]
    assert sizes[0] > sizes[2]  # the last part carries the remainder
    assert jbody(mocked.calls[-1])["video_id"] == "v.big"


def test_douyin_image_text_path(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{DYV}/upload_image/", json=dy_ok({"image": {"image_id": "img-1"}}))
    mocked.post(f"{DYV}/create_image_text/", json=dy_ok({"item_id": "@img"}))
    adapter = make("douyin")
    content = ContentInput(
        title="图文", media=(MediaFile("a.jpg", "image/jpeg", JPEG), MediaFile("b.png", "image/png", PNG))
    )
    result = adapter.publish(BD_CREDS, adapter.render(content).post)
    assert result.post_id == "@img"
    assert [path(c).rsplit("/", 2)[1] for c in mocked.calls] == ["upload_image", "upload_image", "create_image_text"]
    assert b'name="image"; filename="a.jpg"' in mocked.calls[0].request.body
    assert jbody(mocked.calls[-1]) == {"image_list": ["img-1", "img-1"], "text": "图文"}


def test_douyin_render_limits() -> None:
    adapter = make("douyin")
    assert "media_missing" in {p.code for p in adapter.render(ContentInput(title="只有文字")).problems}
    many = tuple(MediaFile(f"{i}.jpg", "image/jpeg", JPEG) for i in range(31))
    assert "too_many_images" in {p.code for p in adapter.render(ContentInput(title="t", media=many)).problems}
    long_video = MediaFile("v.mp4", "video/mp4", MP4, duration=16 * 60)
    assert "video_too_long" in {p.code for p in adapter.render(ContentInput(title="t", media=(long_video,))).problems}
    big_image = MediaFile("x.jpg", "image/jpeg", b"\xff" * (20 * 1024 * 1024 + 1))
    assert "media_too_large" in {p.code for p in adapter.render(ContentInput(title="t", media=(big_image,))).problems}
    caption = make("douyin", options={"caption_max_chars": 10}).render(
        ContentInput(title="字" * 11, media=(MediaFile("v.mp4", "video/mp4", MP4),))
    )
    assert "text_too_long" in {p.code for p in caption.problems}


def test_douyin_status_published_pending_and_absent(mocked: responses.RequestsMock) -> None:
    adapter = make("douyin", options={"absent_polls_before_rejected": 3})
    mocked.post(f"{DYV}/video_data/", json=dy_ok({"list": [{"item_id": "@1", "share_url": "https://v.douyin.com/x"}]}))
    result = adapter.status(BD_CREDS, "@1")
    assert (result.state, result.url) == ("published", "https://v.douyin.com/x")
    assert jbody(mocked.calls[0]) == {"item_ids": ["@1"]}
    assert mocked.calls[0].request.headers["access-token"] == "act.old-token-value"
    mocked.replace(responses.POST, f"{DYV}/video_data/", json=dy_ok({"list": [{"item_id": "@1", "share_url": ""}]}))
    assert adapter.status(BD_CREDS, "@1").state == "pending"
    mocked.replace(responses.POST, f"{DYV}/video_data/", json=dy_ok({"list": []}))
    assert [adapter.status(BD_CREDS, "@1").state for _ in range(3)] == ["pending", "pending", "rejected"]


def test_douyin_withdraw_is_unsupported_with_manual_package() -> None:
    adapter = make("douyin")
    with pytest.raises(Unsupported):
        adapter.withdraw(BD_CREDS, "@1")
    package = adapter.manual_package(None, "withdraw", post_id="@1")
    assert package["platform_label"] == "抖音"
    assert any("@1" in step for step in package["instructions"])


def test_douyin_profile_and_recent(mocked: responses.RequestsMock) -> None:
    mocked.post(
        f"{DY}/oauth/userinfo/",
        json={"err_no": 0, "data": {"open_id": "open-1", "nickname": "某市发布", "e_account_role": "EAccountM"}},
    )
    mocked.get(
        f"{DYV}/video_list/",
        json=dy_ok(
            {
                "list": [{"item_id": "@1", "title": "视频", "create_time": 1700000000, "share_url": "https://v/1"}],
                "cursor": 0,
                "has_more": False,
            }
        ),
    )
    mocked.get(
        f"{DY}/dy_open_api/v1/user/cert_labels_info/",
        json=dy_ok({"CertLabelInfo": {"LabelStyle": 1, "LabelText": "某市委网信办"}}),
    )
    adapter = make("douyin")
    profile = adapter.profile(BD_CREDS)
    assert profile.name == "某市发布" and profile.subject == "某市委网信办"  # 身份认证标识 → 认证主体
    assert form(mocked.calls[0]) == {"access_token": ["act.old-token-value"], "open_id": ["open-1"]}
    assert query(mocked.calls[1]) == {"open_id": ["open-1"]}
    assert mocked.calls[1].request.headers["access-token"] == "act.old-token-value"
    recent = adapter.recent_posts(BD_CREDS, 5)
    assert query(mocked.calls[2]) == {"cursor": ["0"], "count": ["5"], "open_id": ["open-1"]}
    assert recent[0].post_id == "@1"
    assert recent[0].url == "https://v/1"
    assert recent[0].created_at is not None


def test_douyin_expired_token_refreshes_and_reports_credentials(mocked: responses.RequestsMock) -> None:
    changed: list[Credentials] = []
    mocked.post(f"{DYV}/video_data/", json={"err_no": 28001008, "err_msg": "access_token expired", "data": {}})
    mocked.post(f"{DYV}/video_data/", json=dy_ok({"list": [{"item_id": "@1", "share_url": "https://v/1"}]}))
    mocked.post(
        f"{DY}/oauth/refresh_token/",
        json={
            "data": {
                "access_token": "act.new",
                "expires_in": 1296000,
                "refresh_token": "rft.refresh-value",
                "open_id": "open-1",
                "error_code": 0,
                "description": "",
            },
            "message": "success",
        },
    )
    adapter = make("douyin", on_credentials_changed=changed.append)
    assert adapter.status(BD_CREDS, "@1").state == "published"
    refresh = next(c for c in mocked.calls if path(c) == "/oauth/refresh_token/")
    assert refresh.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(refresh) == {
        "client_key": ["ck1"],
        "grant_type": ["refresh_token"],
        "refresh_token": ["rft.refresh-value"],
    }
    data_calls = [c for c in mocked.calls if "video_data" in path(c)]
    assert [c.request.headers["access-token"] for c in data_calls] == ["act.old-token-value", "act.new"]
    assert len(changed) == 1
    assert changed[0].access_token == "act.new"
    assert changed[0].expires_at is not None
    assert changed[0].expires_at > time.time() + 1295000
    # Another adapter sharing the token store uses the refreshed token straight away.
    peer = make("douyin", token_store=adapter.token_store)
    mocked.replace(responses.POST, f"{DYV}/video_data/", json=dy_ok({"list": []}))
    peer.status(BD_CREDS, "@2")
    assert mocked.calls[-1].request.headers["access-token"] == "act.new"


def test_douyin_refresh_refused_means_reauthorise(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{DYV}/video_data/", json={"err_no": 28001008, "err_msg": "expired", "data": {}})
    mocked.post(
        f"{DY}/oauth/refresh_token/",
        json={"data": {"error_code": 10010, "description": "refresh_token expired"}, "message": "error"},
    )
    with pytest.raises(CredentialsError) as info:
        make("douyin").status(BD_CREDS, "@1")
    assert info.value.code == "10010"
    assert info.value.needs_reauth


def test_douyin_expired_without_refresh_token(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{DYV}/video_data/", json={"err_no": 28001008, "err_msg": "expired", "data": {}})
    with pytest.raises(TokenExpired):
        make("douyin").status(Credentials(access_token="act.x", open_id="o"), "@1")


def test_douyin_renews_refresh_token_near_expiry(mocked: responses.RequestsMock) -> None:
    changed: list[Credentials] = []
    creds = Credentials(
        client_key="ck1",
        access_token="act.a",
        refresh_token="rft.old",
        open_id="open-1",
        expires_at=time.time() + 86400,
        refresh_expires_at=time.time() + 3600,
        renewals=2,
    )
    mocked.post(
        f"{DY}/oauth/renew_refresh_token/",
        json={"data": {"refresh_token": "rft.new", "expires_in": 2592000, "error_code": 0}, "message": "success"},
    )
    mocked.post(f"{DYV}/video_data/", json=dy_ok({"list": []}))
    make("douyin", on_credentials_changed=changed.append).status(creds, "@1")
    renew = mocked.calls[0]
    assert path(renew) == "/oauth/renew_refresh_token/"
    assert form(renew) == {"client_key": ["ck1"], "refresh_token": ["rft.old"]}
    assert changed[-1].refresh_token == "rft.new"
    assert changed[-1].renewals == 3


def test_douyin_respects_the_five_renewal_limit(mocked: responses.RequestsMock) -> None:
    creds = Credentials(
        client_key="ck1",
        access_token="act.a",
        refresh_token="rft.old",
        open_id="open-1",
        expires_at=time.time() + 86400,
        refresh_expires_at=time.time() + 3600,
        renewals=5,
    )
    mocked.post(f"{DYV}/video_data/", json=dy_ok({"list": []}))
    make("douyin").status(creds, "@1")
    assert [path(c) for c in mocked.calls] == ["/api/douyin/v1/video/video_data/"]


def test_douyin_renewal_limit_from_platform_is_credentials_error(mocked: responses.RequestsMock) -> None:
    creds = Credentials(
        client_key="ck1",
        access_token="act.a",
        refresh_token="rft.old",
        open_id="open-1",
        expires_at=time.time() + 86400,
        refresh_expires_at=time.time() + 3600,
        renewals=1,
    )
    mocked.post(
        f"{DY}/oauth/renew_refresh_token/",
        json={"data": {"error_code": 10020, "description": "renew limit"}, "message": "error"},
    )
    with pytest.raises(CredentialsError) as info:
        make("douyin").status(creds, "@1")
    assert info.value.code == "10020"


def test_douyin_refreshes_a_locally_expired_token_first(mocked: responses.RequestsMock) -> None:
    creds = Credentials(
        client_key="ck1",
        access_token="act.a",
        refresh_token="rft.r",
        open_id="open-1",
        expires_at=time.time() - 10,
        refresh_expires_at=time.time() + 20 * 86400,
    )
    mocked.post(
        f"{DY}/oauth/refresh_token/", json={"data": {"access_token": "act.b", "expires_in": 100000, "error_code": 0}}
    )
    mocked.post(f"{DYV}/video_data/", json=dy_ok({"list": []}))
    make("douyin").status(creds, "@1")
    assert [path(c) for c in mocked.calls] == ["/oauth/refresh_token/", "/api/douyin/v1/video/video_data/"]
    assert mocked.calls[1].request.headers["access-token"] == "act.b"


BYTEDANCE_TABLE = [
    (28001008, TokenExpired),
    (2190008, TokenExpired),
    (10008, TokenExpired),
    (28001003, CredentialsError),
    (2190002, CredentialsError),
    (28001005, TransientError),
    (28001006, TransientError),
    (2100004, TransientError),
    (28003018, RateLimited),
    (28003017, RateLimited),
    (2190001, RateLimited),
    (28001046, AccountUnavailable),
    (28001045, AccountUnavailable),
    (2100009, AccountUnavailable),
    (28001016, AccountUnavailable),
    (28001018, CredentialsError),
    (2190004, CredentialsError),
    (28001012, CredentialsError),
    (2190003, CredentialsError),
    (28001015, InvalidRequest),
    (2190015, InvalidRequest),
    (28001007, InvalidRequest),
    (2100005, InvalidRequest),
    (2190005, ContentRejected),
    (2190006, ContentRejected),
    (2190007, InvalidRequest),
    (2111001, ContentRejected),
    (10002, InvalidRequest),
    (10003, CredentialsError),
    (10004, CredentialsError),
    (10005, InvalidRequest),
    (10007, CredentialsError),
    (10010, CredentialsError),
    (10013, CredentialsError),
    (10020, CredentialsError),
]


@pytest.mark.parametrize("envelope", ["new", "legacy", "oauth"])
@pytest.mark.parametrize(("code", "cls"), BYTEDANCE_TABLE)
def test_douyin_code_table(mocked: responses.RequestsMock, code: int, cls: type, envelope: str) -> None:
    if envelope == "new":
        body: dict[str, Any] = {"err_no": code, "err_msg": "problem", "log_id": "x", "data": {}}
    elif envelope == "legacy":
        body = {
            "data": {"error_code": code, "description": "problem"},
            "extra": {"error_code": code, "description": "problem", "sub_error_code": 0},
        }
    else:
        body = {"data": {"error_code": code, "description": "problem"}, "message": "error"}
    mocked.get(f"{DYV}/video_list/", json=body)
    creds = Credentials(access_token="act.x", open_id="o")  # no refresh token: token errors surface
    with pytest.raises(cls) as info:
        make("douyin").recent_posts(creds)
    assert type(info.value) is cls
    assert info.value.code == str(code)


def test_bytedance_rate_limit_scopes() -> None:
    adapter = make("douyin")
    assert adapter._error_for(28003018).scope == "minute"
    assert adapter._error_for(28003017).scope == "day"


@pytest.mark.parametrize(
    ("platform", "url"), [("douyin", f"{DYV}/video_list/"), ("toutiao", f"{TT}/toutiao/video/list/")]
)
@pytest.mark.parametrize("body", [{"message": "error"}, {"message": "error", "data": {"description": "失败"}}])
def test_bytedance_bare_error_message_is_transient(
    mocked: responses.RequestsMock, platform: str, url: str, body: dict[str, Any]
) -> None:
    """A legacy ``{"message":"error"}`` without an error_code is -1: retry with backoff."""
    mocked.get(url, json=body)
    with pytest.raises(TransientError) as info:
        make(platform).recent_posts(Credentials(access_token="act.x", open_id="o"))
    assert type(info.value) is TransientError
    assert info.value.code == "-1"
    assert info.value.retryable
    assert not info.value.needs_reauth


# =========================================================================== Toutiao


def test_toutiao_video_publish_shapes(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{TT}/toutiao/video/upload/", json=dy_ok({"video": {"video_id": "tv1"}}))
    mocked.post(f"{TT}/toutiao/video/create/", json=dy_ok({"item_id": "ti1"}))
    adapter = make("toutiao")
    rendered = adapter.render(ContentInput(title="防汛提示", media=(MediaFile("v.mp4", "video/mp4", MP4),)))
    assert rendered.ok
    result = adapter.publish(BD_CREDS, rendered.post)
    assert (result.post_id, result.state) == ("ti1", "pending")
    for call in mocked.calls:
        assert query(call) == {"open_id": ["open-1"], "access_token": ["act.old-token-value"]}
        assert "access-token" not in call.request.headers
    assert b'name="video"; filename="v.mp4"' in mocked.calls[0].request.body
    assert jbody(mocked.calls[1]) == {"video_id": "tv1", "text": "防汛提示"}


def test_toutiao_status_and_recent(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{TT}/toutiao/video/data/", json=dy_ok({"list": [{"item_id": "ti1", "share_url": "https://tt/1"}]}))
    mocked.get(
        f"{TT}/toutiao/video/list/", json=dy_ok({"list": [{"item_id": "ti1", "title": "防汛提示"}], "has_more": False})
    )
    adapter = make("toutiao")
    assert adapter.status(BD_CREDS, "ti1").state == "published"
    assert jbody(mocked.calls[0]) == {"item_ids": ["ti1"]}
    assert adapter.recent_posts(BD_CREDS)[0].text == "防汛提示"
    assert query(mocked.calls[1])["access_token"] == ["act.old-token-value"]


def test_toutiao_render_limits() -> None:
    adapter = make("toutiao")
    video = adapter.render(ContentInput(title="标" * 31, media=(MediaFile("v.mp4", "video/mp4", MP4),)))
    assert "text_too_long" in {p.code for p in video.problems}
    short = adapter.render(ContentInput(title="四个字啊", html="<p>正文</p>"))
    assert "title_length" in {p.code for p in short.problems}
    assert adapter.render(ContentInput(title="这是合格的标题", html="<p>正文</p>")).ok


def test_toutiao_articles_are_manual_by_default(mocked: responses.RequestsMock) -> None:
    adapter = make("toutiao")
    post = adapter.render(article(title="这是合格的文章标题")).post
    with pytest.raises(Unsupported):
        adapter.publish(BD_CREDS, post)
    assert not mocked.calls
    package = adapter.manual_package(post)
    assert package["title"] == "这是合格的文章标题"
    assert package["cover"]["filename"] == "cover.jpg"
    assert package["media"][0]["sha256"] == MediaFile("pic1.png", "image/png", PNG).sha256
    assert any("mp.toutiao.com" in step for step in package["instructions"])
    with pytest.raises(Unsupported):
        adapter.withdraw(BD_CREDS, "ti1")


def test_toutiao_legacy_article_flag(mocked: responses.RequestsMock) -> None:
    mocked.post(
        "https://mp.toutiao.com/open/new_article_post/", json={"message": "success", "data": {"article_id": 77}}
    )
    adapter = make("toutiao", options={"legacy_articles": True, "legacy_base_url": "https://mp.toutiao.com"})
    result = adapter.publish(BD_CREDS, adapter.render(article(title="这是合格的文章标题")).post)
    assert result.post_id == "article:77"
    call = mocked.calls[0]
    assert query(call) == {"access_token": ["act.old-token-value"], "client_key": ["ck1"]}
    assert form(call)["title"] == ["这是合格的文章标题"]
    assert form(call)["save"] == ["0"]
    assert adapter.status(BD_CREDS, "article:77").state == "published"


# =========================================================================== search / logging / stores


def test_search_accounts(mocked: responses.RequestsMock) -> None:
    with pytest.raises(Unsupported):
        make("wechat").search_accounts("公安")
    url = "http://127.0.0.1:5100/wechat/_search/accounts"
    mocked.get(
        url,
        json={
            "accounts": [
                {
                    "uid": "u1",
                    "name": "某市公安",
                    "subject": "某市公安局",
                    "verified": True,
                    "last_post_at": "2024-01-02T03:04:05+08:00",
                    "status": "active",
                }
            ],
            "has_more": True,
        },
    )
    mocked.get(url, json={"accounts": [{"uid": "u2", "name": "某区公安", "last_post_at": None}], "has_more": False})
    found = make("wechat", options={"search_url": url}).search_accounts("公安")
    assert [a.uid for a in found] == ["u1", "u2"]
    assert found[0].subject == "某市公安局"
    assert found[0].last_post_at is not None
    assert query(mocked.calls[0]) == {"q": ["公安"], "page": ["1"], "count": ["50"]}
    assert query(mocked.calls[1])["page"] == ["2"]


def test_no_secrets_in_logs(mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture) -> None:
    wx_publish_routes(mocked)
    caplog.set_level(logging.DEBUG)
    adapter = make("wechat")
    adapter.publish(WX_CREDS, adapter.render(article()).post)
    assert "TOKEN-1" not in caplog.text
    assert "wx-secret-value" not in caplog.text
    assert "/cgi-bin/draft/add" in caplog.text


def test_in_memory_token_store_ttl() -> None:
    now = [1000.0]
    store = InMemoryTokenStore(clock=lambda: now[0])
    store.set("k", "v", 10)
    assert store.get("k") == "v"
    now[0] += 11
    assert store.get("k") is None
    store.set("k", "v", 0)
    assert store.get("k") is None


def test_in_memory_rate_limiter_windows() -> None:
    now = [1_700_000_000.0]
    limiter = InMemoryRateLimiter(clock=lambda: now[0])
    limits = (Limit(2, "minute"), Limit(3, "hour"))
    assert limiter.acquire("weibo", "a", "publish", limits).allowed
    assert limiter.acquire("weibo", "a", "publish", limits).allowed
    blocked = limiter.acquire("weibo", "a", "publish", limits)
    assert not blocked.allowed
    assert blocked.scope == "minute"
    assert blocked.retry_after == pytest.approx(60)  # rolling minute: until the first one leaves it
    assert limiter.acquire("weibo", "b", "publish", limits).allowed  # per account
    now[0] += 61
    assert limiter.acquire("weibo", "a", "publish", limits).allowed
    blocked = limiter.acquire("weibo", "a", "publish", limits)
    assert blocked.scope == "hour"


def test_day_window_starts_at_beijing_midnight() -> None:
    midnight_beijing = 1_700_006_400.0 - 8 * 3600  # 2023-11-15 00:00 +08:00
    index, remaining = window("day", midnight_beijing + 1)
    assert remaining == pytest.approx(86399)
    assert window("day", midnight_beijing - 1)[0] == index - 1


@pytest.fixture
def redis_client() -> Iterator[Any]:
    services.require_redis()

    client = redis.Redis.from_url(services.REDIS_URL)
    prefix = f"govmedia:test:{uuid.uuid4().hex[:8]}:"
    yield client, prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.mark.integration
def test_redis_token_store(redis_client: Any) -> None:
    client, prefix = redis_client
    store = RedisTokenStore(client, prefix=prefix + "token:")
    store.set("wechat:token:a", "T", 5)
    assert store.get("wechat:token:a") == "T"
    assert 0 < client.pttl(prefix + "token:wechat:token:a") <= 5000
    store.delete("wechat:token:a")
    assert store.get("wechat:token:a") is None
    assert RedisTokenStore(client)._key("x") == "govmedia:token:x"


@pytest.mark.integration
def test_redis_rate_limiter_is_shared_and_atomic(redis_client: Any) -> None:
    client, prefix = redis_client
    first = RedisRateLimiter(client, prefix=prefix)
    second = RedisRateLimiter(client, prefix=prefix)
    limits = (Limit(3, "hour"), Limit(5, "day"))
    results = [lim.acquire("weibo", "acct", "publish", limits).allowed for lim in (first, second, first, second)]
    assert results == [True, True, True, False]
    blocked = first.acquire("weibo", "acct", "publish", limits)
    assert blocked.scope == "hour"
    assert 0 < blocked.retry_after <= 3600
    keys = list(client.scan_iter(f"{prefix}weibo:acct:publish:*"))
    assert len(keys) == 2
    assert all(client.ttl(k) > 0 for k in keys)
    # The refused attempts took nothing: the day counter stays at 3.
    day_key = next(k for k in keys if k.endswith(b":day"))
    assert int(client.hget(day_key, "n")) == 3


def test_adapter_error_base_is_not_retryable() -> None:
    assert not AdapterError("x").retryable
    assert TransientError("x").retryable
    assert RateLimited("x").retryable


def test_douyin_stale_worker_uses_the_renewed_refresh_token(mocked: responses.RequestsMock) -> None:
    store = InMemoryTokenStore()
    now = time.time()
    stale = Credentials(
        client_key="ck1",
        access_token="act.a",
        refresh_token="rft.old",
        open_id="open-1",
        expires_at=now + 86400,
        refresh_expires_at=now + 3 * 86400,
        renewals=1,
    )
    # Another worker renewed the refresh token (the old one is dead) and cached the new set.
    store.set(
        "douyin:tokens:ck1:open-1",
        json.dumps(
            {
                "access_token": "act.a",
                "refresh_token": "rft.new",
                "expires_at": now + 86400,
                "refresh_expires_at": now + 30 * 86400,
                "renewals": 2,
            }
        ),
        3600,
    )
    mocked.post(f"{DYV}/video_data/", json={"err_no": 28001008, "err_msg": "expired", "data": {}})
    mocked.post(
        f"{DY}/oauth/refresh_token/", json={"data": {"access_token": "act.b", "expires_in": 1000, "error_code": 0}}
    )
    mocked.post(f"{DYV}/video_data/", json=dy_ok({"list": []}))
    make("douyin", token_store=store).status(stale, "@1")
    refresh = next(c for c in mocked.calls if path(c) == "/oauth/refresh_token/")
    assert form(refresh)["refresh_token"] == ["rft.new"]


def test_platform_session_reads_proxies_once_per_host_and_honours_them(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.gov.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.gov.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/gov-ca.pem")
    session = PlatformSession()
    first = session.merge_environment_settings("https://api.weibo.com/2/x", {}, None, None, None)
    assert first["proxies"]["https"] == "http://proxy.gov.example:3128"
    assert first["verify"] == "/etc/ssl/gov-ca.pem"
    assert session.merge_environment_settings("https://internal.gov.example/a", {}, None, None, None)["proxies"] == {}
    # read once per host: a later change of the environment needs a restart (documented)
    monkeypatch.setenv("HTTPS_PROXY", "http://other:1")
    again = session.merge_environment_settings("https://api.weibo.com/2/y", {}, None, None, None)
    assert again["proxies"]["https"] == "http://proxy.gov.example:3128"
    # explicit arguments still win, as with requests.Session
    explicit = session.merge_environment_settings(
        "https://api.weibo.com/2/z", {"https": "http://explicit:8080"}, None, False, None
    )
    assert explicit["proxies"]["https"] == "http://explicit:8080" and explicit["verify"] is False
