"""The content transition table (moderation.lifecycle): every pair of statuses is walked —
the moves in the table happen and are audited, every other move is refused and changes
nothing — by object and set-based."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit import service as audit
from moderation import lifecycle, review
from moderation.lifecycle import IllegalTransition
from moderation.models import Content, ContentStatus

S = ContentStatus
ALLOWED, REFUSED = lifecycle.TABLE.pairs()
PAIRS = ALLOWED + REFUSED
_id = lifecycle.TABLE.pair_id


@pytest.mark.parametrize("pair", ALLOWED, ids=_id)
def test_every_allowed_move_happens_and_is_audited(db_session, pair):
    source, target = pair
    content = Content(title="表内迁移", status=source)
    move = lifecycle.transition(content, target, actor_label="system:test", reason="测试", after={"version": 3})
    assert content.status is target
    [entry] = audit.pending()
    assert entry.action == move.audit == lifecycle.TABLE.edges[pair].audit
    assert entry.before == {"status": source.value}
    assert entry.after == {"status": target.value, "reason": "测试", "version": 3}
    assert entry.actor_label == "system:test"


@pytest.mark.parametrize("pair", REFUSED, ids=_id)
def test_every_other_move_is_refused_and_changes_nothing(db_session, pair):
    source, target = pair
    content = Content(title="表外迁移", status=source)
    with pytest.raises(IllegalTransition) as refused:
        lifecycle.transition(content, target, actor_label="system:test")
    assert content.status is source
    assert audit.pending() == []
    assert refused.value.status_code == 409
    assert refused.value.extra_data["code"] == "invalid_state"
    assert "稿件处于" in refused.value.message


@pytest.fixture
def content_in(db_session, team):
    def _make(status: ContentStatus) -> Content:
        content = Content(
            unit_id=team.unit.id, author_id=team.operator.id, title=f"集合迁移{status.value}", status=status
        )
        db_session.add(content)
        db_session.commit()  # the fixtures' own audit entries are chained: pending() is this test's
        return content

    return _make


@pytest.mark.parametrize("pair", PAIRS, ids=_id)
def test_set_based_moves_follow_the_same_table(db_session, content_in, pair):
    source, target = pair
    rows = [content_in(source), content_in(source)]
    ids = [c.id for c in rows]
    if not lifecycle.allowed(source, target):
        with pytest.raises(IllegalTransition):
            lifecycle.transition_rows(ids, source, target, actor_label="system:test")
        assert [c.status for c in rows] == [source, source]
        assert audit.pending() == []
        return
    moved = lifecycle.transition_rows(ids, source, target, actor_label="system:test")
    assert sorted(moved) == sorted(ids)
    assert [c.status for c in rows] == [target, target]  # loaded objects see the UPDATE
    assert sorted(int(e.object_id) for e in audit.pending()) == sorted(ids)
    assert {e.action for e in audit.pending()} == {lifecycle.TABLE.edges[pair].audit}


def test_set_based_move_leaves_rows_that_are_no_longer_in_the_state(db_session, content_in):
    """The UPDATE is guarded by the current status: a row someone moved meanwhile stays."""
    publishing, published = content_in(S.publishing), content_in(S.published)
    moved = lifecycle.transition_rows([publishing.id, published.id], S.publishing, S.partly_failed)
    assert moved == [publishing.id]
    assert (publishing.status, published.status) == (S.partly_failed, S.published)
    assert len(audit.pending()) == 1
    stored = db_session.scalar(sa.select(Content.status).where(Content.id == published.id))
    assert stored is S.published


def test_the_table_tells_the_designed_story():
    """DESIGN.md: draft → review_1 → review_2 → review_3 → approved → scheduled → publishing →
    published | partly_failed | failed, and withdrawn, rejected → draft."""
    chain = [S.draft, S.review_1, S.review_2, S.review_3, S.approved]
    assert all(lifecycle.allowed(a, b) for a, b in itertools.pairwise(chain))
    assert lifecycle.allowed(S.review_3, S.scheduled) and lifecycle.allowed(S.scheduled, S.publishing)
    assert all(lifecycle.allowed(S.publishing, s) for s in (S.published, S.partly_failed, S.failed))
    assert lifecycle.allowed(S.rejected, S.draft) and lifecycle.allowed(S.published, S.withdrawn)
    # the lighter review (moderation.light_review) enters at 终审 from where submit starts, and only there
    assert lifecycle.by_event("submit_light") == {S.draft: S.review_3, S.rejected: S.review_3}
    assert lifecycle.sources(S.review_3) == (S.draft, S.rejected, S.review_2)
    # no skipping a review once in it, nothing out of withdrawn, nothing published goes back to editing
    assert not lifecycle.allowed(S.draft, S.approved) and not lifecycle.allowed(S.review_1, S.review_3)
    assert not any(lifecycle.allowed(S.withdrawn, s) for s in ContentStatus)
    assert not lifecycle.allowed(S.published, S.draft) and not lifecycle.allowed(S.publishing, S.draft)
    assert lifecycle.sources(S.withdrawn) == (
        S.approved,
        S.scheduled,
        S.publishing,
        S.published,
        S.partly_failed,
        S.failed,
    )


def test_the_review_steps_are_read_from_the_table():
    for action, moves in review.TRANSITIONS.items():
        for source, target in moves.items():
            assert lifecycle.TABLE.edges[(source, target)].event == action.value


def test_the_docs_show_the_table_as_the_code_has_it():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "review.md").read_text(encoding="utf-8")
    assert lifecycle.TABLE.markdown() in doc, "regenerate with: python -m moderation.lifecycle"
