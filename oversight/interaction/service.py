"""互动回应: read comments and messages into a per-unit inbox, reply or mark handled, and turn
unanswered-past-the-limit items and missing interaction channels into findings (veto R11/R13).

Polling an account has three steps so that no database transaction is open while a platform
is asked (on SQLite every transaction holds the write lock): :func:`prepare` (read account and
credentials), :func:`fetch` (the platform, no database), :func:`apply` (store items, refresh
the account's channel record and findings; flushes). Replies work the same way
(:func:`reply`: read → commit → platform → write).

Limits (DOMAIN.md §7.3; local rules are settings): an item unanswered for more than
``INTERACTION_REPLY_WORKDAYS`` working days (default 5, [L]) is overdue → ``interaction_overdue``;
more than ``INTERACTION_SEVERE_DAYS`` days (default 90: "3 months", R21/S42) marks it severe.
An item handled on the platform and recorded as such counts as answered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from audit import service as audit
from auth.models import User
from auth.scoping import scope_filter
from common.db import utcnow
from common.errors import ApiError, Conflict, Invalid
from common.timefmt import waited
from common.workdays import workdays_between
from extensions import db
from oversight import findings as findings_service
from oversight.findings import FindingInput, iso_cn, setting_int, to_cn, to_naive_utc
from oversight.interaction.models import KIND_LABELS, InteractionChannel, InteractionItem, ItemKind
from oversight.models import Finding, FindingKind
from oversight.monitoring import MONITORED_STATUSES, adapter_or_none, prepare_probe
from oversight.monitoring import _audit_new as audit_new_findings
from platforms import credentials
from platforms import interaction as protocol
from platforms.errors import AdapterError, Unsupported
from platforms.types import PLATFORM_LABELS, Credentials
from publishers.models import Delivery, DeliveryStatus
from registry.models import Account, Platform

log = logging.getLogger("govmedia.interaction")

LABEL = "system:interaction"
REASON_ANSWERED = "超期留言均已回复或已在平台处理"
REASON_CHANNEL_OK = "已有可用的互动渠道"
MAX_REPLY_CHARS = {"weibo": 140, "douyin": 1000, "wechat": 2000}


@dataclass(frozen=True)
class Thresholds:
    reply_workdays: int = 5
    severe_days: int = 90

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            reply_workdays=setting_int("INTERACTION_REPLY_WORKDAYS", 5),
            severe_days=setting_int("INTERACTION_SEVERE_DAYS", 90),
        )


def waited_hours(item: InteractionItem, now: datetime) -> int:
    end = item.replied_at or now
    return max(0, int((end - item.received_at).total_seconds() // 3600))


def workdays_waited(item: InteractionItem, now: datetime) -> int:
    start, end = to_cn(item.received_at), to_cn(item.replied_at or now)
    return workdays_between(start.date(), end.date())  # type: ignore[union-attr]


def is_overdue(item: InteractionItem, now: datetime, t: Thresholds) -> bool:
    return item.replied_at is None and workdays_waited(item, now) > t.reply_workdays


def is_severe(item: InteractionItem, now: datetime, t: Thresholds) -> bool:
    return item.replied_at is None and (now - item.received_at).days > t.severe_days


# ----------------------------------------------------------------------------- polling


@dataclass(frozen=True)
class Fetched:
    account_id: int
    platform: str
    at: datetime
    items: tuple[protocol.RemoteItem, ...] = ()
    comments_readable: bool | None = None
    messages_readable: bool | None = None
    error: dict[str, Any] | None = None


@dataclass
class PollOutcome:
    account_id: int
    new_items: int = 0
    comments_readable: bool | None = None
    error: dict[str, Any] | None = None
    findings: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "new_items": self.new_items,
            "comments_readable": self.comments_readable,
            "error": self.error,
            "findings": self.findings,
        }


def poll_targets(only: int | None = None) -> list[int]:
    stmt = sa.select(Account.id).where(Account.status.in_(MONITORED_STATUSES)).order_by(Account.id)
    if only is not None:
        stmt = stmt.where(Account.id == only)
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class PollTarget:
    """What a poll needs from the database, read before the platform is asked."""

    account_id: int
    platform: str
    creds: dict[str, Any] | None
    creds_problem: str | None
    #: WeChat: the articles govmedia sent by 群发 lately (the 留言 API needs their msg_data_id).
    articles: tuple[protocol.WechatArticle, ...] = ()


def wechat_articles(account_id: int, now: datetime | None = None) -> tuple[protocol.WechatArticle, ...]:
    """The account's 群发 deliveries of the last ``INTERACTION_WECHAT_ARTICLE_DAYS`` days that kept
    the platform's msg_data_id, newest first. 发布 (freepublish) articles have none: their
    comments cannot be read through the API (docs/monitoring.md 互动回应)."""

    since = (now or utcnow()) - timedelta(days=setting_int("INTERACTION_WECHAT_ARTICLE_DAYS", 30))
    rows = db.session.execute(
        sa.select(Delivery.platform_data_id, Delivery.platform_post_id)
        .where(
            Delivery.account_id == account_id,
            Delivery.platform_data_id.is_not(None),
            Delivery.status == DeliveryStatus.sent,
            Delivery.sent_at >= since,
        )
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc())
    ).all()
    return tuple(protocol.WechatArticle(str(d), 0, p) for d, p in rows if str(d).isdigit())


def prepare(account_id: int) -> PollTarget | None:
    probe = prepare_probe(account_id)
    if probe is None:
        return None
    articles = wechat_articles(account_id) if probe.platform == "wechat" else ()
    return PollTarget(probe.account_id, probe.platform, probe.creds, probe.creds_problem, articles)


def fetch(probe: Any, now: datetime | None = None) -> Fetched:
    """Ask the platform for comments (no database). Errors are carried, never raised."""

    now = now or utcnow()
    base = {"account_id": probe.account_id, "platform": probe.platform, "at": now}
    # Messages reach us by push (WeChat) when the account's server URL points at us.
    messages = bool(probe.creds and probe.creds.get("push_token")) if probe.platform == "wechat" else None
    if not protocol.can(probe.platform, "comments_read"):
        return Fetched(**base, comments_readable=False, messages_readable=messages)
    adapter = adapter_or_none(probe.platform)
    if adapter is None:
        error = {"code": "no_adapter", "message": "该平台没有接口适配器"}
        return Fetched(**base, comments_readable=False, error=error)
    if not credentials.callable_with(probe.creds):  # none, or only a push_token
        error = {"code": "no_credentials", "message": probe.creds_problem or "未配置凭据"}
        return Fetched(**base, comments_readable=False, error=error)
    articles = tuple(getattr(probe, "articles", ()) or ())
    creds = Credentials.from_mapping(probe.creds, account_ref=str(probe.account_id))
    if probe.platform == "wechat":
        articles = _with_read_articles(adapter, creds, articles, now)
        if not articles:
            # No article the 留言 API can address: none sent by 群发 lately and none found read.
            return Fetched(**base, comments_readable=False, messages_readable=messages)
    try:
        items = protocol.fetch_comments(
            adapter, creds, limit=setting_int("INTERACTION_POLL_LIMIT", 200), articles=articles
        )
    except AdapterError as exc:
        error = {"code": exc.code, "message": exc.message, "type": type(exc).__name__}
        return Fetched(**base, comments_readable=False, messages_readable=messages, error=error)
    return Fetched(**base, items=tuple(items), comments_readable=True, messages_readable=messages)


def _with_read_articles(
    adapter: Any, creds: Credentials, ours: tuple[protocol.WechatArticle, ...], now: datetime
) -> tuple[protocol.WechatArticle, ...]:
    """Our 群发 articles plus those the statistics API shows read in the last
    ``INTERACTION_WECHAT_DATACUBE_DAYS`` days (default 7; 0 turns it off) — articles sent in the
    公众平台 backend included (docs/monitoring.md 互动回应)."""
    days = setting_int("INTERACTION_WECHAT_DATACUBE_DAYS", 7)
    if days <= 0:
        return ours
    today = to_cn(now).date()  # type: ignore[union-attr]
    found = protocol.wechat_read_articles(adapter, creds, days=days, today=today)
    known = {a.ref for a in ours}
    return ours + tuple(a for a in found if a.ref not in known)


def channel_of(account_id: int) -> InteractionChannel:
    row = db.session.scalar(sa.select(InteractionChannel).where(InteractionChannel.account_id == account_id))
    if row is None:
        row = InteractionChannel(account_id=account_id)
        db.session.add(row)
        db.session.flush()
    return row


def store_items(account: Account, items: Iterable[protocol.RemoteItem], source: str = "api") -> int:
    """Insert the items not seen before; returns how many were new. Flushes."""
    items = [i for i in items if i.platform_item_id]
    if not items:
        return 0
    keys = {(i.kind, i.platform_item_id) for i in items}
    known = set(
        db.session.execute(
            sa.select(InteractionItem.kind, InteractionItem.platform_item_id).where(
                InteractionItem.account_id == account.id,
                InteractionItem.platform_item_id.in_([k[1] for k in keys]),
            )
        ).all()
    )
    new = 0
    answered_there = {(ItemKind(i.kind), i.platform_item_id): i for i in items if i.replied_at is not None}
    for i in items:
        key = (ItemKind(i.kind), i.platform_item_id)
        if key in known:
            continue
        known.add(key)
        row = InteractionItem(
            account_id=account.id,
            platform=account.platform,
            kind=ItemKind(i.kind),
            platform_item_id=i.platform_item_id[:128],
            post_ref=(i.post_ref or None) and i.post_ref[:200],
            author_ref=(i.author_ref or None) and i.author_ref[:128],
            author_name=(i.author_name or None) and i.author_name[:100],
            text=i.text,
            received_at=to_naive_utc(i.created_at) or utcnow(),
            source=source,
        )
        db.session.add(row)
        if key in answered_there:
            _replied_on_platform(row, answered_there.pop(key))
        new += 1
    if answered_there:
        # Items we hold as unanswered that the platform now shows answered (replied there).
        for row in db.session.scalars(
            sa.select(InteractionItem).where(
                InteractionItem.account_id == account.id,
                InteractionItem.platform_item_id.in_([k[1] for k in answered_there]),
                InteractionItem.replied_at.is_(None),
            )
        ):
            remote = answered_there.get((row.kind, row.platform_item_id))
            if remote is not None:
                _replied_on_platform(row, remote)
    db.session.flush()
    return new


REPLIED_ON_PLATFORM = "平台上已回复（在平台上直接回复，未经本系统）"


def _replied_on_platform(row: InteractionItem, remote: protocol.RemoteItem) -> None:
    """The platform shows a reply the account made there (WeChat 留言 carry it): answered,
    recorded as handled on the platform (audited)."""
    row.replied_at = to_naive_utc(remote.replied_at) or utcnow()
    row.reply_text = remote.reply_text
    row.handled_elsewhere = True
    row.handled_reason = REPLIED_ON_PLATFORM
    db.session.flush()
    audit.record(
        "interaction:replied_on_platform",
        row,
        after={"replied_at": row.replied_at, "chars": len(remote.reply_text or "")},
        actor_label=LABEL,
    )


def apply(fetched: Fetched, now: datetime | None = None) -> PollOutcome:
    now = now or fetched.at
    outcome = PollOutcome(fetched.account_id, comments_readable=fetched.comments_readable, error=fetched.error)
    account = db.session.get(Account, fetched.account_id)
    if account is None:
        return outcome
    outcome.new_items = store_items(account, fetched.items)
    channel = channel_of(account.id)
    channel.polled_at = now
    channel.comments_readable = fetched.comments_readable
    if fetched.messages_readable is not None or channel.messages_readable is None:
        channel.messages_readable = bool(fetched.messages_readable) or bool(channel.messages_readable)
    channel.last_error = fetched.error
    outcome.findings = evaluate(account, now)
    db.session.flush()
    return outcome


# ----------------------------------------------------------------------------- findings


def channel_status(channel: InteractionChannel | None) -> tuple[bool, str]:
    """(has a working interaction channel, why) — DOMAIN.md R11."""
    if channel is None:
        return False, "尚未检查：无法通过接口读取评论或私信，单位也未登记任何互动渠道"
    if channel.comments_open or channel.messages_open:
        return True, "单位已登记开放的互动渠道"
    readable = (channel.comments_readable and channel.comments_open is not False) or (
        channel.messages_readable and channel.messages_open is not False
    )
    if readable:
        return True, "可通过平台接口读取评论或私信"
    if channel.comments_open is False and channel.messages_open is False:
        return False, "单位登记评论和私信均已关闭"
    if channel.comments_open is False:
        return False, "单位登记评论已关闭，且没有可用的私信渠道"
    return False, "无法通过接口读取评论或私信，单位也未登记任何互动渠道"


def _active(account_id: int, kind: FindingKind) -> list[Finding]:
    return list(
        db.session.scalars(
            sa.select(Finding).where(
                Finding.account_id == account_id,
                Finding.kind == kind,
                Finding.status.in_(findings_service.ACTIVE_STATUSES),
            )
        )
    )


def evaluate(account: Account, now: datetime | None = None) -> dict[str, str]:
    """Write or resolve the account's two interaction findings; returns kind → what happened."""
    now = now or utcnow()
    t = Thresholds.from_settings()
    done: dict[str, str] = {}
    base = {
        "account_name": account.name,
        "platform": account.platform.value,
        "uid": account.platform_uid,
        "unit_name": account.unit.name if account.unit is not None else None,
    }
    inputs: list[FindingInput] = []
    open_items = list(
        db.session.scalars(
            sa.select(InteractionItem)
            .where(InteractionItem.account_id == account.id, InteractionItem.replied_at.is_(None))
            .order_by(InteractionItem.received_at, InteractionItem.id)
        )
    )
    overdue = [i for i in open_items if is_overdue(i, now, t)]
    if overdue:
        severe = any(is_severe(i, now, t) for i in overdue)
        oldest = overdue[0]
        message = (
            f"账号「{account.name}」有 {len(overdue)} 条评论/私信超过 {t.reply_workdays} 个工作日未回复，"
            f"最早一条已等待 {waited(waited_hours(oldest, now))}"
            + (f"（超过 {t.severe_days} 天，互动回应差）" if severe else "")
        )
        inputs.append(
            FindingInput(
                kind=FindingKind.interaction_overdue,
                fingerprint=f"interaction_overdue:account={account.id}",
                evidence={
                    **base,
                    "message": message,
                    "item_ids": [i.id for i in overdue],
                    "severe": severe,
                    "threshold_workdays": t.reply_workdays,
                    "last_check": {
                        "at": iso_cn(now),
                        "overdue": len(overdue),
                        "oldest_received_at": iso_cn(oldest.received_at),
                        "oldest_waited_hours": waited_hours(oldest, now),
                    },
                },
                account_id=account.id,
                unit_id=account.unit_id,
            )
        )
    else:
        for f in _active(account.id, FindingKind.interaction_overdue):
            if findings_service.resolve_by_system(f, REASON_ANSWERED, actor_label=LABEL):
                done[FindingKind.interaction_overdue.value] = "resolved"
    channel = db.session.scalar(sa.select(InteractionChannel).where(InteractionChannel.account_id == account.id))
    has_channel, why = channel_status(channel)
    if not has_channel:
        inputs.append(
            FindingInput(
                kind=FindingKind.no_interaction_channel,
                fingerprint=f"no_interaction_channel:account={account.id}",
                evidence={
                    **base,
                    "message": f"账号「{account.name}」没有有效的互动渠道：{why}（单项否决：互动回应差）",
                    "reason": why,
                    "last_check": {"at": iso_cn(now), "error": channel.last_error if channel else None},
                },
                # Unreadable is not the same as closed: lower confidence unless the unit said so.
                confidence=1.0 if channel is not None and channel.comments_open is False else 0.7,
                account_id=account.id,
                unit_id=account.unit_id,
            )
        )
    else:
        for f in _active(account.id, FindingKind.no_interaction_channel):
            if findings_service.resolve_by_system(f, REASON_CHANNEL_OK, actor_label=LABEL):
                done[FindingKind.no_interaction_channel.value] = "resolved"
    if inputs:
        report = findings_service.upsert_many(inputs, now)
        audit_new_findings(report, LABEL)
        for f in report.created:
            done[f.kind.value] = "created"
        for f in report.reopened:
            done[f.kind.value] = "reopened"
        for f in report.updated:
            done.setdefault(f.kind.value, "updated")
    return done


# ----------------------------------------------------------------------------- operator actions


def _check_text(text: Any, platform: str) -> str:
    text = (text or "").strip() if isinstance(text, str) else ""
    limit = MAX_REPLY_CHARS.get(platform, 2000)
    if not text:
        raise Invalid("请填写回复内容", details={"text": ["回复内容不能为空"]})
    if len(text) > limit:
        raise Invalid(f"回复内容不能超过 {limit} 字", details={"text": [f"最多 {limit} 字"]})
    return text


def _ensure_unanswered(item: InteractionItem) -> None:
    if item.replied_at is not None:
        what = "已标记为已在平台处理" if item.handled_elsewhere else "已回复"
        raise Conflict(f"这条{KIND_LABELS[item.kind]}{what}", code="already_answered")


def reply(item: InteractionItem, user: User, text: Any) -> InteractionItem:
    """Reply through the platform API (audited). The transaction is committed before the
    platform is asked; the caller commits the result."""

    text = _check_text(text, item.platform.value)
    _ensure_unanswered(item)
    platform, kind = item.platform.value, item.kind.value
    what = "comments_reply" if kind == "comment" else "messages_reply"
    if not protocol.can(platform, what):
        raise Conflict(protocol.not_possible(platform, kind), code="reply_not_possible")
    adapter = adapter_or_none(platform)
    try:
        stored = credentials.get_credentials(item.account_id)
    except credentials.CredentialsUnavailable as exc:
        raise Conflict(f"{exc}，无法通过接口回复", code="no_credentials") from None
    if adapter is None:
        raise Conflict("该平台没有接口适配器，无法通过接口回复", code="reply_not_possible")
    target = protocol.ReplyTarget(
        kind=kind,
        platform_item_id=item.platform_item_id,
        post_ref=item.post_ref,
        author_ref=item.author_ref,
        received_at=item.received_at.replace(tzinfo=UTC),
    )
    item_id = item.id
    db.session.commit()  # no transaction (SQLite write lock) open while the platform is asked
    try:
        reply_id = protocol.reply(
            adapter,
            Credentials.from_mapping(stored, account_ref=str(item.account_id)),
            target,
            text,
            now=datetime.now(UTC),
        )
    except Unsupported as exc:
        raise Conflict(exc.message, code="reply_not_possible") from None
    except AdapterError as exc:
        raise ApiError(
            f"平台拒绝了回复：{exc.message}",
            status=502,
            code="platform_error",
            details={"platform_code": exc.code, "retryable": exc.retryable},
        ) from None
    item = db.session.get(InteractionItem, item_id)  # type: ignore[assignment]
    _ensure_unanswered(item)
    item.replied_at = utcnow()
    item.reply_text = text
    item.reply_platform_id = reply_id or None
    item.handler_id = user.id
    db.session.flush()
    audit.record(
        "interaction:reply",
        item,
        after={"reply_platform_id": item.reply_platform_id, "chars": len(text), "via": "api"},
        actor=user,
    )
    evaluate(item.account)
    return item


def mark_handled(item: InteractionItem, user: User, reason: Any) -> InteractionItem:
    """Record that the item was answered on the platform itself (audited)."""
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if len(reason) < 2:
        raise Invalid("请填写处理说明（至少 2 个字）", details={"reason": ["须说明在平台上如何处理"]})
    if len(reason) > 1000:
        raise Invalid("处理说明不能超过 1000 字", details={"reason": ["最多 1000 字"]})
    _ensure_unanswered(item)
    item.replied_at = utcnow()
    item.handled_elsewhere = True
    item.handled_reason = reason
    item.handler_id = user.id
    db.session.flush()
    audit.record("interaction:handled_elsewhere", item, after={"reason": reason}, actor=user)
    evaluate(item.account)
    return item


CHANNEL_FIELDS = ("comments_open", "messages_open", "note")


def record_channel(account: Account, user: User, data: dict[str, Any]) -> InteractionChannel:
    channel = channel_of(account.id)
    before = {k: getattr(channel, k) for k in CHANNEL_FIELDS}
    for key in CHANNEL_FIELDS:
        if key in data:
            setattr(channel, key, data[key])
    channel.recorded_by_id = user.id
    channel.recorded_at = utcnow()
    db.session.flush()
    audit.record(
        "interaction:channel",
        channel,
        before=before,
        after={k: getattr(channel, k) for k in CHANNEL_FIELDS} | {"account_id": account.id},
        actor=user,
    )
    evaluate(account)
    return channel


# ----------------------------------------------------------------------------- WeChat push


def push_token(account_id: int) -> str | None:
    try:
        stored = credentials.get_credentials(account_id)
    except credentials.CredentialsUnavailable:
        stored = {}
    return stored.get("push_token") or current_app.config.get("WECHAT_PUSH_TOKEN") or None


def ingest_wechat_push(account: Account, body: bytes) -> int:
    """Store the user's message of one 消息推送 packet (signature checked by the view)."""
    fields = protocol.parse_wechat_push(body)
    item = protocol.wechat_push_item(fields)
    channel = channel_of(account.id)
    channel.messages_readable = True
    if item is None:
        db.session.flush()
        return 0
    new = store_items(account, [item], source="push")
    if new:
        audit.record(
            "interaction:receive",
            object_type="accounts",
            object_id=account.id,
            after={"kind": "message", "platform_item_id": item.platform_item_id, "via": "push"},
            actor_label="system:wechat-push",
        )
    return new


# ----------------------------------------------------------------------------- listing


STATES = ("unanswered", "overdue", "answered", "all")


def listing(user: User, q: dict[str, Any]) -> sa.Select[Any]:
    stmt = (
        sa.select(InteractionItem)
        .join(Account, Account.id == InteractionItem.account_id)
        .where(scope_filter(user, Account.unit_id))
    )
    if q.get("account_id") is not None:
        stmt = stmt.where(InteractionItem.account_id == q["account_id"])
    if q.get("unit_id") is not None:
        stmt = stmt.where(Account.unit_id == q["unit_id"])
    if q.get("platform"):
        stmt = stmt.where(InteractionItem.platform == Platform(q["platform"]))
    if q.get("kind"):
        stmt = stmt.where(InteractionItem.kind == ItemKind(q["kind"]))
    state = q.get("state") or "all"
    if state in ("unanswered", "overdue"):
        stmt = stmt.where(InteractionItem.replied_at.is_(None))
    elif state == "answered":
        stmt = stmt.where(InteractionItem.replied_at.is_not(None))
    if state == "overdue":
        # Overdue needs working days; a calendar-day floor narrows it, the page checks exactly.
        t = Thresholds.from_settings()
        stmt = stmt.where(InteractionItem.received_at <= utcnow() - _days(t.reply_workdays))
    unanswered = InteractionItem.replied_at.is_(None)
    return stmt.order_by(
        sa.case((unanswered, 0), else_=1),
        sa.case((unanswered, InteractionItem.received_at), else_=None).asc(),
        InteractionItem.received_at.desc(),
        InteractionItem.id.desc(),
    )


def _days(n: int) -> Any:
    return timedelta(days=n)


def item_dict(item: InteractionItem, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    t = Thresholds.from_settings()
    platform, kind = item.platform.value, item.kind.value
    what = "comments_reply" if kind == "comment" else "messages_reply"
    hours = waited_hours(item, now)
    handler = db.session.get(User, item.handler_id) if item.handler_id else None
    return {
        "id": item.id,
        "account_id": item.account_id,
        "account_name": item.account.name,
        "unit_id": item.account.unit_id,
        "unit_name": item.account.unit.name if item.account.unit is not None else None,
        "platform": platform,
        "platform_label": PLATFORM_LABELS.get(item.platform, platform),
        "kind": kind,
        "kind_label": KIND_LABELS[item.kind],
        "platform_item_id": item.platform_item_id,
        "post_ref": item.post_ref,
        "author_name": item.author_name,
        "text": item.text,
        "source": item.source,
        "received_at": item.received_at,
        "waited_hours": hours,
        "waited_label": f"已等待 {waited(hours)}" if item.replied_at is None else f"{waited(max(hours, 1))}内答复",
        "overdue": is_overdue(item, now, t),
        "severe": is_severe(item, now, t),
        "answered": item.replied_at is not None,
        "replied_at": item.replied_at,
        "reply_text": item.reply_text,
        "handled_elsewhere": item.handled_elsewhere,
        "handled_reason": item.handled_reason,
        "handler": (handler.display_name or handler.username) if handler else None,
        "can_reply_via_api": protocol.can(platform, what),
        "reply_hint": None if protocol.can(platform, what) else protocol.not_possible(platform, kind),
    }


def channel_dict(account: Account) -> dict[str, Any]:
    channel = db.session.scalar(sa.select(InteractionChannel).where(InteractionChannel.account_id == account.id))
    ok, why = channel_status(channel)
    return {
        "account_id": account.id,
        "account_name": account.name,
        "platform": account.platform.value,
        "comments_open": channel.comments_open if channel else None,
        "messages_open": channel.messages_open if channel else None,
        "note": channel.note if channel else None,
        "comments_readable": channel.comments_readable if channel else None,
        "messages_readable": channel.messages_readable if channel else None,
        "polled_at": channel.polled_at if channel else None,
        "last_error": channel.last_error if channel else None,
        "has_channel": ok,
        "status": why,
        "capabilities": protocol.CAPABILITIES.get(account.platform.value, {}),
    }
