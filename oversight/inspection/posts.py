"""The stored posts of the inspection (:class:`LivePost`) as plain data, read and written in bulk:
:class:`PostView` rows by account and platform id, one executemany INSERT for new posts, one
UPDATE for changed ones and nothing for the rest (Core statements: the ORM's per-row
bookkeeping is what made the first version slow). Used by :mod:`oversight.inspection.service`
(apply) and :mod:`oversight.inspection.rescan`. Flushes; the caller commits.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm

from common.bulk import insert_rows, json_text, next_ids
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


@dataclass(slots=True)
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


@dataclass(slots=True)
class StoredPost:
    """What decides whether a stored post needs any work when it is seen again: read for every
    post of a listing (the full :class:`PostView` only for the few that changed)."""

    id: int
    account_id: int
    platform_post_id: str
    text_hash: str
    checked_version: str | None
    source: PostSource
    delivery_id: int | None
    state: PostState
    published_at: datetime | None
    url: str | None
    links: str | None  # the stored JSON text
    original: bool | None
    tamper_state: str | None
    no_expected: bool

    def unchanged(self, h: str, version: str, delivery_id: int | None, post: Any) -> bool:
        """Whether seeing ``post`` (text hash ``h``, traced to ``delivery_id``) again changes
        nothing stored: same text, checked with these dictionaries, nothing else different and
        no tamper comparison pending — then the post is left out of the write path. (A False
        only costs reading the full row: the caller compares that as before.)"""
        return (
            self.text_hash == h
            and self.checked_version == version
            and self.state is PostState.live
            and (delivery_id is None or (self.source is PostSource.ours and self.delivery_id == delivery_id))
            and not (self.source is PostSource.ours and self.delivery_id is not None and self.no_expected)
            and self.tamper_state != "tampered"  # compared again each time (a rule change may clear it)
            and (post.published_at is None or post.published_at == self.published_at)
            and (not post.url or post.url == self.url)
            and _same_links(self.links, post.links)
            and post.original == self.original
        )


def _same_links(stored: str | None, links: Sequence[str]) -> bool:
    """Whether the stored JSON text holds these links: by text first (as the bulk insert wrote
    it), else by value (an UPDATE through SQLAlchemy writes the standard library's format)."""
    if not links:
        return stored == "[]"
    wanted = list(links)
    return stored is not None and (stored == json_text(wanted) or json.loads(stored) == wanted)


_STORED_COLUMNS = (
    LivePost.id,
    LivePost.account_id,
    LivePost.platform_post_id,
    LivePost.text_hash,
    LivePost.checked_version,
    LivePost.source,
    LivePost.delivery_id,
    LivePost.state,
    LivePost.published_at,
    LivePost.url,
    sa.cast(LivePost.links, sa.Text).label("links"),
    LivePost.original,
    LivePost.tamper_state,
    LivePost.expected_text.is_(None).label("no_expected"),
)


def stored_many(keys: dict[int, list[str]]) -> dict[int, dict[str, StoredPost]]:
    """The stored posts of these accounts (every one given, also with no key listed), as
    :class:`StoredPost` by platform id: one query per 200 accounts, a light row. The listed ids
    find their rows here, and the unlisted live ones are what a complete listing no longer shows."""
    out: dict[int, dict[str, StoredPost]] = {}
    ids = sorted(keys)
    for i in range(0, len(ids), 200):
        for r in db.session.execute(sa.select(*_STORED_COLUMNS).where(LivePost.account_id.in_(ids[i : i + 200]))):
            out.setdefault(r[1], {})[r[2]] = StoredPost(*r)
    return out


def views_by_id(ids: Iterable[int]) -> dict[int, PostView]:
    """Full :class:`PostView` rows by id (chunked IN lists)."""
    wanted = sorted(set(ids))
    out: dict[int, PostView] = {}
    for i in range(0, len(wanted), 1000):
        for r in db.session.execute(sa.select(*_VIEW_COLUMNS).where(LivePost.id.in_(wanted[i : i + 1000]))):
            out[r.id] = PostView(**r._mapping)
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


def _write_posts(inserts: list[PostView], updates: list[PostView]) -> int:
    """New posts as pre-encoded rows straight through the driver (:func:`_insert_posts`), changed
    ones in one executemany UPDATE by primary key (their ``last_seen_at``: when the row changed);
    unchanged ones are not written. Core statements on the table: the ORM's per-row bookkeeping is
    what made the first version slow. Returns the highest post id before the inserts (theirs are
    all above)."""
    table = LivePost.__table__
    db.session.flush()
    before = _insert_posts(inserts)
    if updates:
        db.session.connection().execute(
            sa.update(table).where(table.c.id == sa.bindparam("_id")),
            [
                {**v.row(), "_id": v.id, "last_seen_at": v.last_seen, "removed_at": None, "removed_reason": None}
                for v in updates
            ],
        )
    _expire_loaded([v.id for v in updates])
    return before


#: The columns :func:`_insert_posts` writes, in order (see :func:`_encode_rows`).
_INSERT_FIELDS = (
    "account_id",
    "platform",
    "platform_post_id",
    "published_at",
    "first_seen_at",
    "last_seen_at",
    "checked_at",
    "url",
    "title",
    "text",
    "links",
    "media",
    "check_hits",
    "original",
    "seen_via",
    "source",
    "state",
    "delivery_id",
    "text_hash",
    "checked_version",
    "expected_text",
    "tamper_state",
)


def _insert_posts(views: list[PostView]) -> int:
    """Write new posts as rows encoded here, once per distinct value where values repeat (the
    batch's time, the enums, empty lists), and handed to the driver in one go: ``COPY … FROM
    STDIN`` on PostgreSQL (psycopg), one ``executemany`` on SQLite — no per-row statement
    compilation or bind processing. On PostgreSQL the ids are taken from the table's sequence
    first and written with the rows; on SQLite they are read back (rows above the highest id seen
    before the write, matched by account and platform id). Either way they are set on the views.
    Returns that highest id before the write (the new ones are all above it)."""
    conn = db.session.connection()
    table = LivePost.__table__
    before: int = conn.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))) or 0
    if not views:
        return before
    rows = _encode_rows(views, conn.dialect)
    ids = next_ids(conn, table, len(views))
    if ids is not None:
        for v, i in zip(views, ids, strict=True):
            v.id = i
        insert_rows(conn, table, ("id", *_INSERT_FIELDS), [(i, *row) for i, row in zip(ids, rows, strict=True)])
        return before
    insert_rows(conn, table, _INSERT_FIELDS, rows)
    wanted = {(v.account_id, v.platform_post_id): v for v in views}
    for i, account_id, key in conn.execute(
        sa.select(table.c.id, table.c.account_id, table.c.platform_post_id).where(table.c.id > before)
    ):
        v = wanted.get((account_id, key))
        if v is not None:
            v.id = i
    missing = [k for k, v in wanted.items() if v.id is None]
    if missing:  # cannot happen unless ids were not allocated in order
        raise RuntimeError(f"ids of {len(missing)} new live posts not found after the insert")
    return before


def _encode_rows(views: list[PostView], dialect: sa.engine.Dialect) -> list[tuple[Any, ...]]:
    """Rows of :data:`_INSERT_FIELDS` as the driver takes them: what SQLAlchemy's own bind
    processors make of each value (JSON text, enum values, SQLite's datetime text), computed once
    per distinct time and enum member and once for an empty list; PostgreSQL's COPY takes
    datetimes and booleans as they are and JSON as text."""
    c = LivePost.__table__.c
    pg = dialect.name == "postgresql"

    def proc(name: str) -> Any:
        return c[name].type.dialect_impl(dialect).bind_processor(dialect)  # the column type's own encoding

    as_json = json_text if pg else proc("check_hits")
    empty = as_json([])
    # Each distinct value converted once (a dict lookup per value after that; None stays None).
    times = _Memo(proc("published_at")) if not pg else None
    bools = _Memo(proc("original")) if not pg else None
    sources, states = _Memo(proc("source")), _Memo(proc("state"))
    out: list[tuple[Any, ...]] = []
    append = out.append
    for v in views:
        first = v.first_seen_at
        checked = v.checked_at
        links, hits = v.links, v.check_hits
        if times is None:
            published, first_, seen, checked_, original = v.published_at, first, checked or first, checked, v.original
        else:
            published, first_, checked_ = times[v.published_at], times[first], times[checked]
            seen = times[checked or first]
            original = bools[v.original]  # type: ignore[index]
        append(
            (
                v.account_id,
                v.platform,
                v.platform_post_id,
                published,
                first_,
                seen,
                checked_,
                v.url,
                v.title,
                v.text,
                as_json(links) if links else empty,
                empty,
                as_json(hits) if hits else empty,
                original,
                v.seen_via,
                sources[v.source],
                states[v.state],
                v.delivery_id,
                v.text_hash,
                v.checked_version,
                v.expected_text,
                v.tamper_state,
            )
        )
    return out


class _Memo(dict[Any, Any]):
    """``memo[value]``: ``convert(value)``, computed once per distinct value; ``memo[None]`` is None."""

    def __init__(self, convert: Any) -> None:
        super().__init__({None: None})
        self.convert = convert

    def __missing__(self, value: Any) -> Any:
        got = self[value] = self.convert(value) if self.convert is not None else value
        return got


def _mark_removed(lp: LivePost, reason: str, now: datetime) -> None:
    if lp.state is not PostState.removed:
        lp.state = PostState.removed
        lp.removed_at = now
        lp.last_seen_at = now  # the row changed (an unchanged reading no longer writes it)
    lp.removed_reason = reason[:200]
