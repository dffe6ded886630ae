"""The three reviews (三审) state machine, content versions and hashes, at the service level."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role, User, UserRole
from common import media
from common.db import utcnow
from common.errors import Conflict, Forbidden, Invalid, NotFound
from moderation import diff as diffing
from moderation import review, service
from moderation.checks import make_finding
from moderation.models import CheckReport, ContentStatus, ContentVersion, Review, ReviewDecision
from moderation.sanitize import html_to_text, sanitize_html
from registry.models import AccountStatus
from tests.moderation.conftest import ID_NUMBER, MOBILE


def _reviews(db_session, content):
    """The reviewers' decisions (approve/reject); the submit rows are tested on their own."""
    return db_session.scalars(
        sa.select(Review)
        .where(Review.content_id == content.id, Review.decision != ReviewDecision.submit)
        .order_by(Review.id)
    ).all()


def _submits(db_session, content):
    return db_session.scalars(
        sa.select(Review)
        .where(Review.content_id == content.id, Review.decision == ReviewDecision.submit)
        .order_by(Review.id)
    ).all()


def _audit_actions(db_session, content):
    db_session.commit()  # audit entries are chained when the transaction commits
    return db_session.scalars(
        sa.select(AuditEntry.action)
        .where(AuditEntry.object_type == "contents", AuditEntry.object_id == str(content.id))
        .order_by(AuditEntry.id)
    ).all()


def test_submit_writes_a_review_row_and_audit_entry(db_session, team, make_content, approve_all):
    content = make_content()
    review.submit(content, team.operator)
    [row] = _submits(db_session, content)
    assert (row.version, row.stage, row.reviewer_id, row.decision) == (1, 0, team.operator.id, ReviewDecision.submit)
    assert row.content_hash == content.content_hash == service.content_hash(content)
    assert row.comment is None and not row.voided
    db_session.commit()  # audit entries are chained when the transaction commits
    entry = db_session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "content:submit", AuditEntry.object_id == str(content.id))
    ).one()
    assert entry.after["review_id"] == row.id and entry.actor_id == team.operator.id
    # the history as the API shows it
    [dumped] = service.content_dict(content)["reviews"]
    assert (dumped["decision"], dumped["decision_label"], dumped["stage_label"]) == ("submit", "提交审核", "提交")

    # rejected, resubmitted: a second submit row for version 2; an edit voids approvals, not submissions
    approve_all(content, stages=(1,))
    review.advance(content, "reject", team.r2, comment="数据需核实")
    review.submit(content, team.operator)
    assert [(r.version, r.voided) for r in _submits(db_session, content)] == [(1, False), (2, False)]
    approve_all(content, stages=(1,))
    service.update_content(content, {"title": "示范县召开冬季安全生产工作会议"}, team.operator)
    assert [r.voided for r in _submits(db_session, content)] == [False, False]
    assert all(r.voided for r in _reviews(db_session, content) if r.decision is ReviewDecision.approve)


def test_a_refused_submission_writes_no_review_row(db_session, team, make_content):
    content = make_content(body=f"<p>身份证号 {ID_NUMBER}</p>")
    with pytest.raises(Invalid):
        review.submit(content, team.operator)
    assert _submits(db_session, content) == []
    with pytest.raises(Forbidden):
        review.submit(make_content(), team.r1)  # not an operator
    assert db_session.scalar(sa.select(sa.func.count(Review.id))) == 0


def test_the_api_refuses_submit_as_a_review_decision(api_as, team, make_content):
    content = make_content()
    review.submit(content, team.operator)
    response = api_as(team.r1).post(f"/api/v1/contents/{content.id}/reviews", json={"decision": "submit"})
    assert response.status_code == 422
    assert [r.decision for r in content.reviews] == [ReviewDecision.submit]


def test_full_path_through_three_stages(db_session, team, make_content, approve_all):
    content = make_content()
    review.submit(content, team.operator)
    assert content.status is ContentStatus.review_1
    assert content.stage_entered_at is not None
    snapshot = db_session.scalar(sa.select(ContentVersion).where(ContentVersion.content_id == content.id))
    assert snapshot.version == 1 and snapshot.content_hash == service.content_hash(content)
    assert db_session.scalar(sa.select(CheckReport).where(CheckReport.content_id == content.id)).version == 1

    review.advance(content, "approve_1", team.r1)
    assert content.status is ContentStatus.review_2
    review.advance(content, "approve_2", team.r2)
    assert content.status is ContentStatus.review_3
    review.advance(content, "approve_3", team.r3, comment="同意发布")
    assert content.status is ContentStatus.approved
    assert content.approved_version == 1
    assert content.approved_hash == service.content_hash(content)
    rows = _reviews(db_session, content)
    assert [(r.stage, r.reviewer_id, r.decision.value) for r in rows] == [
        (1, team.r1.id, "approve"),
        (2, team.r2.id, "approve"),
        (3, team.r3.id, "approve"),
    ]
    assert {r.content_hash for r in rows} == {content.approved_hash}
    assert _audit_actions(db_session, content) == [
        "content:create",
        "content:submit",
        "content:review:approve_1",
        "content:review:approve_2",
        "content:review:approve_3",
    ]


def test_future_publish_at_becomes_scheduled(db_session, team, make_content, approve_all):
    content = make_content(publish_at=utcnow() + timedelta(days=1))
    review.submit(content, team.operator)
    approve_all(content)
    assert content.status is ContentStatus.scheduled


def test_author_cannot_review(db_session, team, make_user, make_content):
    author = make_user(Role.operator, Role.reviewer_1, unit=team.unit)
    content = make_content(actor=author)
    review.submit(content, author)
    with pytest.raises(Forbidden) as err:
        review.advance(content, "approve_1", author)
    assert err.value.extra_data["code"] == "author_cannot_review"
    assert "不能审核自己的稿件" in err.value.message
    assert content.status is ContentStatus.review_1
    assert _reviews(db_session, content) == []


def test_one_person_cannot_approve_two_stages(db_session, team, make_user, make_content):
    both = make_user(Role.reviewer_1, Role.reviewer_2, unit=team.unit)
    content = make_content()
    review.submit(content, team.operator)
    review.advance(content, "approve_1", both)
    with pytest.raises(Forbidden) as err:
        review.advance(content, "approve_2", both)
    assert err.value.extra_data["code"] == "same_reviewer"
    assert content.status is ContentStatus.review_2
    assert len(_reviews(db_session, content)) == 1
    review.advance(content, "approve_2", team.r2)  # someone else may
    assert content.status is ContentStatus.review_3


def test_stage_role_is_enforced_and_state_checked(db_session, team, make_content):
    content = make_content()
    with pytest.raises(Conflict):  # not submitted yet
        review.advance(content, "approve_1", team.r1)
    review.submit(content, team.operator)
    with pytest.raises(Forbidden) as err:  # a 复审 reviewer cannot do 初审
        review.review(content, team.r2, "approve")
    assert err.value.extra_data["code"] == "wrong_role"
    with pytest.raises(Forbidden):
        review.advance(content, "approve_2", team.r1)  # wrong role for stage 2
    with pytest.raises(Conflict):
        review.advance(content, "approve_2", team.r2)  # right role, wrong state
    with pytest.raises(Forbidden):
        review.submit(content, team.r1)  # reviewers do not submit
    with pytest.raises(Invalid):
        review.advance(content, "publish", team.r1)
    assert content.status is ContentStatus.review_1
    assert _reviews(db_session, content) == []


def test_edit_after_stage_two_voids_approvals_and_needs_all_three_again(db_session, team, make_content, approve_all):
    content = make_content()
    review.submit(content, team.operator)
    approve_all(content, stages=(1, 2))
    first_hash = content.content_hash
    service.update_content(content, {"title": "示范县召开冬季安全生产工作会议"}, team.operator)
    assert content.status is ContentStatus.draft
    assert content.version == 2
    assert content.content_hash != first_hash
    rows = _reviews(db_session, content)
    assert len(rows) == 2 and all(r.voided for r in rows)
    assert "content:edit" in _audit_actions(db_session, content)

    review.submit(content, team.operator)
    assert content.status is ContentStatus.review_1 and content.version == 2
    with pytest.raises(Conflict):
        review.advance(content, "approve_3", team.r3)  # earlier stages are needed again
    approve_all(content)  # the same people may review the new version
    assert content.status is ContentStatus.approved
    assert content.approved_version == 2
    assert content.approved_hash == service.content_hash(content)
    live = [r for r in _reviews(db_session, content) if not r.voided]
    assert [(r.version, r.stage) for r in live] == [(2, 1), (2, 2), (2, 3)]


def test_edit_of_approved_content_returns_to_draft(db_session, team, make_content, approve_all):
    content = make_content()
    review.submit(content, team.operator)
    approve_all(content)
    approved_hash = content.approved_hash
    assert approved_hash == service.content_hash(content)
    service.update_content(content, {"body": "<p>会议强调，要压紧压实安全生产责任。</p>"}, team.operator)
    assert service.content_hash(content) != approved_hash
    assert content.status is ContentStatus.draft
    assert content.approved_hash is None and content.approved_version is None
    assert all(r.voided for r in _reviews(db_session, content))


def test_every_published_field_changes_the_hash(db_session, team, make_content, active_account):
    content = make_content()
    seen = {service.content_hash(content)}
    other = active_account(team.unit, "douyin")
    edits = [
        {"title": "新的标题"},
        {"body": "新的正文"},
        {"summary": "新的摘要"},
        {"target_ids": [team.weibo.id]},
        {"target_ids": [team.weibo.id, other.id]},
        {"overrides": {"weibo": {"text": "微博短文"}}},
        {"media": [{"name": "a.png", "content_type": "image/png", "sha256": "a" * 64, "alt": "现场"}]},
        {"kind": "policy"},
    ]
    for edit in edits:
        service.update_content(content, edit, team.operator)
        digest = service.content_hash(content)
        assert digest not in seen, edit
        seen.add(digest)
    assert content.content_hash == service.content_hash(content)


def test_editing_a_draft_in_place_until_submitted(db_session, team, make_content):
    content = make_content()
    service.update_content(content, {"title": "改过的标题"}, team.operator)
    assert content.version == 1  # never submitted: edited in place
    review.submit(content, team.operator)
    service.update_content(content, {"title": "提交后再改的标题"}, team.operator)
    assert content.version == 2 and content.status is ContentStatus.draft
    before = content.version
    service.update_content(content, {"title": "提交后再改的标题"}, team.operator)  # no change
    assert content.version == before


def test_rejection_needs_a_comment_and_voids_approvals(db_session, team, make_content):
    content = make_content()
    review.submit(content, team.operator)
    review.advance(content, "approve_1", team.r1)
    with pytest.raises(Invalid) as err:
        review.review(content, team.r2, "reject", comment="  ")
    assert "comment" in err.value.detail
    assert content.status is ContentStatus.review_2
    assert len(_reviews(db_session, content)) == 1

    review.review(content, team.r2, "reject", comment="第二段数据与统计公报不符，请核实")
    assert content.status is ContentStatus.rejected
    rows = _reviews(db_session, content)
    assert rows[0].voided and rows[1].decision.value == "reject"
    assert rows[1].comment == "第二段数据与统计公报不符，请核实"
    assert "content:review:reject" in _audit_actions(db_session, content)

    # Back to the author: resubmitting starts a new version (each version is reviewed once).
    review.submit(content, team.operator)
    assert content.status is ContentStatus.review_1 and content.version == 2
    review.advance(content, "approve_1", team.r1)
    assert content.status is ContentStatus.review_2


def test_only_active_disclosure_may_be_submitted(db_session, team, make_content):
    content = make_content(disclosure="on_request", disclosure_reason="涉及第三方商业信息，依申请公开")
    with pytest.raises(Invalid) as err:
        review.submit(content, team.operator)
    assert err.value.extra_data["code"] == "disclosure_not_public"
    assert "主动公开" in err.value.message
    assert content.status is ContentStatus.draft
    assert db_session.scalar(sa.select(sa.func.count(ContentVersion.id))) == 0


def test_non_disclosure_without_reason_is_refused(db_session, team, make_content):
    with pytest.raises(Invalid) as err:
        make_content(disclosure="withheld")
    assert "disclosure_reason" in err.value.detail
    content = make_content()
    with pytest.raises(Invalid):
        service.update_content(content, {"disclosure": "on_request"}, team.operator)
    assert content.disclosure.value == "active"


def test_blocked_submission_lists_its_findings(db_session, team, make_content):
    body = f"<p>经核实，申请人张某（身份证号{ID_NUMBER}）符合条件。</p>"
    content = make_content(body=body)
    with pytest.raises(Invalid) as err:
        review.submit(content, team.operator)
    assert err.value.status_code == 422
    assert err.value.extra_data["code"] == "checks_blocked"
    findings = err.value.detail["findings"]
    hit = next(f for f in findings if f["rule"] == "privacy.id18")
    assert hit["severity"] == "block" and hit["field"] == "body" and hit["text"] == ID_NUMBER
    assert content.body_text[hit["start"] : hit["end"]] == ID_NUMBER
    assert hit["suggestion"] and hit["message"]
    assert content.status is ContentStatus.draft and content.version == 1
    assert db_session.scalar(sa.select(sa.func.count(CheckReport.id))) == 0


def test_checks_read_alt_texts_attachments_and_overrides(db_session, team, make_content, media_dir):

    sha = media.save(b"%PDF-1.4 fake")
    content = make_content(
        media=[
            {"name": "名单.pdf", "content_type": "application/pdf", "sha256": sha, "text": f"身份证 {ID_NUMBER}"},
        ]
    )
    with pytest.raises(Invalid) as err:
        review.submit(content, team.operator)
    fields = {f["field"] for f in err.value.detail["findings"] if f["severity"] == "block"}
    assert fields == {"attachment:0"}

    service.update_content(content, {"media": [], "overrides": {"weibo": {"text": f"联系 {ID_NUMBER}"}}}, team.operator)
    with pytest.raises(Invalid) as err:
        review.submit(content, team.operator)
    assert {f["field"] for f in err.value.detail["findings"]} == {"override:weibo:text"}

    service.update_content(
        content,
        {"overrides": {}, "body": f'<p>现场</p><img src="https://www.gov.cn/a.png" alt="{ID_NUMBER}">'},
        team.operator,
    )
    with pytest.raises(Invalid) as err:
        review.submit(content, team.operator)
    assert {f["field"] for f in err.value.detail["findings"]} == {"body_image_alt:0"}


def test_links_hidden_in_the_body_markup_are_checked(db_session, team, make_content):
    content = make_content(body='<p>详见<a href="https://item.taobao.com/item.htm?id=1">这里</a></p>')
    assert "taobao" not in content.body_text
    with pytest.raises(Invalid) as err:
        review.submit(content, team.operator)
    hit = err.value.detail["findings"][0]
    assert hit["field"] == "body_link:0" and hit["kind"] == "link" and hit["severity"] == "block"


def test_missing_media_file_blocks(db_session, team, make_content, media_dir):
    content = make_content(
        media=[{"name": "cover.png", "content_type": "image/png", "sha256": "b" * 64, "alt": "封面"}]
    )
    with pytest.raises(Invalid) as err:
        review.submit(content, team.operator)
    assert err.value.detail["findings"][0]["rule"] == "media.missing"


def test_targets_of_other_units_or_inactive_accounts_are_refused(db_session, team, make_unit, active_account):
    other_unit = make_unit("其他县人民政府")
    foreign = active_account(other_unit, "weibo")
    suspended = active_account(team.unit, "douyin", status=AccountStatus.suspended)
    closing = active_account(team.unit, "toutiao", status=AccountStatus.closing)
    kuaishou = active_account(team.unit, "kuaishou")
    data = {
        "title": "标题",
        "body": "正文",
        "target_ids": [team.weibo.id, foreign.id, suspended.id, closing.id, kuaishou.id, 999_999],
    }
    with pytest.raises(Invalid) as err:
        service.create_content(data, team.operator)
    assert err.value.extra_data["code"] == "invalid_targets"
    reasons = err.value.detail["target_ids"]
    assert set(reasons) == {str(foreign.id), str(suspended.id), str(closing.id), str(kuaishou.id), "999999"}
    assert "不属于本单位" in reasons[str(foreign.id)] and "不属于本单位" in reasons["999999"]
    assert "已暂停" in reasons[str(suspended.id)]
    assert "停更公告期" in reasons[str(closing.id)]
    assert "暂不支持发布" in reasons[str(kuaishou.id)]


def test_sub_unit_accounts_may_be_targets(db_session, team, make_unit, active_account, make_content):
    town = make_unit("审核测试镇", parent=team.unit)
    town_account = active_account(town, "wechat")
    content = make_content(target_ids=[team.weibo.id, town_account.id])
    assert {a.id for a in content.targets} == {team.weibo.id, town_account.id}


def test_account_suspended_after_saving_is_refused_at_submit(db_session, team, make_content):
    content = make_content()
    team.weibo.status = AccountStatus.suspended
    db_session.flush()
    with pytest.raises(Invalid) as err:
        review.submit(content, team.operator)
    assert str(team.weibo.id) in err.value.detail["target_ids"]
    assert content.status is ContentStatus.draft


def test_submit_needs_a_target(db_session, team, make_content):
    content = make_content(target_ids=[])
    with pytest.raises(Invalid) as err:
        review.submit(content, team.operator)
    assert "target_ids" in err.value.detail


def test_stage_two_must_acknowledge_warnings(db_session, team, make_content):
    content = make_content(body=f"<p>咨询电话：{MOBILE}</p>")
    review.submit(content, team.operator)
    review.advance(content, "approve_1", team.r1)  # stage 1 needs no acknowledgement
    with pytest.raises(Invalid) as err:
        review.review(content, team.r2, "approve")
    assert err.value.extra_data["code"] == "warnings_not_acknowledged"
    assert err.value.detail["findings"][0]["rule"] == "privacy.mobile"
    assert content.status is ContentStatus.review_2
    review.review(content, team.r2, "approve", acknowledge_warnings=True)
    assert content.status is ContentStatus.review_3 and content.warnings_acknowledged


def test_rejecting_at_stage_two_needs_no_acknowledgement(db_session, team, make_content):
    content = make_content(body=f"<p>咨询电话：{MOBILE}</p>")
    review.submit(content, team.operator)
    review.advance(content, "approve_1", team.r1)
    review.review(content, team.r2, "reject", comment="请删除个人手机号")
    assert content.status is ContentStatus.rejected


def test_target_checker_hook_runs_at_submit(app, db_session, team, make_content):
    calls = []

    def checker(content):
        calls.append(sorted(a.platform.value for a in content.targets))
        return [make_finding("platform_limit", "platform:weibo", "微博正文超过 2000 字", rule="weibo.length")]

    unregister = review.register_target_checker(app, checker)
    try:
        content = make_content()
        with pytest.raises(Invalid) as err:
            review.submit(content, team.operator)
        assert err.value.detail["findings"][0]["rule"] == "weibo.length"
        assert calls == [["wechat", "weibo"]]
        assert service.check_text("短文", ["douyin"])[0].rule == "weibo.length"
        assert calls[-1] == ["douyin"]
    finally:
        unregister()
    assert checker not in service.target_checkers()


def test_broken_target_checker_refuses_instead_of_crashing(app, db_session, team, make_content, caplog):
    def broken(content):
        raise RuntimeError("adapter exploded")

    unregister = review.register_target_checker(app, broken)
    try:
        content = make_content()
        with pytest.raises(Invalid) as err:
            review.submit(content, team.operator)
        assert err.value.detail["findings"][0]["rule"] == "platform_limit.error"
    finally:
        unregister()


def test_interpretation_names_its_policy_and_goes_out_with_it(db_session, team, make_unit, make_content):
    policy = make_content(title="示范县促进就业若干措施", kind="policy")
    with pytest.raises(Invalid) as err:
        make_content(title="图解：促进就业若干措施", kind="interpretation")
    assert "policy_id" in err.value.detail
    news = make_content(title="一条新闻")
    with pytest.raises(Invalid):
        make_content(title="解读", kind="interpretation", policy_id=news.id)
    interp = make_content(title="图解：促进就业若干措施", kind="interpretation", policy_id=policy.id)
    assert service.linked_group(interp) == [policy, interp]
    assert service.linked_group(policy) == [policy, interp]
    assert service.linked_group(news) == [news]
    with pytest.raises(Invalid):  # a policy with interpretations keeps its kind
        service.update_content(policy, {"kind": "news"}, team.operator)

    other_unit = make_unit("别的单位")
    other_operator_policy = service.create_content(
        {"title": "别单位政策", "body": "正文", "kind": "policy", "unit_id": other_unit.id},
        _admin(db_session, team),
    )
    with pytest.raises(Invalid):
        make_content(title="跨单位解读", kind="interpretation", policy_id=other_operator_policy.id)


def _admin(db_session, team):

    admin = User(username="moderation-admin", display_name="管理员", unit_id=team.unit.id, password_hash="x")
    admin.role_rows = [UserRole(role=Role.admin)]
    db_session.add(admin)
    db_session.flush()
    return admin


def test_reviewer_of_superior_unit_and_the_configurable_rule(
    app, db_session, team, make_unit, make_user, monkeypatch, active_account
):
    town = make_unit("审核测试乡", parent=team.unit)
    sibling = make_unit("无关的县")
    town_operator = make_user(Role.operator, unit=town)
    town_r1 = make_user(Role.reviewer_1, unit=town)
    sibling_r1 = make_user(Role.reviewer_1, unit=sibling)
    account = active_account(town, "weibo")
    content = service.create_content({"title": "乡里的新闻", "body": "正文", "target_ids": [account.id]}, town_operator)
    review.submit(content, town_operator)

    with pytest.raises(NotFound):  # another branch of the tree does not even see it
        review.advance(content, "approve_1", sibling_r1)
    county = service.create_content({"title": "县里", "body": "正文"}, team.operator)
    with pytest.raises(NotFound):  # a reviewer of a sub-unit does not see the county's content
        review.advance(county, "approve_1", town_r1)

    monkeypatch.setitem(app.config, "REVIEW_SUPERIOR_UNIT_STAGES", "3")
    with pytest.raises(Forbidden) as err:
        review.advance(content, "approve_1", team.r1)  # county reviewer: only stage 3 allowed now
    assert err.value.extra_data["code"] == "out_of_review_scope"
    monkeypatch.setitem(app.config, "REVIEW_SUPERIOR_UNIT_STAGES", (1, 2, 3))
    review.advance(content, "approve_1", team.r1)
    assert content.status is ContentStatus.review_2


def test_content_changed_behind_the_services_back_is_not_approved(db_session, team, make_content):
    content = make_content()
    review.submit(content, team.operator)
    content.title = "被直接改掉的标题"  # bypasses update_content
    db_session.flush()
    with pytest.raises(Conflict) as err:
        review.advance(content, "approve_1", team.r1)
    assert err.value.extra_data["code"] == "content_changed"


def test_version_guard(db_session, team, make_content):
    content = make_content()
    review.submit(content, team.operator)
    with pytest.raises(Conflict):
        review.review(content, team.r1, "approve", version=content.version + 1)
    with pytest.raises(Conflict):
        review.review(content, team.r1, "approve", stage=2)
    review.review(content, team.r1, "approve", version=content.version, stage=1)


def test_queue_scoping_ordering_and_overdue(app, db_session, team, make_unit, make_user, make_content, monkeypatch):
    other_unit = make_unit("队列无关单位")
    other_operator = make_user(Role.operator, unit=other_unit)
    older = make_content(title="较早提交")
    newer = make_content(title="较晚提交")
    foreign = service.create_content({"title": "别的单位", "body": "正文"}, other_operator)
    review.submit(newer, team.operator)
    review.submit(older, team.operator)
    older.stage_entered_at = utcnow() - timedelta(hours=30)
    newer.stage_entered_at = utcnow() - timedelta(hours=1)
    db_session.flush()

    rows = db_session.scalars(review.queue_statement(team.r1, [1])).all()
    assert [c.id for c in rows] == [older.id, newer.id]
    assert foreign.id not in [c.id for c in rows]
    assert db_session.scalars(review.queue_statement(team.r2, [2])).all() == []
    entries = [review.queue_entry(c, team.r1) for c in rows]
    assert [e.overdue for e in entries] == [True, False]
    monkeypatch.setitem(app.config, "REVIEW_OVERDUE_HOURS", {1: 0.5})
    assert review.is_overdue(newer)
    monkeypatch.setitem(app.config, "REVIEW_OVERDUE_HOURS", "48,24,24")
    assert not review.is_overdue(older)


def test_transition_table_is_the_documented_one():
    flat = {(a.value, s.value): t.value for a, moves in review.TRANSITIONS.items() for s, t in moves.items()}
    assert flat == {
        ("submit", "draft"): "review_1",
        ("submit", "rejected"): "review_1",
        ("approve_1", "review_1"): "review_2",
        ("approve_2", "review_2"): "review_3",
        ("approve_3", "review_3"): "approved",
        ("reject", "review_1"): "rejected",
        ("reject", "review_2"): "rejected",
        ("reject", "review_3"): "rejected",
    }


def test_content_hash_is_canonical(db_session, team, make_content):
    content = make_content(target_ids=[team.wechat.id, team.weibo.id])
    again = service.content_hash(content)
    content.targets = list(reversed(content.targets))
    assert service.content_hash(content) == again  # target order does not matter
    assert len(again) == 64


# ----------------------------------------------------------------------------- pure helpers


def test_sanitize_keeps_allowed_markup_only():
    dirty = (
        '<p onclick="x()">你好<script>alert(1)</script><strong>世界</strong></p>'
        '<a href="javascript:alert(1)">坏链接</a><a href="https://www.gov.cn/">好链接</a>'
        '<img src="https://www.gov.cn/a.png" alt="图" onerror="x()"><style>p{}</style><iframe src="x"></iframe>'
    )
    clean = sanitize_html(dirty)
    assert "script" not in clean and "onclick" not in clean and "onerror" not in clean
    assert "javascript:" not in clean and "iframe" not in clean and "style" not in clean
    assert "<strong>世界</strong>" in clean and 'href="https://www.gov.cn/"' in clean
    assert 'rel="noopener noreferrer"' in clean


def test_plain_text_becomes_paragraphs_and_text_rendering():
    html = sanitize_html("第一段第一行\n第一段第二行\n\n第二段 1<2")
    assert html == "<p>第一段第一行<br>第一段第二行</p><p>第二段 1&lt;2</p>"
    assert (
        html_to_text("<h2>标题</h2><p>一段   文字</p><ul><li>甲</li><li>乙</li></ul>")
        == "标题\n\n一段 文字\n\n甲\n\n乙"
    )


def test_diff_marks_insertions_and_deletions_in_chinese_text():
    ops = diffing.diff_text("会议部署了冬季防火工作。\n第二行不变", "会议部署了冬季防汛工作。\n第二行不变")
    assert [o.to_dict() for o in ops] == [
        {"op": "equal", "text": "会议部署了冬季防"},
        {"op": "delete", "text": "火"},
        {"op": "insert", "text": "汛"},
        {"op": "equal", "text": "工作。\n第二行不变"},
    ]
    rows = diffing.side_by_side("甲\n乙\n丙", "甲\n乙改\n丙\n丁")
    assert [r.kind for r in rows] == ["equal", "replace", "equal", "insert"]
    assert rows[1].right[-1].op == "insert" and rows[1].right[-1].text == "改"


def test_highlight_splits_at_spans_and_block_wins():
    findings = [
        {"start": 2, "end": 6, "severity": "warn", "message": "提示"},
        {"start": 4, "end": 8, "severity": "block", "message": "阻断", "suggestion": "改为X"},
    ]
    segs = diffing.highlight("0123456789", findings)
    assert [(s.text, s.severity, s.ends) for s in segs] == [
        ("01", None, ()),
        ("23", "warn", ()),
        ("45", "block", (1,)),
        ("67", "block", (2,)),
        ("89", None, ()),
    ]
    assert "建议：改为X" in segs[3].messages[0]
