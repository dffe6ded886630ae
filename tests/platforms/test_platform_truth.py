"""Issue 15: the adapters follow the official docs (token refresh policy, mapped codes, no
double publish). Unit tests replay documented answers with ``responses``; the pipeline test
drives the real adapter against the sandbox over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import responses

from config import from_env
from platforms import (
    AccountUnavailable,
    Credentials,
    InMemoryRateLimiter,
    InMemoryTokenStore,
    InvalidRequest,
    RateLimited,
    TokenExpired,
    TransientError,
    get_adapter,
)
from tests.platforms.test_adapters_contract import Simulator, sandbox_url, sim, wechat_article  # noqa: F401

WX = "https://api.weixin.qq.com/cgi-bin"
WB = "https://api.weibo.com"
WX_CREDS = Credentials(app_id="wxapp1", app_secret="wx-secret-value")
WB_CREDS = Credentials(access_token="weibo-token-value", account_ref="acc-wb")


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def make(platform: str, **kw: Any) -> Any:
    kw.setdefault("token_store", InMemoryTokenStore())
    kw.setdefault("rate_limiter", InMemoryRateLimiter())
    kw.setdefault("timeout", 5)
    return get_adapter(platform, **kw)


def forces(mocked: responses.RequestsMock) -> list[bool]:
    return [
        json.loads(c.request.body)["force_refresh"]
        for c in mocked.calls
        if urlsplit(c.request.url).path.endswith("stable_token")
    ]


# ----------------------------------------------------------------------------- token refresh


def test_wechat_token_error_refreshes_in_normal_mode_when_that_gives_a_new_token(mocked) -> None:
    mocked.post(f"{WX}/stable_token", json={"access_token": "OLD", "expires_in": 7200})
    mocked.post(f"{WX}/stable_token", json={"access_token": "NEW", "expires_in": 7200})
    mocked.post(f"{WX}/freepublish/batchget", json={"errcode": 40001, "errmsg": "invalid credential"})
    mocked.post(f"{WX}/freepublish/batchget", json={"total_count": 0, "item": []})
    assert make("wechat").recent_posts(WX_CREDS) == []
    assert forces(mocked) == [False, False]


def test_wechat_forces_only_when_normal_mode_returns_the_failed_token(mocked) -> None:
    for value in ("SAME", "SAME", "FORCED"):
        mocked.post(f"{WX}/stable_token", json={"access_token": value, "expires_in": 7200})
    mocked.post(f"{WX}/freepublish/batchget", json={"errcode": 42001, "errmsg": "access_token expired"})
    mocked.post(f"{WX}/freepublish/batchget", json={"total_count": 0, "item": []})
    adapter = make("wechat")
    assert adapter.recent_posts(WX_CREDS) == []
    assert forces(mocked) == [False, False, True]
    assert adapter.token_store.get("wechat:token:wxapp1") == "FORCED"


def _same_token_forever(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{WX}/stable_token", json={"access_token": "SAME", "expires_in": 7200})
    mocked.post(f"{WX}/freepublish/batchget", json={"errcode": 42001, "errmsg": "access_token expired"})


def test_wechat_force_refresh_respects_the_spacing(mocked) -> None:
    _same_token_forever(mocked)
    adapter = make("wechat", options={"force_refresh_spacing": 30, "force_refresh_per_day": 20})
    with pytest.raises(TokenExpired):
        adapter.recent_posts(WX_CREDS)  # one force, then the retried call fails again
    assert forces(mocked).count(True) == 1
    with pytest.raises(TokenExpired) as refused:
        adapter.recent_posts(WX_CREDS)
    assert refused.value.code == "force_refresh_spacing"
    assert forces(mocked).count(True) == 1  # never a second force within 30 s


def test_wechat_force_refresh_respects_the_daily_limit(mocked) -> None:
    _same_token_forever(mocked)
    adapter = make("wechat", options={"force_refresh_spacing": 0, "force_refresh_per_day": 2})
    for _ in range(2):
        with pytest.raises(TokenExpired):
            adapter.recent_posts(WX_CREDS)
    with pytest.raises(TokenExpired) as refused:
        adapter.recent_posts(WX_CREDS)
    assert refused.value.code == "force_refresh_limit"
    assert forces(mocked).count(True) == 2


def test_wechat_force_limits_come_from_settings() -> None:
    options = from_env()["ADAPTER_OPTIONS"]["wechat"]
    assert options["force_refresh_per_day"] == 20 and options["force_refresh_spacing"] == 30


# ----------------------------------------------------------------------------- mapped codes


@pytest.mark.parametrize(
    ("code", "error", "retryable"),
    [
        (53500, AccountUnavailable, False),  # 发布功能被封禁
        (53501, RateLimited, True),  # 请勿频繁请求
        (53502, InvalidRequest, False),  # Publish ID 无效
        (48001, AccountUnavailable, False),  # api unauthorized (unverified / 认证 expired)
    ],
)
def test_wechat_publish_codes_are_mapped(mocked, code: int, error: type, retryable: bool) -> None:
    mocked.post(f"{WX}/stable_token", json={"access_token": "T", "expires_in": 7200})
    mocked.post(f"{WX}/freepublish/get", json={"errcode": code, "errmsg": "x rid: 1"})
    with pytest.raises(error) as info:
        make("wechat").status(WX_CREDS, "2247483655")
    assert info.value.code == str(code)
    assert info.value.retryable is retryable
    assert "未知" not in str(info.value)


def test_weibo_5xx_keeps_its_error_code(mocked) -> None:
    body = {"error": "system error!", "error_code": 10001, "request": "/2/statuses/user_timeline.json"}
    mocked.get(f"{WB}/2/statuses/user_timeline.json", json=body, status=500)
    with pytest.raises(TransientError) as info:
        make("weibo").recent_posts(WB_CREDS)
    assert info.value.code == "10001"


def test_weibo_5xx_with_an_unknown_code_stays_retryable(mocked) -> None:
    body = {"error": "new thing", "error_code": 19999, "request": "/2/statuses/user_timeline.json"}
    mocked.get(f"{WB}/2/statuses/user_timeline.json", json=body, status=503)
    with pytest.raises(TransientError) as info:
        make("weibo").recent_posts(WB_CREDS)
    assert info.value.code == "19999" and info.value.retryable


# ----------------------------------------------------------------------------- no double publish


def test_pipeline_never_submits_a_draft_twice(sim: Simulator) -> None:  # noqa: F811
    """Publishing the same post again (a retry) makes a new draft; no draft is submitted twice,
    and the sandbox refuses a second submit of a published draft."""
    submitted: list[str] = []

    def record(resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        if urlsplit(resp.request.url or "").path.endswith("/freepublish/submit"):
            submitted.append(json.loads(resp.request.body or b"{}")["media_id"])

    session = requests.Session()
    session.hooks["response"].append(record)
    creds = sim.account("wechat")
    adapter = sim.adapter("wechat", session=session)
    post = adapter.render(wechat_article()).post
    adapter.publish(creds, post)
    adapter.publish(creds, post)
    assert len(submitted) == 2 and len(set(submitted)) == 2
    token = adapter._token(creds)
    again = requests.post(
        f"{sim.base}/wechat/cgi-bin/freepublish/submit",
        params={"access_token": token},
        data=json.dumps({"media_id": submitted[0]}),
        timeout=5,
    ).json()
    assert again["errcode"] == 40007
