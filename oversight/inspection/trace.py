"""Tracing live posts to 三审 and comparing them with what stage 3 approved.

* A post published through govmedia is found by its platform id among the account's deliveries
  (``sent`` or later ``withdrawn``): source ``ours``. Anything else is ``found``.
* The approved text is the delivery's content rendered for the platform by the same adapter code
  that published it (``publishers.attempt.render_for``), then reduced to what the platform's
  listing shows: WeChat lists the title and the digest (摘要), the others the post text. An
  article sent without a 摘要 gets the platform's own: "如本字段为没有填写，则默认抓取正文前54个字"
  (draft/add; older pages say 64) — its approved digest is then the start of the body, marked
  with :func:`default_digest_mark` (which says how long the platform's cut is at least), and the live
  digest must be a beginning of it at least that long (:func:`same`).
* Comparisons ignore whitespace and links (platforms shorten and rewrite URLs): see
  ``platforms.base.normalize_text``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm

from extensions import db
from oversight.inspection.sources import live_key
from platforms.text import normalize_text
from publishers.attempt import render_for
from publishers.models import Delivery, DeliveryStatus

log = logging.getLogger("govmedia.inspection")


@dataclass(frozen=True)
class DeliveryRef:
    id: int
    content_id: int
    version: int
    platform_post_id: str
    status: str
    sent_at: datetime | None


def deliveries_by_key(account_id: int, platform: str) -> dict[str, DeliveryRef]:
    """The account's published deliveries by the id its listing shows."""
    return deliveries_by_account([account_id], {account_id: platform}).get(account_id, {})


def deliveries_by_account(account_ids: list[int], platforms: dict[int, str]) -> dict[int, dict[str, DeliveryRef]]:
    """:func:`deliveries_by_key` for several accounts at once (chunked IN lists)."""

    out: dict[int, dict[str, DeliveryRef]] = {}
    ids = sorted(set(account_ids))
    for i in range(0, len(ids), 500):
        rows = db.session.execute(
            sa.select(
                Delivery.account_id,
                Delivery.id,
                Delivery.content_id,
                Delivery.version,
                Delivery.platform_post_id,
                Delivery.status,
                Delivery.sent_at,
            ).where(
                Delivery.account_id.in_(ids[i : i + 500]),
                Delivery.platform_post_id.is_not(None),
                Delivery.status.in_((DeliveryStatus.sent, DeliveryStatus.withdrawn, DeliveryStatus.manual)),
            )
        )
        for r in rows:
            out.setdefault(r.account_id, {})[live_key(platforms[r.account_id], r.platform_post_id)] = DeliveryRef(
                r.id, r.content_id, r.version, r.platform_post_id, r.status.value, r.sent_at
            )
    return out


def watched_post_ids(account_id: int, since: datetime) -> tuple[str, ...]:
    """Platform ids of the account's posts that govmedia published (and did not withdraw) since
    ``since``: the inspection asks the platform about those the listing no longer shows."""

    return tuple(
        db.session.scalars(
            sa.select(Delivery.platform_post_id)
            .where(
                Delivery.account_id == account_id,
                Delivery.status == DeliveryStatus.sent,
                Delivery.platform_post_id.is_not(None),
                Delivery.sent_at >= since,
            )
            .order_by(Delivery.id)
        )
    )


def prefetch_deliveries(ids: Iterable[int]) -> list[Any]:
    """Load these deliveries with their content and account in a few queries, so that
    :func:`expected_text` of a batch finds them in the session instead of one query each. The
    caller keeps the returned list while it works (the session only holds weak references)."""

    wanted = sorted(set(ids))
    loaded: list[Any] = []
    for i in range(0, len(wanted), 500):
        loaded.extend(
            db.session.scalars(
                sa.select(Delivery)
                .where(Delivery.id.in_(wanted[i : i + 500]))
                .options(sa.orm.selectinload(Delivery.content), sa.orm.selectinload(Delivery.account))
            )
        )
    return loaded


#: How much of the body an article without a 摘要 is compared with (WeChat's own cut is 54 or 64
#: characters: any of them is a beginning of these 128, the 摘要 limit).
DEFAULT_DIGEST_CHARS = 128
#: WeChat's documented cut of the body for an article without a 摘要 (draft/add).
DEFAULT_DIGEST_CUT = 54
#: Ends an approved digest that WeChat makes itself from the body, with the least length of the
#: platform's cut (whitespace and links not counted; :func:`comparable` removes whitespace, so the
#: mark has none): a reader of the side-by-side view sees why the approved text ends there, and
#: :func:`same` reads the length back. No real 摘要 ends like this.
_DEFAULT_DIGEST_RE = re.compile(r"……〔未填摘要：平台取正文开头作摘要，不计空白和链接至少(\d+)字〕$")


def default_digest_mark(body: str) -> str:
    """The mark of an approved digest taken by the platform from ``body`` (its plain text)."""
    least = len(normalize_text(body[:DEFAULT_DIGEST_CUT]))
    return f"……〔未填摘要：平台取正文开头作摘要，不计空白和链接至少{least}字〕"


def same(platform: str, expected: str, live: str) -> bool:
    """Whether the live post (:func:`comparable`) shows what stage 3 approved (``expected``): the
    same text, or for a WeChat article sent without a 摘要 the same title and a digest that is a
    beginning of the approved body at least as long as the platform's cut (a shorter beginning —
    "网传明日封城" of "网传明日封城系谣言" — is an edit, not the platform's digest)."""

    if live == expected:
        return True
    mark = _DEFAULT_DIGEST_RE.search(expected) if platform == "wechat" else None
    if mark is None:
        return False
    title, _, body = expected[: mark.start()].partition("\n")
    live_title, _, digest = live.partition("\n")
    least = min(int(mark.group(1)), len(body))
    return live_title == title and len(digest) >= max(least, 1) and body.startswith(digest)


def comparable(platform: str, title: str, text: str) -> str:
    """What is compared for tampering: WeChat lists title + digest, other platforms the text."""

    if platform == "wechat":
        return normalize_text(title) + "\n" + normalize_text(text)
    return normalize_text(text)


#: A batch's rendered approved texts (:func:`expected_comparable`).
RenderCache = dict[tuple[int, str, int], str | None]


def expected_comparable(delivery_id: int, platform: str, cache: RenderCache | None = None) -> str | None:
    """:func:`comparable` of :func:`expected_text`. With ``cache`` (one batch's: a content does not
    change within it), rendered once per content, platform and length of the delivery's key: the
    only per-delivery part of a rendering is the post's link (``canonical_url``: the content id
    and the key's first 12 characters), and links are left out of what is compared — keeping the
    key's length keeps any truncation around the link where it was."""

    if cache is None:
        expected = expected_text(delivery_id, platform)
        return None if expected is None else comparable(platform, *expected)
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        return None
    key = (delivery.content_id, platform, len(delivery.idempotency_key[:12]))
    if key not in cache:
        expected = expected_text(delivery_id, platform)
        cache[key] = None if expected is None else comparable(platform, *expected)
    return cache[key]


def _rendered(delivery: Delivery | None) -> Any:
    """The delivery's approved content rendered for its platform, or None when it cannot be
    rendered now (delivery or content gone, adapter missing)."""
    if delivery is None or delivery.content is None:
        return None
    try:
        return render_for(delivery)
    except (ValueError, KeyError, LookupError) as exc:
        log.warning("cannot render delivery %s for the inspection: %s", delivery.id, exc)
        return None


def expected_text(delivery_id: int, platform: str) -> tuple[str, str] | None:
    """(title, text) stage 3 approved as the platform shows it, or None when it cannot be
    rendered now (content gone, adapter missing)."""

    post = _rendered(db.session.get(Delivery, delivery_id))
    if post is None:
        return None
    if platform == "wechat":
        if post.summary or not post.text:
            return post.title, post.summary or ""
        return post.title, normalize_text(post.text)[:DEFAULT_DIGEST_CHARS] + default_digest_mark(post.text)
    return post.title, post.text


def as_published(delivery_id: int) -> tuple[str, str, str | None]:
    """(title, text, link) of a delivery as it went out, for a post no reading listed before the
    platform removed it: the approved text rendered for the platform (the whole article for
    WeChat, where a listing shows the 摘要; "" when it cannot be rendered now) and the link the
    platform returned."""
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        return "", "", None
    post = _rendered(delivery)
    if post is None:
        return "", "", delivery.platform_url
    return post.title or "", post.text or post.summary or "", delivery.platform_url
