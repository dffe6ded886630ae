"""互动回应: comments (评论/留言) and private messages (私信) read from the platforms, and the
interaction channels each account has.

Only what handling needs is kept about the public: the author's display name as the platform
shows it, never phone numbers or real names (DOMAIN.md R7: no more personal data than needed).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import TimestampMixin, utcnow
from extensions import db
from registry.models import Account, Platform


class ItemKind(enum.StrEnum):
    comment = "comment"  # 评论 / 留言 under a post
    message = "message"  # 私信 / 公众号消息


KIND_LABELS = {ItemKind.comment: "评论", ItemKind.message: "私信"}


class InteractionItem(TimestampMixin, db.Model):
    """One comment or message from the public to a registered account."""

    __tablename__ = "interaction_items"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "kind", "platform_item_id"),
        # The inbox: unanswered first, oldest first, per account.
        sa.Index("ix_interaction_items_account_open", "account_id", "replied_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    platform: Mapped[Platform]
    kind: Mapped[ItemKind]
    platform_item_id: Mapped[str] = mapped_column(sa.String(128))
    post_ref: Mapped[str | None] = mapped_column(sa.String(200))  # the post commented on
    #: who wrote it, as far as a reply needs: the platform's opaque user id (openid…) and display name
    author_ref: Mapped[str | None] = mapped_column(sa.String(128))
    author_name: Mapped[str | None] = mapped_column(sa.String(100))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    source: Mapped[str] = mapped_column(sa.String(16), default="api")  # api | push
    replied_at: Mapped[datetime | None]
    reply_text: Mapped[str | None] = mapped_column(sa.Text)
    reply_platform_id: Mapped[str | None] = mapped_column(sa.String(128))
    handled_elsewhere: Mapped[bool] = mapped_column(default=False)
    handled_reason: Mapped[str | None] = mapped_column(sa.Text)
    handler_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    account: Mapped[Account] = relationship()

    @property
    def answered(self) -> bool:
        return self.replied_at is not None


class InteractionChannel(TimestampMixin, db.Model):
    """Per account: which interaction channels exist (recorded by the unit) and what the last
    poll could read. One row per account, created on first poll or first record."""

    __tablename__ = "interaction_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), unique=True)
    #: recorded by the unit: True open, False closed, None not recorded
    comments_open: Mapped[bool | None]
    messages_open: Mapped[bool | None]
    note: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime | None]
    #: the last poll: when, whether comments/messages could be read through the API, and why not
    polled_at: Mapped[datetime | None]
    comments_readable: Mapped[bool | None]
    messages_readable: Mapped[bool | None]
    last_error: Mapped[dict[str, Any] | None]

    account: Mapped[Account] = relationship()
