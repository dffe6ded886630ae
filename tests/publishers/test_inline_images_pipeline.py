"""An image the editor placed in the body, through the real pipeline to the sandbox over HTTP:
WeChat gets it uploaded once and re-addressed, Weibo's text has no image tag (its one picture is
the cover, as before); a too-large one fails at once."""

from __future__ import annotations

from common import media
from moderation.service import content_hash
from publishers.models import DeliveryStatus
from tests.publishers import test_pipeline as pipeline_tests
from tests.publishers.test_pipeline import PNG, claim, deliveries_of, drain

#: test_pipeline's fixtures, used here by name.
unit = pipeline_tests.unit
author = pipeline_tests.author
approve = pipeline_tests.approve


def place_image(db_session, content, data: bytes, name: str, content_type: str) -> str:
    """Put an image in the body the way the editor does, and re-approve that version."""
    sha = media.save(data)
    content.body_html = (
        f'<p>会议部署了冬季防火等重点工作。</p><p><img src="/contents/uploads/{sha}" alt="会议现场"></p>'
        f'<p>现场再看：<img src="/contents/uploads/{sha}" alt="会议现场"></p>'
    )
    content.media = [*content.media, {"name": name, "content_type": content_type, "sha256": sha, "alt": "会议现场"}]
    db_session.flush()
    content.approved_hash = content_hash(content)
    content.approved_version = content.version
    db_session.commit()
    return sha


def test_body_image_is_uploaded_once_and_the_article_shows_it(db_session, sandbox, unit, make_account, approve):
    wechat, weibo = make_account(unit, "wechat"), make_account(unit, "weibo")
    content = approve([wechat, weibo])
    place_image(db_session, content, PNG + b"\x00scene", "scene.png", "image/png")
    drain(db_session, claim(db_session))
    rows = deliveries_of(db_session, content)
    assert {p: d.status for p, d in rows.items()} == dict.fromkeys(("wechat", "weibo"), DeliveryStatus.sent)

    uploaded = sandbox.call("GET", "/_sandbox/media", params={"platform": "wechat", "kind": "uploadimg"})["media"]
    scene = [m for m in uploaded if m["filename"] == "scene.png"]
    assert len(scene) == 1  # placed twice, uploaded once
    (article,) = sandbox.live_posts("wechat")
    body = article["extra"]["articles"][0]["content"]
    assert body.count(scene[0]["url"]) == 2
    assert "/contents/uploads/" not in body

    (post,) = sandbox.live_posts("weibo")
    assert "contents/uploads" not in post["text"] and "<img" not in post["text"]
    assert len(post["media"]) == 1  # statuses/share takes one picture: the cover, as before


def test_too_large_body_image_fails_at_once_with_a_reason(db_session, sandbox, unit, make_account, approve):
    wechat = make_account(unit, "wechat")
    content = approve([wechat])
    place_image(db_session, content, b"\xff\xd8\xff\xe0" + b"\x00" * (1024 * 1024), "大图.jpg", "image/jpeg")
    drain(db_session, claim(db_session))
    delivery = deliveries_of(db_session, content)["wechat"]
    assert delivery.status is DeliveryStatus.failed
    assert delivery.retryable is False
    assert "正文图片“大图.jpg”" in delivery.last_error_message and "须小于 1 MB" in delivery.last_error_message
    assert sandbox.posts("wechat") == []
    assert sandbox.call("GET", "/_sandbox/media", params={"platform": "wechat", "kind": "uploadimg"})["media"] == []
