"""The approved hash is the hash of what a delivery sends.

Through the real steps — submit, 初审, 复审, 终审 by three different reviewers, the scheduler's
``claim_due`` — nothing sets a hash by hand. The worker's guard then accepts the delivery, and
refuses it (``hash_mismatch``) as soon as the content no longer says what was approved.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from common import media
from common.errors import Conflict
from moderation import review, service
from moderation.models import Content, ContentStatus, ContentVersion, Review, ReviewDecision
from publishers import attempt, claim, shared
from publishers.models import Delivery, DeliveryStatus
from tests.moderation.test_attachments import make_pdf


@pytest.fixture
def approved(db_session, team, make_content, media_dir):
    """A content with everything the hash covers, approved through the three stages."""

    pdf = media.save(make_pdf("示范县秋季安全生产工作安排\n一、组织领导"))
    image = media.save(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    content = make_content(
        summary="部署冬季防火等重点工作",
        media=[
            {"name": "现场.png", "content_type": "image/png", "sha256": image, "alt": "会议现场"},
            {"name": "工作安排.pdf", "content_type": "application/pdf", "sha256": pdf},
        ],
        overrides={"weibo": {"text": "示范县部署秋季安全生产工作。"}},
    )
    review.submit(content, team.operator)
    review.advance(content, "approve_1", team.r1)
    review.advance(content, "approve_2", team.r2, acknowledge_warnings=True)
    review.advance(content, "approve_3", team.r3, comment="同意发布")
    db_session.commit()
    db_session.expire_all()  # from here on, everything is read back from the database
    return db_session.get(Content, content.id)


def _deliveries(db_session, ids):
    return db_session.scalars(sa.select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.account_id)).all()


def test_the_approved_hash_is_what_the_delivery_carries_and_the_guard_accepts(db_session, team, approved):
    content = approved
    assert content.status is ContentStatus.approved and content.approved_version == 1
    assert content.media[1]["text"].startswith("示范县秋季安全生产工作安排"), "attachment text is part of the hash"

    decisions = db_session.scalars(sa.select(Review).where(Review.content_id == content.id).order_by(Review.id)).all()
    assert [(r.stage, r.decision) for r in decisions] == [
        (0, ReviewDecision.submit),
        (1, ReviewDecision.approve),
        (2, ReviewDecision.approve),
        (3, ReviewDecision.approve),
    ]
    reviewers = [r.reviewer_id for r in decisions[1:]]
    assert reviewers == [team.r1.id, team.r2.id, team.r3.id] and len(set(reviewers)) == 3
    assert content.author_id not in reviewers
    submitted = db_session.scalar(
        sa.select(ContentVersion.content_hash).where(
            ContentVersion.content_id == content.id, ContentVersion.version == content.approved_version
        )
    )
    assert {r.content_hash for r in decisions} == {submitted} == {content.approved_hash}

    ids = claim.claim_due()
    db_session.flush()
    deliveries = _deliveries(db_session, ids)
    assert [d.account_id for d in deliveries] == sorted(a.id for a in content.targets)
    assert content.status is ContentStatus.publishing
    for delivery in deliveries:
        assert delivery.content_id == content.id and delivery.version == content.approved_version
        assert delivery.status is DeliveryStatus.pending
        assert delivery.content_hash == content.approved_hash
        # what the worker computes at send time, from the stored row, is the approved hash
        assert shared.content_hash_now(delivery.content) == delivery.content_hash
        assert attempt.guard(delivery, delivery.content, delivery.account) is None

    # The content changes after approval: the editor refuses while it is being published …
    with pytest.raises(Conflict):
        service.update_content(content, {"title": "终审后改过的标题"}, team.operator)
    # … so change the row directly, as a bug or a hand edit in the database would.
    content.body_html = content.body_html.replace("冬季防火", "冬季防汛")
    content.body_text = content.body_text.replace("冬季防火", "冬季防汛")
    db_session.flush()
    for delivery in deliveries:
        code, message = attempt.guard(delivery, content, delivery.account)
        assert code == "hash_mismatch" and "终审" in message
    # and the worker's first step refuses to send, marking the delivery failed
    outcome = attempt.begin_attempt(deliveries[0].id)
    assert (outcome.action, outcome.reason) == ("done", "hash_mismatch")
    assert deliveries[0].status is DeliveryStatus.failed and deliveries[0].last_error_code == "hash_mismatch"


def test_a_change_to_any_hashed_part_is_refused(db_session, approved):
    """Attachment text, overrides and targets are covered as well as the body."""
    content = approved
    [delivery] = _deliveries(db_session, claim.claim_due())[:1]
    assert attempt.guard(delivery, content, delivery.account) is None

    def refused() -> bool:
        db_session.flush()
        return attempt.guard(delivery, content, delivery.account)[0] == "hash_mismatch"

    original_media, original_overrides = list(content.media), dict(content.overrides)
    content.media = [original_media[0], {**original_media[1], "text": "换掉的附件文字"}]
    assert refused()
    content.media = original_media
    db_session.flush()
    assert attempt.guard(delivery, content, delivery.account) is None  # back to what was approved
    content.overrides = {"weibo": {"text": "换掉的微博文案"}}
    assert refused()
    content.overrides = original_overrides
    content.targets = content.targets[:1]
    assert refused()


def test_an_edit_through_the_editor_after_approval_withdraws_the_approval(db_session, team, approved):
    content = approved
    approved_hash = content.approved_hash
    service.update_content(content, {"title": "示范县召开冬季安全生产工作会议"}, team.operator)
    assert content.status is ContentStatus.draft and content.approved_hash is None
    assert claim.claim_due() == []  # nothing of it is claimed any more
    # a delivery made from the approval (as a claim just before the edit would have) is refused
    stale = Delivery(
        content_id=content.id,
        version=1,
        account_id=content.targets[0].id,
        idempotency_key=shared.idempotency_key(content.id, 1, content.targets[0].id),
        content_hash=approved_hash,
    )
    assert attempt.guard(stale, content, content.targets[0])[0] == "hash_mismatch"
