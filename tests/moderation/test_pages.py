"""The pages: contents list, editor with inline findings, queue, review with diff and decisions."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from auth.models import Role
from common.db import utcnow
from moderation import review, service
from moderation.models import Content, ContentStatus
from registry.models import AccountStatus
from tests.conftest import PASSWORD
from tests.moderation.conftest import CLEAN_BODY, ID_NUMBER, MOBILE


def login(client, user):
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _form(team, **extra):
    data = {
        "title": "示范县召开秋季安全生产工作会议",
        "body": CLEAN_BODY,
        "summary": "",
        "disclosure": "active",
        "disclosure_reason": "",
        "kind": "news",
        "policy_id": "",
        "target_ids": [str(team.weibo.id), str(team.wechat.id)],
        "override_weibo": "",
        "publish_at": "",
        "media_count": "0",
        "action": "save",
    }
    data.update(extra)
    return data


def _no_inline_script(html):
    return all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))


def test_nav_and_contents_list(client, team, make_content):
    content = make_content()
    login(client, team.operator)
    home = client.get("/").get_data(as_text=True)
    assert "/contents" in home and ">稿件<" in home
    page = client.get("/contents")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert content.title in html and "新建稿件" in html and "草稿" in html
    assert 'lang="zh-CN"' in html and _no_inline_script(html)
    assert client.get("/contents?status=review_1").get_data(as_text=True).count(content.title) == 0


def test_editor_creates_and_shows_accounts_by_platform(client, team, db_session, active_account):

    active_account(team.unit, "douyin", status=AccountStatus.suspended, name="已暂停的抖音号")
    login(client, team.operator)
    page = client.get("/contents/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "公开属性" in html and "主动公开" in html and 'type="datetime-local"' in html
    assert team.weibo.name in html and "已暂停的抖音号" not in html
    assert "微博" in html and "微信公众号" in html
    assert 'src="/static/js/editor.js"' in html and _no_inline_script(html)

    response = client.post("/contents/new", data=_form(team, publish_at="2030-01-02T09:30", override_weibo="微博版"))
    assert response.status_code == 302
    content = db_session.query(Content).order_by(Content.id.desc()).first()
    assert content.title == "示范县召开秋季安全生产工作会议"
    assert content.publish_at.isoformat() == "2030-01-02T01:30:00"  # 北京时间 → UTC
    assert content.overrides == {"weibo": {"text": "微博版"}}
    edit = client.get(f"/contents/{content.id}/edit").get_data(as_text=True)
    assert 'value="2030-01-02T09:30"' in edit and "微博版" in edit


def test_check_button_marks_findings_inline_without_saving(client, team, db_session):
    login(client, team.operator)
    before = db_session.query(Content).count()
    body = f"申请人身份证号{ID_NUMBER}，联系电话{MOBILE}。"
    response = client.post("/contents/new", data=_form(team, body=body, action="check"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert db_session.query(Content).count() == before
    assert '<mark class="finding-block" title="疑似身份证号码' in html
    assert f">{ID_NUMBER}</mark>" in html
    assert '<mark class="finding-warn"' in html and f">{MOBILE}</mark>" in html
    assert "建议：110***********4514" in html
    assert 'href="#finding-1"' in html and 'id="finding-1"' in html
    assert body in html  # the form keeps what was typed


def test_non_disclosure_without_reason_is_refused_on_the_page(client, team, db_session):
    login(client, team.operator)
    response = client.post("/contents/new", data=_form(team, disclosure="withheld"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "必须填写理由" in html and 'aria-invalid="true"' in html


def test_submit_from_editor_blocked_then_fixed(client, team, db_session):
    login(client, team.operator)
    response = client.post("/contents/new", data=_form(team, body=f"身份证号{ID_NUMBER}", action="submit"))
    content = db_session.query(Content).order_by(Content.id.desc()).first()
    assert content.status is ContentStatus.draft  # saved as a draft, not submitted
    # Post/Redirect/Get: the refusal and its findings are shown on the draft's edit page
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/contents/{content.id}/edit")
    html = client.get(f"/contents/{content.id}/edit").get_data(as_text=True)
    assert "不能提交审核" in html and 'class="finding-block"' in html

    fixed = client.post(f"/contents/{content.id}/edit", data=_form(team, body=CLEAN_BODY, action="submit"))
    assert fixed.status_code == 302
    db_session.refresh(content)
    assert content.status is ContentStatus.review_1
    detail = client.get(fixed.headers["Location"]).get_data(as_text=True)
    assert "待初审" in detail and "已提交审核" in detail


def test_editor_uploads_media_with_alt(client, team, db_session, media_dir):
    login(client, team.operator)
    data = _form(team)
    data["new_media"] = (io.BytesIO(b"\x89PNG\r\n\x1a\nfake"), "现场.png", "image/png")
    data["new_media_alt"] = "会议现场"
    response = client.post("/contents/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    content = db_session.query(Content).order_by(Content.id.desc()).first()
    assert content.media[0]["name"] == "现场.png" and content.media[0]["alt"] == "会议现场"
    edit = client.get(f"/contents/{content.id}/edit").get_data(as_text=True)
    assert "现场.png" in edit and 'value="会议现场"' in edit
    removed = _form(team, media_count="1", media_0_sha256=content.media[0]["sha256"], media_0_remove="1")
    client.post(f"/contents/{content.id}/edit", data=removed)
    db_session.refresh(content)
    assert content.media == []


def test_queue_page_oldest_first_with_overdue_badge(client, team, make_content, db_session):
    older = make_content(title="较早的稿件")
    newer = make_content(title="较晚的稿件")
    review.submit(newer, team.operator)
    review.submit(older, team.operator)
    older.stage_entered_at = utcnow() - timedelta(hours=40)
    db_session.commit()
    login(client, team.r1)
    home = client.get("/").get_data(as_text=True)
    assert ">审核<" in home
    html = client.get("/review").get_data(as_text=True)
    assert html.index("较早的稿件") < html.index("较晚的稿件")
    assert html.count(">超时<") == 1
    assert "初审" in html and _no_inline_script(html)
    # the wait as a person says it: not "0.0 小时" for one just submitted, days once past a day
    cells = [td for td in re.findall(r"<td>([^<]*)", html) if "小时" in td]
    assert any(td.startswith("1 天 16 小时") for td in cells), cells
    assert any(td.startswith("不到 1 小时") for td in cells) and not any("0.0 小时" in td for td in cells), cells


def test_queue_page_needs_a_reviewer_role(client, team):
    login(client, team.operator)
    response = client.get("/review")
    assert response.status_code == 403
    assert "没有审核角色" in response.get_data(as_text=True)


def test_review_page_approve_and_diff_after_edit(client, team, make_content, db_session):
    content = make_content()
    review.submit(content, team.operator)
    service.update_content(
        content, {"body": "<p>示范县召开秋季安全生产工作会议，部署冬季防汛等重点工作。</p>"}, team.operator
    )
    review.submit(content, team.operator)
    db_session.commit()
    login(client, team.r1)
    page = client.get(f"/review/{content.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "与第 1 版的差异" in html
    assert '<del class="diff-del">火</del>' in html and '<ins class="diff-ins">汛</ins>' in html
    side = client.get(f"/review/{content.id}?view=side").get_data(as_text=True)
    assert "diff-side" in side and '<ins class="diff-ins">汛</ins>' in side

    response = client.post(
        f"/review/{content.id}", data={"decision": "approve", "stage": "1", "version": str(content.version)}
    )
    assert response.status_code == 302
    db_session.refresh(content)
    assert content.status is ContentStatus.review_2
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "初审通过" in follow


def test_author_sees_a_clear_refusal(client, team, make_user, make_content, db_session):
    author = make_user(Role.operator, Role.reviewer_1, unit=team.unit)
    content = make_content(actor=author)
    review.submit(content, author)
    db_session.commit()
    login(client, author)
    html = client.get(f"/review/{content.id}").get_data(as_text=True)
    assert "您不能审核这篇稿件" in html and "不能审核自己的稿件" in html
    assert 'name="decision" value="approve"' not in html
    response = client.post(f"/review/{content.id}", data={"decision": "approve", "stage": "1"})
    assert response.status_code == 403
    assert "不能审核自己的稿件" in response.get_data(as_text=True)
    db_session.refresh(content)
    assert content.status is ContentStatus.review_1


def test_a_stale_review_page_is_refused_readably(client, team, make_content, db_session):
    """The author edits while a reviewer has the page open: the old decision is refused, with
    a message and no internal codes (status names, role codes) and no state change."""
    content = make_content()
    review.submit(content, team.operator)
    db_session.commit()
    login(client, team.r1)
    stale_version = str(content.version)
    service.update_content(content, {"body": "<p>示范县召开秋季安全生产工作会议，部署冬季防汛。</p>"}, team.operator)
    review.submit(content, team.operator)
    db_session.commit()
    response = client.post(
        f"/review/{content.id}", data={"decision": "approve", "stage": "1", "version": stale_version}
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert f"稿件已更新为第 {content.version} 版，请刷新后重新审核" in html
    assert "<li>2</li>" not in html
    wrong_stage = client.post(f"/review/{content.id}", data={"decision": "approve", "stage": "2", "version": "2"})
    assert wrong_stage.status_code == 409
    html = wrong_stage.get_data(as_text=True)
    assert "稿件当前处于初审环节，不是复审" in html and "<li>1</li>" not in html
    db_session.refresh(content)
    assert content.status is ContentStatus.review_1
    assert [r.decision.value for r in service.reviews_of(content)] == ["submit", "submit"]  # v1 and v2


def test_reject_needs_comment_on_the_page(client, team, make_content, db_session):
    content = make_content()
    review.submit(content, team.operator)
    db_session.commit()
    login(client, team.r1)
    empty = client.post(f"/review/{content.id}", data={"decision": "reject", "comment": "", "stage": "1"})
    assert empty.status_code == 422
    assert "必须填写退回意见" in empty.get_data(as_text=True)
    done = client.post(f"/review/{content.id}", data={"decision": "reject", "comment": "请补充会议时间", "stage": "1"})
    assert done.status_code == 302
    db_session.refresh(content)
    assert content.status is ContentStatus.rejected
    login(client, team.operator)
    detail = client.get(f"/contents/{content.id}").get_data(as_text=True)
    assert "请补充会议时间" in detail and "已退回" in detail and "提交审核" in detail


def test_the_reason_for_a_rejection_is_where_the_author_fixes_the_post(client, team, make_content, db_session):
    """The reviewer's 退回意见 shows at the top of the post's page, in the editor and in 待办 — not
    only in the review record at the bottom — until the author submits again."""
    content = make_content()
    review.submit(content, team.operator)
    review.advance(content, "reject", team.r1, comment="请写明开放到几点，周一是否闭馆")
    db_session.commit()
    login(client, team.operator)
    for path in (f"/contents/{content.id}", f"/contents/{content.id}/edit", "/todo/"):
        html = client.get(path).get_data(as_text=True)
        assert "初审退回" in html and "请写明开放到几点，周一是否闭馆" in html, path
    detail = client.get(f"/contents/{content.id}").get_data(as_text=True)
    assert detail.index('id="rejection"') < detail.index("审核记录")  # above the content, not at the bottom
    review.submit(content, team.operator)  # answered: the note goes, the record stays
    db_session.commit()
    detail = client.get(f"/contents/{content.id}").get_data(as_text=True)
    assert 'id="rejection"' not in detail and "请写明开放到几点，周一是否闭馆" in detail
    # the reviewer of the new version sees what was asked, above the changes that answer it
    login(client, team.r1)
    page = client.get(f"/review/{content.id}").get_data(as_text=True)
    asked = page.split('id="last-rejection"', 1)[1].split("</p>", 1)[0]
    assert "上次退回意见" in asked and "第 1 版，初审" in asked and "请写明开放到几点，周一是否闭馆" in asked
    assert page.index('id="last-rejection"') < page.index("与第 1 版的差异")


def test_stage_two_page_shows_warning_acknowledgement(client, team, make_content, db_session):
    content = make_content(body=f"<p>咨询电话 {MOBILE}</p>")
    review.submit(content, team.operator)
    review.advance(content, "approve_1", team.r1)
    db_session.commit()
    login(client, team.r2)
    html = client.get(f"/review/{content.id}").get_data(as_text=True)
    assert 'name="acknowledge_warnings"' in html and "finding-warn" in html
    refused = client.post(f"/review/{content.id}", data={"decision": "approve", "stage": "2"})
    assert refused.status_code == 422
    ok = client.post(f"/review/{content.id}", data={"decision": "approve", "stage": "2", "acknowledge_warnings": "1"})
    assert ok.status_code == 302
    db_session.refresh(content)
    assert content.status is ContentStatus.review_3


def test_detail_page_history_and_versions(client, team, make_content, approve_all, db_session):
    content = make_content()
    review.submit(content, team.operator)
    approve_all(content, stages=(1,))
    service.update_content(content, {"title": "修改后的标题"}, team.operator)
    db_session.commit()
    login(client, team.operator)
    html = client.get(f"/contents/{content.id}").get_data(as_text=True)
    assert "审核记录" in html and "已作废" in html
    assert "第 2 版（草稿，未提交）" in html
    # the submission is part of the history, with who submitted it
    history = html[html.index('id="history-title"') :]
    assert history.index('data-decision="submit"') < history.index('data-decision="approve"')
    assert "提交审核" in history
    diff = client.get(f"/contents/{content.id}/versions/2/diff").get_data(as_text=True)
    assert '<ins class="diff-ins">' in diff


def test_other_units_pages_answer_404(client, team, make_unit, make_user, make_content, db_session):
    content = make_content()
    db_session.commit()
    outsider = make_user(Role.operator, Role.reviewer_1, unit=make_unit("乙县"))
    login(client, outsider)
    assert client.get(f"/contents/{content.id}").status_code == 404
    assert client.get(f"/contents/{content.id}/edit").status_code == 404
    assert client.get(f"/review/{content.id}").status_code == 404
    assert client.post(f"/review/{content.id}", data={"decision": "approve"}).status_code == 404
    assert content.title not in client.get("/contents").get_data(as_text=True)


def test_reviewer_cannot_open_the_editor(client, team, make_content):
    content = make_content()
    login(client, team.r1)
    assert client.get("/contents/new").status_code == 403
    assert client.get(f"/contents/{content.id}/edit").status_code == 403
