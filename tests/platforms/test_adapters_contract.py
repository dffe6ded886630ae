"""Contract tests: the real adapters against the sandbox platforms over real HTTP on 127.0.0.1.

The sandbox (``sandbox.create_sandbox_app``) runs in a werkzeug server thread on a
free port; every test starts from a reset sandbox and fresh token/rate-limit stores.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from platforms import (
    AccountUnavailable,
    ContentInput,
    ContentRejected,
    Credentials,
    CredentialsError,
    InMemoryRateLimiter,
    InMemoryTokenStore,
    MediaFile,
    PublishResult,
    RateLimited,
    TokenExpired,
    TransientError,
    Unsupported,
    get_adapter,
)
from platforms.ratelimit import window
from sandbox import create_sandbox_app

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 512
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 512
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 4096
#: Every byte position distinguishable, so a misordered or dropped part changes the result.
BIG_MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(i % 251 for i in range(4500))
CANONICAL = "https://gov.example.cn/news/2024/0001.html"


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    app = create_sandbox_app({})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="sandbox", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Simulator:
    base: str
    http: requests.Session = field(default_factory=requests.Session)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = self.http.post(self.base + path, json=body, timeout=10)
        assert resp.status_code < 300, resp.text
        return resp.json()

    def reset(self) -> None:
        self._post("/_sandbox/reset", {})
        self.http.delete(self.base + "/_sandbox/faults", timeout=10)

    def account(self, platform: str, **fields: Any) -> Credentials:
        body = {"platform": platform, "name": "某市发布", "subject": "某市人民政府办公室", **fields}
        data = self._post("/_sandbox/accounts", body)
        return Credentials.from_mapping(data["credentials"], account_ref=f"{platform}:{data['uid']}")

    def fault(self, platform: str, endpoint: str, error: str, count: int = 1, **extra: Any) -> None:
        self._post(
            "/_sandbox/faults", {"platform": platform, "endpoint": endpoint, "error": error, "count": count, **extra}
        )

    def config(self, **values: Any) -> None:
        self._post("/_sandbox/config", values)

    def posts(self, platform: str) -> list[dict[str, Any]]:
        resp = self.http.get(self.base + "/_sandbox/posts", params={"platform": platform}, timeout=10)
        return resp.json()["posts"]

    def adapter(self, platform: str, **kw: Any) -> Any:
        kw.setdefault("token_store", InMemoryTokenStore())
        kw.setdefault("rate_limiter", InMemoryRateLimiter())
        kw.setdefault("timeout", 5)
        options = kw.pop("options", {})
        if platform == "weibo":
            options.setdefault("rip", "203.0.113.9")
        if platform == "toutiao":
            options.setdefault("legacy_base_url", self.base + "/toutiao-mp")
        return get_adapter(platform, base_url=f"{self.base}/{platform}", options=options, **kw)


@pytest.fixture
def sim(sandbox_url: str) -> Iterator[Simulator]:
    """This module's own sandbox server (no Flask app or database needed), reset per test."""
    box = Simulator(sandbox_url)
    box.reset()
    box.config(wechat_publish_polls=1, timeout_delay=1.5, clock_offset=0.0)
    try:
        yield box
    finally:
        box.reset()
        box.http.close()


def wechat_article(**kw: Any) -> ContentInput:
    data: dict[str, Any] = {
        "title": "市政府召开常务会议",
        "html": '<p>会议研究部署近期重点工作。</p><p><img src="photo.png"></p>',
        "summary": "常务会议研究部署近期重点工作",
        "media": (MediaFile("photo.png", "image/png", PNG),),
        "cover": MediaFile("cover.jpg", "image/jpeg", JPEG),
        "canonical_url": CANONICAL,
        "author": "市政府办公室",
    }
    data.update(kw)
    return ContentInput(**data)


def weibo_content(text: str = "今天召开常务会议，研究部署近期重点工作", **kw: Any) -> ContentInput:
    return ContentInput(title="常务会议", summary=text, canonical_url=CANONICAL, **kw)


def video_content(caption: str = "防汛安全提示", **kw: Any) -> ContentInput:
    return ContentInput(title=caption, media=(MediaFile("tips.mp4", "video/mp4", MP4),), **kw)


def assert_until_window_end(retry_after: float, scope: str) -> None:
    """``retry_after`` is the time left in the current minute/hour/day window (Beijing time)."""
    size = {"minute": 60, "hour": 3600, "day": 86400}[scope]
    assert 0 < retry_after <= size
    diff = (retry_after - window(scope, time.time())[1]) % size  # modulo: the window may roll over
    assert min(diff, size - diff) < 2


def poll(adapter: Any, creds: Credentials, post_id: str, tries: int = 6) -> PublishResult:
    result = adapter.status(creds, post_id)
    for _ in range(tries):
        if result.state != "pending":
            break
        result = adapter.status(creds, post_id)
    return result


# =========================================================================== WeChat


def test_wechat_success_path(sim: Simulator) -> None:
    creds = sim.account("wechat")
    adapter = sim.adapter("wechat")
    rendered = adapter.render(wechat_article())
    assert rendered.ok, rendered.problems

    submitted = adapter.publish(creds, rendered.post)
    assert submitted.state == "pending"
    assert submitted.post_id.isdigit()

    done = poll(adapter, creds, submitted.post_id)
    assert done.state == "published"
    assert done.url
    publish_id, article_id = done.post_id.split(":")
    assert publish_id == submitted.post_id
    assert article_id

    (stored,) = sim.posts("wechat")
    assert stored["title"] == "市政府召开常务会议"
    assert stored["extra"]["articles"][0]["content_source_url"] == CANONICAL
    assert "/_sandbox/media/" in stored["extra"]["articles"][0]["content"]  # inline image survived

    recent = adapter.recent_posts(creds, 5)
    assert [r.post_id for r in recent] == [article_id]
    assert recent[0].canonical_url == CANONICAL
    profile = adapter.profile(creds)
    assert profile.posts_count == 1
    assert profile.last_post_at is not None
    found = adapter.find_published(creds, rendered.post)
    assert found is not None
    assert found.post_id == f":{article_id}"
    assert adapter.status(creds, found.post_id).state == "published"

    withdrawn = adapter.withdraw(creds, done.post_id)
    assert withdrawn.state == "withdrawn"
    assert adapter.status(creds, done.post_id).state == "withdrawn"
    assert adapter.recent_posts(creds, 5) == []


def test_wechat_withdraw_with_publish_id_only(sim: Simulator) -> None:
    creds = sim.account("wechat")
    adapter = sim.adapter("wechat")
    submitted = adapter.publish(creds, adapter.render(wechat_article()).post)
    poll(adapter, creds, submitted.post_id)
    assert adapter.withdraw(creds, submitted.post_id).state == "withdrawn"


def test_wechat_token_expiry_refreshes_and_succeeds(sim: Simulator) -> None:
    creds = sim.account("wechat")
    store = InMemoryTokenStore()
    adapter = sim.adapter("wechat", token_store=store)
    adapter.recent_posts(creds)
    first = store.get(f"wechat:token:{creds.app_id}")
    sim.fault("wechat", "freepublish/batchget", "token_expired")
    assert adapter.recent_posts(creds) == []
    assert store.get(f"wechat:token:{creds.app_id}") != first  # force_refresh issued a new one


def test_wechat_really_expired_token(sim: Simulator) -> None:
    creds = sim.account("wechat")
    adapter = sim.adapter("wechat")
    adapter.recent_posts(creds)
    sim.config(clock_offset=7300.0)  # the cached token is now past its 2 hours
    assert adapter.profile(creds).posts_count == 0


def test_wechat_bad_secret(sim: Simulator) -> None:
    creds = sim.account("wechat")
    bad = Credentials(app_id=creds.app_id, app_secret="wrong")
    with pytest.raises(CredentialsError) as info:
        sim.adapter("wechat").profile(bad)
    assert info.value.code == "40125"


def test_wechat_rate_limit(sim: Simulator) -> None:
    creds = sim.account("wechat")
    adapter = sim.adapter("wechat")
    sim.fault("wechat", "freepublish/submit", "rate_limit")
    with pytest.raises(RateLimited) as info:
        adapter.publish(creds, adapter.render(wechat_article()).post)
    assert info.value.code == "45009"
    assert info.value.scope == "day"
    assert info.value.retry_after == pytest.approx(window("day", time.time())[1], abs=5)


def test_wechat_minute_rate_limit(sim: Simulator) -> None:
    creds = sim.account("wechat")
    adapter = sim.adapter("wechat")
    sim.fault("wechat", "freepublish/submit", "rate_limit_minute")
    with pytest.raises(RateLimited) as info:
        adapter.publish(creds, adapter.render(wechat_article()).post)
    assert info.value.code == "45011"
    assert info.value.scope == "minute"
    assert info.value.retryable
    assert_until_window_end(info.value.retry_after, "minute")
    assert sim.posts("wechat") == []
    # The next minute (here: the next call, the fault being used up) goes through.
    assert adapter.publish(creds, adapter.render(wechat_article()).post).state == "pending"


def test_wechat_daily_submit_quota(sim: Simulator) -> None:
    creds = sim.account("wechat")
    sim.config(wechat_daily_quota={"freepublish/submit": 1})
    adapter = sim.adapter("wechat", options={"rate_limits": {"publish": {}}})  # let the platform refuse
    post = adapter.render(wechat_article()).post
    adapter.publish(creds, post)
    with pytest.raises(RateLimited) as info:
        adapter.publish(creds, post)
    assert info.value.scope == "day"
    guarded = sim.adapter("wechat", options={"rate_limits": {"publish": {"day": 1}}})
    guarded.publish(sim.account("wechat", uid="gh_other"), post)
    with pytest.raises(RateLimited) as local:
        guarded.publish(sim.account("wechat", uid="gh_other"), post)
    assert local.value.code == "local_rate_limit"


def test_wechat_server_error_and_timeout(sim: Simulator) -> None:
    creds = sim.account("wechat")
    adapter = sim.adapter("wechat", timeout=0.5)
    sim.fault("wechat", "freepublish/batchget", "server_error")
    with pytest.raises(TransientError) as busy:
        adapter.recent_posts(creds)
    assert busy.value.code == "-1"
    sim.fault("wechat", "freepublish/batchget", "server_error", http_status=502)
    with pytest.raises(TransientError) as bad_gateway:
        adapter.recent_posts(creds)
    assert bad_gateway.value.code == "http_502"
    sim.fault("wechat", "freepublish/batchget", "timeout", delay=1.5)
    with pytest.raises(TransientError) as slow:
        adapter.recent_posts(creds)
    assert slow.value.code == "timeout"


def test_wechat_content_rejection(sim: Simulator) -> None:
    creds = sim.account("wechat")
    adapter = sim.adapter("wechat")
    sim.fault("wechat", "freepublish/submit", "content_rejected")
    with pytest.raises(ContentRejected) as info:
        adapter.publish(creds, adapter.render(wechat_article()).post)
    assert info.value.code == "53503"
    submitted = adapter.publish(creds, adapter.render(wechat_article(title="SANDBOX_REJECT 测试")).post)
    result = poll(adapter, creds, submitted.post_id)
    assert result.state == "rejected"
    assert result.platform_code == "publish_status:4"


def test_wechat_banned(sim: Simulator) -> None:
    creds = sim.account("wechat", status="banned")
    adapter = sim.adapter("wechat")
    with pytest.raises(AccountUnavailable) as info:
        adapter.profile(creds)
    assert info.value.code == "50002"
    with pytest.raises(AccountUnavailable):
        adapter.publish(creds, adapter.render(wechat_article()).post)


def test_wechat_search_accounts(sim: Simulator) -> None:
    sim.account("wechat", uid="gh_police", name="某市公安", subject="某市公安局")
    sim.account("wechat", uid="gh_tax", name="某市税务", subject="国家税务总局某市税务局")
    adapter = sim.adapter("wechat", options={"search_url": f"{sim.base}/wechat/_search/accounts"})
    found = adapter.search_accounts("公安")
    assert [(a.uid, a.subject) for a in found] == [("gh_police", "某市公安局")]
    with pytest.raises(Unsupported):
        sim.adapter("wechat").search_accounts("公安")


# =========================================================================== Weibo


def test_weibo_success_path(sim: Simulator) -> None:
    creds = sim.account("weibo", followers=1200)
    adapter = sim.adapter("weibo", options={"safe_domain": "gov.example.cn"})
    rendered = adapter.render(weibo_content(media=(MediaFile("photo.jpg", "image/jpeg", JPEG),)))
    assert rendered.ok, rendered.problems
    result = adapter.publish(creds, rendered.post)
    assert result.state == "published"
    assert result.post_id.isdigit()
    assert requests.get(result.url, timeout=5).status_code == 200  # the link leads to the post

    (stored,) = sim.posts("weibo")
    assert stored["text"] == rendered.post.text
    assert CANONICAL in stored["text"]
    assert stored["extra"]["rip"] == "203.0.113.9"
    assert stored["media"]

    assert adapter.status(creds, result.post_id).state == "published"
    recent = adapter.recent_posts(creds, 5)
    assert [r.post_id for r in recent] == [result.post_id]
    profile = adapter.profile(creds)
    assert (profile.name, profile.followers, profile.posts_count) == ("某市发布", 1200, 1)
    assert profile.token_expires_in is not None
    assert profile.token_expires_in > 0
    found = adapter.find_published(creds, rendered.post)
    assert found is not None
    assert found.post_id == result.post_id

    assert adapter.withdraw(creds, result.post_id).state == "withdrawn"
    assert adapter.status(creds, result.post_id).state == "withdrawn"
    assert adapter.withdraw(creds, result.post_id).state == "withdrawn"  # idempotent


def test_weibo_duplicate_returns_the_earlier_post(sim: Simulator) -> None:
    creds = sim.account("weibo")
    adapter = sim.adapter("weibo")
    post = adapter.render(weibo_content()).post
    first = adapter.publish(creds, post)
    again = adapter.publish(creds, post)  # the platform answers 20019 (repeat content)
    assert again.post_id == first.post_id
    assert again.raw_status == "duplicate_found"
    assert len(sim.posts("weibo")) == 1


def test_weibo_recent_posts_tell_originals_from_reposts(sim: Simulator) -> None:
    creds = sim.account(
        "weibo",
        posts=[
            {"text": "我市启动防汛四级应急响应", "created_at": "2024-06-01T09:00:00"},
            {"text": "转发微博", "created_at": "2024-06-02T09:00:00", "repost": True},
            {
                "text": "请市民注意出行安全",
                "created_at": "2024-06-03T09:00:00",
                "repost": {"text": "气象台发布暴雨蓝色预警", "user": "某市气象"},
            },
        ],
    )
    adapter = sim.adapter("weibo")
    recent = adapter.recent_posts(creds, 5)
    assert [(r.text, r.original) for r in recent] == [
        ("请市民注意出行安全", False),
        ("转发微博", False),
        ("我市启动防汛四级应急响应", True),
    ]
    # Crash recovery never takes a repost for our own post, even with the same words.
    reposted = adapter.render(ContentInput(title="", summary="请市民注意出行安全")).post
    assert reposted.text == "请市民注意出行安全"
    assert adapter.find_published(creds, reposted) is None

    timeline = sim.http.get(
        f"{sim.base}/weibo/2/statuses/user_timeline.json", params={"access_token": creds.access_token}, timeout=5
    ).json()["statuses"]
    assert timeline[0]["retweeted_status"]["text"] == "气象台发布暴雨蓝色预警"
    assert timeline[0]["retweeted_status"]["user"]["screen_name"] == "某市气象"
    assert "retweeted_status" not in timeline[2]
    body = {"platform": "wechat", "posts": [{"text": "x", "repost": True}]}
    wrong = sim.http.post(f"{sim.base}/_sandbox/accounts", json=body, timeout=5)
    assert wrong.status_code == 400  # only Weibo has reposts here


def test_weibo_token_expiry_needs_reauthorisation(sim: Simulator) -> None:
    creds = sim.account("weibo")
    sim.fault("weibo", "statuses/share", "token_expired")
    adapter = sim.adapter("weibo")
    with pytest.raises(TokenExpired) as info:
        adapter.publish(creds, adapter.render(weibo_content()).post)
    assert info.value.code == "21327"
    assert info.value.needs_reauth
    assert not info.value.retryable


def test_weibo_rate_limits(sim: Simulator) -> None:
    creds = sim.account("weibo")
    sim.fault("weibo", "statuses/share", "rate_limit")
    adapter = sim.adapter("weibo")
    with pytest.raises(RateLimited) as info:
        adapter.publish(creds, adapter.render(weibo_content()).post)
    assert (info.value.code, info.value.scope) == ("20016", "hour")
    assert 0 < info.value.retry_after <= 3600

    sim.config(weibo_posts_per_hour=2)
    unguarded = sim.adapter("weibo", options={"rate_limits": {"publish": {}}})
    for i in range(2):
        unguarded.publish(creds, unguarded.render(weibo_content(f"第{i}条政务信息")).post)
    with pytest.raises(RateLimited) as platform_limit:
        unguarded.publish(creds, unguarded.render(weibo_content("第3条政务信息")).post)
    assert (platform_limit.value.code, platform_limit.value.scope) == ("20016", "hour")

    other = sim.account("weibo", uid="2000000002")
    guarded = sim.adapter("weibo", options={"rate_limits": {"publish": {"hour": 1}}})
    guarded.publish(other, guarded.render(weibo_content("本地限流测试一")).post)
    before = len(sim.posts("weibo"))
    with pytest.raises(RateLimited) as local:
        guarded.publish(other, guarded.render(weibo_content("本地限流测试二")).post)
    assert (local.value.code, local.value.scope) == ("local_rate_limit", "hour")
    assert len(sim.posts("weibo")) == before


def test_weibo_server_error_and_timeout(sim: Simulator) -> None:
    creds = sim.account("weibo")
    adapter = sim.adapter("weibo", timeout=0.5)
    sim.fault("weibo", "statuses/user_timeline", "server_error")
    with pytest.raises(TransientError) as busy:
        adapter.recent_posts(creds)
    assert busy.value.code == "10001"  # the 5xx body's error_code is kept (issue 15)
    sim.fault("weibo", "statuses/share", "timeout", delay=1.5)
    with pytest.raises(TransientError) as slow:
        adapter.publish(creds, adapter.render(weibo_content()).post)
    assert slow.value.code == "timeout"


def test_weibo_content_rejection(sim: Simulator) -> None:
    creds = sim.account("weibo")
    adapter = sim.adapter("weibo")
    with pytest.raises(ContentRejected) as words:
        adapter.publish(creds, adapter.render(weibo_content("这是违规内容")).post)
    assert words.value.code == "20021"
    no_domain = adapter.render(
        ContentInput(title="t", summary="没有安全域名链接", canonical_url="https://other.example.com/x")
    )
    with pytest.raises(ContentRejected) as domain:
        adapter.publish(creds, no_domain.post)
    assert domain.value.code == "10017"
    sim.fault("weibo", "statuses/share", "content_rejected")
    with pytest.raises(ContentRejected):
        adapter.publish(creds, adapter.render(weibo_content("另一条正常内容")).post)


def test_weibo_banned(sim: Simulator) -> None:
    creds = sim.account("weibo", status="banned")
    adapter = sim.adapter("weibo")
    with pytest.raises(AccountUnavailable) as info:
        adapter.publish(creds, adapter.render(weibo_content()).post)
    assert info.value.code == "20003"


# =========================================================================== Douyin


def test_douyin_success_path(sim: Simulator) -> None:
    creds = sim.account("douyin", name="某市发布")
    adapter = sim.adapter("douyin")
    rendered = adapter.render(video_content())
    assert rendered.ok, rendered.problems
    created = adapter.publish(creds, rendered.post)
    assert created.state == "pending"
    done = poll(adapter, creds, created.post_id)
    assert done.state == "published"
    assert done.url

    recent = adapter.recent_posts(creds, 5)
    assert [r.post_id for r in recent] == [created.post_id]
    assert recent[0].text == "防汛安全提示"
    profile = adapter.profile(creds)
    assert profile.uid == creds.open_id
    assert profile.name == "某市发布"
    found = adapter.find_published(creds, rendered.post)
    assert found is not None
    assert found.post_id == created.post_id

    with pytest.raises(Unsupported):
        adapter.withdraw(creds, created.post_id)
    assert "withdraw" not in adapter.capabilities


def test_douyin_image_text(sim: Simulator) -> None:
    creds = sim.account("douyin")
    adapter = sim.adapter("douyin")
    content = ContentInput(
        title="图说政务",
        media=(MediaFile("a.jpg", "image/jpeg", JPEG), MediaFile("b.png", "image/png", PNG)),
    )
    result = adapter.publish(creds, adapter.render(content).post)
    assert poll(adapter, creds, result.post_id).state == "published"
    (stored,) = sim.posts("douyin")
    assert stored["kind"] == "image_text"
    assert len(stored["media"]) == 2


def test_douyin_chunked_upload(sim: Simulator) -> None:
    creds = sim.account("douyin")
    changed: list[Credentials] = []
    adapter = sim.adapter(
        "douyin", options={"chunk_threshold": 1000, "chunk_size": 1000}, on_credentials_changed=changed.append
    )
    content = ContentInput(title="分片上传", media=(MediaFile("big.mp4", "video/mp4", BIG_MP4),))
    rendered = adapter.render(content)
    assert rendered.ok, rendered.problems
    # An expired token on a part: refreshed, the part re-sent, the upload carries on.
    sim.fault("douyin", "video/upload_video_part", "token_expired")
    created = adapter.publish(creds, rendered.post)
    assert created.state == "pending"
    assert len(changed) == 1
    assert poll(adapter, creds, created.post_id).state == "published"

    (stored,) = sim.posts("douyin")
    assert stored["post_id"] == created.post_id
    assert stored["kind"] == "video"
    (video_id,) = stored["media"]
    assert stored["extra"]["video_id"] == video_id
    assembled = sim.http.get(f"{sim.base}/_sandbox/media/{video_id}", timeout=10)
    assert assembled.status_code == 200
    assert len(assembled.content) == len(BIG_MP4) == 4512  # 5 parts: 4 × 1000 + 512
    assert assembled.content == BIG_MP4


def test_douyin_chunked_upload_validation(sim: Simulator) -> None:
    """The sandbox's part checks answer the platform's invalid-parameter code, 28001007."""
    creds = sim.account("douyin")
    base = f"{sim.base}/douyin/api/douyin/v1/video"
    headers = {"access-token": str(creds.access_token)}

    def call(name: str, part: bytes | None = None, **params: Any) -> dict[str, Any]:
        files = {"video": ("big.mp4", part, "video/mp4")} if part is not None else None
        resp = sim.http.post(
            f"{base}/{name}/",
            params={"open_id": creds.open_id, **params},
            headers=headers,
            files=files,
            json=None if files else {},
            timeout=10,
        )
        assert resp.status_code == 200  # business errors are HTTP 200
        return resp.json()

    def err(body: dict[str, Any]) -> tuple[int, str]:
        return body["err_no"], body["err_msg"]

    upload_id = call("init_video_part_upload")["data"]["upload_id"]
    assert err(call("upload_video_part", b"x", upload_id="no-such-upload", part_number=1))[0] == 28001007
    assert err(call("complete_video_part_upload", upload_id="no-such-upload"))[0] == 28001007
    assert err(call("complete_video_part_upload", upload_id=upload_id)) == (28001007, "尚未上传任何分片，无法完成上传")
    code, message = err(call("upload_video_part", BIG_MP4[1000:], upload_id=upload_id, part_number=2))
    assert code == 28001007
    assert "应上传第1片" in message
    assert err(call("upload_video_part", BIG_MP4[:1000], upload_id=upload_id, part_number=1)) == (0, "")
    assert err(call("upload_video_part", BIG_MP4[3000:], upload_id=upload_id, part_number=3))[0] == 28001007
    assert err(call("upload_video_part", BIG_MP4[1000:], upload_id=upload_id, part_number=2)) == (0, "")
    assert err(call("upload_video_part", BIG_MP4[1000:], upload_id=upload_id, part_number=2)) == (0, "")  # resent
    other = sim.account("douyin", uid="dy_other")
    foreign = sim.http.post(
        f"{base}/complete_video_part_upload/",
        params={"open_id": other.open_id, "upload_id": upload_id},
        headers={"access-token": str(other.access_token)},
        json={},
        timeout=10,
    ).json()
    assert foreign["err_no"] == 28001007  # another account's upload_id is unknown to it
    done = call("complete_video_part_upload", upload_id=upload_id)
    assert done["err_no"] == 0
    video_id = done["data"]["video"]["video_id"]
    assert sim.http.get(f"{sim.base}/_sandbox/media/{video_id}", timeout=10).content == BIG_MP4
    assert call("complete_video_part_upload", upload_id=upload_id)["err_no"] == 28001007  # used up


def test_douyin_pattern_credentials_from_the_demo_seed(sim: Simulator) -> None:
    creds = Credentials(
        client_key="demo",
        client_secret="sandbox",
        access_token="act.sandbox.dy-demo",
        refresh_token="rft.sandbox.dy-demo",
        open_id="dy-demo",
    )
    adapter = sim.adapter("douyin")
    result = adapter.publish(creds, adapter.render(video_content()).post)
    assert poll(adapter, creds, result.post_id).state == "published"


def test_douyin_token_expiry_refreshes_and_succeeds(sim: Simulator) -> None:
    creds = sim.account("douyin")
    changed: list[Credentials] = []
    adapter = sim.adapter("douyin", on_credentials_changed=changed.append)
    sim.config(clock_offset=16 * 86400.0)  # 15-day access token expired, 30-day refresh token alive
    result = adapter.publish(creds, adapter.render(video_content()).post)
    assert result.state == "pending"
    assert len(changed) == 1
    assert changed[0].access_token != creds.access_token
    assert changed[0].access_token.startswith("act.")
    assert changed[0].refresh_token == creds.refresh_token
    # The refreshed token is used from now on, also by another worker sharing the store.
    peer = sim.adapter("douyin", token_store=adapter.token_store)
    assert peer.recent_posts(creds, 5)[0].post_id == result.post_id
    assert len(changed) == 1


def test_douyin_renews_the_refresh_token_near_expiry(sim: Simulator) -> None:
    creds = sim.account("douyin")
    near = Credentials.from_mapping(
        {**creds.to_dict(), "expires_at": time.time() + 86400, "refresh_expires_at": time.time() + 3600}
    )
    changed: list[Credentials] = []
    adapter = sim.adapter("douyin", on_credentials_changed=changed.append)
    adapter.profile(near)
    assert changed[-1].renewals == 1
    assert changed[-1].refresh_token != creds.refresh_token
    # The old refresh token is dead now; the new one refreshes fine.
    sim.config(clock_offset=16 * 86400.0)
    assert adapter.profile(changed[-1]).uid == creds.open_id


def test_douyin_renewal_limit(sim: Simulator) -> None:
    creds = sim.account("douyin")
    sim.config(douyin_max_renewals=0)
    near = Credentials.from_mapping(
        {**creds.to_dict(), "expires_at": time.time() + 86400, "refresh_expires_at": time.time() + 3600}
    )
    with pytest.raises(CredentialsError) as info:
        sim.adapter("douyin").profile(near)
    assert info.value.code == "10020"


def test_douyin_token_fault_refreshes(sim: Simulator) -> None:
    creds = sim.account("douyin")
    sim.fault("douyin", "video/video_list", "token_expired")
    changed: list[Credentials] = []
    adapter = sim.adapter("douyin", on_credentials_changed=changed.append)
    assert adapter.recent_posts(creds) == []
    assert len(changed) == 1


def test_douyin_rate_limit_server_error_timeout(sim: Simulator) -> None:
    creds = sim.account("douyin")
    adapter = sim.adapter("douyin", timeout=0.5)
    post = adapter.render(video_content()).post
    sim.fault("douyin", "video/create_video", "rate_limit")
    with pytest.raises(RateLimited) as limited:
        adapter.publish(creds, post)
    assert (limited.value.code, limited.value.scope) == ("28003018", "minute")
    assert 0 < limited.value.retry_after <= 60
    sim.fault("douyin", "video/create_video", "rate_limit", retry_after=2)  # the answer says when: Retry-After
    with pytest.raises(RateLimited) as told:
        adapter.publish(creds, post)
    assert (told.value.code, told.value.retry_after) == ("28003018", 2)
    sim.fault("douyin", "video/video_list", "server_error")
    with pytest.raises(TransientError) as busy:
        adapter.recent_posts(creds)
    assert busy.value.code == "28001005"
    sim.fault("douyin", "video/video_list", "server_error", http_status=503)
    with pytest.raises(TransientError):
        adapter.recent_posts(creds)
    sim.fault("douyin", "video/video_list", "timeout", delay=1.5)
    with pytest.raises(TransientError) as slow:
        adapter.recent_posts(creds)
    assert slow.value.code == "timeout"


def test_douyin_content_rejection(sim: Simulator) -> None:
    creds = sim.account("douyin")
    adapter = sim.adapter("douyin", options={"absent_polls_before_rejected": 2})
    sim.fault("douyin", "video/create_video", "content_rejected")
    with pytest.raises(ContentRejected) as info:
        adapter.publish(creds, adapter.render(video_content()).post)
    assert info.value.code == "2111001"
    hidden = adapter.publish(creds, adapter.render(video_content("SANDBOX_REJECT 测试")).post)
    assert hidden.state == "pending"
    assert [adapter.status(creds, hidden.post_id).state for _ in range(2)] == ["pending", "rejected"]


def test_douyin_banned(sim: Simulator) -> None:
    creds = sim.account("douyin", status="banned")
    adapter = sim.adapter("douyin")
    with pytest.raises(AccountUnavailable) as info:
        adapter.publish(creds, adapter.render(video_content()).post)
    assert info.value.code == "28001046"
    with pytest.raises(AccountUnavailable):
        adapter.profile(creds)


# =========================================================================== Toutiao


def test_toutiao_success_path(sim: Simulator) -> None:
    creds = sim.account("toutiao", name="某市发布")
    adapter = sim.adapter("toutiao")
    rendered = adapter.render(video_content())
    assert rendered.ok, rendered.problems
    created = adapter.publish(creds, rendered.post)
    assert created.state == "pending"
    assert poll(adapter, creds, created.post_id).state == "published"
    assert [r.post_id for r in adapter.recent_posts(creds, 5)] == [created.post_id]
    assert adapter.profile(creds).name == "某市发布"
    found = adapter.find_published(creds, rendered.post)
    assert found is not None
    assert found.post_id == created.post_id
    with pytest.raises(Unsupported):
        adapter.withdraw(creds, created.post_id)


def test_toutiao_articles(sim: Simulator) -> None:
    creds = sim.account("toutiao")
    article = ContentInput(title="关于做好防汛工作的通知", html="<p>各单位：请做好防汛工作。</p>")
    plain = sim.adapter("toutiao")
    with pytest.raises(Unsupported):
        plain.publish(creds, plain.render(article).post)
    package = plain.manual_package(plain.render(article).post)
    assert package["title"] == "关于做好防汛工作的通知"
    assert package["instructions"]

    sim.config(toutiao_legacy_articles=True)
    legacy = sim.adapter("toutiao", options={"legacy_articles": True})
    result = legacy.publish(creds, legacy.render(article).post)
    assert result.state == "published"
    assert result.post_id.startswith("article:")
    assert result.raw_status == "legacy_accepted"
    assert any(p["kind"] == "article" for p in sim.posts("toutiao"))


def test_toutiao_token_expiry_refreshes_and_succeeds(sim: Simulator) -> None:
    creds = sim.account("toutiao")
    changed: list[Credentials] = []
    adapter = sim.adapter("toutiao", on_credentials_changed=changed.append)
    sim.fault("toutiao", "toutiao/video/create", "token_expired")
    result = adapter.publish(creds, adapter.render(video_content()).post)
    assert result.state == "pending"
    assert len(changed) == 1


def test_toutiao_errors(sim: Simulator) -> None:
    creds = sim.account("toutiao")
    adapter = sim.adapter("toutiao", timeout=0.5)
    post = adapter.render(video_content()).post
    sim.fault("toutiao", "toutiao/video/create", "rate_limit")
    with pytest.raises(RateLimited) as limited:
        adapter.publish(creds, post)
    assert (limited.value.code, limited.value.scope) == ("28003018", "minute")
    assert_until_window_end(limited.value.retry_after, "minute")
    sim.fault("toutiao", "toutiao/video/create", "content_rejected")
    with pytest.raises(ContentRejected) as rejected:
        adapter.publish(creds, post)
    assert rejected.value.code == "2111001"
    assert not rejected.value.retryable
    sim.fault("toutiao", "toutiao/video/list", "server_error", http_status=500)
    with pytest.raises(TransientError):
        adapter.recent_posts(creds)
    sim.fault("toutiao", "toutiao/video/list", "timeout", delay=1.5)
    with pytest.raises(TransientError):
        adapter.recent_posts(creds)
    sim.fault("toutiao", "toutiao/video/list", "banned")
    with pytest.raises(AccountUnavailable):
        adapter.recent_posts(creds)
