"""The cover's crop (issue 20): chosen in the editor or the API, stored on the cover's media item,
validated, part of the content hash only when set (existing contents keep their hash)."""

from __future__ import annotations

import io

from auth.models import User
from moderation.models import Content, ContentKind, Disclosure
from moderation.payload import content_hash
from tests.moderation.test_contents_api import _create
from tests.moderation.test_pages import _form, login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
SHA = "ab" * 32
#: content_hash of the content below, computed by the code before the crop existed.
HASH_BEFORE_CROP = "b95d5df31235b11d0acebddb5aca5051ca1d0981290d1eac8fa4af7e685decab"


def _content(**media_extra) -> Content:
    assert User  # the mapper needs the users table registered
    item = {"name": "会场.jpg", "content_type": "image/jpeg", "sha256": SHA, "alt": "会场", "role": "image"}
    return Content(
        title="示范县召开会议",
        summary="摘要",
        body_html="<p>正文</p>",
        body_text="正文",
        media=[{**item, **media_extra}],
        overrides={},
        disclosure=Disclosure.active,
        kind=ContentKind.news,
        policy_id=None,
    )


def test_a_content_without_crop_keeps_its_hash_and_a_crop_changes_it():
    assert content_hash(_content()) == HASH_BEFORE_CROP
    assert content_hash(_content(crop="")) == HASH_BEFORE_CROP
    assert content_hash(_content(crop="2.35:1")) != HASH_BEFORE_CROP
    assert content_hash(_content(crop="2.35:1")) != content_hash(_content(crop="1:1"))


def _media(crop=None, **extra):
    item = {"name": "会场.jpg", "content_type": "image/jpeg", "sha256": SHA, "alt": "会场"}
    if crop is not None:
        item["crop"] = crop
    return [{**item, **extra}]


def test_api_stores_the_crop_and_a_changed_crop_changes_the_hash(api_as, team):
    client = api_as(team.operator)
    created = _create(client, team, media=_media("2.35:1"))
    assert created.status_code == 201, created.json
    assert created.json["media"][0]["crop"] == "2.35:1"
    plain = _create(client, team, media=_media())
    assert "crop" not in plain.json["media"][0]
    changed = client.patch(f"/api/v1/contents/{created.json['id']}", json={"media": _media("1:1")})
    assert changed.status_code == 200, changed.json
    assert changed.json["media"][0]["crop"] == "1:1"
    assert changed.json["content_hash"] != created.json["content_hash"]


def test_api_refuses_an_unknown_crop_or_a_crop_on_an_attachment(api_as, team, db_session):
    client = api_as(team.operator)
    before = db_session.query(Content).count()
    wrong = _create(client, team, media=_media("4:3"))
    assert wrong.status_code == 422
    assert set(wrong.json["error"]) == {"code", "message", "details"}
    attachment = _create(client, team, media=_media("1:1", content_type="application/pdf", name="a.pdf"))
    assert attachment.status_code == 422
    assert "裁剪" in str(attachment.json["error"]["details"])
    second = _create(client, team, media=_media() + _media("1:1", sha256="cd" * 32, name="第二张.jpg"))
    assert second.status_code == 422 and "封面（第一张图片）" in str(second.json["error"]["details"])
    assert db_session.query(Content).count() == before


def test_editor_stores_the_crop_on_the_cover_and_refuses_an_unknown_one(client, team, db_session, media_dir):
    login(client, team.operator)
    data = _form(team)
    data["new_media"] = [
        (io.BytesIO(PNG + b"a"), "甲.png", "image/png"),
        (io.BytesIO(PNG + b"b"), "乙.png", "image/png"),
    ]
    client.post("/contents/new", data=data, content_type="multipart/form-data")
    content = db_session.query(Content).order_by(Content.id.desc()).first()
    edit = client.get(f"/contents/{content.id}/edit").get_data(as_text=True)
    assert 'id="cover_crop"' in edit and "2.35:1（公众号封面）" in edit and "原图" in edit
    second = content.media[1]
    fields = {"media_count": "2", "cover": second["sha256"], "cover_crop": "2.35:1"}
    for i, m in enumerate(content.media):
        fields.update({f"media_{i}_{k}": m[k] for k in ("sha256", "name", "content_type", "role", "alt")})
    hash_before = content_hash(content)
    client.post(f"/contents/{content.id}/edit", data=_form(team, **fields))
    db_session.refresh(content)
    assert [(m["name"], m.get("crop")) for m in content.media] == [("乙.png", "2.35:1"), ("甲.png", None)]
    assert content_hash(content) != hash_before
    hash_cropped = content_hash(content)
    edit = client.get(f"/contents/{content.id}/edit").get_data(as_text=True)
    assert '<option value="2.35:1" selected>' in edit

    fields = {"media_count": "2", "cover": second["sha256"], "cover_crop": "3:1"}
    for i, m in enumerate(content.media):
        fields.update({f"media_{i}_{k}": m[k] for k in ("sha256", "name", "content_type", "role", "alt")})
    refused = client.post(f"/contents/{content.id}/edit", data=_form(team, **fields))
    assert refused.status_code == 422
    assert "封面裁剪比例应为" in refused.get_data(as_text=True)
    db_session.refresh(content)
    assert content.media[0]["crop"] == "2.35:1"

    # 原图: the crop is removed again
    fields = {"media_count": "2", "cover": second["sha256"], "cover_crop": ""}
    for i, m in enumerate(content.media):
        fields.update({f"media_{i}_{k}": m[k] for k in ("sha256", "name", "content_type", "role", "alt")})
    client.post(f"/contents/{content.id}/edit", data=_form(team, **fields))
    db_session.refresh(content)
    assert all("crop" not in m for m in content.media)
    assert content_hash(content) != hash_cropped
