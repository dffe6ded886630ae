# ruff: noqa: F811 - the fixtures (county, unit, units, office, approve, author) are imported and then requested
"""The lighter review (简化审核) enforced: a repost of an ancestor unit's approved content, made by
一键转为稿件 and unedited, in a unit the office allowed and that switched it on, goes straight to
终审 and publishes after one approval — with 初审/复审 recorded as omitted, audited and shown on the
pages, and counted as 三审-compliant. Otherwise (not allowed, not switched on, edited after the
conversion, permission withdrawn before the submit, a URL source) the three reviews apply."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from common.errors import Conflict
from moderation import review
from moderation import service as content_service
from moderation.light_review import NOTICE
from moderation.models import Content, ContentStatus, Review, ReviewDecision
from oversight.scoring.service import _review_compliant
from publishers.models import Delivery, DeliveryStatus
from tests.conftest import PASSWORD
from tests.publishers.test_pipeline import approve, author, claim, drain  # noqa: F401 - fixtures
from tests.reposts.test_reposts import _task, county, office, unit, units  # noqa: F401 - fixtures

BASIS = "县网信办〔2026〕12号：转载县政府已终审稿件可简化审核"


@pytest.fixture
def edu(units):
    return units["edu"]


@pytest.fixture
def operator(make_user, edu):
    return make_user(Role.operator, unit=edu)


@pytest.fixture
def repost(db_session, api_as, make_account, office, county, edu, operator, approve):
    """A task reposting the county's approved content to the education bureau, converted by its operator."""

    def _make(**extra):
        make_account(edu, "weibo")
        source = approve([make_account(county, "weibo")], title="县政府关于做好冬季供暖保障工作的通知")
        fields = {"source_url": None, "source_title": None, "source_name": None}
        task = _task(api_as, office, [edu], source_kind="content", source_content_id=source.id, **fields, **extra)
        response = api_as(operator).post(f"/api/v1/reposts/{task['id']}/units/{edu.id}/convert")
        assert response.status_code == 201, response.get_json()
        return db_session.get(Content, response.get_json()["content_id"])

    return _make


def _setting(api_as, office, operator, unit, *, allow=True, enable=True):
    url = f"/api/v1/reposts/settings/{unit.id}"
    if allow:
        assert api_as(office).put(url, json={"light_review_allowed": True, "note": BASIS}).status_code == 200
    if enable:
        assert api_as(operator).put(url, json={"light_review_enabled": True}).status_code == 200


def _reviews(db_session, content):
    rows = db_session.scalars(sa.select(Review).where(Review.content_id == content.id).order_by(Review.id))
    return [(r.version, r.stage, r.decision.value, r.voided) for r in rows]


def _three_reviews(make_user, content):
    for stage, role in ((1, Role.reviewer_1), (2, Role.reviewer_2), (3, Role.reviewer_3)):
        reviewer = make_user(role, unit=content.unit)
        review.advance(content, f"approve_{stage}", reviewer, version=content.version, acknowledge_warnings=True)


def test_allowed_and_enabled_repost_goes_to_final_review_and_publishes_after_one_approval(
    app, db_session, sandbox, api_as, make_user, office, edu, operator, repost
):
    _setting(api_as, office, operator, edu)
    content = repost()
    review.submit(content, operator)
    db_session.commit()  # as the request does: the audit entries are written with the commit
    assert content.status is ContentStatus.review_3
    assert _reviews(db_session, content) == [
        (1, 0, "submit", False),
        (1, 1, "skipped", False),
        (1, 2, "skipped", False),
    ]
    skipped = db_session.scalars(sa.select(Review).where(Review.decision == ReviewDecision.skipped)).all()
    assert {r.comment for r in skipped} == {NOTICE} and {r.reviewer_id for r in skipped} == {operator.id}

    # the audit says which edge and why, with the office's recorded basis
    entry = db_session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "content:submit:light").order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None and entry.after["status"] == "review_3" and entry.before["status"] == "draft"
    light = entry.after["light_review"]
    assert light["skipped_stages"] == [1, 2] and light["allowed_note"] == BASIS and light["notice"] == NOTICE
    assert light["converted_hash"] == content.content_hash

    # the reviewer's page and the content page tell it in words
    reviewer_3 = make_user(Role.reviewer_3, unit=edu)
    client = app.test_client()
    client.post("/login", data={"username": reviewer_3.username, "password": PASSWORD})
    for path in (f"/contents/{content.id}", f"/review/{content.id}"):
        page = client.get(path)
        assert page.status_code == 200, path
        text = page.get_data(as_text=True)
        assert NOTICE in text and "已省略（简化审核）" in text, path

    # one approval, by the unit's own reviewer_3, and it goes out
    review.advance(content, "approve_3", reviewer_3, version=content.version)
    assert content.status is ContentStatus.approved
    drain(db_session, claim(db_session))
    delivery = db_session.scalar(sa.select(Delivery).where(Delivery.content_id == content.id))
    assert delivery.status is DeliveryStatus.sent
    # compliant in the 三审 figures: the omitted stages were allowed
    assert _review_compliant([delivery.id]) == {delivery.id}


@pytest.mark.parametrize(("allow", "enable"), [(False, False), (True, False)], ids=["not-allowed", "not-enabled"])
def test_without_permission_and_choice_the_three_reviews_apply(
    db_session, api_as, make_user, office, edu, operator, repost, allow, enable
):
    _setting(api_as, office, operator, edu, allow=allow, enable=enable)
    content = repost()
    review.submit(content, operator)
    assert content.status is ContentStatus.review_1
    assert _reviews(db_session, content) == [(1, 0, "submit", False)]
    with pytest.raises(Conflict) as refused:  # not at 终审: 409, nothing changes
        review.advance(content, "approve_3", make_user(Role.reviewer_3, unit=edu))
    assert refused.value.status_code == 409 and content.status is ContentStatus.review_1
    _three_reviews(make_user, content)
    assert content.status is ContentStatus.approved


def test_an_edit_after_the_conversion_loses_the_lighter_path(
    db_session, api_as, make_user, office, edu, operator, repost
):
    _setting(api_as, office, operator, edu)
    content = repost()
    content_service.update_content(content, {"title": content.title + "（本单位转发）"}, operator)
    review.submit(content, operator)
    db_session.commit()
    assert content.status is ContentStatus.review_1
    assert not db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "content:submit:light")).all()


def test_an_edit_after_a_light_submit_voids_the_omitted_stages(
    db_session, api_as, make_user, office, edu, operator, repost
):
    _setting(api_as, office, operator, edu)
    content = repost()
    review.submit(content, operator)
    assert content.status is ContentStatus.review_3
    content_service.update_content(content, {"body": content.body_html + "<p>补充一句。</p>"}, operator)
    assert content.status is ContentStatus.draft
    review.submit(content, operator)
    assert content.status is ContentStatus.review_1
    assert [r for r in _reviews(db_session, content) if r[2] == "skipped"] == [
        (1, 1, "skipped", True),
        (1, 2, "skipped", True),
    ]


def test_permission_withdrawn_between_conversion_and_submit_means_three_reviews(
    db_session, api_as, make_user, office, edu, operator, repost
):
    _setting(api_as, office, operator, edu)
    content = repost()
    url = f"/api/v1/reposts/settings/{edu.id}"
    assert api_as(office).put(url, json={"light_review_allowed": False, "note": "试行结束"}).status_code == 200
    review.submit(content, operator)
    db_session.commit()
    assert content.status is ContentStatus.review_1
    actions = list(
        db_session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.action.in_(["repost:setting:allow", "content:submit", "content:submit:light"]))
            .order_by(AuditEntry.id)
        )
    )
    assert actions == ["repost:setting:allow", "repost:setting:allow", "content:submit"]


def test_a_url_source_never_gets_the_lighter_review(db_session, api_as, make_account, office, edu, operator):
    _setting(api_as, office, operator, edu)
    make_account(edu, "weibo")
    task = _task(api_as, office, [edu])
    content_id = api_as(operator).post(f"/api/v1/reposts/{task['id']}/units/{edu.id}/convert").get_json()["content_id"]
    content = db_session.get(Content, content_id)
    review.submit(content, operator)
    assert content.status is ContentStatus.review_1


def test_the_editor_submit_says_it_went_to_final_review(app, db_session, api_as, office, edu, operator, repost):
    _setting(api_as, office, operator, edu)
    content = repost()
    client = app.test_client()
    client.post("/login", data={"username": operator.username, "password": PASSWORD})
    page = client.post(f"/contents/{content.id}/submit", follow_redirects=True).get_data(as_text=True)
    db_session.refresh(content)
    assert content.status is ContentStatus.review_3
    assert f"{NOTICE}，等待终审" in page


def _mine(app, operator, task_id):
    """The operator's 本单位转载任务 page: the review-path line of the task's card."""
    client = app.test_client()
    client.post("/login", data={"username": operator.username, "password": PASSWORD})
    html = client.get("/reposts/mine").get_data(as_text=True)
    card = html.split(f'data-task="{task_id}"')[1].split("</section>")[0]
    return card.split('class="review-path"')[1].split("</p>")[0] if 'class="review-path"' in card else None


def test_the_units_page_says_in_advance_which_review_a_conversion_gets(
    app, db_session, api_as, make_account, office, county, edu, operator, approve
):
    make_account(edu, "weibo")
    source = approve([make_account(county, "weibo")], title="县政府关于做好冬季供暖保障工作的通知")
    fields = {"source_url": None, "source_title": None, "source_name": None}
    task = _task(api_as, office, [edu], source_kind="content", source_content_id=source.id, **fields)

    line = _mine(app, operator, task["id"])
    assert "转为稿件后需完整三审" in line and "网信办未允许本单位" in line and 'data-light="false"' in line
    _setting(api_as, office, operator, edu, enable=False)
    assert "本单位未启用简化审核" in _mine(app, operator, task["id"])
    _setting(api_as, office, operator, edu, allow=False)
    line = _mine(app, operator, task["id"])
    assert "转为稿件后走简化审核（终审即可）" in line and 'data-light="true"' in line
    assert "来源是上级单位已终审的稿件" in line

    # converted and untouched: still the lighter review; edited: the three reviews, with why
    response = api_as(operator).post(f"/api/v1/reposts/{task['id']}/units/{edu.id}/convert")
    content = db_session.get(Content, response.get_json()["content_id"])
    assert "提交后走简化审核（终审即可）" in _mine(app, operator, task["id"])
    content_service.update_content(content, {"title": content.title + "（转载）"}, operator)
    db_session.commit()
    line = _mine(app, operator, task["id"])
    assert "提交后需完整三审" in line and "内容已改动" in line
    # submitted: the content's own page tells how it is reviewed, the card says no more
    review.submit(content, operator)
    db_session.commit()
    assert _mine(app, operator, task["id"]) is None


def test_a_url_source_is_announced_as_three_reviews(app, db_session, api_as, office, edu, operator):
    _setting(api_as, office, operator, edu)
    task = _task(api_as, office, [edu])
    line = _mine(app, operator, task["id"])
    assert "转为稿件后需完整三审" in line and "来源不是上级单位在本平台已终审的稿件" in line
