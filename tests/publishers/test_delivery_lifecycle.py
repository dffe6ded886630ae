"""The delivery transition table (publishers.lifecycle): every pair of statuses is walked,
and the content's status is rolled up from its deliveries through the content table."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit import service as audit
from auth.models import Role
from moderation.lifecycle import IllegalTransition as IllegalContentTransition
from moderation.models import Content, ContentStatus
from publishers import lifecycle
from publishers.lifecycle import IllegalTransition
from publishers.models import Delivery, DeliveryStatus

D = DeliveryStatus
ALLOWED, REFUSED = lifecycle.TABLE.pairs()
PAIRS = ALLOWED + REFUSED
_id = lifecycle.TABLE.pair_id


@pytest.mark.parametrize("pair", ALLOWED, ids=_id)
def test_every_allowed_move_happens_and_is_audited(db_session, pair):
    source, target = pair
    delivery = Delivery(status=source, last_error_code="old", last_error_message="旧原因")
    move = lifecycle.transition(delivery, target, code="x1", message="新原因", after={"attempt": 2})
    assert delivery.status is target
    assert (delivery.last_error_code, delivery.last_error_message) == ("x1", "新原因")
    [entry] = audit.pending()  # the delivery has no content: nothing to roll up
    assert entry.action == move.audit == lifecycle.TABLE.edges[pair].audit
    assert entry.before == {"status": source.value}
    assert entry.after == {"status": target.value, "code": "x1", "post_id": None, "attempt": 2}
    assert entry.actor_label == "system:worker"


@pytest.mark.parametrize("pair", REFUSED, ids=_id)
def test_every_other_move_is_refused_and_changes_nothing(db_session, pair):
    source, target = pair
    delivery = Delivery(status=source, last_error_code="old")
    with pytest.raises(IllegalTransition) as refused:
        lifecycle.transition(delivery, target, code="new")
    assert (delivery.status, delivery.last_error_code) == (source, "old")
    assert audit.pending() == []
    assert refused.value.status_code == 409 and "发送记录处于" in refused.value.message


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], None),
        ([D.sent, D.sent], ContentStatus.published),
        ([D.sent, D.manual], ContentStatus.published),
        ([D.sent, D.failed], ContentStatus.partly_failed),
        ([D.manual, D.cancelled], ContentStatus.partly_failed),
        ([D.failed, D.cancelled, D.withdrawn], ContentStatus.failed),
        ([D.sent, D.retrying], ContentStatus.publishing),
        ([D.failed, D.pending], ContentStatus.publishing),
        ([D.sending], ContentStatus.publishing),
    ],
)
def test_content_status_follows_the_deliveries(statuses, expected):
    assert lifecycle.content_status_for(statuses) is expected


@pytest.fixture
def content_with(db_session, make_unit, make_user, make_account):

    unit = make_unit()
    author = make_user(Role.operator, unit=unit)
    accounts = [make_account(unit, p) for p in ("weibo", "wechat")]

    def _make(status: ContentStatus, *delivery_statuses: DeliveryStatus) -> tuple[Content, list[Delivery]]:
        content = Content(unit_id=unit.id, author_id=author.id, title="汇总测试", status=status)
        db_session.add(content)
        db_session.flush()
        rows = [
            Delivery(
                content_id=content.id,
                version=1,
                account_id=account.id,
                status=s,
                idempotency_key=f"{content.id}-{account.id}",
                content_hash="h",
            )
            for account, s in zip(accounts, delivery_statuses, strict=False)
        ]
        db_session.add_all(rows)
        db_session.commit()  # the fixtures' own audit entries are chained: pending() is this test's
        return content, rows

    return _make


def test_the_last_delivery_to_settle_rolls_the_content_up(db_session, content_with):
    content, (_first, second) = content_with(ContentStatus.publishing, D.sent, D.sending)
    lifecycle.transition(second, D.failed, code="20019", message="平台拒绝")
    assert content.status is ContentStatus.partly_failed
    assert [e.action for e in audit.pending()] == ["delivery:status:failed", "content:publish:partly_failed"]


def test_a_retry_rolls_the_content_back_to_publishing(db_session, content_with):
    content, (_first, second) = content_with(ContentStatus.partly_failed, D.sent, D.failed)
    lifecycle.transition(second, D.pending, actor_label="system:test")
    assert content.status is ContentStatus.publishing
    assert audit.pending()[-1].action == "content:publish:retry"


def test_a_withdrawn_content_stays_withdrawn(db_session, content_with):
    content, (first, _second) = content_with(ContentStatus.withdrawn, D.pending, D.sent)
    lifecycle.transition(first, D.cancelled)
    assert content.status is ContentStatus.withdrawn
    assert [e.action for e in audit.pending()] == ["delivery:status:cancelled"]


def test_a_roll_up_the_content_table_lacks_is_refused(db_session, content_with):
    """Content that was never claimed cannot be "published" by its deliveries."""
    content, (first, _second) = content_with(ContentStatus.approved, D.sending, D.sent)
    with pytest.raises(IllegalContentTransition):
        lifecycle.transition(first, D.sent)
    assert content.status is ContentStatus.approved


def test_the_docs_show_the_table_as_the_code_has_it():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "publishing.md").read_text(encoding="utf-8")
    assert lifecycle.TABLE.markdown() in doc, "regenerate with: python -m publishers.lifecycle"
