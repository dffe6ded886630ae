"""Images placed in a WeChat article body: uploaded through ``media/uploadimg`` once, ``src``
rewritten to the returned URL, against the sandbox over real HTTP (its own server thread)."""

from __future__ import annotations

import pytest

from platforms import ContentInput, ContentRejected, MediaFile, get_adapter
from tests.platforms import test_adapters_contract as contract
from tests.platforms.test_adapters_contract import CANONICAL, JPEG, PNG, Simulator, poll

#: The contract tests' sandbox server and per-test reset, used here by name.
sandbox_url = contract.sandbox_url
sim = contract.sim

PHOTO = MediaFile("现场.png", "image/png", PNG, alt_text="会议现场")
CHART = MediaFile("图表.jpg", "image/jpeg", JPEG + b"\x01", alt_text="数据图表")


def local(image: MediaFile) -> str:
    """How the editor places an uploaded image in the body (moderation/editor_views.py)."""
    return f"/contents/uploads/{image.sha256}"


def article(html: str, *media: MediaFile) -> ContentInput:
    return ContentInput(
        title="市政府召开常务会议",
        html=html,
        summary="常务会议研究部署近期重点工作",
        media=media,
        cover=MediaFile("cover.jpg", "image/jpeg", JPEG),
        canonical_url=CANONICAL,
        author="市政府办公室",
    )


def uploads(sim: Simulator) -> list[dict]:
    resp = sim.http.get(sim.base + "/_sandbox/media", params={"platform": "wechat", "kind": "uploadimg"}, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()["media"]


def published_body(sim: Simulator) -> str:
    (stored,) = sim.posts("wechat")
    return stored["extra"]["articles"][0]["content"]


def test_inline_image_is_uploaded_once_and_its_src_rewritten(sim: Simulator) -> None:
    creds = sim.account("wechat")
    adapter = sim.adapter("wechat")
    html = (
        f'<p>会议现场：</p><p><img src="{local(PHOTO)}" alt="会议现场"></p>'
        f'<p>数据：</p><p><img src="{local(CHART)}" alt="数据图表"></p>'
        f'<p>再看现场：<img src="{local(PHOTO)}" alt="会议现场"></p>'
    )
    rendered = adapter.render(article(html, PHOTO, CHART))
    assert rendered.ok, rendered.problems
    submitted = adapter.publish(creds, rendered.post)
    assert poll(adapter, creds, submitted.post_id).state == "published"

    sent = uploads(sim)
    assert sorted(m["filename"] for m in sent) == sorted(["现场.png", "图表.jpg"])  # the photo once, not twice
    by_name = {m["filename"]: m["url"] for m in sent}
    body = published_body(sim)
    assert body.count(by_name["现场.png"]) == 2
    assert body.count(by_name["图表.jpg"]) == 1
    assert "/contents/uploads/" not in body
    assert body.index("会议现场：") < body.index(by_name["现场.png"]) < body.index("数据：")
    assert body.count("<img") == 3  # placed images are not appended again at the end
    # the rewritten address serves the very bytes of the photo
    assert sim.http.get(by_name["现场.png"], timeout=10).content == PHOTO.data


def test_image_not_uploaded_is_dropped_by_the_sandbox(sim: Simulator) -> None:
    """Like WeChat, the sandbox filters body images that did not come from media/uploadimg."""
    creds = sim.account("wechat")
    token = sim.http.post(
        sim.base + "/wechat/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": creds.app_id, "secret": creds.app_secret},
        timeout=10,
    ).json()["access_token"]
    cover = sim.http.post(
        sim.base + "/wechat/cgi-bin/material/add_material",
        params={"access_token": token, "type": "thumb"},
        files={"media": ("cover.jpg", JPEG, "image/jpeg")},
        timeout=10,
    ).json()["media_id"]
    html = (
        f'<p>正文</p><img src="{local(PHOTO)}"><img src="https://example.com/a.png">'
        f'<img src="{sim.base}/_sandbox/media/nope">'
    )
    draft = sim.http.post(
        sim.base + "/wechat/cgi-bin/draft/add",
        params={"access_token": token},
        json={"articles": [{"title": "测试", "content": html, "thumb_media_id": cover}]},
        timeout=10,
    ).json()["media_id"]
    got = sim.http.post(
        sim.base + "/wechat/cgi-bin/draft/get", params={"access_token": token}, json={"media_id": draft}, timeout=10
    ).json()
    assert got["news_item"][0]["content"] == "<p>正文</p>"


def test_too_large_inline_image_is_refused_before_sending(sim: Simulator) -> None:
    creds = sim.account("wechat")
    adapter = sim.adapter("wechat")
    big = MediaFile("大图.jpg", "image/jpeg", JPEG + b"\x00" * (1024 * 1024))
    rendered = adapter.render(article(f'<p><img src="{local(big)}"></p>', big))
    (problem,) = rendered.problems
    assert problem.code == "media_too_large"
    assert "正文图片“大图.jpg”" in problem.message and "须小于 1 MB" in problem.message

    with pytest.raises(ContentRejected) as caught:
        adapter.publish(creds, rendered.post)
    assert caught.value.code == "media_too_large"
    assert "须小于 1 MB" in str(caught.value)
    assert uploads(sim) == []  # nothing was sent
    assert sim.posts("wechat") == []


def test_body_image_missing_from_the_media_list_is_a_problem(sim: Simulator) -> None:
    creds = sim.account("wechat")
    adapter = sim.adapter("wechat")
    rendered = adapter.render(article(f'<p>正文</p><p><img src="{local(PHOTO)}"></p>'))
    assert [p.code for p in rendered.problems] == ["inline_image_missing"]
    with pytest.raises(ContentRejected, match="不在内容的图片列表中"):
        adapter.publish(creds, rendered.post)
    assert sim.posts("wechat") == []


def test_plain_text_platforms_drop_inline_images_from_the_text_and_keep_them_attached() -> None:
    html = f'<p>会议现场</p><p><img src="{local(PHOTO)}" alt="会议现场"></p><p>部署工作</p>'
    content = ContentInput(title="常务会议", html=html, media=(PHOTO,), canonical_url=CANONICAL)
    post = get_adapter("weibo").render(content).post
    assert "contents/uploads" not in post.text and "<img" not in post.text
    assert [m.sha256 for m in post.media] == [PHOTO.sha256]


def test_a_too_large_second_image_stops_before_the_first_is_uploaded(sim: Simulator) -> None:
    creds = sim.account("wechat")
    big = MediaFile("大图.png", "image/png", PNG + b"\x00" * (1024 * 1024))
    post = sim.adapter("wechat").render(article(f'<img src="{local(PHOTO)}"><img src="{local(big)}">', PHOTO, big)).post
    with pytest.raises(ContentRejected, match=r"大图\.png"):
        sim.adapter("wechat").publish(creds, post)
    assert uploads(sim) == []
