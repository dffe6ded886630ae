"""Issue 15: the Douyin common status codes of the official status-code page
(developer.open-douyin.com/docs/resource/zh-CN/dop/develop/openapi/status-code/) that used to
fall through to an unclassified error. Each is replayed with ``responses`` as the answer of
``create_image_text`` in the new ``err_no`` envelope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from platforms import (
    AccountUnavailable,
    ContentInput,
    Credentials,
    CredentialsError,
    InMemoryRateLimiter,
    InMemoryTokenStore,
    MediaFile,
    RateLimited,
    Unsupported,
    get_adapter,
)

DYV = "https://open.douyin.com/api/douyin/v1/video"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
CREDS = Credentials(client_key="ck1", access_token="act.token-value", open_id="open-1")


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def _publish_answered_with(mocked: responses.RequestsMock, body: dict[str, Any]) -> Any:
    mocked.post(
        f"{DYV}/upload_image/",
        json={"err_no": 0, "err_msg": "", "log_id": "x", "data": {"image": {"image_id": "img-1"}}},
    )
    mocked.post(f"{DYV}/create_image_text/", json=body)
    adapter = get_adapter("douyin", token_store=InMemoryTokenStore(), rate_limiter=InMemoryRateLimiter(), timeout=5)
    post = adapter.render(ContentInput(title="图文", media=(MediaFile("a.png", "image/png", PNG),))).post
    return adapter.publish(CREDS, post)


@pytest.mark.parametrize(
    ("code", "error", "retryable", "needs_reauth", "phrase"),
    [
        (28001014, CredentialsError, False, True, "未开通任何能力"),  # 应用未授权任何能力
        (28001017, Unsupported, False, False, "未知 URI"),  # 未知URI
        (28001019, Unsupported, False, False, "封禁或下线"),  # 当前能力已被封禁或下线
        (28001020, CredentialsError, False, True, "未绑定测试应用"),  # 用户未绑定该测试应用
        (28001021, CredentialsError, False, True, "测试应用已过期"),  # 测试应用已过期
        (28001047, AccountUnavailable, False, False, "私密账号"),  # 用户为私密用户
        (28001052, RateLimited, True, False, "异常风险"),  # 获取平台能力存在异常风险
        (28001056, Unsupported, False, False, "接口已下线"),  # 该能力API已下线
    ],
)
def test_douyin_status_page_code_is_mapped(
    mocked: responses.RequestsMock, code: int, error: type, retryable: bool, needs_reauth: bool, phrase: str
) -> None:
    body = {"err_no": code, "err_msg": "platform text", "log_id": "x", "data": {}}
    with pytest.raises(error) as info:
        _publish_answered_with(mocked, body)
    assert type(info.value) is error
    assert info.value.code == str(code)
    assert info.value.retryable is retryable
    assert info.value.needs_reauth is needs_reauth
    assert phrase in info.value.message
    assert "未知错误" not in info.value.message
    # The image went as a list of id strings.
    assert json.loads(mocked.calls[-1].request.body)["image_list"] == ["img-1"]
