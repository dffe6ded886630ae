"""Issue 21 platform truth for Douyin, replayed with ``responses`` from the stored samples in
``tests/platforms/samples/douyin/`` (docs/adapters.md, "平台实况核对"):

- ``item/comment/list``: the token goes in the ``access-token`` header (the pages' 请求头 and the
  maintained SDK), ``comment_user_id`` is an open_id (UUID-shaped in the SDK's sample, like the
  open_id of its ``/oauth/userinfo/`` sample) and the commenter's name is ``nick_name``;
- 认证主体: ``/dy_open_api/v1/user/cert_labels_info/`` (获取用户的抖音身份认证标识) — its label text
  becomes the profile's subject; the printed sample (empty label) and every refusal give none,
  and the profile is still read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from platforms import Credentials, InMemoryRateLimiter, InMemoryTokenStore, get_adapter
from platforms.interaction import fetch_comments

SAMPLES = Path(__file__).with_name("samples") / "douyin"
DY = "https://open.douyin.com"
OPEN_ID = "0da22181-d833-447f-995f-1beefea5bef3"
CREDS = Credentials(client_key="ck1", access_token="act.token-value", open_id=OPEN_ID)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
USERINFO = {
    "err_msg": "",
    "err_no": 0,
    "log_id": "2025032716200991A1xxxxx30A01C4DF",
    "data": {"open_id": OPEN_ID, "nickname": "某县应急管理局", "e_account_role": "EAccountK", "error_code": "0"},
}


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def adapter(**options: Any) -> Any:
    return get_adapter(
        "douyin",
        token_store=InMemoryTokenStore(),
        rate_limiter=InMemoryRateLimiter(),
        timeout=5,
        options=options or None,
    )


def one_video(mocked: responses.RequestsMock) -> None:
    mocked.get(
        f"{DY}/api/douyin/v1/video/video_list/",
        json={
            "err_no": 0,
            "err_msg": "",
            "log_id": "x",
            "data": {"list": [{"item_id": "@item1", "title": "作品", "create_time": 1673500000}], "has_more": False},
        },
    )


def test_comment_list_sample_parsed_with_the_token_in_the_header(mocked: responses.RequestsMock) -> None:
    doc = sample("item_comment_list")
    one_video(mocked)
    body = json.loads(json.dumps(doc["sdk"]["body"]))
    body["data"]["has_more"] = False  # one page
    listing = mocked.get(f"{DY}/item/comment/list/", json=body)
    (item,) = fetch_comments(adapter(), CREDS, limit=10)
    request = listing.calls[0].request
    assert request.headers["access-token"] == "act.token-value"
    assert "access_token" not in (request.url or "") and f"open_id={OPEN_ID}" in (request.url or "")
    row = doc["sdk"]["body"]["data"]["list"][0]
    assert item.author_ref == row["comment_user_id"] and item.author_name == "xiaoming"
    assert item.text == "评论" and item.post_ref == "@item1" and item.replied_at is None


def test_printed_sample_parses_and_an_own_reply_is_recognised_by_open_id(mocked: responses.RequestsMock) -> None:
    """The page's printed sample (empty ids) parses; a comment with replies is answered when one
    reply's ``comment_user_id`` is the account's open_id, not when it is someone else's."""
    doc = sample("item_comment_list")
    one_video(mocked)
    printed = json.loads(json.dumps(doc["printed"]["body"]))
    printed["data"]["has_more"] = False
    printed["data"]["list"].append({**printed["data"]["list"][0], "comment_id": "@c1", "comment_user_id": "u-x"})
    printed["data"]["list"].append({**printed["data"]["list"][0], "comment_id": "@c2", "comment_user_id": "u-y"})
    mocked.get(f"{DY}/item/comment/list/", json=printed)

    def replies(request: Any) -> tuple[int, dict[str, str], str]:
        mine = "comment_id=%40c1" in request.url
        row = {"comment_id": "@r", "content": "已转相关部门办理", "create_time": 1607400000, "top": False}
        row["comment_user_id"] = OPEN_ID if mine else "43eae150-12eb-4035-8d40-3f9a2bfcdf4e"
        body = {"data": {"error_code": 0, "description": "", "cursor": 1, "has_more": False, "list": [row]}}
        return 200, {}, json.dumps(body)

    mocked.add_callback(responses.GET, f"{DY}/item/comment/reply/list/", callback=replies)
    items = {i.platform_item_id: i for i in fetch_comments(adapter(), CREDS, limit=10)}
    assert items[""].text == "回复内容" and items[""].author_ref is None  # printed sample: empty ids
    assert items["@c1"].replied_at is not None and items["@c1"].reply_text == "已转相关部门办理"
    assert items["@c2"].replied_at is None  # a stranger's reply in the thread is no answer


def test_comment_user_id_has_the_shape_of_an_open_id() -> None:
    doc = sample("item_comment_list")
    commenter = doc["sdk"]["body"]["data"]["list"][0]["comment_user_id"]
    assert UUID.match(commenter) and UUID.match(doc["userinfo_open_id_sample"]["open_id"])


def test_cert_label_is_the_subject_and_the_printed_sample_says_none(mocked: responses.RequestsMock) -> None:
    doc = sample("cert_labels_info")
    mocked.post(f"{DY}/oauth/userinfo/", json=USERINFO)
    labels = mocked.get(f"{DY}/dy_open_api/v1/user/cert_labels_info/", json=doc["success"])
    profile = adapter().profile(CREDS)
    assert profile.subject is None and profile.name == "某县应急管理局" and profile.verified is True
    request = labels.calls[0].request
    assert request.headers["access-token"] == "act.token-value" and f"open_id={OPEN_ID}" in (request.url or "")

    labelled = json.loads(json.dumps(doc["success"]))
    labelled["data"]["CertLabelInfo"] = {"LabelStyle": 1, "LabelText": "某县应急管理局"}
    mocked.replace(responses.GET, f"{DY}/dy_open_api/v1/user/cert_labels_info/", json=labelled)
    assert adapter().profile(CREDS).subject == "某县应急管理局"


@pytest.mark.parametrize("error", sample("cert_labels_info")["errors"], ids=lambda e: str(e["err_no"]))
def test_a_refused_cert_label_read_is_no_subject_not_a_failed_profile(
    mocked: responses.RequestsMock, error: dict[str, Any]
) -> None:
    mocked.post(f"{DY}/oauth/userinfo/", json=USERINFO)
    mocked.get(f"{DY}/dy_open_api/v1/user/cert_labels_info/", json={**error, "log_id": "x", "data": {}})
    profile = adapter().profile(CREDS)
    assert profile.subject is None and profile.name == "某县应急管理局"


def test_cert_labels_can_be_switched_off(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{DY}/oauth/userinfo/", json=USERINFO)
    labels = mocked.get(f"{DY}/dy_open_api/v1/user/cert_labels_info/", json={"err_no": 0, "data": {}})
    assert adapter(cert_labels=False).profile(CREDS).subject is None
    assert labels.call_count == 0


def test_comment_reads_send_the_device_parameters_the_reply_list_page_requires(mocked: responses.RequestsMock) -> None:
    """评论回复列表 marks device_brand, device_platform, device_type, ip, os_version and shark_channel
    必填 (stored request table): both comment reads send all six, ``ip`` from ``client_ip`` (the
    client's, not the server's) and any of them overridable through ``device_params``."""
    doc = sample("item_comment_reply_list")
    one_video(mocked)
    listing = json.loads(json.dumps(sample("item_comment_list")["printed"]["body"]))
    listing["data"]["has_more"] = False
    listing["data"]["list"][0].update(comment_id="@c1", comment_user_id="43eae150-12eb-4035-8d40-3f9a2bfcdf4e")
    comments = mocked.get(f"{DY}/item/comment/list/", json=listing)
    mine = {**doc["row"], "comment_user_id": OPEN_ID, "content": "已转相关部门办理"}
    body = {"data": {"error_code": 0, "description": "", "cursor": 0, "has_more": False, "list": [mine]}}
    replies = mocked.get(f"{DY}/item/comment/reply/list/", json=body)

    chosen = adapter(client_ip="203.0.113.7", device_params={"device_platform": "web"})
    (item,) = fetch_comments(chosen, CREDS, limit=10)
    assert item.replied_at is not None and item.reply_text == "已转相关部门办理"
    for call in (comments.calls[0], replies.calls[0]):
        query = parse_qs(urlsplit(call.request.url or "").query)
        device = {name: query[name][0] for name in ("device_brand", "device_platform", "device_type", "os_version")}
        assert device == {"device_brand": "server", "device_platform": "web", "device_type": "server"} | {
            "os_version": "0"
        }
        assert query["ip"] == ["203.0.113.7"] and query["shark_channel"] == ["open_api"]  # the documented channel
    reply_request = replies.calls[0].request
    assert set(doc["query_required"]) <= set(parse_qs(urlsplit(reply_request.url or "").query))  # every 必填 one
    assert set(doc["headers"]) <= {k.lower() for k in reply_request.headers}
    assert reply_request.headers["content-type"] == "application/json"
