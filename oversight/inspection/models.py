"""Inspection (巡检) tables: the posts each registered account really published, the state of each
account's inspection (which source, when last read, why not checkable), allowed exceptions and
imported third-party monitor posts.

Times are naive UTC (as everywhere in the database); pages show them in Beijing time.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import utcnow
from extensions import db


class PostSource(enum.StrEnum):
    ours = "ours"  # published through govmedia (traced to a delivery, so through 三审)
    found = "found"  # seen on the platform, not published through govmedia


class PostState(enum.StrEnum):
    live = "live"
    removed = "removed"


class ReadWindow(enum.StrEnum):
    """What the last reading of an account's posts covered (whether a post it did not list is gone)."""

    all = "all"  # the listing was the whole account
    since = "since"  # complete for posts published at or after ``read_since``
    listed = "listed"  # only the listed posts (a third-party export: absence proves nothing)


POST_SOURCE_LABELS = {PostSource.ours: "经本平台三审发布", PostSource.found: "平台上发现（非本平台发布）"}
POST_STATE_LABELS = {PostState.live: "在线", PostState.removed: "已删除/被屏蔽"}


class LivePost(db.Model):
    """One post of a registered account as the inspection saw it on the platform."""

    __tablename__ = "live_posts"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "platform_post_id"),
        # Re-scan after a dictionary change: posts of the window whose check version is old.
        sa.Index("ix_live_posts_published_checked", "published_at", "checked_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No separate index on account_id, source or state: (account_id, platform_post_id) serves every
    # per-account read, and every read of source/state is per account (each index costs each insert).
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    platform: Mapped[str] = mapped_column(sa.String(32))
    platform_post_id: Mapped[str] = mapped_column(sa.String(128))
    published_at: Mapped[datetime | None]
    title: Mapped[str] = mapped_column(sa.Text, default="")
    text: Mapped[str] = mapped_column(sa.Text, default="")
    url: Mapped[str | None] = mapped_column(sa.String(500))
    links: Mapped[list[Any]] = mapped_column(default=list)
    media: Mapped[list[Any]] = mapped_column(default=list)
    original: Mapped[bool | None]
    source: Mapped[PostSource] = mapped_column(default=PostSource.found)
    delivery_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deliveries.id"), index=True)
    text_hash: Mapped[str] = mapped_column(sa.String(64))
    # What stage 3 approved, rendered for this platform (govmedia posts only), and whether the
    # live text matches it ("same" | "tampered" | None: not ours / not comparable).
    expected_text: Mapped[str | None] = mapped_column(sa.Text)
    tamper_state: Mapped[str | None] = mapped_column(sa.String(16))
    state: Mapped[PostState] = mapped_column(default=PostState.live)
    removed_at: Mapped[datetime | None]
    removed_reason: Mapped[str | None] = mapped_column(sa.String(200))
    seen_via: Mapped[str] = mapped_column(sa.String(32))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When this row last changed (first seen, edited, removed, re-appeared, traced, re-checked) —
    # not rewritten when a reading shows the post unchanged: that reading is recorded once per
    # account (AccountInspection.read_at / read_window / read_since, see :func:`confirmed_at`).
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Automated checks over the live text: every hit (block and warn) and the dictionary version.
    check_hits: Mapped[list[Any]] = mapped_column(default=list)
    checked_version: Mapped[str | None] = mapped_column(sa.String(40))
    checked_at: Mapped[datetime | None]

    account = relationship("Account")
    delivery = relationship("Delivery")
    exception: Mapped[PostException | None] = relationship(back_populates="post", uselist=False)


class PostException(db.Model):
    """A unit's recorded reason why a post not published through govmedia is allowed
    (e.g. a repost of a designated 稿源, DOMAIN.md R6). Audited."""

    __tablename__ = "live_post_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    live_post_id: Mapped[int] = mapped_column(sa.ForeignKey("live_posts.id"), unique=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    post: Mapped[LivePost] = relationship(back_populates="exception")


class AccountInspection(db.Model):
    """Where each registered account's inspection stands (one row per account once tried)."""

    __tablename__ = "account_inspections"

    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    source: Mapped[str | None] = mapped_column(sa.String(32))  # own_api | weibo_biz | import | None
    not_checkable_reason: Mapped[str | None] = mapped_column(sa.String(64))
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[dict[str, Any] | None]
    posts_seen: Mapped[int] = mapped_column(default=0)
    profile: Mapped[dict[str, Any] | None]
    # The last reading of the account's posts: when, and what it covered. A live post inside that
    # window was on the platform at ``read_at`` (it would have been marked removed otherwise).
    read_at: Mapped[datetime | None]
    read_window: Mapped[ReadWindow | None]
    read_since: Mapped[datetime | None]

    def covers(self, post: Any) -> bool:
        """Whether the last reading vouches for this live post (it lies inside the window read)."""
        if self.read_at is None or self.read_window is None:
            return False
        if self.read_window is ReadWindow.all:
            return True
        if self.read_window is ReadWindow.since:
            since, published = self.read_since, post.published_at
            return published is not None and since is not None and published >= since
        return False


def confirmed_at(post: Any, state: AccountInspection | None) -> datetime:
    """Until when a live post is known to be online: the account's last reading when that reading
    covers the post, else when its own row last changed (first seen, edited, re-appeared)."""
    if state is not None and state.read_at is not None and state.covers(post) and state.read_at > post.last_seen_at:
        return state.read_at
    return post.last_seen_at


class ImportedPost(db.Model):
    """A post row from a third-party monitor export (CSV/XLSX), kept until an inspection run of
    the registered account with that (platform, uid) reads it."""

    __tablename__ = "imported_posts"
    __table_args__ = (sa.UniqueConstraint("platform", "platform_uid", "platform_post_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(sa.String(32))
    platform_uid: Mapped[str] = mapped_column(sa.String(128))
    platform_post_id: Mapped[str] = mapped_column(sa.String(128))
    published_at: Mapped[datetime | None]
    title: Mapped[str] = mapped_column(sa.Text, default="")
    text: Mapped[str] = mapped_column(sa.Text, default="")
    url: Mapped[str | None] = mapped_column(sa.String(500))
    removed: Mapped[bool] = mapped_column(default=False)
    source_ref: Mapped[str | None] = mapped_column(sa.String(200))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
