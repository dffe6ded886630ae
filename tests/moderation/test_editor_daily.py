"""The editor's daily work (issue 20): Post/Redirect/Get, past publish times, autosave, several
uploads at once, pasted Word/WPS/秀米 layouts, check hits beside their fields with 应用建议,
per-platform counters and the WeChat 群发/发布 choice (issue 15)."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from audit.models import AuditEntry
from auth.models import Role
from common import media
from common.db import utcnow
from moderation import editor_fixes, review, service
from moderation.models import Content, ContentStatus, ContentVersion
from moderation.sanitize import html_to_text, sanitize_html
from publishers import send_modes
from publishers.models import TargetSendMode
from tests.moderation.conftest import CLEAN_BODY, ID_NUMBER
from tests.moderation.test_pages import _form, login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
MASKED = f"{ID_NUMBER[:3]}{'*' * 11}{ID_NUMBER[-4:]}"


def _count(db_session):
    return db_session.query(Content).count()


def _latest(db_session):
    return db_session.query(Content).order_by(Content.id.desc()).first()


# ----------------------------------------------------------------------------- Post/Redirect/Get


def test_blocked_submit_redirects_and_a_refresh_never_duplicates(client, team, db_session):
    login(client, team.operator)
    form = _form(team, body=f"身份证号{ID_NUMBER}", action="submit", form_token="t-prg-1")
    first = client.post("/contents/new", data=form)
    assert first.status_code == 302
    content = _latest(db_session)
    assert first.headers["Location"].startswith(f"/contents/{content.id}/edit")
    shown = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "不能提交审核" in shown and 'id="finding-1"' in shown
    # the refresh is a GET of the edit page: nothing new; the message is shown once
    again = client.get(f"/contents/{content.id}/edit").get_data(as_text=True)
    assert "不能提交审核" not in again
    # the browser re-posting the same form (back button, double click) edits the same draft
    repost = client.post("/contents/new", data={**form, "action": "save", "title": "改过的标题"})
    assert repost.status_code == 302 and repost.headers["Location"] == f"/contents/{content.id}/edit"
    assert _count(db_session) == 1
    db_session.refresh(content)
    assert content.title == "改过的标题" and content.status is ContentStatus.draft


def test_a_new_form_token_is_a_new_draft(client, team, db_session):
    login(client, team.operator)
    page = client.get("/contents/new").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([0-9a-f]{32})"', page).group(1)
    client.post("/contents/new", data=_form(team, form_token=token))
    client.post("/contents/new", data=_form(team, form_token=token))
    other = re.search(r'name="form_token" value="([0-9a-f]{32})"', client.get("/contents/new").get_data(as_text=True))
    assert other.group(1) != token
    client.post("/contents/new", data=_form(team, form_token=other.group(1)))
    assert _count(db_session) == 2


# ----------------------------------------------------------------------------- publish time in the past


def test_past_publish_time_is_refused_on_the_page(client, team, db_session):
    login(client, team.operator)
    response = client.post("/contents/new", data=_form(team, publish_at="2024-01-02T09:30"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "定时发布时间 2024-01-02 09:30（北京时间）已过" in html
    assert _count(db_session) == 0


def test_past_publish_time_is_refused_by_the_api(api_as, team, db_session):
    past = (utcnow() - timedelta(minutes=5)).replace(microsecond=0).isoformat() + "Z"
    body = {"title": "示范县通知", "body": CLEAN_BODY, "target_ids": [team.weibo.id], "publish_at": past}
    response = api_as(team.operator).post("/api/v1/contents", json=body)
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_error" and "已过" in error["message"]
    assert "已过" in error["details"]["publish_at"][0]
    assert _count(db_session) == 0
    future = (utcnow() + timedelta(hours=2)).replace(microsecond=0).isoformat() + "Z"
    assert api_as(team.operator).post("/api/v1/contents", json={**body, "publish_at": future}).status_code == 201


def test_a_stored_time_that_has_passed_does_not_block_other_edits(api_as, team, make_content, db_session):
    content = make_content(publish_at=utcnow() + timedelta(hours=1))
    content.publish_at = utcnow() - timedelta(hours=1)  # the slot passed while it was a draft
    db_session.commit()
    at = content.publish_at.isoformat() + "Z"
    response = api_as(team.operator).patch(f"/api/v1/contents/{content.id}", json={"title": "新标题", "publish_at": at})
    assert response.status_code == 200, response.json


# ----------------------------------------------------------------------------- autosave


def test_autosave_creates_a_new_draft_once_then_updates_it_in_place(client, team, db_session):
    login(client, team.operator)
    form = _form(team, form_token="t-auto-1")
    first = client.post("/contents/autosave", data=form)
    assert first.status_code == 200, first.json
    assert first.json["created"] is True and re.fullmatch(r"已自动保存 \d\d:\d\d", first.json["message"])
    content_id = first.json["content_id"]
    second = client.post("/contents/autosave", data={**form, "title": "自动保存后的标题"})
    third = client.post(
        "/contents/autosave",
        data={**form, "content_id": str(content_id), "title": "自动保存后的标题", "summary": "摘要"},
    )
    assert second.json["content_id"] == third.json["content_id"] == content_id
    assert second.json["created"] is False
    assert _count(db_session) == 1
    content = db_session.get(Content, content_id)
    assert (content.title, content.summary, content.version) == ("自动保存后的标题", "摘要", 1)
    assert db_session.query(ContentVersion).filter_by(content_id=content_id).count() == 0
    # the page's own save afterwards (same form token) still edits this draft
    client.post("/contents/new", data={**form, "title": "手动保存", "summary": "摘要"})
    assert _count(db_session) == 1
    # audited as create + edits, no more entries for an autosave that changed nothing
    entries = db_session.query(AuditEntry).filter(AuditEntry.object_id == str(content_id)).count()
    client.post(
        "/contents/autosave", data={**form, "content_id": str(content_id), "title": "手动保存", "summary": "摘要"}
    )
    assert db_session.query(AuditEntry).filter(AuditEntry.object_id == str(content_id)).count() == entries


def test_autosave_needs_a_title_and_leaves_submitted_versions_alone(client, team, db_session, make_content):
    login(client, team.operator)
    empty = client.post("/contents/autosave", data=_form(team, title="", form_token="t-auto-2"))
    assert empty.status_code == 422 and empty.json["error"]["code"] == "not_autosaved"
    assert _count(db_session) == 0
    content = make_content()

    review.submit(content, team.operator)
    db_session.commit()
    refused = client.post("/contents/autosave", data=_form(team, content_id=str(content.id), title="偷偷改"))
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "not_autosaved" and "保存草稿" in refused.json["error"]["message"]
    db_session.refresh(content)
    assert content.title != "偷偷改" and content.status is ContentStatus.review_1


def test_edit_page_turns_autosave_on_for_drafts_only(client, team, make_content):
    login(client, team.operator)
    draft = make_content()
    html = client.get(f"/contents/{draft.id}/edit").get_data(as_text=True)
    assert 'data-autosave="on"' in html and 'data-autosave-url="/contents/autosave"' in html


# ----------------------------------------------------------------------------- several uploads


def test_several_files_in_one_save(client, team, db_session, media_dir):
    login(client, team.operator)
    data = _form(team)
    data["new_media"] = [
        (io.BytesIO(PNG + b"1"), "一.png", "image/png"),
        (io.BytesIO(PNG + b"2"), "二.png", "image/png"),
        (io.BytesIO(b"plain text"), "说明.txt", "text/plain"),
    ]
    data["new_media_alt"] = "会议现场"
    response = client.post("/contents/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    content = _latest(db_session)
    assert [m["name"] for m in content.media] == ["一.png", "二.png", "说明.txt"]
    assert [m["role"] for m in content.media] == ["image", "image", "attachment"]
    assert content.media[1]["alt"] == "会议现场"


def test_too_many_files_are_refused_before_anything_is_stored(client, team, db_session, media_dir, app, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_MAX_PER_CONTENT", 2)
    login(client, team.operator)
    data = _form(team)
    data["new_media"] = [(io.BytesIO(PNG + bytes([i])), f"{i}.png", "image/png") for i in range(3)]
    response = client.post("/contents/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "每篇稿件最多 2 个图片、视频或附件：已有 0 个，本次选择了 3 个" in html
    assert _count(db_session) == 0
    assert not media_dir.exists() or list(media_dir.iterdir()) == []  # nothing stored
    page = client.get("/contents/new").get_data(as_text=True)
    assert 'multiple data-max-mb="' in page and 'data-max-count="2"' in page


def test_a_file_over_the_size_limit_is_named(client, team, db_session, media_dir, monkeypatch, app):

    monkeypatch.setitem(app.config, "MEDIA_MAX_MB", 1)
    login(client, team.operator)
    fields = MultiDict([(k, v) for k, vs in _form(team).items() for v in (vs if isinstance(vs, list) else [vs])])
    fields.add("new_media", FileStorage(io.BytesIO(PNG), "小图.png", content_type="image/png"))
    fields.add("new_media", FileStorage(io.BytesIO(b"x" * (1024 * 1024 + 1)), "大视频.mp4", content_type="video/mp4"))
    # encoded here, in memory: the test client spools bodies over 500 KB to a file it never closes
    boundary, body = encode_multipart(fields)
    response = client.post("/contents/new", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert "“大视频.mp4”：文件超过 1 MB 的上限" in response.get_data(as_text=True)
    assert _count(db_session) == 0


def test_choosing_a_cover_puts_that_image_first(client, team, db_session, media_dir):
    login(client, team.operator)
    data = _form(team)
    data["new_media"] = [
        (io.BytesIO(PNG + b"a"), "甲.png", "image/png"),
        (io.BytesIO(PNG + b"b"), "乙.png", "image/png"),
    ]
    client.post("/contents/new", data=data, content_type="multipart/form-data")
    content = _latest(db_session)
    second = content.media[1]
    edit = client.get(f"/contents/{content.id}/edit").get_data(as_text=True)
    assert "当前封面" in edit and "设为封面" in edit
    fields = {"media_count": "2", "cover": second["sha256"]}
    for i, m in enumerate(content.media):
        fields.update({f"media_{i}_{k}": m[k] for k in ("sha256", "name", "content_type", "role", "alt")})
    client.post(f"/contents/{content.id}/edit", data=_form(team, **fields))
    db_session.refresh(content)
    assert [m["name"] for m in content.media] == ["乙.png", "甲.png"]


def test_inline_image_upload_and_its_address(client, team, media_dir):
    login(client, team.operator)
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/contents/new").get_data(as_text=True))
    headers = {"X-CSRFToken": token.group(1)} if token else {}
    ok = client.post("/contents/uploads", data={"file": (io.BytesIO(PNG), "图.png", "image/png")}, headers=headers)
    assert ok.status_code == 201 and ok.json["url"] == f"/contents/uploads/{ok.json['sha256']}"
    served = client.get(ok.json["url"])
    assert served.status_code == 200 and served.mimetype == "image/png"
    not_image = client.post(
        "/contents/uploads", data={"file": (io.BytesIO(b"%PDF-1.4"), "a.pdf", "application/pdf")}, headers=headers
    )
    assert not_image.status_code == 422 and "只能插入图片" in not_image.json["error"]["message"]
    assert client.get("/contents/uploads/" + "0" * 64).status_code == 404


# ----------------------------------------------------------------------------- pasted layouts

SAMPLES = Path(__file__).parent / "samples"
# What Word/WPS put on the clipboard (mso styles, conditional comments, VML, local image paths)
WORD_PASTE = (SAMPLES / "paste_word.html").read_text(encoding="utf-8")
# A 秀米/135 layout (nested sections, inline styles, SVG animation, data-* attributes)
XIUMI_PASTE = (SAMPLES / "paste_xiumi_135.html").read_text(encoding="utf-8")


def test_pasted_word_or_wps_html_is_cleaned():
    cleaned = sanitize_html(WORD_PASTE)
    for left_out in ("mso-", "MsoNormal", "<o:p", "<v:", "<style", "<script", "alert(", "file:///", "style=", "class="):
        assert left_out not in cleaned, left_out
    text = html_to_text(cleaned)
    assert "示范县关于开展冬季安全生产检查的通知" in text and "各乡镇人民政府：" in text
    assert "<b>" in cleaned and "<table>" in cleaned and "联系人" in text and "综合办公室" in text
    assert '<img width="200" height="100" alt="现场">' in cleaned  # the local clipboard path is dropped


def test_pasted_xiumi_and_135_layouts_are_cleaned():
    cleaned = sanitize_html(XIUMI_PASTE)
    for left_out in (
        "<section",
        "<svg",
        "<animate",
        "style=",
        "data-",
        "onclick",
        "javascript:",
        "135editor",
        "class=",
    ):
        assert left_out not in cleaned, left_out
    text = html_to_text(cleaned)
    assert "民生实事进展" in text and "今年以来，示范县完成老旧小区改造 12 个。" in text
    assert '<img src="https://img.xiumi.us/xmi/ua/a.png" alt="改造后的小区">' in cleaned
    assert '<a href="https://www.gov.cn/" rel="noopener noreferrer">中国政府网</a>' in cleaned


def test_the_editor_saves_a_pasted_layout_cleaned(client, team, db_session):
    login(client, team.operator)
    client.post("/contents/new", data=_form(team, body=XIUMI_PASTE))
    content = _latest(db_session)
    assert "<section" not in content.body_html and "style=" not in content.body_html
    assert "老旧小区改造 12 个" in content.body_text


# ----------------------------------------------------------------------------- hits beside their fields


def test_check_shows_hits_under_their_field_with_a_jump_list(client, team):
    login(client, team.operator)
    form = _form(
        team, title=f"通知{ID_NUMBER}", body=f"<p>失主身份证号 <b>{ID_NUMBER}</b>，请领取。</p>", action="check"
    )
    html = client.post("/contents/new", data=form).get_data(as_text=True)
    jump = html[html.index('id="checks"') : html.index("</section>", html.index('id="checks"'))]
    assert jump.count('href="#finding-') == 2
    title_block = html[html.index('id="findings-title"') : html.index('id="summary"')]
    body_block = html[html.index('id="findings-body"') : html.index('id="media"')]
    assert 'id="finding-1"' in title_block and "应用建议：改为“" + MASKED in title_block
    assert 'id="finding-2"' in body_block and 'class="finding-block"' in body_block
    # the jump list comes first in the form, the hits directly under their fields
    assert html.index('id="checks"') < html.index('id="title"') < html.index('id="finding-1"')


def test_apply_fix_masks_the_id_in_the_body_and_checks_again(client, team, db_session):
    login(client, team.operator)
    body = f"<p>失主身份证号 <b>{ID_NUMBER}</b>，请领取。</p><p>再次：{ID_NUMBER}</p>"
    checked = client.post("/contents/new", data=_form(team, body=body, action="check")).get_data(as_text=True)
    keys = re.findall(r'name="fix" value="([^"]+)"', checked)
    assert len(keys) == 2
    fixed = client.post("/contents/new", data=_form(team, body=body, action="check", fix=keys[1].replace("&amp;", "&")))
    html = fixed.get_data(as_text=True)
    assert fixed.status_code == 200
    assert f"改为“{MASKED}”，并重新检查" in html
    textarea = html[html.index('<textarea id="body"') : html.index("</textarea>", html.index('<textarea id="body"'))]
    assert textarea.count(MASKED) == 1 and textarea.count(ID_NUMBER) == 1  # only the second one
    assert len(re.findall(r'name="fix" value="', html)) == 1  # checked again: one hit left
    assert _count(db_session) == 0  # 应用建议 does not save


def test_fix_of_only_offers_replacements():
    hit = {"field": "body", "start": 0, "end": 2, "text": "台湾总统", "rule": "serious_error:x"}
    assert (
        editor_fixes.fix_of({**hit, "suggestion": "台湾地区领导人", "message": "…应为“台湾地区领导人”"})
        == "台湾地区领导人"
    )
    assert editor_fixes.fix_of({**hit, "suggestion": "请删除或改写", "message": "疑似敏感词"}) is None
    assert editor_fixes.fix_of({**hit, "field": "attachment:0", "rule": "privacy.id18", "suggestion": "1**"}) is None
    assert editor_fixes.anchor_of("override:weibo:text") == "override_weibo"
    assert editor_fixes.anchor_of("body_link:0") == "body" and editor_fixes.anchor_of("platform:weibo") == "targets"


def test_a_stale_fix_changes_nothing(client, team):
    login(client, team.operator)
    response = client.post("/contents/new", data=_form(team, action="check", fix="0|18|body"))
    assert "该问题已不存在" in response.get_data(as_text=True)


# ----------------------------------------------------------------------------- counters and boxes


def test_counters_and_platform_boxes_follow_the_chosen_accounts(client, team):
    login(client, team.operator)
    html = client.post("/contents/new", data=_form(team, target_ids=[str(team.weibo.id)], action="check")).get_data(
        as_text=True
    )
    weibo = re.search(r'<div class="counter-box" data-platform="weibo"([^>]*)>', html).group(1)
    wechat = re.search(r'<div class="counter-box" data-platform="wechat"([^>]*)>', html).group(1)
    assert "hidden" not in weibo and "hidden" in wechat
    assert "微博正文（含原文链接，按微博规则计）" in html and "/ 140 字" in html
    assert "公众号标题" in html and "/ 32 字" in html and "头条号文章标题" in html and "5–30 字" in html


# ----------------------------------------------------------------------------- WeChat 群发 / 发布


def test_wechat_send_mode_in_the_editor(client, team, db_session):

    login(client, team.operator)
    page = client.get("/contents/new").get_data(as_text=True)
    assert f'name="send_mode_{team.wechat.id}"' in page and f'name="send_mode_{team.weibo.id}"' not in page
    assert "群发（推送给全部粉丝）" in page and "发布（不推送给粉丝）" in page
    assert re.search(r"群发额度（北京时间）：每天 \d+ 次，今日已用 0 次", page)
    client.post("/contents/new", data=_form(team, **{f"send_mode_{team.wechat.id}": "mass"}))
    content = _latest(db_session)
    assert send_modes.mode_by_account(content.id) == {team.wechat.id: "mass"}
    edit = client.get(f"/contents/{content.id}/edit").get_data(as_text=True)
    assert re.search(rf'name="send_mode_{team.wechat.id}" value="mass" checked', edit)
    # saving again unchanged records nothing new; switching back to 发布 is recorded
    client.post(f"/contents/{content.id}/edit", data=_form(team, **{f"send_mode_{team.wechat.id}": "mass"}))
    assert db_session.query(TargetSendMode).filter_by(content_id=content.id).count() == 1
    client.post(f"/contents/{content.id}/edit", data=_form(team, **{f"send_mode_{team.wechat.id}": "publish"}))
    assert send_modes.mode_by_account(content.id) == {team.wechat.id: "publish"}
    audits = db_session.query(AuditEntry).filter(AuditEntry.action == "content:send-mode").count()
    assert audits == 2


@pytest.mark.parametrize("mode", ["broadcast"])
def test_a_wrong_send_mode_saves_nothing(client, team, db_session, mode):
    login(client, team.operator)
    response = client.post("/contents/new", data=_form(team, **{f"send_mode_{team.wechat.id}": mode}))
    assert response.status_code == 422 and "发送方式只能是" in response.get_data(as_text=True)
    assert _count(db_session) == 0
    assert service is not None


def test_an_inline_image_is_shown_to_whoever_can_see_its_content(client, team, db_session, media_dir, make_content):

    sha = media.save(PNG + b"inline")
    url = f"/contents/uploads/{sha}"
    login(client, team.r1)
    assert client.get(url).status_code == 404  # not uploaded by this reviewer, in no content yet
    item = {"name": "图.png", "content_type": "image/png", "sha256": sha, "alt": "现场"}
    make_content(body=f'<p>正文</p><p><img src="{url}" alt="现场"></p>', media=[item])
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "image/png"


# ----------------------------------------------------------------------------- live preview


def test_live_preview_renders_the_typed_text_per_platform_and_saves_nothing(
    client, team, db_session, make_content, make_user, make_unit
):
    login(client, team.operator)
    before = (_count(db_session), db_session.query(AuditEntry).count())
    typed = _form(team, title="正在输入的标题", body="<p>正在输入的正文，尚未保存。</p>", override_weibo="微博专用文字")
    response = client.post("/contents/preview", data=typed)
    assert response.status_code == 200, response.json
    assert response.json["platforms"] == ["wechat", "weibo"]
    html = response.json["html"]
    assert "随输入更新，尚未保存" in html and 'data-platform="weibo"' in html and 'data-platform="wechat"' in html
    assert "微博专用文字" in html and "正在输入的标题" in html
    assert (_count(db_session), db_session.query(AuditEntry).count()) == before  # nothing saved or audited

    # a saved draft: previewed as typed, not as stored; the draft itself is unchanged
    draft = make_content()
    db_session.commit()
    edited = client.post(
        "/contents/preview",
        data=_form(team, content_id=str(draft.id), title="改了但没保存", target_ids=[str(team.weibo.id)]),
    )
    assert edited.status_code == 200 and edited.json["platforms"] == ["weibo"]
    assert "改了但没保存" in edited.json["html"] and 'data-platform="wechat"' not in edited.json["html"]
    db_session.refresh(draft)
    assert draft.title == "示范县召开秋季安全生产工作会议" and draft.version == 1

    # no account chosen: nothing to show, but no error
    empty = client.post("/contents/preview", data=_form(team, target_ids=[]))
    assert empty.status_code == 200 and empty.json["platforms"] == [] and "data-platform" not in empty.json["html"]


def test_live_preview_refusals_are_json(client, team, db_session, make_content, make_user, make_unit):
    draft = make_content()
    db_session.commit()
    login(client, team.r1)  # a reviewer does not draft
    refused = client.post("/contents/preview", data=_form(team))
    assert refused.status_code == 403 and refused.json["error"]["code"] == "wrong_role"
    elsewhere = make_user(Role.operator, unit=make_unit("别的县融媒体中心"))
    login(client, elsewhere)
    hidden = client.post("/contents/preview", data=_form(team, content_id=str(draft.id)))
    assert hidden.status_code == 404 and "error" in hidden.json
    login(client, team.operator)
    bad = client.post("/contents/preview", data=_form(team, content_id="abc"))
    assert bad.status_code == 422 and "content_id" in bad.json["error"]["details"]
    bad_time = client.post("/contents/preview", data=_form(team, publish_at="明天上午"))
    assert bad_time.status_code == 422 and "error" in bad_time.json


def test_editor_page_has_the_live_preview_box(client, team):
    login(client, team.operator)
    html = client.get("/contents/new").get_data(as_text=True)
    assert 'id="live-preview" data-preview-url="/contents/preview"' in html
    assert "随输入更新，不会保存" in html


def test_a_new_drafts_preview_shows_the_files_added_before_it_is_saved(
    client, team, db_session, media_dir, make_user, make_unit
):
    """检查 on a draft not saved yet stores its new image; the live preview then shows that image
    for each platform (from the uploader's own address) instead of claiming there is none."""
    login(client, team.operator)
    data = _form(team, action="check", new_media_alt="供暖热线宣传图")
    data["new_media"] = [(io.BytesIO(PNG + b"heat"), "热线.png", "image/png")]
    checked = client.post("/contents/new", data=data, content_type="multipart/form-data")
    assert checked.status_code in (200, 422) and _count(db_session) == 0  # 检查 saves no draft
    page = checked.get_data(as_text=True)
    sha = re.search(r'name="media_0_sha256" value="([0-9a-f]{64})"', page).group(1)
    files = page.split("已添加的图片与附件", 1)[1].split("</table>", 1)[0]
    assert f'<img src="/contents/uploads/{sha}"' in files and "<small>图片</small>" in files  # what it is, seen
    shown = re.sub(r"<[^>]+>", " ", files)  # the text one reads, without the hidden fields
    assert "image/png" not in shown and sha[:12] not in shown  # no raw type or fingerprint
    typed = _form(team, media_count="1", media_0_sha256=sha, media_0_name="热线.png")
    typed.update({"media_0_content_type": "image/png", "media_0_role": "image", "media_0_alt": "供暖热线宣传图"})
    preview = client.post("/contents/preview", data=typed)
    assert preview.status_code == 200, preview.json
    html = preview.json["html"]
    wechat = html.split('data-platform="wechat"', 1)[1].split("</article>", 1)[0]
    assert f'src="/contents/uploads/{sha}"' in wechat and "必须有封面图" not in wechat
    assert "保存后显示" not in html
    assert "发送方式：" not in html  # the 发布/群发 choice is the editor's own field above, as typed
    assert client.get(f"/contents/uploads/{sha}").status_code == 200
    client.post("/logout")
    login(client, make_user(Role.operator, unit=make_unit("别的县融媒体中心")))
    assert client.get(f"/contents/uploads/{sha}").status_code == 404  # only its uploader, until saved
