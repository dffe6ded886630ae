"""Issue 15: contract tests from the official WeChat doc samples.

Each ``tests/platforms/samples/*.json`` holds one endpoint we call: the doc page (``source``),
how faithful the stored body is (``sample_kind``), the success body as the page prints it and
the error codes the page lists. They are replayed to the real WeChat adapter with
``responses``: the whole publish → status → withdraw path on the success samples, then each
listed error code on its endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from platforms import (
    ContentInput,
    Credentials,
    InMemoryRateLimiter,
    InMemoryTokenStore,
    MediaFile,
    get_adapter,
)
from platforms.wechat import WECHAT_CODES

SAMPLES = Path(__file__).with_name("samples")
WX = "https://api.weixin.qq.com"
CREDS = Credentials(app_id="wxapp1", app_secret="wx-secret-value")
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 512
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 512


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


ALL = {path.stem: sample(path.stem) for path in sorted(SAMPLES.glob("*.json"))}


def url_of(name: str) -> str:
    path = ALL[name]["endpoint"].split()[1].split("?")[0]
    return WX + path


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def adapter() -> Any:
    return get_adapter("wechat", token_store=InMemoryTokenStore(), rate_limiter=InMemoryRateLimiter(), timeout=5)


def article() -> ContentInput:
    return ContentInput(
        title="市政府召开常务会议",
        html='<p>会议研究部署近期重点工作。</p><p><img src="photo.png"></p>',
        summary="常务会议研究部署近期重点工作",
        media=(MediaFile("photo.png", "image/png", PNG),),
        cover=MediaFile("cover.jpg", "image/jpeg", JPEG),
        canonical_url="https://gov.example.cn/news/2024/0001.html",
        author="市政府办公室",
    )


def serve_successes(mocked: responses.RequestsMock, *, except_: str | None = None) -> None:
    for name, fixture in ALL.items():
        if name != except_:
            mocked.post(url_of(name), json=fixture["success"])


def test_every_sample_names_its_source_page() -> None:
    assert set(ALL) == {
        "stable_token",
        "uploadimg",
        "add_material",
        "draft_add",
        "freepublish_submit",
        "freepublish_get",
        "freepublish_delete",
    }
    for fixture in ALL.values():
        assert fixture["source"].startswith("https://developers.weixin.qq.com/doc/")
        assert fixture["sample_kind"]


def test_success_samples_drive_publish_status_and_withdraw(mocked: responses.RequestsMock) -> None:
    serve_successes(mocked)
    wechat = adapter()
    post = wechat.render(article()).post
    submitted = wechat.publish(CREDS, post)
    assert (submitted.post_id, submitted.state) == ("100000001", "pending")
    draft = next(c for c in mocked.calls if c.request.url.split("?")[0] == url_of("draft_add"))
    sent = json.loads(draft.request.body)["articles"][0]
    assert sent["thumb_media_id"] == "MEDIA_ID"
    assert "http://mmbiz.qpic.cn/XXXXX" in sent["content"]  # the uploadimg sample's url

    done = wechat.status(CREDS, submitted.post_id)
    assert done.state == "published"
    assert done.post_id == "100000001:ARTICLE_ID"
    assert done.url == "ARTICLE_URL"

    withdrawn = wechat.withdraw(CREDS, done.post_id)
    assert withdrawn.state == "withdrawn"
    deleted = next(c for c in mocked.calls if c.request.url.split("?")[0] == url_of("freepublish_delete"))
    assert json.loads(deleted.request.body) == {"article_id": "ARTICLE_ID", "index": 0}


ERROR_CASES = [
    pytest.param(name, error, id=f"{name}-{error['errcode']}")
    for name, fixture in ALL.items()
    for error in fixture["errors"]
]


@pytest.mark.parametrize(("name", "error"), ERROR_CASES)
def test_each_listed_error_code_is_mapped(mocked: responses.RequestsMock, name: str, error: dict[str, Any]) -> None:
    serve_successes(mocked, except_=name)
    mocked.post(url_of(name), json={"errcode": error["errcode"], "errmsg": error["errmsg"]})
    wechat = adapter()
    rule = WECHAT_CODES[error["errcode"]]
    operations = {
        "uploadimg": lambda: wechat.publish(CREDS, wechat.render(article()).post),
        "freepublish_submit": lambda: wechat.publish(CREDS, wechat.render(article()).post),
        "freepublish_get": lambda: wechat.status(CREDS, "100000001"),
        "freepublish_delete": lambda: wechat.withdraw(CREDS, "100000001:ARTICLE_ID"),
    }
    with pytest.raises(rule.error) as info:
        operations[name]()
    assert type(info.value) is rule.error
    assert info.value.code == str(error["errcode"])
    assert info.value.message == rule.message


@pytest.mark.parametrize("state", ALL["freepublish_get"]["states"], ids=lambda s: s["expect"])
def test_freepublish_get_state_samples(mocked: responses.RequestsMock, state: dict[str, Any]) -> None:
    serve_successes(mocked, except_="freepublish_get")
    mocked.post(url_of("freepublish_get"), json=state["body"])
    result = adapter().status(CREDS, "100000001")
    assert result.state == state["expect"]
    assert result.detail
