"""Per-platform previews: reviewers and publishers see each platform's rendered text and the images."""

from __future__ import annotations

import io

import pytest

from auth.models import Role
from moderation import review
from moderation.models import Content
from publishers import send_modes
from tests.conftest import PASSWORD
from tests.publishers.test_pipeline import PNG


def _login(client, user):
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def draft(api_as, make_user, make_unit, make_account, app, tmp_path, monkeypatch):
    """(unit, content id, image sha256, its author's API client): a draft with a photo, for Weibo and WeChat."""
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path))
    unit = make_unit()
    operator = make_user(Role.operator, unit=unit)
    api = api_as(operator)
    weibo = make_account(unit, "weibo", name="示范县发布微博")
    wechat = make_account(unit, "wechat", name="示范县发布公众号")
    upload = api.post(
        "/api/v1/media", data={"file": (io.BytesIO(PNG), "photo.jpg", "image/jpeg")}, content_type="multipart/form-data"
    )
    assert upload.status_code == 201, upload.json
    sha = upload.json["sha256"]
    body = {
        "title": "示范县召开秋季安全生产工作会议",
        "body": "<p>会议部署冬季防火工作。</p>",
        "summary": "示范县部署冬季防火",
        "disclosure": "active",
        "kind": "news",
        "target_ids": [weibo.id, wechat.id],
        "overrides": {"weibo": {"text": "【微博版】示范县部署冬季防火"}},
        "media": [{"name": "photo.jpg", "content_type": "image/jpeg", "sha256": sha, "alt": "会议现场"}],
    }
    created = api.post("/api/v1/contents", json=body)
    assert created.status_code == 201, created.json
    return unit, created.json["id"], sha, operator, api


@pytest.fixture
def submitted(draft):
    """(unit, content id, image sha256): the draft, submitted (初审)."""
    unit, content_id, sha, _operator, api = draft
    response = api.post(f"/api/v1/contents/{content_id}/submit")
    assert response.status_code == 200, response.json
    return unit, content_id, sha


def test_review_page_shows_the_image_and_each_platforms_text_at_every_stage(client, submitted, make_user, db_session):

    unit, content_id, sha = submitted
    media_url = f"/contents/{content_id}/media/{sha}"
    reviewers = {stage: make_user(getattr(Role, f"reviewer_{stage}"), unit=unit) for stage in (1, 2, 3)}
    for stage in (1, 2, 3):
        _login(client, reviewers[stage])
        page = client.get(f"/review/{content_id}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "各平台发布预览" in html
        assert f'<img src="{media_url}"' in html
        assert "【微博版】示范县部署冬季防火" in html  # Weibo's own text, with its link appended by the adapter
        assert 'data-platform="wechat"' in html and 'data-platform="weibo"' in html
        image = client.get(media_url)
        assert image.status_code == 200
        assert image.mimetype == "image/png"  # sniffed from the bytes, not the upload's label
        assert image.headers["X-Content-Type-Options"] == "nosniff"
        assert image.data == PNG
        client.post("/logout")
        content = db_session.get(Content, content_id)
        review.advance(content, f"approve_{stage}", reviewers[stage])
        db_session.commit()


def test_media_page_serves_only_the_contents_own_files_within_scope(client, submitted, make_user, make_unit):
    unit, content_id, sha = submitted
    _login(client, make_user(Role.reviewer_1, unit=unit))
    assert client.get(f"/contents/{content_id}/media/{'0' * 64}").status_code == 404
    client.post("/logout")
    _login(client, make_user(Role.reviewer_1, unit=make_unit()))
    assert client.get(f"/contents/{content_id}/media/{sha}").status_code == 404


def test_delivery_page_shows_the_preview(client, submitted, make_user):
    unit, content_id, sha = submitted
    _login(client, make_user(Role.operator, unit=unit))
    html = client.get(f"/publishing/contents/{content_id}").get_data(as_text=True)
    assert f'<img src="/contents/{content_id}/media/{sha}"' in html and "【微博版】" in html


def test_content_page_shows_thumbnails_and_the_preview(client, submitted, make_user, make_unit):
    unit, content_id, sha = submitted
    _login(client, make_user(Role.operator, unit=unit))
    html = client.get(f"/contents/{content_id}").get_data(as_text=True)
    assert f'<img src="/contents/{content_id}/media/{sha}"' in html and "各平台发布预览" in html
    assert "image/jpeg" not in html


def test_editor_shows_the_saved_versions_preview(client, draft):
    _unit, content_id, sha, operator, _api = draft
    _login(client, operator)
    assert "各平台发布预览" not in client.get("/contents/new").get_data(as_text=True)
    html = client.get(f"/contents/{content_id}/edit").get_data(as_text=True)
    assert "各平台发布预览（已保存的版本）" in html and "【微博版】示范县部署冬季防火" in html
    assert f'<img src="/contents/{content_id}/media/{sha}"' in html


def test_wechat_preview_shows_the_images_placed_in_the_body(
    client, api_as, make_user, make_unit, make_account, app, tmp_path, monkeypatch
):
    """The editor places images as /contents/uploads/<sha256>; WeChat's preview lists them in
    body order (they are uploaded and re-addressed on publishing); Weibo's text has no image."""
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path))
    unit = make_unit()
    operator = make_user(Role.operator, unit=unit)
    api = api_as(operator)
    weibo = make_account(unit, "weibo", name="示范县发布微博")
    wechat = make_account(unit, "wechat", name="示范县发布公众号")
    upload = api.post(
        "/api/v1/media", data={"file": (io.BytesIO(PNG), "scene.png", "image/png")}, content_type="multipart/form-data"
    )
    sha = upload.json["sha256"]
    created = api.post(
        "/api/v1/contents",
        json={
            "title": "示范县召开秋季安全生产工作会议",
            "body": f'<p>会议部署冬季防火工作。</p><p><img src="/contents/uploads/{sha}" alt="会议现场"></p>',
            "summary": "示范县部署冬季防火",
            "disclosure": "active",
            "kind": "news",
            "target_ids": [weibo.id, wechat.id],
            "media": [{"name": "scene.png", "content_type": "image/png", "sha256": sha, "alt": "会议现场"}],
        },
    )
    assert created.status_code == 201, created.json
    content_id = created.json["id"]
    _login(client, operator)
    html = client.get(f"/contents/{content_id}").get_data(as_text=True)
    wechat_card = html.split('data-platform="wechat"', 1)[1].split("</article>", 1)[0]
    weibo_card = html.split('data-platform="weibo"', 1)[1].split("</article>", 1)[0]
    assert "正文中的图片（按出现顺序，共 1 张" in wechat_card
    assert f'<img src="/contents/{content_id}/media/{sha}" alt="正文图片：会议现场"' in wechat_card
    assert "未插入正文的图片" not in wechat_card
    assert "正文中的图片" not in weibo_card and "contents/uploads" not in weibo_card
    assert f'<img src="/contents/{content_id}/media/{sha}"' in weibo_card  # still attached to the Weibo post


def test_preview_shows_the_cover_at_its_chosen_crop(client, draft):
    _unit, content_id, sha, operator, api = draft
    media = [{"name": "photo.jpg", "content_type": "image/jpeg", "sha256": sha, "alt": "会议现场", "crop": "2.35:1"}]
    assert api.patch(f"/api/v1/contents/{content_id}", json={"media": media}).status_code == 200
    _login(client, operator)
    html = client.get(f"/contents/{content_id}/edit").get_data(as_text=True)
    assert 'data-crop="2.35:1"' in html and "aspect-ratio:2.35 / 1;object-fit:cover" in html
    assert "封面（按 2.35:1 居中裁剪）" in html
    assert '<option value="2.35:1" selected>' in html


def test_preview_shows_where_the_link_will_go_not_a_made_up_address(client, submitted, make_user):
    """Weibo's text ends with the original's link, made only when the post goes out: the preview
    says so in its place instead of showing a placeholder address someone could copy."""
    unit, content_id, _sha = submitted
    _login(client, make_user(Role.reviewer_1, unit=unit))
    html = client.get(f"/review/{content_id}").get_data(as_text=True)
    weibo = html.split('data-platform="weibo"', 1)[1].split("</article>", 1)[0]
    text = weibo.split('class="details preview-text"', 1)[1].split("</div>", 1)[0]
    assert "【微博版】示范县部署冬季防火" in text and "〔原文链接，发布时生成〕" in text
    assert "/c/0/preview" not in html and "https://" not in text


def test_the_final_reviewer_sees_whether_wechat_pushes_to_every_follower(client, submitted, make_user, db_session):
    """群发 reaches every follower's message list and cannot be taken back: the review page's WeChat
    preview says which of 发布 / 群发 the post will go out as (Weibo has no such choice)."""
    unit, content_id, _sha = submitted
    content = db_session.get(Content, content_id)
    wechat = next(a for a in content.targets if a.platform.value == "wechat")
    final = make_user(Role.reviewer_3, unit=unit)
    _login(client, final)

    def cards() -> dict[str, str]:
        html = client.get(f"/review/{content_id}").get_data(as_text=True)
        return {p: html.split(f'data-platform="{p}"', 1)[1].split("</article>", 1)[0] for p in ("wechat", "weibo")}

    assert "发送方式：发布（不推送给粉丝）" in cards()["wechat"]  # the default
    send_modes.choose(content, wechat, "mass", content.author)
    db_session.commit()
    shown = cards()
    assert "发送方式：群发（推送给全部粉丝）" in shown["wechat"] and "发送方式" not in shown["weibo"]
