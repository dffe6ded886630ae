"""The stored posts of the inspection (:class:`LivePost`) as plain data, read and written in bulk:
:class:`PostView` rows by account and platform id, one executemany INSERT for new posts, one
UPDATE for changed ones and ``last_seen_at`` for the rest (Core statements: the ORM's per-row
bookkeeping is what made the first version slow). Used by :mod:`oversight.inspection.service`
(apply) and :mod:`oversight.inspection.rescan`. Flushes; the caller commits.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm

from extensions import db
from oversight.inspection.models import LivePost, PostSource, PostState

# ----------------------------------------------------------------------------- stored posts (bulk)

#: How many posts one ``unreviewed_post`` finding lists in its evidence (the posts tab lists all).
GROUP_LIST_MAX = 500

#: What an ``unreviewed_post`` group lists of each post.
_GROUP_COLUMNS = (
    LivePost.id,
    LivePost.account_id,
    LivePost.platform_post_id,
    LivePost.published_at,
    LivePost.first_seen_at,
    LivePost.url,
    LivePost.title,
    LivePost.text,
    LivePost.original,
    LivePost.seen_via,
)
_VIEW_COLUMNS = (
    *_GROUP_COLUMNS,
    LivePost.platform,
    LivePost.links,
    LivePost.source,
    LivePost.delivery_id,
    LivePost.text_hash,
    LivePost.checked_version,
    LivePost.check_hits,
    LivePost.checked_at,
    LivePost.expected_text,
    LivePost.tamper_state,
    LivePost.state,
)


@dataclass
class PostView:
    """A stored post as plain data: the hot path reads and writes rows in bulk (Core), not ORM
    objects. Attribute names are LivePost's, so evidence and judges take either."""

    id: int | None
    account_id: int
    platform: str
    platform_post_id: str
    published_at: datetime | None
    first_seen_at: datetime
    url: str | None
    title: str
    text: str
    links: list[Any]
    original: bool | None
    seen_via: str
    source: PostSource
    delivery_id: int | None
    text_hash: str
    checked_version: str | None
    check_hits: list[Any]
    checked_at: datetime | None
    expected_text: str | None
    tamper_state: str | None
    state: PostState

    last_seen: datetime | None = None

    def row(self) -> dict[str, Any]:
        """The columns to write (``media`` given, so that no per-row Python default runs)."""
        return {**dict(zip(_ROW_FIELDS, _row_values(self), strict=True)), "media": []}


_ROW_FIELDS = tuple(f.name for f in fields(PostView) if f.name not in ("id", "last_seen"))
_row_values = operator.attrgetter(*_ROW_FIELDS)


def _views(account_id: int, keys: Iterable[str]) -> dict[str, PostView]:
    """Stored posts of the account with these platform ids (chunked IN lists)."""
    wanted = list(keys)
    out: dict[str, PostView] = {}
    for i in range(0, len(wanted), 500):
        stmt = sa.select(*_VIEW_COLUMNS).where(
            LivePost.account_id == account_id, LivePost.platform_post_id.in_(wanted[i : i + 500])
        )
        for r in db.session.execute(stmt):
            out[r.platform_post_id] = PostView(**r._mapping)
    return out


def _views_many(keys: dict[int, list[str]]) -> dict[int, dict[str, PostView]]:
    """Stored posts of several accounts by account and platform id (a few queries)."""
    out: dict[int, dict[str, PostView]] = {}
    items = sorted(keys.items())
    for i in range(0, len(items), 200):
        chunk = items[i : i + 200]
        wanted = {a: set(k) for a, k in chunk}
        for r in db.session.execute(sa.select(*_VIEW_COLUMNS).where(LivePost.account_id.in_([a for a, _ in chunk]))):
            if r.platform_post_id in wanted[r.account_id]:
                out.setdefault(r.account_id, {})[r.platform_post_id] = PostView(**r._mapping)
    return out


def _expire_loaded(ids: Iterable[int | None]) -> None:
    """Core UPDATEs bypass the session: expire any LivePost of these ids it holds."""
    wanted = set(ids)
    if not wanted:
        return
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, LivePost) and obj.id in wanted:
            db.session.expire(obj)


def _essentials(v: PostView) -> tuple[Any, ...]:
    """What, besides the text, makes a stored post worth rewriting."""
    return (v.source, v.delivery_id, v.state, v.published_at, v.url, v.links, v.original, v.checked_version)


def _write_posts(
    inserts: list[PostView], updates: list[PostView], untouched: dict[tuple[str, datetime], list[int]]
) -> None:
    """New posts in one executemany INSERT (ids come back through RETURNING), changed ones in one
    executemany UPDATE by primary key, unchanged ones only get ``last_seen_at`` (UPDATE … IN).
    Core statements on the table: the ORM's per-row bookkeeping is what made the first version slow."""
    table = LivePost.__table__
    db.session.flush()
    for i in range(0, len(inserts), 1000):
        chunk = inserts[i : i + 1000]
        rows = [{**v.row(), "last_seen_at": v.checked_at or v.first_seen_at} for v in chunk]
        ids = {
            (r.account_id, r.platform_post_id): r.id
            for r in db.session.connection().execute(
                sa.insert(table).returning(table.c.id, table.c.account_id, table.c.platform_post_id), rows
            )
        }
        for v in chunk:
            v.id = ids[(v.account_id, v.platform_post_id)]
    if updates:
        db.session.connection().execute(
            sa.update(table).where(table.c.id == sa.bindparam("_id")),
            [
                {**v.row(), "_id": v.id, "last_seen_at": v.last_seen, "removed_at": None, "removed_reason": None}
                for v in updates
            ],
        )
    _expire_loaded([v.id for v in updates] + [i for ids_ in untouched.values() for i in ids_])
    for (via, at), ids_ in untouched.items():
        for i in range(0, len(ids_), 1000):
            db.session.execute(
                sa.update(LivePost)
                .where(LivePost.id.in_(ids_[i : i + 1000]))
                .values(last_seen_at=at, seen_via=via)
                .execution_options(synchronize_session=False)
            )


def _mark_removed(lp: LivePost, reason: str, now: datetime) -> None:
    if lp.state is not PostState.removed:
        lp.state = PostState.removed
        lp.removed_at = now
    lp.removed_reason = reason[:200]
