"""Protocol shapes of the sandbox platforms (PROTOCOLS.md), over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from sandbox import create_sandbox_app
from sandbox.server import build_server, redact

TIMEOUT = 5
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">II", 4, 3) + b"\x08\x02\x00\x00\x00" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
SAFE_LINK = "https://gov.example.cn/a/1"


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = create_sandbox_app({"timeout_delay": 0.3})
    srv = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@dataclass
class Sandbox:
    base: str
    http: requests.Session

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.base + path, timeout=TIMEOUT, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.http.post(self.base + path, timeout=TIMEOUT, **kw)

    def config(self, **changes: Any) -> dict[str, Any]:
        response = self.post("/_sandbox/config", json=changes)
        assert response.status_code == 200, response.text
        return response.json()

    def fault(self, **rule: Any) -> dict[str, Any]:
        response = self.post("/_sandbox/faults", json=rule)
        assert response.status_code == 201, response.text
        return response.json()["fault"]

    def account(self, **body: Any) -> dict[str, Any]:
        response = self.post("/_sandbox/accounts", json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def posts(self, platform: str) -> list[dict[str, Any]]:
        return self.get("/_sandbox/posts", params={"platform": platform}).json()["posts"]

    # ---- WeChat helpers ----
    def wx_token(self, uid: str = "gh_test", appid: str = "wxtest0001") -> str:
        body = self.get(
            "/wechat/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": appid, "secret": f"sandbox:{uid}"},
        ).json()
        return str(body["access_token"])

    def wx(self, path: str, token: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post(f"/wechat/cgi-bin/{path}", params={"access_token": token}, json=body or {})
        assert response.status_code == 200
        return response.json()

    def wx_draft(self, token: str, title: str = "示范县发布", content: str = "<p>正文</p>") -> str:
        thumb = self.post(
            "/wechat/cgi-bin/material/add_material",
            params={"access_token": token, "type": "thumb"},
            files={"media": ("cover.jpg", JPEG, "image/jpeg")},
        ).json()
        draft = self.wx(
            "draft/add",
            token,
            {"articles": [{"title": title, "content": content, "thumb_media_id": thumb["media_id"]}]},
        )
        return str(draft["media_id"])

    # ---- Weibo helpers ----
    def share(self, text: str, token: str | None = None, **extra: Any) -> requests.Response:
        data = {"access_token": token or "sandbox:wb_user", "status": text, "rip": "10.0.0.8", **extra}
        return self.post("/weibo/2/statuses/share.json", data=data)

    # ---- ByteDance helpers ----
    def bd_upload(self, platform: str, open_id: str, token: str | None = None) -> str:
        token = token or f"act.sandbox.{open_id}"
        if platform == "douyin":
            response = self.post(
                "/douyin/api/douyin/v1/video/upload_video/",
                params={"open_id": open_id},
                headers={"access-token": token},
                files={"video": ("v.mp4", MP4, "video/mp4")},
            )
            return str(response.json()["data"]["video"]["video_id"])
        response = self.post(
            "/toutiao/toutiao/video/upload/",
            params={"open_id": open_id, "access_token": token},
            files={"video": ("v.mp4", MP4, "video/mp4")},
        )
        return str(response.json()["data"]["video"]["video_id"])

    def dy_create(self, open_id: str, video_id: str, text: str, token: str | None = None) -> dict[str, Any]:
        return self.post(
            "/douyin/api/douyin/v1/video/create_video/",
            params={"open_id": open_id},
            headers={"access-token": token or f"act.sandbox.{open_id}"},
            json={"video_id": video_id, "text": text},
        ).json()


@pytest.fixture
def sb(server: str) -> Iterator[Sandbox]:
    with requests.Session() as http:
        assert http.post(server + "/_sandbox/reset", timeout=TIMEOUT).json() == {"ok": True}
        yield Sandbox(server, http)


# ======================================== WeChat ========================================
def test_wechat_token_method_grant_and_credentials(sb: Sandbox) -> None:
    wrong_method = sb.post("/wechat/cgi-bin/token", params={"grant_type": "client_credential"})
    assert wrong_method.status_code == 200
    assert wrong_method.json()["errcode"] == 43001
    assert (
        sb.get("/wechat/cgi-bin/token", params={"grant_type": "x", "appid": "a", "secret": "b"}).json()["errcode"]
        == 40002
    )
    bad = sb.get(
        "/wechat/cgi-bin/token", params={"grant_type": "client_credential", "appid": "wxnope", "secret": "nope"}
    ).json()
    assert bad["errcode"] == 40013
    assert " rid: " in bad["errmsg"]
    good = sb.get(
        "/wechat/cgi-bin/token", params={"grant_type": "client_credential", "appid": "wx1", "secret": "sandbox:gh_a"}
    ).json()
    assert good["expires_in"] == 7200
    assert "errcode" not in good
    wrong_secret = sb.get(
        "/wechat/cgi-bin/token", params={"grant_type": "client_credential", "appid": "wx1", "secret": "other"}
    ).json()
    assert wrong_secret["errcode"] == 40125


def test_wechat_token_placement_supersede_and_expiry(sb: Sandbox) -> None:
    first = sb.wx_token()
    second = sb.wx_token()
    batch = {"offset": 0, "count": 5, "no_content": 1}
    assert sb.wx("freepublish/batchget", second, batch)["total_count"] == 0
    assert sb.wx("freepublish/batchget", first, batch)["errcode"] == 40001  # a new /token kills the old one
    in_header = sb.post(
        "/wechat/cgi-bin/freepublish/batchget", json=batch, headers={"Authorization": f"Bearer {second}"}
    ).json()
    assert in_header["errcode"] == 41001
    assert sb.wx("freepublish/batchget", "bad!", batch)["errcode"] == 40014
    assert sb.get("/wechat/cgi-bin/freepublish/batchget", params={"access_token": second}).json()["errcode"] == 43002
    sb.config(clock_offset=7201)
    assert sb.wx("freepublish/batchget", second, batch)["errcode"] == 42001


def test_wechat_stable_token_caching(sb: Sandbox) -> None:
    body = {"grant_type": "client_credential", "appid": "wxst", "secret": "sandbox:gh_st"}
    one = sb.post("/wechat/cgi-bin/stable_token", json=body).json()
    two = sb.post("/wechat/cgi-bin/stable_token", json=body).json()
    assert one["access_token"] == two["access_token"]
    assert two["expires_in"] <= 7200
    assert sb.post("/wechat/cgi-bin/stable_token", data=body).json()["errcode"] == 47001  # JSON only
    forced = sb.post("/wechat/cgi-bin/stable_token", json={**body, "force_refresh": True}).json()
    assert forced["access_token"] != one["access_token"]
    assert sb.wx("freepublish/batchget", one["access_token"], {"offset": 0, "count": 1})["errcode"] == 40001
    again = sb.post("/wechat/cgi-bin/stable_token", json={**body, "force_refresh": True}).json()
    # Less than 30 s after the last forced refresh "不会刷新" (api_getstableaccesstoken): the same token.
    assert again["access_token"] == forced["access_token"]
    token = sb.wx_token(uid="gh_st", appid="wxst")
    assert token != forced["access_token"]
    assert sb.wx("freepublish/batchget", forced["access_token"], {"offset": 0, "count": 1})["item_count"] == 0


def test_wechat_publish_progression_and_delete(sb: Sandbox) -> None:
    token = sb.wx_token()
    img = sb.post(
        "/wechat/cgi-bin/media/uploadimg", params={"access_token": token}, files={"media": ("in.png", PNG, "image/png")}
    ).json()
    assert img["url"].startswith(sb.base + "/_sandbox/media/")
    content = f'<p>正文</p><img src="{img["url"]}"><img src="https://evil.example.com/x.png"><script>alert(1)</script>'
    draft_id = sb.wx_draft(token, content=content)
    submitted = sb.wx("freepublish/submit", token, {"media_id": draft_id})
    assert submitted["errcode"] == 0
    assert isinstance(submitted["publish_id"], str)
    assert submitted["publish_id"].isdigit()
    first = sb.wx("freepublish/get", token, {"publish_id": submitted["publish_id"]})
    assert first["publish_status"] == 1
    done = sb.wx("freepublish/get", token, {"publish_id": int(submitted["publish_id"])})
    assert done["publish_status"] == 0
    assert done["fail_idx"] == []
    assert done["article_detail"]["count"] == 1
    url = done["article_detail"]["item"][0]["article_url"]
    page = sb.get(url.removeprefix(sb.base))
    assert page.status_code == 200
    assert "示范县发布" in page.text
    batch = sb.wx("freepublish/batchget", token, {"offset": 0, "count": 20, "no_content": 0})
    assert batch["total_count"] == 1
    item = batch["item"][0]
    assert item["article_id"] == done["article_id"]
    news = item["content"]["news_item"][0]
    assert img["url"] in news["content"]
    assert "evil.example.com" not in news["content"]
    assert "<script" not in news["content"]
    assert news["is_deleted"] is False
    assert news["url"] == url
    article = sb.wx("freepublish/getarticle", token, {"article_id": done["article_id"]})
    assert article["news_item"][0]["title"] == "示范县发布"
    assert sb.wx("freepublish/delete", token, {"article_id": done["article_id"], "index": 0})["errcode"] == 0
    assert sb.wx("freepublish/get", token, {"publish_id": submitted["publish_id"]})["publish_status"] == 5
    assert sb.get(url.removeprefix(sb.base)).status_code == 410
    assert sb.wx("freepublish/delete", token, {"article_id": done["article_id"]})["errcode"] == 53600
    [post] = sb.posts("wechat")
    assert post["deleted"] is True
    assert post["url"] == url


def test_wechat_rejections_and_validation(sb: Sandbox) -> None:
    sb.config(wechat_publish_polls=0)
    token = sb.wx_token()
    rejected = sb.wx("freepublish/submit", token, {"media_id": sb.wx_draft(token, content="<p>违规内容</p>")})
    status = sb.wx("freepublish/get", token, {"publish_id": rejected["publish_id"]})
    assert status["publish_status"] == 4
    assert status["fail_idx"] == [1]
    original = sb.wx("freepublish/submit", token, {"media_id": sb.wx_draft(token, content="SANDBOX_ORIGINAL_FAIL")})
    assert sb.wx("freepublish/get", token, {"publish_id": original["publish_id"]})["publish_status"] == 2
    assert (
        sb.wx("freepublish/get", token, {"publish_id": "1"})["errcode"] == 53502
    )  # "Publish ID 无效" (global return codes)
    assert sb.wx("draft/add", token, {"articles": [{"title": "长" * 33, "content": "x"}]})["errcode"] == 45003
    assert sb.wx("draft/add", token, {"articles": [{"title": "t", "content": "x"}]})["errcode"] == 40007
    assert sb.wx("freepublish/submit", token, {"media_id": "missing"})["errcode"] == 40007
    no_media = sb.post(
        "/wechat/cgi-bin/material/add_material",
        params={"access_token": token, "type": "image"},
        files={"file": ("a.png", PNG, "image/png")},
    ).json()
    assert no_media["errcode"] == 41005
    bad_type = sb.post(
        "/wechat/cgi-bin/material/add_material",
        params={"access_token": token, "type": "image"},
        files={"media": ("a.txt", b"hello", "text/plain")},
    ).json()
    assert bad_type["errcode"] == 40005
    image = sb.post(
        "/wechat/cgi-bin/material/add_material",
        params={"access_token": token, "type": "image"},
        files={"media": ("a.png", PNG, "image/png")},
    ).json()
    assert set(image) == {"media_id", "url"}


def test_wechat_quotas(sb: Sandbox) -> None:
    assert sb.get("/_sandbox/config").json()["wechat_daily_quota"]["freepublish/submit"] == 100
    assert sb.get("/_sandbox/config").json()["wechat_daily_quota"]["freepublish/delete"] == 10
    sb.config(wechat_daily_quota={"freepublish/submit": 2, "freepublish/delete": 1}, wechat_publish_polls=0)
    token = sb.wx_token()
    # A published draft leaves the draft box (api_draft_add), so each submit needs its own draft.
    published = [sb.wx("freepublish/submit", token, {"media_id": sb.wx_draft(token)}) for _ in range(2)]
    draft = sb.wx_draft(token)
    assert all(r["errcode"] == 0 for r in published)
    over = sb.wx("freepublish/submit", token, {"media_id": draft})
    assert over["errcode"] == 45009
    assert over["errmsg"].startswith("reach max api daily quota limit")
    quota = sb.wx("openapi/quota/get", token, {"cgi_path": "/cgi-bin/freepublish/submit"})
    assert quota["quota"] == {"daily_limit": 2, "used": 2, "remain": 0}
    assert sb.wx("openapi/quota/get", token, {"cgi_path": "/cgi-bin/nope"})["errcode"] == 76021
    article_id = sb.wx("freepublish/get", token, {"publish_id": published[0]["publish_id"]})["article_id"]
    assert sb.wx("freepublish/delete", token, {"article_id": article_id})["errcode"] == 0
    assert sb.wx("freepublish/delete", token, {"article_id": article_id})["errcode"] == 45009
    assert sb.wx("clear_quota", token, {"appid": "wxtest0001"})["errcode"] == 0
    assert sb.wx("freepublish/submit", token, {"media_id": draft})["errcode"] == 0


def test_wechat_published_draft_leaves_the_draft_box(sb: Sandbox) -> None:
    token = sb.wx_token()
    draft = sb.wx_draft(token)
    assert sb.wx("freepublish/submit", token, {"media_id": draft})["errcode"] == 0
    assert sb.wx("freepublish/submit", token, {"media_id": draft})["errcode"] == 40007  # no double publish
    assert sb.wx("draft/get", token, {"media_id": draft})["errcode"] == 40007


def test_wechat_json_body_without_content_type(sb: Sandbox) -> None:
    """Real clients (wechatpy) post JSON with no ``Content-Type: application/json``."""
    token = sb.wx_token()
    raw = json.dumps({"offset": 0, "count": 1, "no_content": 1}).encode()
    resp = sb.post("/wechat/cgi-bin/freepublish/batchget", params={"access_token": token}, data=raw)
    assert "errcode" not in resp.json() and resp.json()["item_count"] == 0
    assert (
        sb.post("/wechat/cgi-bin/freepublish/batchget", params={"access_token": token}, data=b"not json").json()[
            "errcode"
        ]
        == 47001
    )


def test_wechat_banned_account(sb: Sandbox) -> None:
    token = sb.wx_token(uid="gh_banned")
    draft = sb.wx_draft(token)
    sb.account(platform="wechat", uid="gh_banned", status="banned")
    assert sb.wx("freepublish/submit", token, {"media_id": draft})["errcode"] == 50002
    assert sb.wx("freepublish/batchget", token, {"offset": 0, "count": 1})["errcode"] == 50002


# ======================================== Weibo =========================================
def test_weibo_share_success_shape(sb: Sandbox) -> None:
    response = sb.share(f"示范县发布：今天天气晴 {SAFE_LINK}")
    assert response.status_code == 200, response.text
    status = response.json()
    assert isinstance(status["id"], int)
    assert status["idstr"] == str(status["id"]) == status["mid"]
    assert status["user"]["idstr"] == "wb_user"
    assert status["created_at"].endswith(time.strftime("%Y", time.gmtime(time.time() + 8 * 3600)))
    with_pic = sb.post(
        "/weibo/2/statuses/share.json",
        data={"access_token": "sandbox:wb_user", "status": f"带图 {SAFE_LINK}", "rip": "10.0.0.8"},
        files={"pic": ("p.png", PNG, "image/png")},
    )
    assert with_pic.status_code == 200
    assert with_pic.json()["pic_urls"][0]["thumbnail_pic"].startswith(sb.base)
    shown = sb.get("/weibo/2/statuses/show.json", params={"access_token": "sandbox:wb_user", "id": status["idstr"]})
    assert shown.json()["text"] == status["text"]


@pytest.mark.parametrize(
    ("text", "extra", "status", "code"),
    [
        ("没有链接的微博", {}, 400, 10017),
        (f"含话题 #示范县# {SAFE_LINK}", {}, 400, 10017),
        ("长" * 141 + f" {SAFE_LINK}", {}, 400, 20012),
        (f"外链 https://example.com/x {SAFE_LINK.replace('gov.example.cn', 'other.cn')}", {}, 400, 10017),
        (f"违规内容 {SAFE_LINK}", {}, 400, 20021),
        (f"缺少 rip {SAFE_LINK}", {"rip": ""}, 400, 10016),
        (f"坏令牌 {SAFE_LINK}", {"access_token": "nope"}, 401, 21332),
    ],
)
def test_weibo_share_errors(sb: Sandbox, text: str, extra: dict[str, str], status: int, code: int) -> None:
    response = sb.share(text, **extra)
    assert response.status_code == status
    body = response.json()
    assert body["error_code"] == code
    assert body["request"] == "/2/statuses/share.json"
    if text == "没有链接的微博":
        assert body["error"] == "text not find domain!"


def test_weibo_duplicates_rate_limit_and_retired_apis(sb: Sandbox) -> None:
    sb.config(weibo_posts_per_hour=2)
    assert sb.share(f"第一条 {SAFE_LINK}").status_code == 200
    duplicate = sb.share(f"第一条 {SAFE_LINK}")
    assert (duplicate.status_code, duplicate.json()["error_code"]) == (400, 20019)
    assert sb.share(f"第二条 {SAFE_LINK}").status_code == 200
    limited = sb.share(f"第三条 {SAFE_LINK}")
    assert (limited.status_code, limited.json()["error_code"]) == (403, 20016)
    sb.config(clock_offset=3601)
    assert sb.share(f"第三条 {SAFE_LINK}").status_code == 200
    retired = sb.post("/weibo/2/statuses/update.json", data={"access_token": "sandbox:wb_user", "status": "x"})
    assert (retired.status_code, retired.json()["error_code"]) == (403, 10014)
    wrong_method = sb.get("/weibo/2/statuses/share.json", params={"access_token": "sandbox:wb_user"})
    assert wrong_method.status_code == 400


def test_weibo_show_destroy_timeline_users(sb: Sandbox) -> None:
    ids = [sb.share(f"第{i}条 {SAFE_LINK}").json()["idstr"] for i in range(6)]
    other = sb.share(f"别人的 {SAFE_LINK}", token="sandbox:wb_other").json()["idstr"]
    timeline = sb.get("/weibo/2/statuses/user_timeline.json", params={"access_token": "sandbox:wb_user"}).json()
    assert [s["idstr"] for s in timeline["statuses"]] == ids[::-1][:5]
    not_mine = sb.post("/weibo/2/statuses/destroy.json", data={"access_token": "sandbox:wb_user", "id": other})
    assert (not_mine.status_code, not_mine.json()["error_code"]) == (403, 20102)
    destroyed = sb.post("/weibo/2/statuses/destroy.json", data={"access_token": "sandbox:wb_user", "id": ids[0]})
    assert destroyed.json()["idstr"] == ids[0]
    gone = sb.get("/weibo/2/statuses/show.json", params={"access_token": "sandbox:wb_user", "id": ids[0]})
    assert (gone.status_code, gone.json()["error_code"]) == (400, 20101)
    user = sb.get("/weibo/2/users/show.json", params={"access_token": "sandbox:wb_user", "uid": "wb_user"}).json()
    assert user["statuses_count"] == 5
    assert user["status"]["idstr"] == ids[-1]
    missing = sb.get("/weibo/2/users/show.json", params={"access_token": "sandbox:wb_user", "uid": "nobody"})
    assert missing.json()["error_code"] == 20003
    sb.account(platform="weibo", uid="wb_user", status="banned")
    banned = sb.share(f"封禁后 {SAFE_LINK}")
    assert (banned.status_code, banned.json()["error_code"]) == (403, 20003)


def test_weibo_oauth_and_token_expiry(sb: Sandbox) -> None:
    page = sb.get(
        "/weibo/oauth2/authorize",
        params={"client_id": "app1", "redirect_uri": "http://127.0.0.1/cb", "response_type": "code"},
    )
    assert page.status_code == 200
    assert "授权" in page.text
    consent = sb.post(
        "/weibo/oauth2/authorize",
        data={"client_id": "app1", "redirect_uri": "http://127.0.0.1/cb", "uid": "wb_oauth", "state": "s1"},
        allow_redirects=False,
    )
    assert consent.status_code == 302
    location = consent.headers["Location"]
    assert location.startswith("http://127.0.0.1/cb?code=")
    assert location.endswith("&state=s1")
    code = location.split("code=")[1].split("&")[0]
    form = {
        "client_id": "app1",
        "client_secret": "s",
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://127.0.0.1/cb",
    }
    issued = sb.post("/weibo/oauth2/access_token", data=form).json()
    assert issued["uid"] == "wb_oauth"
    assert set(issued) >= {"access_token", "expires_in", "remind_in", "uid"}
    reused = sb.post("/weibo/oauth2/access_token", data=form)
    assert (reused.status_code, reused.json()["error_code"]) == (400, 21325)
    info = sb.post("/weibo/oauth2/get_token_info", data={"access_token": issued["access_token"]}).json()
    assert info["uid"] == "wb_oauth"
    assert 0 < info["expire_in"] <= 7 * 86400
    sb.config(clock_offset=7 * 86400 + 1)
    expired = sb.share(f"过期 {SAFE_LINK}", token=issued["access_token"])
    assert (expired.status_code, expired.json()["error"], expired.json()["error_code"]) == (401, "expired_token", 21327)


def test_weibo_long_article(sb: Sandbox) -> None:
    data = {
        "access_token": "sandbox:wb_gov",
        "title": "政务公开",
        "content": "<p>正文</p>",
        "text": "发布了头条文章",
        "rip": "10.0.0.8",
        "cover": "https://gov.example.cn/c.jpg",
    }
    body = sb.post("/weibo/proxy/article/publish.json", data=data).json()
    assert body["code"] == "100000"
    assert set(body["data"]) == {"object_id", "url", "mid"}
    bad = sb.post("/weibo/proxy/article/publish.json", data={**data, "title": "长" * 33})
    assert (bad.status_code, bad.json()["code"]) == (400, "10008")


# ======================================== Douyin ========================================
def test_douyin_oauth_is_form_encoded_with_prefixed_tokens(sb: Sandbox) -> None:
    form = {
        "client_key": "awkey",
        "client_secret": "sandbox",
        "code": "sandbox.dy_user",
        "grant_type": "authorization_code",
    }
    as_json = sb.post("/douyin/oauth/access_token/", json=form).json()
    assert as_json["message"] == "error"
    assert as_json["data"]["error_code"] == 10005
    issued = sb.post("/douyin/oauth/access_token/", data=form).json()
    assert issued["message"] == "success"
    data = issued["data"]
    assert data["error_code"] == 0
    assert data["access_token"].startswith("act.")
    assert data["refresh_token"].startswith("rft.")
    assert data["open_id"] == "dy_user"
    assert (data["expires_in"], data["refresh_expires_in"]) == (1296000, 2592000)
    refreshed = sb.post(
        "/douyin/oauth/refresh_token/",
        data={"client_key": "awkey", "grant_type": "refresh_token", "refresh_token": data["refresh_token"]},
    ).json()
    assert refreshed["data"]["access_token"].startswith("act.")
    assert refreshed["data"]["refresh_token"] == data["refresh_token"]
    client_form = {"client_key": "awkey", "client_secret": "sandbox", "grant_type": "client_credential"}
    client = sb.post("/douyin/oauth/client_token/", json=client_form).json()
    assert client["data"]["access_token"].startswith("clt.")
    as_form = sb.post("/douyin/oauth/client_token/", data=client_form).json()
    assert as_form["message"] == "error" and as_form["data"]["error_code"] == 10002
    bad_secret = sb.post("/douyin/oauth/access_token/", data={**form, "client_secret": "wrong"}).json()
    assert bad_secret["data"]["error_code"] == 10013
    info = sb.post("/douyin/oauth/userinfo/", data={"access_token": data["access_token"], "open_id": "dy_user"}).json()
    assert info["err_no"] == 0
    assert info["data"]["open_id"] == "dy_user"


def test_douyin_renew_refresh_token_limit(sb: Sandbox) -> None:
    token = "rft.sandbox.dy_renew"
    for _ in range(5):
        renewed = sb.post("/douyin/oauth/renew_refresh_token/", data={"client_key": "k", "refresh_token": token}).json()
        assert renewed["data"]["error_code"] == 0, renewed
        old, token = token, renewed["data"]["refresh_token"]
        assert token.startswith("rft.")
    dead = sb.post("/douyin/oauth/renew_refresh_token/", data={"client_key": "k", "refresh_token": old}).json()
    assert dead["data"]["error_code"] == 10010
    limit = sb.post("/douyin/oauth/renew_refresh_token/", data={"client_key": "k", "refresh_token": token}).json()
    assert limit["message"] == "error"
    assert limit["data"]["error_code"] == 10020


def test_douyin_video_publish_and_list(sb: Sandbox) -> None:
    video_id = sb.bd_upload("douyin", "dy_user")
    created = sb.dy_create("dy_user", video_id, "示范县风光 #家乡")
    assert created["err_no"] == 0
    assert set(created) == {"err_no", "err_msg", "log_id", "data"}
    item_id = created["data"]["item_id"]
    listed = sb.get(
        "/douyin/api/douyin/v1/video/video_list/",
        params={"open_id": "dy_user", "cursor": 0, "count": 10},
        headers={"access-token": "act.sandbox.dy_user"},
    ).json()["data"]
    assert [i["item_id"] for i in listed["list"]] == [item_id]
    assert listed["has_more"] is False
    assert listed["list"][0]["share_url"].startswith(sb.base + "/_sandbox/p/douyin/")
    assert "video_status" not in listed["list"][0]
    data = sb.post(
        "/douyin/api/douyin/v1/video/video_data/",
        params={"open_id": "dy_user"},
        headers={"access-token": "act.sandbox.dy_user"},
        json={"item_ids": [item_id]},
    ).json()
    assert data["data"]["list"][0]["item_id"] == item_id
    token_in_query = sb.post(
        "/douyin/api/douyin/v1/video/create_video/",
        params={"open_id": "dy_user", "access_token": "act.sandbox.dy_user"},
        json={"video_id": video_id},
    ).json()
    assert token_in_query["err_no"] == 28001003
    mismatch = sb.dy_create("dy_user", video_id, "x", token="act.sandbox.someone_else")
    assert mismatch["err_no"] == 28001015
    delete_new = sb.post(
        "/douyin/api/douyin/v1/video/delete_video/",
        params={"open_id": "dy_user"},
        headers={"access-token": "act.sandbox.dy_user"},
        json={"item_id": item_id},
    ).json()
    assert delete_new["err_no"] == 28001018
    delete_legacy = sb.post(
        "/douyin/video/delete/",
        params={"open_id": "dy_user", "access_token": "act.sandbox.dy_user"},
        json={"item_id": item_id},
    ).json()
    assert delete_legacy["data"]["error_code"] == 2190004
    assert delete_legacy["extra"]["error_code"] == 2190004


def test_douyin_image_text_and_rejection(sb: Sandbox) -> None:
    headers = {"access-token": "act.sandbox.dy_img"}
    image = sb.post(
        "/douyin/api/douyin/v1/video/upload_image/",
        params={"open_id": "dy_img"},
        headers=headers,
        files={"image": ("a.png", PNG, "image/png")},
    ).json()["data"]["image"]
    assert (image["width"], image["height"]) == (4, 3)
    created = sb.post(
        "/douyin/api/douyin/v1/video/create_image_text/",
        params={"open_id": "dy_img"},
        headers=headers,
        json={"image_list": [image["image_id"]], "text": "图文"},
    ).json()
    assert created["err_no"] == 0
    as_objects = sb.post(
        "/douyin/api/douyin/v1/video/create_image_text/",
        params={"open_id": "dy_img"},
        headers=headers,
        json={"image_list": [{"image_id": image["image_id"]}], "text": "图文"},
    ).json()
    assert as_objects["err_no"] == 28001007  # image_list is a list of id strings
    rejected = sb.dy_create("dy_img", sb.bd_upload("douyin", "dy_img"), "违规内容")
    assert rejected["err_no"] == 0  # accepted, but never becomes visible
    listed = sb.get("/douyin/api/douyin/v1/video/video_list/", params={"open_id": "dy_img"}, headers=headers).json()[
        "data"
    ]["list"]
    assert [i["item_id"] for i in listed] == [created["data"]["item_id"]]
    assert listed[0]["media_type"] == 2
    sb.config(douyin_reject_mode="error")
    refused = sb.dy_create("dy_img", sb.bd_upload("douyin", "dy_img"), "违规内容")
    assert refused["err_no"] == 2111001


def test_douyin_expired_banned_deregistered(sb: Sandbox) -> None:
    creds = sb.account(platform="douyin", uid="dy_acc", name="示范县发布")
    assert creds["access_token"].startswith("act.")
    assert creds["open_id"] == "dy_acc"
    video_id = sb.bd_upload("douyin", "dy_acc", token=creds["access_token"])
    sb.account(platform="douyin", uid="dy_acc", status="banned")
    assert sb.dy_create("dy_acc", video_id, "x", token=creds["access_token"])["err_no"] == 28001046
    info = sb.post("/douyin/oauth/userinfo/", data={"access_token": creds["access_token"], "open_id": "dy_acc"})
    assert info.json()["err_no"] == 28001046
    sb.account(platform="douyin", uid="dy_acc", status="deregistered")
    assert sb.dy_create("dy_acc", video_id, "x", token=creds["access_token"])["err_no"] == 28001045
    sb.account(platform="douyin", uid="dy_acc", status="active")
    sb.config(clock_offset=15 * 86400 + 1)
    assert sb.dy_create("dy_acc", video_id, "x", token=creds["access_token"])["err_no"] == 28001008
    refreshed = sb.post(
        "/douyin/oauth/refresh_token/",
        data={
            "client_key": creds["client_key"],
            "grant_type": "refresh_token",
            "refresh_token": creds["refresh_token"],
        },
    ).json()
    assert sb.dy_create("dy_acc", video_id, "x", token=refreshed["data"]["access_token"])["err_no"] == 0


# ======================================== Toutiao =======================================
def test_toutiao_create_is_idempotent(sb: Sandbox) -> None:
    query = {"open_id": "tt_user", "access_token": "act.sandbox.tt_user"}
    video_id = sb.bd_upload("toutiao", "tt_user")
    first = sb.post("/toutiao/toutiao/video/create/", params=query, json={"video_id": video_id, "text": "标题"}).json()
    assert first["message"] == "success"
    assert first["data"]["error_code"] == 0
    again = sb.post("/toutiao/toutiao/video/create/", params=query, json={"video_id": video_id, "text": "标题"}).json()
    assert again["data"]["item_id"] == first["data"]["item_id"]
    too_long = sb.post(
        "/toutiao/toutiao/video/create/",
        params=query,
        json={"video_id": sb.bd_upload("toutiao", "tt_user"), "text": "长" * 31},
    ).json()
    assert too_long["message"] == "error"
    assert too_long["data"]["error_code"] == 28001007
    listed = sb.get("/toutiao/toutiao/video/list/", params={**query, "cursor": 0, "count": 10}).json()
    assert [i["item_id"] for i in listed["data"]["list"]] == [first["data"]["item_id"]]
    no_token = sb.get("/toutiao/toutiao/video/list/", params={"open_id": "tt_user"}).json()
    assert no_token["data"]["error_code"] == 28001003
    oauth = sb.post(
        "/toutiao/oauth/access_token/",
        data={
            "client_key": "tt",
            "client_secret": "sandbox",
            "code": "sandbox.tt_user",
            "grant_type": "authorization_code",
        },
    ).json()
    assert oauth["data"]["access_token"].startswith("act.")
    assert sb.get("/_sandbox/posts", params={"platform": "toutiao"}).json()["counts"]["toutiao"] == 1


def test_toutiao_legacy_article_flag(sb: Sandbox) -> None:
    query = {"access_token": "act.sandbox.tt_mp", "client_key": "tt"}
    form = {"title": "示范县政务公开", "content": "<p>正文</p>", "save": "0"}
    assert sb.post("/toutiao-mp/open/new_article_post/", params=query, data=form).status_code == 404
    sb.config(toutiao_legacy_articles=True)
    body = sb.post("/toutiao-mp/open/new_article_post/", params=query, data=form).json()
    assert body["message"] == "success"
    short = sb.post("/toutiao-mp/open/new_article_post/", params=query, data={**form, "title": "短"}).json()
    assert short["message"] == "error"


# ===================================== faults & admin ===================================
def test_faults_rendered_per_platform(sb: Sandbox) -> None:
    token = sb.wx_token()
    sb.fault(platform="wechat", endpoint="freepublish/batchget", error="rate_limit", count=1)
    assert sb.wx("freepublish/batchget", token, {"offset": 0, "count": 1})["errcode"] == 45009
    assert sb.wx("freepublish/batchget", token, {"offset": 0, "count": 1})["item_count"] == 0
    sb.fault(platform="wechat", endpoint="*", error="server_error", count=1)
    assert sb.wx("freepublish/batchget", token, {"offset": 0, "count": 1})["errcode"] == -1
    sb.fault(platform="weibo", endpoint="statuses/share", error="server_error")
    busy = sb.share(f"x {SAFE_LINK}")
    assert (busy.status_code, busy.json()["error_code"]) == (500, 10001)
    sb.fault(platform="weibo", endpoint="statuses/share", error="rate_limit")
    assert sb.share(f"x {SAFE_LINK}").json()["error_code"] == 20016
    sb.fault(platform="weibo", endpoint="statuses/share", error="token_expired")
    assert sb.share(f"x {SAFE_LINK}").json()["error_code"] == 21327
    sb.fault(platform="douyin", endpoint="video/create_video", error="token_expired")
    assert sb.dy_create("dy_f", sb.bd_upload("douyin", "dy_f"), "x")["err_no"] == 28001008
    sb.fault(platform="douyin", endpoint="oauth/refresh_token", error="server_error")
    busy_oauth = sb.post(
        "/douyin/oauth/refresh_token/",
        data={"client_key": "k", "grant_type": "refresh_token", "refresh_token": "rft.sandbox.dy_f"},
    ).json()
    assert busy_oauth["message"] == "error"
    sb.fault(platform="toutiao", endpoint="video/list", error="banned")
    banned = sb.get("/toutiao/toutiao/video/list/", params={"open_id": "t", "access_token": "act.sandbox.t"}).json()
    assert banned["data"]["error_code"] == 28001046
    sb.fault(platform="weibo", endpoint="statuses/share", error="timeout", count=1)
    started = time.monotonic()
    assert sb.share(f"慢 {SAFE_LINK}").status_code == 200
    assert time.monotonic() - started >= 0.3
    assert sb.get("/_sandbox/faults").json()["faults"] == []


def test_fault_content_rejected_on_publish_status(sb: Sandbox) -> None:
    token = sb.wx_token()
    submitted = sb.wx("freepublish/submit", token, {"media_id": sb.wx_draft(token)})
    sb.fault(platform="wechat", endpoint="freepublish/get", error="content_rejected")
    assert sb.wx("freepublish/get", token, {"publish_id": submitted["publish_id"]})["publish_status"] == 4
    assert sb.wx("freepublish/get", token, {"publish_id": submitted["publish_id"]})["publish_status"] == 4
    sb.fault(platform="wechat", endpoint="freepublish/submit", error="content_rejected")
    assert sb.wx("freepublish/submit", token, {"media_id": sb.wx_draft(token)})["errcode"] == 53503


def test_random_faults_are_seeded(sb: Sandbox) -> None:
    def run() -> list[int]:
        sb.post("/_sandbox/reset")
        sb.fault(platform="weibo", ratio=0.5, errors=["server_error", "rate_limit"], seed=42, endpoint="users/show")
        return [
            sb.get("/weibo/2/users/show.json", params={"access_token": "sandbox:u", "uid": "u"}).status_code
            for _ in range(12)
        ]

    first, second = run(), run()
    assert first == second
    assert {500, 403} <= set(first)
    assert 200 in first
    bad = sb.post("/_sandbox/faults", json={"platform": "weibo", "ratio": 2, "errors": ["x"]})
    assert bad.status_code == 400
    bad_wait = sb.post("/_sandbox/faults", json={"platform": "weibo", "error": "rate_limit", "retry_after": -1})
    assert (bad_wait.status_code, bad_wait.json()["error"]) == (400, "retry_after 不能为负数")


def test_rate_limit_fault_may_say_when_to_retry(sb: Sandbox) -> None:
    params = {"access_token": "sandbox:u", "uid": "u"}
    rule = sb.fault(
        platform="weibo", endpoint="users/show", ratio=1.0, errors=["rate_limit", "server_error"], seed=3, retry_after=2
    )
    assert rule["retry_after"] == 2
    answers = [sb.get("/weibo/2/users/show.json", params=params) for _ in range(8)]
    limited = [r for r in answers if r.headers["X-Sandbox-Fault"] == "rate_limit"]
    busy = [r for r in answers if r.headers["X-Sandbox-Fault"] == "server_error"]
    assert limited and busy
    assert all(r.headers["Retry-After"] == "2" for r in limited)
    assert all("Retry-After" not in r.headers for r in busy)  # only a rate limit says when


def test_accounts_credentials_and_search(sb: Sandbox) -> None:
    wx = sb.account(
        platform="wechat",
        uid="gh_county",
        name="示范县发布",
        subject="示范县人民政府",
        followers=1200,
        posts=[{"text": "旧文章", "title": "旧文章标题", "created_at": "2024-01-02T08:00:00"}],
    )
    assert wx["created"] is True
    assert set(wx["credentials"]) == {"app_id", "app_secret"}
    token = sb.get(
        "/wechat/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": wx["app_id"], "secret": wx["app_secret"]},
    ).json()["access_token"]
    batch = sb.wx("freepublish/batchget", token, {"offset": 0, "count": 5, "no_content": 1})
    assert batch["item"][0]["content"]["news_item"][0]["title"] == "旧文章标题"
    wb = sb.account(platform="weibo", uid="1234567890", name="示范县教育", subject="示范县教育局")
    assert sb.share(f"教育局发布 {SAFE_LINK}", token=wb["access_token"]).status_code == 200
    dy = sb.account(platform="douyin", name="城关镇发布", subject="示范县城关镇人民政府")
    assert set(dy["credentials"]) == {"client_key", "client_secret", "access_token", "refresh_token", "open_id"}
    sb.account(platform="weibo", uid="999", name="无关账号", subject="某公司", status="deregistered")
    found = sb.get("/weibo/_search/accounts", params={"q": "教育局"}).json()
    assert found["has_more"] is False
    [row] = found["accounts"]
    assert row["uid"] == "1234567890"
    assert row["subject"] == "示范县教育局"
    assert row["posts_count"] == 1
    assert row["last_post_at"] is not None
    assert row["profile_url"].startswith(sb.base)
    by_name = sb.get("/wechat/_search/accounts", params={"q": "示范县"}).json()["accounts"]
    assert by_name[0]["last_post_at"].startswith("2024-01-02T08:00:00")
    assert sb.get("/douyin/_search/accounts", params={"q": "城关镇"}).json()["accounts"][0]["name"] == "城关镇发布"
    paged = sb.get("/weibo/_search/accounts", params={"q": "", "count": 1}).json()
    assert paged["has_more"] is True
    again = sb.account(platform="wechat", uid="gh_county", name="示范县发布（新）")
    assert again["created"] is False
    assert again["app_secret"] == wx["app_secret"]


def test_auto_provision_can_be_switched_off(sb: Sandbox) -> None:
    sb.config(auto_provision=False)
    body = sb.get(
        "/wechat/cgi-bin/token", params={"grant_type": "client_credential", "appid": "wx9", "secret": "sandbox:gh_x"}
    ).json()
    assert body["errcode"] == 40013
    assert sb.share(f"x {SAFE_LINK}").json()["error_code"] == 21332
    assert sb.dy_create("dy_x", "v", "x")["err_no"] == 28001003
    bad = sb.post("/_sandbox/config", json={"no_such_key": 1})
    assert bad.status_code == 400


def test_posts_reset_and_pages(sb: Sandbox) -> None:
    sb.share(f"微博一 {SAFE_LINK}")
    removed = sb.share(f"微博二 {SAFE_LINK}").json()["idstr"]
    sb.post("/weibo/2/statuses/destroy.json", data={"access_token": "sandbox:wb_user", "id": removed})
    sb.dy_create("dy_page", sb.bd_upload("douyin", "dy_page"), "抖音作品")
    sb.config(wechat_publish_polls=0)
    token = sb.wx_token()
    sb.wx("freepublish/submit", token, {"media_id": sb.wx_draft(token, title="公众号文章")})
    listing = sb.get("/_sandbox/posts").json()
    assert listing["counts"] == {"wechat": 1, "weibo": 2, "douyin": 1, "toutiao": 0}
    assert {p["deleted"] for p in listing["posts"] if p["platform"] == "weibo"} == {True, False}
    assert sb.get("/_sandbox/").status_code == 200
    weibo_page = sb.get("/_sandbox/timeline/weibo").text
    assert "微博一" in weibo_page
    assert "此微博已被作者删除" in weibo_page
    assert "抖音作品" in sb.get("/_sandbox/timeline/douyin").text
    assert "公众号文章" in sb.get("/_sandbox/timeline/wechat", params={"uid": "gh_test"}).text
    assert sb.get("/_sandbox/timeline/toutiao").status_code == 200
    assert "cdn" not in weibo_page.lower()
    assert sb.get("/_sandbox/timeline/nope").status_code == 404
    sb.post("/_sandbox/reset")
    assert sb.get("/_sandbox/posts").json()["counts"] == {"wechat": 0, "weibo": 0, "douyin": 0, "toutiao": 0}


def test_state_file_survives_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    first = create_sandbox_app({"state_file": str(state_file), "weibo_require_rip": False})
    client = first.test_client()
    response = client.post(
        "/weibo/2/statuses/share.json", data={"access_token": "sandbox:wb_keep", "status": f"保留 {SAFE_LINK}"}
    )
    assert response.status_code == 200
    assert state_file.exists()
    second = create_sandbox_app({"state_file": str(state_file)})
    posts = second.test_client().get("/_sandbox/posts").get_json()["posts"]
    assert [p["text"] for p in posts] == [f"保留 {SAFE_LINK}"]


def test_server_binds_loopback_and_redacts_logs() -> None:
    app = create_sandbox_app()
    with pytest.raises(ValueError, match="回环"):
        build_server(app, "192.0.2.10", 0)
    assert redact("/wechat/cgi-bin/token?appid=wx1&secret=abc&grant_type=x") == (
        "/wechat/cgi-bin/token?appid=wx1&secret=***&grant_type=x"
    )
    assert "SECRETVALUE" not in redact("/x?access_token=SECRETVALUE&open_id=1")


def test_removed_outside_the_api(sb: Sandbox) -> None:
    sb.config(wechat_publish_polls=0)
    token = sb.wx_token()
    submitted = sb.wx("freepublish/submit", token, {"media_id": sb.wx_draft(token)})
    article_id = sb.wx("freepublish/get", token, {"publish_id": submitted["publish_id"]})["article_id"]
    removed = sb.post(f"/_sandbox/posts/wechat/{article_id}/remove", json={"by": "platform"})
    assert removed.json()["post"]["removed_by"] == "platform"
    assert sb.wx("freepublish/get", token, {"publish_id": submitted["publish_id"]})["publish_status"] == 6
    item_id = sb.dy_create("dy_rm", sb.bd_upload("douyin", "dy_rm"), "将被删除")["data"]["item_id"]
    assert sb.post(f"/_sandbox/posts/douyin/{item_id}/remove", json={"by": "user"}).status_code == 200
    listed = sb.get(
        "/douyin/api/douyin/v1/video/video_list/",
        params={"open_id": "dy_rm"},
        headers={"access-token": "act.sandbox.dy_rm"},
    ).json()
    assert listed["data"]["list"] == []
    assert "作品已删除" in sb.get("/_sandbox/timeline/douyin").text
    assert sb.post("/_sandbox/posts/douyin/nope/remove").status_code == 404


#: The printed success sample of the client_token page
#: (developer.open-douyin.com/docs/resource/zh-CN/local-life/develop/preparation/client_token).
DOUYIN_CLIENT_TOKEN_SAMPLE = {
    "data": {
        "access_token": "clt.75c380db41e815978a733994d96f5d23RqilUxH48iobyWhbIOQFo******",
        "description": "",
        "error_code": 0,
        "expires_in": 7200,
    },
    "message": "success",
}


def test_douyin_client_token_answers_like_the_official_sample(sb: Sandbox) -> None:
    body = {"grant_type": "client_credential", "client_key": "awkey", "client_secret": "sandbox"}
    answer = sb.post("/douyin/oauth/client_token/", json=body).json()
    assert set(answer) >= set(DOUYIN_CLIENT_TOKEN_SAMPLE)
    assert set(answer["data"]) >= set(DOUYIN_CLIENT_TOKEN_SAMPLE["data"])
    assert answer["message"] == "success" and answer["data"]["error_code"] == 0
    assert answer["data"]["access_token"].startswith("clt.")
    assert answer["data"]["expires_in"] == 7200


def test_interaction_shown_on_timelines_and_kept_in_the_state_file(tmp_path: Path) -> None:
    """Comments and messages from the public appear under the account's timeline and survive a
    restart with ``--state``; a reset clears them."""
    state_file = tmp_path / "sandbox.json"
    first = create_sandbox_app({"state_file": str(state_file)}).test_client()
    body = {"platform": "douyin", "uid": "dy_talk", "text": "冬季防火提示视频"}
    assert first.post("/_sandbox/app/posts", json=body).status_code == 404  # the account must exist first
    first.post("/_sandbox/accounts", json={"platform": "douyin", "uid": "dy_talk", "name": "互动测试县"})
    post = first.post("/_sandbox/app/posts", json=body).get_json()["post"]
    resp = first.post(
        "/_sandbox/comments",
        json={"platform": "douyin", "uid": "dy_talk", "post_id": post["post_id"], "text": "请问几点开始？"},
    )
    assert resp.status_code == 201
    resp = first.post("/_sandbox/messages", json={"platform": "douyin", "uid": "dy_talk", "text": "路灯坏了谁来修"})
    assert resp.status_code == 201
    page = first.get("/_sandbox/timeline/douyin?uid=dy_talk").get_data(as_text=True)
    assert "评论（1）" in page and "请问几点开始？" in page and "私信（1）" in page and "路灯坏了谁来修" in page
    assert "尚未回复" in page
    other = first.get("/_sandbox/timeline/weibo").get_data(as_text=True)
    assert "请问几点开始？" not in other and "评论（" not in other  # only the platform's own

    second = create_sandbox_app({"state_file": str(state_file)}).test_client()
    kept = second.get("/_sandbox/comments?platform=douyin&uid=dy_talk").get_json()["comments"]
    assert [c["text"] for c in kept] == ["请问几点开始？"]
    assert [m["text"] for m in second.get("/_sandbox/messages?uid=dy_talk").get_json()["messages"]] == [
        "路灯坏了谁来修"
    ]
    assert "请问几点开始？" in second.get("/_sandbox/timeline/douyin?uid=dy_talk").get_data(as_text=True)
    second.post("/_sandbox/reset")
    third = create_sandbox_app({"state_file": str(state_file)}).test_client()
    assert third.get("/_sandbox/comments").get_json()["comments"] == []
