# ruff: noqa: F811 - the sandbox fixtures are imported and then requested
"""The sandbox's Douyin 评论 and 认证标识 answers against the stored official/SDK samples
(``tests/platforms/samples/douyin/``): the same fields, the token where the pages put it
(``access-token`` header) and the documented refusal (28001018) when the app lacks the capability."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.sandbox.test_sandbox_protocol import Sandbox, sb, server  # noqa: F401 - fixtures

SAMPLES = Path(__file__).parents[1] / "platforms" / "samples" / "douyin"


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def dy_get(sb: Sandbox, path: str, open_id: str, **params: Any) -> dict[str, Any]:
    return sb.get(
        f"/douyin{path}", params={"open_id": open_id, **params}, headers={"access-token": f"act.sandbox.{open_id}"}
    ).json()


def test_comment_list_answers_the_sample_fields_with_an_open_id_commenter(sb: Sandbox) -> None:
    sb.account(platform="douyin", uid="dy_cmt", name="某县发布")
    item_id = sb.dy_create("dy_cmt", sb.bd_upload("douyin", "dy_cmt"), "作品")["data"]["item_id"]
    made = sb.post(
        "/_sandbox/comments", json={"platform": "douyin", "uid": "dy_cmt", "post_id": item_id, "text": "请问何时开放"}
    )
    assert made.status_code == 201, made.text
    answer = dy_get(sb, "/item/comment/list/", "dy_cmt", item_id=item_id, cursor=0, count=10)
    doc = sample("item_comment_list")
    for envelope in (doc["printed"]["body"], doc["sdk"]["body"]):
        assert set(answer) >= set(envelope) and set(answer["data"]) >= set(envelope["data"]) - {"error_code"}
    (row,) = answer["data"]["list"]
    assert set(row) >= set(doc["sdk"]["body"]["data"]["list"][0]) - {"avatar"}
    assert len(row["comment_user_id"]) == 36 and row["comment_user_id"].count("-") == 4  # an open_id (UUID)
    assert row["content"] == "请问何时开放" and row["nick_name"]


def test_comment_endpoints_take_the_token_from_the_header(sb: Sandbox) -> None:
    sb.account(platform="douyin", uid="dy_hdr", name="某县发布")
    item_id = sb.dy_create("dy_hdr", sb.bd_upload("douyin", "dy_hdr"), "作品")["data"]["item_id"]
    in_query = sb.get(
        "/douyin/item/comment/list/",
        params={"open_id": "dy_hdr", "access_token": "act.sandbox.dy_hdr", "item_id": item_id, "count": 10},
    ).json()
    assert in_query["data"]["error_code"] != 0  # no header token → refused
    assert dy_get(sb, "/item/comment/list/", "dy_hdr", item_id=item_id, count=10)["data"]["error_code"] == 0


def test_cert_labels_answer_like_the_printed_sample_and_refuse_without_the_capability(sb: Sandbox) -> None:
    doc = sample("cert_labels_info")
    sb.account(platform="douyin", uid="dy_lbl", name="某县公安", subject="某县公安局", verified=True)
    sb.account(platform="douyin", uid="dy_plain", name="个人号", subject="", verified=False)
    answer = dy_get(sb, "/dy_open_api/v1/user/cert_labels_info/", "dy_lbl")
    assert set(answer) >= set(doc["success"]) and set(answer["data"]) == set(doc["success"]["data"])
    assert answer["err_no"] == 0 and answer["data"]["CertLabelInfo"]["LabelText"] == "某县公安局"
    plain = dy_get(sb, "/dy_open_api/v1/user/cert_labels_info/", "dy_plain")
    assert plain["data"] == doc["success"]["data"]  # the printed sample: style 0, empty text

    sb.config(douyin_cert_labels=False)
    refused = dy_get(sb, "/dy_open_api/v1/user/cert_labels_info/", "dy_lbl")
    assert refused["err_no"] == 28001018 and refused["err_no"] in {e["err_no"] for e in doc["errors"]}


def test_video_list_pages_like_the_sdk_sample_and_ends_with_cursor_zero(sb: Sandbox) -> None:
    """``video_list`` answers the SDK sample's fields; a page with more says ``has_more`` with the
    cursor to ask next, the last page ``has_more`` false and cursor 0 (as the SDK's sample)."""
    doc = sample("video_list")
    sb.account(platform="douyin", uid="dy_vl", name="某县发布")
    for i in range(3):
        sb.dy_create("dy_vl", sb.bd_upload("douyin", "dy_vl"), f"作品{i}")
    first = dy_get(sb, "/api/douyin/v1/video/video_list/", "dy_vl", cursor=0, count=2)
    assert set(first["data"]) >= set(doc["last_page"]["data"]) - {"description", "error_code"} | {"cursor"}
    assert first["data"]["has_more"] is True and len(first["data"]["list"]) == 2
    last = dy_get(sb, "/api/douyin/v1/video/video_list/", "dy_vl", cursor=first["data"]["cursor"], count=2)
    assert last["data"]["has_more"] is False and last["data"]["cursor"] == 0 and len(last["data"]["list"]) == 1
    row = last["data"]["list"][0]
    assert {"item_id", "title", "create_time", "share_url", "cover", "is_top", "statistics"} <= set(row)


def test_reply_list_requires_the_documented_device_parameters(sb: Sandbox) -> None:
    """评论回复列表 over HTTP: without the page's 必填 device parameters the sandbox answers the
    documented 参数不合法 (2100005, "<name> must have a value"); with them, the replies."""
    doc = sample("item_comment_reply_list")
    sb.account(platform="douyin", uid="dy_dev", name="某县发布")
    item_id = sb.dy_create("dy_dev", sb.bd_upload("douyin", "dy_dev"), "作品")["data"]["item_id"]
    made = sb.post(
        "/_sandbox/comments", json={"platform": "douyin", "uid": "dy_dev", "post_id": item_id, "text": "请问何时开放"}
    )
    entry = made.json()["comment"]
    sb.post("/_sandbox/comments/reply", json={"platform": "douyin", "id": entry["entry_id"], "text": "本周五开放"})
    base = {"item_id": item_id, "comment_id": entry["entry_id"], "count": 10}
    device = {"device_brand": "server", "device_platform": "server", "device_type": "server", "ip": "203.0.113.7"}
    device |= {"os_version": "0", "shark_channel": "open_api"}
    without_ip = {k: v for k, v in device.items() if k != "ip"}
    refused = dy_get(sb, "/item/comment/reply/list/", "dy_dev", **base, **without_ip)
    failed = doc["missing_param_sample"]["body"]
    assert refused["data"]["error_code"] == failed["data"]["error_code"] == 2100005
    assert set(refused["extra"]) >= set(failed["extra"]) - {"sub_error_code"}
    assert "ip must have a value" in json.dumps(refused, ensure_ascii=False)
    answer = dy_get(sb, "/item/comment/reply/list/", "dy_dev", **base, **device)
    assert answer["data"]["error_code"] == 0
    (row,) = answer["data"]["list"]
    assert set(row) >= set(doc["row"]) and row["content"] == "本周五开放"
