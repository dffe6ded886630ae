"""Intake models: the government website's feeds (政府网站栏目订阅) and the items taken from them.

Bulk scheduling keeps no table of its own: a bulk import is a background job (``jobs.JobRun``)
whose result lists the contents it created.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import TimestampMixin, one_of, utcnow
from extensions import db
from moderation.models import Disclosure


class FeedFormat(enum.StrEnum):
    rss = "rss"  # RSS 0.9x/1.0/2.0 or Atom (feedparser)
    json = "json"  # JSON Feed 1.x (https://jsonfeed.org/version/1.1)


FEED_FORMAT_LABELS = {FeedFormat.rss: "RSS / Atom", FeedFormat.json: "JSON"}

#: ``SiteFeed.last_status``: how the last poll went.
POLL_STATUS_LABELS = {
    "never": "尚未抓取",
    "ok": "正常",
    "not_modified": "正常（无更新）",
    "error": "出错",
}


class SiteFeed(TimestampMixin, db.Model):
    """One column (栏目) of a unit's government website, polled for new items."""

    __tablename__ = "site_feeds"
    __table_args__ = (one_of("last_status", POLL_STATUS_LABELS), sa.UniqueConstraint("unit_id", "url"))

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    url: Mapped[str] = mapped_column(sa.String(500))
    format: Mapped[FeedFormat] = mapped_column(default=FeedFormat.rss)
    default_disclosure: Mapped[Disclosure] = mapped_column(default=Disclosure.active)
    enabled: Mapped[bool] = mapped_column(default=True)
    # The drafts' author: whoever added the feed (an operator or administrator of the unit).
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    etag: Mapped[str | None] = mapped_column(sa.String(300))
    last_modified: Mapped[str | None] = mapped_column(sa.String(100))
    last_polled_at: Mapped[datetime | None]
    last_status: Mapped[str] = mapped_column(sa.String(20), default="never")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    last_new_items: Mapped[int] = mapped_column(default=0)

    unit = relationship("Unit")
    author = relationship("User")

    @property
    def status_label(self) -> str:
        if not self.enabled:
            return "已停用"
        return POLL_STATUS_LABELS.get(self.last_status, self.last_status)


class FeedItem(db.Model):
    """One item taken from a feed; ``key`` (its GUID, else its link) is never taken twice per unit."""

    __tablename__ = "site_feed_items"
    __table_args__ = (sa.UniqueConstraint("unit_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(sa.ForeignKey("site_feeds.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    key: Mapped[str] = mapped_column(sa.String(500))
    link: Mapped[str | None] = mapped_column(sa.String(500), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    published_at: Mapped[datetime | None]
    content_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contents.id"))
    # 三同步: the policy item a 解读 item belongs to (and so its draft's policy_id).
    policy_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site_feed_items.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    feed: Mapped[SiteFeed] = relationship()
    content = relationship("Content")
    policy_item: Mapped[FeedItem | None] = relationship(remote_side=[id])
