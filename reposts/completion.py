"""Repost completion, the sweep: a target is done when a delivery of the content made from the
task, to an account of the unit on the task's platform, was sent, or when the inspection stored
a live post for such an account, published after the task was issued, carrying the source URL
or the source title (normalised). A target still open after its deadline becomes 逾期未完成;
found later, 逾期完成. Status changes go through :mod:`reposts.lifecycle`. Flushes; the task or
the CLI command commits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from common.db import utcnow
from extensions import db
from oversight.inspection.models import LivePost, PostState
from publishers.models import Delivery, DeliveryStatus
from registry.models import Account, Platform
from reposts import lifecycle
from reposts.models import (
    OPEN_STATUSES,
    RepostSourceKind,
    RepostTarget,
    RepostTask,
)
from reposts.service import MATCH_TITLE_MIN, S

# ----------------------------------------------------------------------------- completion


_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise(text: str | None) -> str:
    """For matching titles: NFKC (full-width → half-width), lower case, no blanks or punctuation."""
    if not text:
        return ""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text).lower())


def _url_key(url: str | None) -> str:
    """A URL compared without scheme, ``www.`` and trailing slash."""
    if not url:
        return ""
    key = url.strip().lower()
    key = re.sub(r"^https?://", "", key)
    key = key.removeprefix("www.")
    return key.rstrip("/")


def _source_urls(task: RepostTask) -> list[str]:
    urls = [task.source_url] if task.source_url else []
    if task.source_kind is RepostSourceKind.content and task.source_content_id:
        urls += list(
            db.session.scalars(
                sa.select(Delivery.platform_url).where(
                    Delivery.content_id == task.source_content_id, Delivery.platform_url.is_not(None)
                )
            )
        )
    return [k for k in (_url_key(u) for u in urls) if k]


@dataclass(frozen=True)
class Matcher:
    """What a task's source looks like in a post: its URL keys and its normalised title."""

    urls: tuple[str, ...]
    title: str

    @classmethod
    def of(cls, task: RepostTask) -> Matcher:
        title = normalise(task.source_title)
        return cls(tuple(_source_urls(task)), title if len(title) >= MATCH_TITLE_MIN else "")

    def matches(self, title: str | None, text: str | None, url: str | None = None, links: Any = None) -> bool:
        """The source URL (in the text, the links or as the post's own link target), or the title
        (normalised, at least MATCH_TITLE_MIN characters) in the post's title or text."""
        if self.urls:
            extra = [str(v) for v in links] if isinstance(links, list) else []
            haystack = " ".join([title or "", text or "", url or "", *extra]).lower()
            plain = _SCHEME.sub("", haystack)
            if any(u in plain for u in self.urls):
                return True
        return bool(self.title) and self.title in normalise(f"{title or ''} {text or ''}")


_SCHEME = re.compile(r"https?://(www\.)?")


def post_matches(task: RepostTask, post: LivePost) -> bool:
    """Does this live post carry the task's source? (See :class:`Matcher`.)"""
    return Matcher.of(task).matches(post.title, post.text, post.url, post.links)


@dataclass
class SweepResult:
    done: int = 0
    done_late: int = 0
    overdue: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"done": self.done, "done_late": self.done_late, "overdue": self.overdue}


def _complete(t: RepostTarget, when: datetime, evidence: dict[str, Any], result: SweepResult, actor: Any) -> None:
    late = when > t.task.deadline_at
    to = S.done_late if late or t.status is S.overdue else S.done
    lifecycle.transition(t, to, actor=actor, actor_label=None if actor else "system:reposts", evidence=evidence)
    t.completed_at = when
    t.evidence = evidence
    if to is S.done:
        result.done += 1
    else:
        result.done_late += 1


Key = tuple[int, Platform]  # (unit id, platform)
CHUNK = 500  # ids per IN (...) list


def _chunks(values: Iterable[int]) -> Iterable[list[int]]:
    items = sorted(set(values))
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def _deliveries_found(targets: list[RepostTarget]) -> dict[tuple[int, int, Platform], tuple[datetime, dict[str, Any]]]:
    """(content, unit, platform) → the first sent delivery of the content made from the task to
    an account of that unit on that platform."""
    found: dict[tuple[int, int, Platform], tuple[datetime, dict[str, Any]]] = {}
    for ids in _chunks(t.content_id for t in targets if t.content_id is not None):
        rows = db.session.execute(
            sa.select(
                Delivery.id,
                Delivery.content_id,
                Delivery.sent_at,
                Delivery.platform_url,
                Account.id,
                Account.name,
                Account.unit_id,
                Account.platform,
            )
            .join(Account, Account.id == Delivery.account_id)
            .where(
                Delivery.content_id.in_(ids),
                Delivery.sent_at.is_not(None),
                Delivery.status.in_((DeliveryStatus.sent, DeliveryStatus.withdrawn)),
            )
            .order_by(Delivery.sent_at, Delivery.id)
        )
        for delivery_id, content_id, sent_at, url, account_id, name, unit_id, platform in rows:
            found.setdefault(
                (content_id, unit_id, platform),
                (
                    sent_at,
                    {
                        "via": "delivery",
                        "delivery_id": delivery_id,
                        "content_id": content_id,
                        "account_id": account_id,
                        "account_name": name,
                        "url": url,
                    },
                ),
            )
    return found


def _posts_found(task: RepostTask, targets: list[RepostTarget]) -> dict[Key, tuple[datetime, dict[str, Any]]]:
    """(unit, platform) → the first live post of an account of the unit on the platform, published
    since the task was issued, that carries the source. Reads only the columns it compares."""
    matcher = Matcher.of(task)
    wanted = {(t.unit_id, t.platform) for t in targets}
    platforms = sorted({p for _, p in wanted}, key=lambda p: p.value)
    when = sa.func.coalesce(LivePost.published_at, LivePost.first_seen_at)
    # platforms give publish times to the second: a post of the same second as the task counts
    since = task.issued_at.replace(microsecond=0)
    found: dict[Key, tuple[datetime, dict[str, Any]]] = {}
    for ids in _chunks(u for u, _ in wanted):
        rows = db.session.execute(
            sa.select(
                LivePost.id,
                LivePost.title,
                LivePost.text,
                LivePost.url,
                LivePost.links,
                when,
                Account.id,
                Account.name,
                Account.unit_id,
                Account.platform,
            )
            .join(Account, Account.id == LivePost.account_id)
            .where(
                Account.unit_id.in_(ids),
                Account.platform.in_(platforms),
                LivePost.state == PostState.live,
                when >= since,
            )
            .order_by(when, LivePost.id)
        )
        for post_id, title, text, url, links, at, account_id, name, unit_id, platform in rows:
            key = (unit_id, platform)
            if key in found or key not in wanted or not matcher.matches(title, text, url, links):
                continue
            found[key] = (
                at,
                {
                    "via": "live_post",
                    "live_post_id": post_id,
                    "account_id": account_id,
                    "account_name": name,
                    "url": url,
                },
            )
    return found


def sweep(now: datetime | None = None, task_ids: Iterable[int] | None = None, actor: Any = None) -> SweepResult:
    """Look for completion of every open target (or those of ``task_ids``); mark what is past its
    deadline 逾期未完成. Idempotent; flushes. Per task: one read of the deliveries of the contents
    made from it and one of the live posts of the target units' accounts (in chunks of CHUNK units)."""
    now = now or utcnow()
    result = SweepResult()
    stmt = (
        sa.select(RepostTarget)
        .where(RepostTarget.status.in_(OPEN_STATUSES))
        .order_by(RepostTarget.task_id, RepostTarget.id)
    )
    if task_ids is not None:
        stmt = stmt.where(RepostTarget.task_id.in_(list(task_ids)))
    per_task: dict[int, list[RepostTarget]] = {}
    for t in db.session.scalars(stmt).all():
        per_task.setdefault(t.task_id, []).append(t)
    for task_id, targets in per_task.items():
        task = db.session.get(RepostTask, task_id)
        assert task is not None  # noqa: S101 - the targets' foreign key
        deliveries = _deliveries_found(targets)
        posts = _posts_found(task, targets)
        for t in targets:
            found = None
            if t.content_id is not None:
                found = deliveries.get((t.content_id, t.unit_id, t.platform))
            found = found or posts.get((t.unit_id, t.platform))
            if found is not None:
                _complete(t, found[0], found[1], result, actor)
            elif t.status is S.pending and now > task.deadline_at:
                lifecycle.transition(t, S.overdue, actor=actor, actor_label=None if actor else "system:reposts")
                result.overdue += 1
    db.session.flush()
    return result
