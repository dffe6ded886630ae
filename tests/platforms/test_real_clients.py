"""Issue 15: a widely used third-party client, unmodified, against the sandbox over HTTP.

wechatpy (pinned in pyproject's dev extra) is pointed at the sandbox the way its own API
allows: ``WeChatClient.API_BASE_URL`` is a class attribute that every relative endpoint is
joined to, so a subclass sets it to the sandbox's ``/wechat/cgi-bin/``. Its token call uses an
absolute URL (``https://api.weixin.qq.com/cgi-bin/token``), so the subclass overrides only
``fetch_access_token`` to send the same request to the sandbox — wechatpy's own
``_fetch_access_token`` still parses and stores the answer.

wechatpy 1.8.18 (the newest stable release) has no wrapper for ``draft/*`` or ``freepublish/*``;
those are called through its generic ``client.post(endpoint, data=…)``, which is how its users
reach newer endpoints: it adds ``access_token``, encodes a dict as JSON **without** a
``Content-Type`` header (what the real API accepts, issue 15) and retries once after
fetching a new token on 40001/40014/42001.
"""

from __future__ import annotations

import collections.abc
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import weibo
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from tests.platforms.test_adapters_contract import JPEG, PNG, Simulator, sandbox_url, sim  # noqa: F401


def wechatpy_client(base: str, app_id: str, secret: str) -> WeChatClient:
    class SandboxWeChatClient(WeChatClient):
        API_BASE_URL = f"{base}/wechat/cgi-bin/"

        def fetch_access_token(self) -> dict[str, Any]:
            return self._fetch_access_token(
                url=f"{base}/wechat/cgi-bin/token",
                params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            )

    return SandboxWeChatClient(app_id, secret, timeout=10)


@pytest.fixture
def wx(sim: Simulator) -> Iterator[tuple[WeChatClient, Simulator]]:  # noqa: F811
    creds = sim.account("wechat")
    assert creds.app_id and creds.app_secret
    client = wechatpy_client(sim.base, creds.app_id, creds.app_secret)
    yield client, sim


def _draft(client: WeChatClient) -> str:
    image_url = client.media.upload_image(("photo.png", PNG, "image/png"))
    assert "/_sandbox/media/" in image_url
    thumb = client.material.add("image", ("cover.jpg", JPEG, "image/jpeg"))
    article = {
        "title": "市政府召开常务会议",
        "author": "市政府办公室",
        "digest": "常务会议研究部署近期重点工作",
        "content": f'<p>会议研究部署近期重点工作。</p><p><img src="{image_url}"></p>',
        "content_source_url": "https://gov.example.cn/news/2024/0001.html",
        "thumb_media_id": thumb["media_id"],
    }
    return client.post("draft/add", data={"articles": [article]})["media_id"]


def test_wechatpy_full_flow_against_the_sandbox(wx) -> None:
    client, box = wx
    sent: list[Any] = []
    client._http.hooks["response"].append(lambda resp, *a, **k: sent.append(resp.request))
    token = client.access_token  # fetched through /cgi-bin/token on first use
    assert token

    media_id = _draft(client)
    submitted = client.post("freepublish/submit", data={"media_id": media_id})
    assert submitted["errcode"] == 0
    publish_id = submitted["publish_id"]

    status = client.post("freepublish/get", data={"publish_id": publish_id})
    for _ in range(5):
        if status["publish_status"] != 1:
            break
        status = client.post("freepublish/get", data={"publish_id": publish_id})
    assert status["publish_status"] == 0, status
    article_id = status["article_id"]
    assert status["article_detail"]["item"][0]["article_url"]
    (stored,) = box.posts("wechat")
    assert stored["title"] == "市政府召开常务会议"

    # A published draft has left the draft box: a second submit is refused.
    with pytest.raises(WeChatClientException) as again:
        client.post("freepublish/submit", data={"media_id": media_id})
    assert again.value.errcode == 40007

    assert client.post("freepublish/delete", data={"article_id": article_id, "index": 0})["errcode"] == 0
    # wechatpy posts its JSON bodies without a Content-Type header; the sandbox, like the real
    # API, reads them anyway.
    json_posts = [r for r in sent if r.method == "POST" and ("draft/add" in r.url or "freepublish/" in r.url)]
    assert json_posts and all("Content-Type" not in r.headers for r in json_posts)
    with pytest.raises(WeChatClientException) as gone:
        client.post("freepublish/delete", data={"article_id": article_id, "index": 0})
    assert gone.value.errcode == 53600


def test_wechatpy_recovers_from_an_expired_token(wx) -> None:
    client, box = wx
    first = client.access_token
    box.fault("wechat", "draft/add", "token_expired")
    media_id = _draft(client)  # 42001 → wechatpy fetches a new token and retries once
    assert media_id
    assert client.access_token != first


def test_wechatpy_sees_a_bad_secret(sim: Simulator) -> None:  # noqa: F811
    creds = sim.account("wechat")
    client = wechatpy_client(sim.base, str(creds.app_id), "wrong-secret")
    with pytest.raises(WeChatClientException) as info:
        client.fetch_access_token()
    assert info.value.errcode == 40125  # invalid appsecret


def test_wechatpy_recovers_when_its_token_really_expires(wx) -> None:
    client, box = wx
    first = client.access_token
    answers: list[Any] = []
    client._http.hooks["response"].append(lambda resp, *a, **k: answers.append(resp.json()))
    box.config(clock_offset=7200 + 60)  # the sandbox's clock passes the token's 2 hours
    # wechatpy still trusts its cached token (its own clock has not moved); the sandbox answers
    # 42001, and wechatpy fetches a new token and retries.
    assert client.post("freepublish/batchget", data={"offset": 0, "count": 1, "no_content": 1})["total_count"] == 0
    assert client.access_token != first
    assert [a.get("errcode") for a in answers][:1] == [42001]


# ----------------------------------------------------------------------------- Weibo: sinaweibopy3
#
# No *maintained* Weibo open-API client exists on PyPI (docs/adapters.md lists the abandoned ones).
# sinaweibopy3 1.3 (2019) is the newest Python 3 port of the widely used sinaweibopy, written by
# others from the same doc pages: it is pinned as a dev dependency so the sandbox's Weibo OAuth2
# exchange and statuses/share are also checked by code that is not ours. It builds
# ``https://<domain>/`` URLs, so the test points the client's ``auth_url``/``api_url`` at the
# sandbox; it sends ``access_token`` as a form field (its header code is commented out), which the
# real API also accepts. Its ``_encode_params`` uses ``collections.Iterable`` (gone since Python
# 3.10) for every non-string value — even the ``access_token=None`` it adds to the code exchange —
# so the test restores that alias for the client's module: a defect of the client, not of the
# protocol (docs/adapters.md).


def weibo_client(base: str, app_key: str, secret: str) -> Any:
    client = weibo.APIClient(app_key, secret, redirect_uri="http://127.0.0.1/cb")
    client.auth_url = f"{base}/weibo/oauth2/"
    client.api_url = f"{base}/weibo/2/"
    return client


def test_sinaweibopy3_oauth_and_share_against_the_sandbox(sim: Simulator, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setattr(weibo.collections, "Iterable", collections.abc.Iterable, raising=False)
    client = weibo_client(sim.base, "sandbox-app", "sandbox-app-secret")
    authorize = client.get_authorize_url()
    assert authorize.startswith(f"{sim.base}/weibo/oauth2/authorize?")
    page = requests.get(authorize, timeout=10)
    assert page.status_code == 200 and "授权" in page.text
    consent = requests.post(
        f"{sim.base}/weibo/oauth2/authorize",
        data={"client_id": "sandbox-app", "redirect_uri": "http://127.0.0.1/cb", "uid": "wb_sdk", "state": "s1"},
        allow_redirects=False,
        timeout=10,
    )
    assert consent.status_code == 302
    code = consent.headers["Location"].split("code=")[1].split("&")[0]

    issued = client.request_access_token(code)
    assert issued.uid == "wb_sdk" and issued.access_token.startswith("2.00")
    client.set_access_token(issued.access_token, issued.expires)

    text = "今天召开常务会议，研究部署近期重点工作 https://gov.example.cn/a/1"
    posted = client.statuses.share.post(status=text, rip="203.0.113.9")
    assert posted.idstr and posted.text == text and posted.user.idstr == "wb_sdk"
    (stored,) = [p for p in sim.posts("weibo") if p.get("uid") == "wb_sdk"]
    assert stored["text"] == text

    # The code cannot be exchanged twice, and the client surfaces Weibo's error_code.
    with pytest.raises(weibo.APIError) as reused:
        client.request_access_token(code)
    assert str(reused.value.error_code) == "21325"
    # A status without a link of the app's security domain is refused with its documented code.
    with pytest.raises(weibo.APIError) as unsafe:
        client.statuses.share.post(status="没有安全域名链接的微博", rip="203.0.113.9")
    assert str(unsafe.value.error_code) == "10017"
