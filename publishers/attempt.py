"""One attempt at sending one delivery, in three steps (``publishers.pipeline.run_delivery``
runs them with a commit after the first and the last):

1. ``begin_attempt`` (transaction A): lock the row, run the guards (not already sent, the
   lease, account ``active``, 公开属性 = 主动公开, hash = approved hash), one post in flight
   per account, mark ``sending``, and prepare everything the platform call needs — the
   rendered post and the credentials — as plain data (an ``Attempt``).
2. ``send`` (no transaction, no database): the adapter call with the delivery's idempotency
   key; a possibly-resent post is first looked for on the platform (``find_published``).
3. ``finish_attempt`` (transaction B): record the result, or apply ``retry_policy``'s decision
   for the error. Status changes go through ``publishers.lifecycle``.
"""

from __future__ import annotations

import collections
import functools
import random
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload

from auth.models import User
from common import rawsql
from common.db import utcnow
from extensions import db
from moderation.models import Content, ContentKind, ContentStatus, Disclosure, content_targets
from platforms import channels, credentials, wechat_mass
from platforms.errors import AdapterError, ContentRejected, CredentialsError
from platforms.models import AccountCredential
from platforms.types import Credentials, PublishResult, RenderedPost, RenderResult
from publishers import credential_admin, credential_health, douyin_rules, lifecycle, rendering, retry_policy, send_modes
from publishers.models import AccountPublishSettings, Delivery, DeliveryStatus, SendMode
from publishers.shared import (
    AMBIGUOUS_CODES,
    NextStep,
    canonical_url,
    content_hash_now,
    for_update,
    is_unresolved,
    setting,
    unresolved,
)
from registry.models import Account, AccountStatus, Platform

# ----------------------------------------------------------------------------- credentials

_pending_credentials: threading.local = threading.local()


def _remember_credentials(creds: Credentials) -> None:
    """Adapters report refreshed tokens here; they are persisted in the next transaction."""
    bucket = getattr(_pending_credentials, "items", None)
    if bucket is None:
        bucket = _pending_credentials.items = []
    bucket.append(creds)


def persist_refreshed_credentials() -> None:
    for creds in getattr(_pending_credentials, "items", []) or []:
        if creds.account_ref:
            credential_admin.store_refreshed(int(creds.account_ref), creds.to_dict())
    _pending_credentials.items = []


_UNREAD: Any = object()


def load_creds(account: Account, ciphertext: bytes | None = _UNREAD) -> Credentials:
    """The account's credentials; ``ciphertext``, if given, was read with the delivery
    (``credentials.ciphertext_of``; None: nothing stored) and saves a query."""
    values = (
        credentials.get_credentials(account.id)
        if ciphertext is _UNREAD
        else credentials.decrypt(account.id, ciphertext)
    )
    return Credentials.from_mapping(values, account_ref=str(account.id))


# ----------------------------------------------------------------------------- step 1


@dataclass(frozen=True)
class Attempt:
    """Work for ``send``, plain data only: the delivery is marked ``sending`` and committed."""

    delivery_id: int
    recovering: bool
    platform: str
    post: RenderedPost | None = None
    creds: Credentials | None = None
    #: WeChat "mass" (群发) with its clientmsgid, else a normal publish
    mode: str | None = None
    client_msg_id: str | None = None
    #: found before any call (post not renderable, no usable credentials): recorded as the result
    error: AdapterError | None = None
    #: never read by ``send``: holds the loaded row in the session's (weak) identity map across
    #: the commit, so the task's session (it keeps objects) records the result without reloading
    row: Delivery | None = field(default=None, compare=False, repr=False)
    #: the hot path's plain row (``_load``) as marked ``sending``: transaction B records the
    #: result against it in one statement, if the row is still as left (the lease)
    plain: Any = field(default=None, compare=False, repr=False)


def fail(delivery: Delivery, code: str, message: str, *, retryable: bool, actor: Any = None) -> None:
    delivery.retryable = retryable
    lifecycle.transition(delivery, DeliveryStatus.failed, code=code, message=message, actor=actor)


def begin_attempt(delivery_id: int) -> NextStep | Attempt:
    """Transaction A: guards, then mark ``sending``. Returns the outcome, or the attempt to make.

    The hot path reads the delivery with everything the guards and rendering need in one
    statement (``_load``, SQLAlchemy Core, no ORM objects) and marks it ``sending`` with its audit
    entry in a second (``lifecycle.move_row``). Anything but a plain go — a refusal, a busy
    account, a lease still held, a post accepted earlier — goes the ORM way, which decides the
    same with the same functions (``not_now``, ``guard``)."""
    now = utcnow()
    lease = timedelta(seconds=setting("SENDING_LEASE_SECONDS", 120))
    row = _load(delivery_id, now, lease)
    if row is None:
        return NextStep("skip", reason="delivery missing")
    early = not_now(row, now, lease)
    if early is not None:
        return early
    if not _plain_go(row):
        return _begin_attempt_orm(delivery_id)
    recovering = row.status is DeliveryStatus.sending or row.attempts > 0
    attempts = row.attempts + 1
    sent = replace(row, status=DeliveryStatus.sending, attempts=attempts, sending_started_at=now)
    work = Attempt(row.id, recovering, row.account.platform.value, plain=sent)
    work = _finish_prepare(work, _render_cached(row), row.account_id, row.ciphertext)
    # last, just before the commit: its audit entry holds the chain lock until then
    values = {"attempts": attempts, "sending_started_at": now, "next_attempt_at": None}
    if lifecycle.move_row(row, DeliveryStatus.sending, now=now, values=values, after={"attempt": attempts}) is None:
        raise LookupError(f"delivery {delivery_id} changed under its row lock")  # it is locked: cannot happen
    return work


@dataclass(frozen=True)
class _Row:
    """A delivery as the hot path reads it (``_load``): the columns the guards, rendering and
    the result read, with its content and account as plain namespaces."""

    id: int
    content_id: int
    account_id: int
    status: DeliveryStatus
    attempts: int
    content_hash: str
    idempotency_key: str
    platform_post_id: str | None
    last_error_code: str | None
    sending_started_at: datetime | None
    next_attempt_at: datetime | None
    content: Any
    account: Any
    ciphertext: bytes | None
    busy_any: bool
    busy_before: bool
    send_mode: str | None
    started_by_id: int | None
    #: the account's 是否同步 and 本单位自有/签约 (``AccountPublishSettings``; defaults without a row)
    sync_enabled: bool
    own_account: bool


def _plain_go(row: _Row) -> bool:
    """The hot path's question: does this delivery simply go out now? Every check the ORM way
    makes, from what ``_load`` read: the guards (``guard``), the Douyin 代发 rules
    (``douyin_rules.decide``: hold for a person, 是否同步), no 群发 (its quota is counted the ORM
    way, ``send_modes.quota_refusal``), nothing accepted earlier, the account not busy, and a
    status the attempt moves from (a ``held`` delivery waits for a person). Any other answer
    sends the delivery the ORM way, which decides it with the same functions."""
    if row.status not in _HOT_FROM or row.platform_post_id or row.send_mode == SendMode.mass.value:
        return False
    if guard(row, row.content, row.account) is not None:
        return False
    if row.status in (DeliveryStatus.pending, DeliveryStatus.retrying) and (
        douyin_rules.decide(
            row.account.platform,
            scheduled=row.content.publish_at is not None,
            started=row.started_by_id is not None,
            sync_enabled=row.sync_enabled,
            own_account=row.own_account,
        )
        is not None
    ):
        return False
    return not _busy(row)


_HOT_FROM = (DeliveryStatus.pending, DeliveryStatus.retrying, DeliveryStatus.sending)


def _busy(row: _Row) -> bool:
    """``account_busy`` from the two answers ``_load`` read with the row."""
    return row.busy_before if is_unresolved(row) else row.busy_any


@functools.cache
def _load_statement(dialect: str) -> sa.Select[Any]:
    d = Delivery.__table__
    c = Content.__table__
    a = Account.__table__
    u = User.__table__
    s = AccountPublishSettings.__table__
    other = d.alias("other")
    live = sa.and_(other.c.status == DeliveryStatus.sending, other.c.sending_started_at > sa.bindparam("lease_start"))
    others = sa.and_(other.c.account_id == d.c.account_id, other.c.id != d.c.id, unresolved(other.c))
    aggregate = sa.func.array_agg if dialect == "postgresql" else sa.func.group_concat
    targets = sa.select(aggregate(content_targets.c.account_id)).where(content_targets.c.content_id == c.c.id)
    return (
        sa.select(
            *(d.c[name] for name in _DELIVERY_COLUMNS),
            c.c.status.label("c_status"),
            *(c.c[name] for name in _CONTENT_COLUMNS),
            sa.select(u.c.display_name).where(u.c.id == c.c.author_id).scalar_subquery().label("author"),
            targets.scalar_subquery().label("target_ids"),
            a.c.status.label("a_status"),
            a.c.platform,
            credentials.ciphertext_of(d.c.account_id).label("ciphertext"),
            sa.exists().where(others).label("busy_any"),
            sa.exists().where(others, sa.or_(live, other.c.id < d.c.id)).label("busy_before"),
            d.c.send_mode,
            d.c.started_by_id,
            c.c.publish_at,
            s.c.sync_enabled,
            s.c.own_account,
        )
        .select_from(
            d.join(c, c.c.id == d.c.content_id)
            .join(a, a.c.id == d.c.account_id)
            .outerjoin(s, s.c.account_id == d.c.account_id)
        )
        .where(d.c.id == sa.bindparam("delivery_id"))
        .with_for_update(of=d)
    )


_DELIVERY_COLUMNS = (
    "id", "content_id", "account_id", "status", "attempts", "content_hash", "idempotency_key",
    "platform_post_id", "last_error_code", "sending_started_at", "next_attempt_at",
)  # fmt: skip
_CONTENT_COLUMNS = (
    "approved_hash", "disclosure", "version", "title", "summary", "body_html", "body_text", "media",
    "overrides", "kind", "policy_id",
)  # fmt: skip


#: ``_load_statement`` as PostgreSQL SQL for the driver's cursor (``common.rawsql``): the same
#: columns in the same order (``_LOAD_NAMES``), the enum columns decoded by hand (``_ENUMS``)
_UNRESOLVED_SQL = (
    "o.platform_post_id IS NULL AND (o.status = 'sending' OR (o.status = 'retrying' AND o.last_error_code IN ("
    + ", ".join(f"'{code}'" for code in sorted(AMBIGUOUS_CODES))
    + ")))"
)
_OTHERS_SQL = f"FROM deliveries o WHERE o.account_id = d.account_id AND o.id <> d.id AND {_UNRESOLVED_SQL}"
_LOAD_COLUMNS = ", ".join(
    [*(f"d.{name}" for name in _DELIVERY_COLUMNS), "c.status", *(f"c.{name}" for name in _CONTENT_COLUMNS)]
)
_LOAD_SQL = (
    f"SELECT {_LOAD_COLUMNS}, (SELECT u.display_name FROM users u WHERE u.id = c.author_id)"  # noqa: S608  constants
    " , (SELECT array_agg(t.account_id) FROM content_targets t WHERE t.content_id = c.id)"
    " , a.status, a.platform"
    " , (SELECT k.ciphertext FROM account_credentials k WHERE k.account_id = d.account_id)"
    f" , EXISTS (SELECT 1 {_OTHERS_SQL})"
    f" , EXISTS (SELECT 1 {_OTHERS_SQL} AND ((o.status = 'sending' AND o.sending_started_at > :lease_start)"
    " OR o.id < d.id))"
    " , d.send_mode, d.started_by_id, c.publish_at, s.sync_enabled, s.own_account"
    " FROM deliveries d JOIN contents c ON c.id = d.content_id JOIN accounts a ON a.id = d.account_id"
    " LEFT OUTER JOIN account_publish_settings s ON s.account_id = d.account_id"
    " WHERE d.id = :delivery_id FOR UPDATE OF d"
)  # fmt: skip
_LOAD_NAMES = (
    *_DELIVERY_COLUMNS, "c_status", *_CONTENT_COLUMNS, "author", "target_ids", "a_status", "platform",
    "ciphertext", "busy_any", "busy_before", "send_mode", "started_by_id", "publish_at", "sync_enabled",
    "own_account",
)  # fmt: skip
_ENUMS = {
    "status": DeliveryStatus, "c_status": ContentStatus, "disclosure": Disclosure, "kind": ContentKind,
    "a_status": AccountStatus, "platform": Platform,
}  # fmt: skip


def _load(delivery_id: int, now: datetime, lease: timedelta) -> _Row | None:
    """The delivery, locked, with everything its guards, rendering and credentials need. On
    PostgreSQL on the driver's cursor (SQLAlchemy's execution and result processing cost more
    than the statement), elsewhere through SQLAlchemy Core."""
    conn = db.session.connection()
    params = {"delivery_id": delivery_id, "lease_start": now - lease}
    m: Any
    if conn.dialect.name == "postgresql":
        found = rawsql.first(conn, _LOAD_SQL, params)
        if found is None:
            return None
        m = dict(zip(_LOAD_NAMES, found, strict=True))
        for name, kind in _ENUMS.items():
            if m[name] is not None:
                m[name] = kind(m[name])
    else:
        r = conn.execute(_load_statement(conn.dialect.name), params).first()
        if r is None:
            return None
        m = r._mapping
    targets = m["target_ids"]
    if isinstance(targets, str):  # SQLite: group_concat
        targets = [int(t) for t in targets.split(",")]
    content = SimpleNamespace(
        id=m["content_id"],
        status=m["c_status"],
        author_name=m["author"] or "",
        targets=[SimpleNamespace(id=t) for t in sorted(targets or ())],
        publish_at=m["publish_at"],
        **{name: m[name] for name in _CONTENT_COLUMNS},
    )
    account = SimpleNamespace(id=m["account_id"], status=m["a_status"], platform=m["platform"])
    return _Row(
        **{name: m[name] for name in _DELIVERY_COLUMNS},
        content=content,
        account=account,
        ciphertext=m["ciphertext"],
        busy_any=bool(m["busy_any"]),
        busy_before=bool(m["busy_before"]),
        send_mode=m["send_mode"],
        started_by_id=m["started_by_id"],
        sync_enabled=True if m["sync_enabled"] is None else bool(m["sync_enabled"]),
        own_account=bool(m["own_account"]),
    )


#: per content version and platform: the rendered post with a placeholder link (see _render_cached)
_RENDERED: collections.OrderedDict[tuple[Any, ...], RenderResult] = collections.OrderedDict()
_RENDERED_MAX = 64
_PLACEHOLDER = "0" * 12


def _render_cached(row: _Row) -> RenderResult:
    """``render_result`` for the hot path, rendered once per content version and platform.

    The key is what the post is made of: the approved hash (the guards have just checked that
    the content still hashes to it: title, texts, media, overrides, targets, 公开属性, kind), the
    platform, the author's name and the public base URL. The one per-delivery part, the canonical
    link (it carries the delivery's key), is rendered as a placeholder of the same length and
    put in afterwards, so length limits come out the same."""
    content = row.content
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    platform = row.account.platform.value
    placeholder = f"{base}/c/{content.id}/{_PLACEHOLDER}"
    key = (content.approved_hash, content.id, platform, content.author_name, base)
    rendered = _RENDERED.get(key)
    if rendered is None:
        adapter = channels.adapter_for(platform)
        content_input = rendering.content_input(content, placeholder, author=content.author_name)
        rendered = adapter.render(content_input, content.overrides or {})
        _RENDERED[key] = rendered
        while len(_RENDERED) > _RENDERED_MAX:
            _RENDERED.popitem(last=False)
    else:
        _RENDERED.move_to_end(key)
    url = canonical_url(row)

    def put(text: str) -> str:
        return text.replace(placeholder, url) if text else text

    post = rendered.post
    post = replace(
        post,
        title=put(post.title),
        text=put(post.text),
        html=put(post.html),
        summary=put(post.summary),
        links=tuple(put(link) for link in post.links),
        canonical_url=url if post.canonical_url else post.canonical_url,
        idempotency_key=row.idempotency_key,
    )
    return replace(rendered, post=post)


def _begin_attempt_orm(delivery_id: int) -> NextStep | Attempt:
    """``begin_attempt`` through the ORM: every case the hot path does not take (refusals, a
    busy account, a lease still held, a post accepted earlier)."""
    stmt = (
        sa.select(Delivery, credentials.ciphertext_of(Delivery.account_id))
        .where(Delivery.id == delivery_id)
        .options(
            # what the guards and rendering read: the content hash needs only the targets' ids,
            # rendering only the author's name
            joinedload(Delivery.content, innerjoin=True).options(
                joinedload(Content.author).load_only(User.display_name).lazyload("*"),
                selectinload(Content.targets).load_only(Account.id),
            ),
            joinedload(Delivery.account, innerjoin=True),
        )
    )
    row = db.session.execute(for_update(stmt, of=Delivery)).first()
    if row is None:
        return NextStep("skip", reason="delivery missing")
    delivery, ciphertext = row
    now = utcnow()
    lease = timedelta(seconds=setting("SENDING_LEASE_SECONDS", 120))
    early = not_now(delivery, now, lease)
    if early is not None:
        return early
    content = delivery.content
    account = delivery.account
    refusal = guard(delivery, content, account)
    if refusal is not None:
        code, message = refusal
        if content.status is ContentStatus.withdrawn:
            lifecycle.transition(delivery, DeliveryStatus.cancelled, code=code, message=message)
        else:
            fail(delivery, code, message, retryable=False)
        return NextStep("done", reason=code)
    refusal = _rules_refusal(delivery, account)
    if refusal is not None:
        return refusal
    if account_busy(delivery, now, lease):
        # One post in flight per account, so crash recovery always finds it among the newest.
        # The one in flight hands the account on when it finishes (claim.next_for_account);
        # this late retry only covers a hand-off lost with its worker or broker.
        return NextStep(
            "retry", delay=setting("ACCOUNT_BUSY_RETRY_SECONDS", 20) * random.uniform(1, 1.5), reason="account busy"
        )
    recovering = delivery.status is DeliveryStatus.sending or delivery.attempts > 0
    delivery.sending_started_at = now
    delivery.next_attempt_at = None
    if delivery.platform_post_id:
        lifecycle.transition(delivery, DeliveryStatus.sending, after={"resume": "poll"})
        return NextStep("poll", reason="accepted earlier; polling")
    delivery.attempts += 1
    lifecycle.transition(delivery, DeliveryStatus.sending, after={"attempt": delivery.attempts})
    db.session.flush()
    return _prepare(delivery, account, ciphertext, recovering)


def not_now(delivery: Any, now: datetime, lease: timedelta) -> NextStep | None:
    """Nothing to do now: settled already, held for a person (Douyin 代发), another worker
    holds the lease, or not yet due."""
    if delivery.status in lifecycle.FINAL_STATUSES:
        return NextStep("skip", reason=f"already {delivery.status.value}")
    if delivery.status is DeliveryStatus.held:
        return NextStep("skip", reason="held until a person starts it")  # douyin_rules.start re-queues it
    if (
        delivery.status is DeliveryStatus.sending
        and delivery.sending_started_at
        and now - delivery.sending_started_at < lease
    ):
        return NextStep("skip", reason="another worker holds the lease")
    if delivery.next_attempt_at and delivery.next_attempt_at > now and delivery.status is DeliveryStatus.retrying:
        return NextStep("retry", delay=(delivery.next_attempt_at - now).total_seconds(), reason="not yet due")
    return None


def _prepare(delivery: Delivery, account: Account, ciphertext: bytes | None, recovering: bool) -> Attempt:
    """Everything the platform call needs, read now, so that ``send`` touches no database."""
    platform = account.platform.value
    mass = delivery.send_mode == "mass" and platform == "wechat"
    work = Attempt(
        delivery.id,
        recovering,
        platform,
        mode="mass" if mass else None,
        client_msg_id=wechat_mass.client_msg_id(delivery.idempotency_key) if mass else None,
        row=delivery,
    )
    rendered = render_result(delivery)
    return _finish_prepare(work, rendered, account.id, ciphertext)


def _finish_prepare(work: Attempt, rendered: RenderResult, account_id: int, ciphertext: bytes | None) -> Attempt:
    platform = work.platform
    if not rendered.ok:
        reasons = "；".join(p.message for p in rendered.problems)
        return replace(work, error=ContentRejected(platform, "render_invalid", f"不符合平台要求：{reasons}"))
    try:
        creds = Credentials.from_mapping(credentials.decrypt(account_id, ciphertext), account_ref=str(account_id))
    except credentials.CredentialsUnavailable as exc:
        return replace(work, error=CredentialsError(platform, "no_credentials", str(exc)))
    return replace(work, post=rendered.post, creds=creds)


def _rules_refusal(delivery: Delivery, account: Account) -> NextStep | None:
    """Douyin 代发 (hold for a person, 是否同步) and the WeChat 群发 quota, before any call."""
    if delivery.status in (DeliveryStatus.pending, DeliveryStatus.retrying):
        rule = douyin_rules.before_send(delivery, account)
        if rule == "hold":
            lifecycle.transition(
                delivery, DeliveryStatus.held, code="awaiting_person", message=douyin_rules.HOLD_MESSAGE
            )
            return NextStep("done", reason="held")
        if isinstance(rule, tuple):
            fail(delivery, *rule, retryable=False)
            return NextStep("done", reason=rule[0])
    if delivery.send_mode == "mass" and not delivery.platform_post_id:
        quota = send_modes.quota_refusal(delivery)
        if quota is not None:
            fail(delivery, *quota, retryable=False)
            return NextStep("done", reason=quota[0])
    return None


def guard(delivery: Delivery, content: Content, account: Account) -> tuple[str, str] | None:
    """Why this delivery must not go out now (code, Chinese reason), or None."""
    if content.status is ContentStatus.withdrawn:
        return "content_withdrawn", "稿件已撤回，取消发送"
    if account.status is not AccountStatus.active:
        return "account_not_active", f"账号当前状态为“{account.status.value}”，不是运行中，已拒绝发送"
    if content.disclosure is not Disclosure.active:
        return "not_public", "稿件公开属性不是“主动公开”，不得发布"
    if not content.approved_hash or delivery.content_hash != content.approved_hash:
        return "hash_mismatch", "稿件与终审通过的版本不一致，已拒绝发送"
    if content_hash_now(content) != content.approved_hash:
        return "hash_mismatch", "稿件在终审后被改动，与终审通过的内容不一致，已拒绝发送"
    return None


def account_busy(delivery: Delivery, now: datetime, lease: timedelta) -> bool:
    """One unresolved post per account, so crash recovery finds it among the newest posts.

    A dead worker's ``sending`` row keeps blocking its account after the lease ends, until the
    sweeper's recovery attempt settles it; otherwise later posts could push it out of the short
    timeline a platform shows (Weibo: 5) and the resend would be refused as a duplicate. Two
    unresolved rows of one account (left by an older rule) go lowest id first.
    """
    mine_unresolved = is_unresolved(delivery)
    live = sa.and_(Delivery.status == DeliveryStatus.sending, Delivery.sending_started_at > now - lease)
    others = sa.and_(unresolved(), sa.or_(live, Delivery.id < delivery.id)) if mine_unresolved else unresolved()
    other = db.session.scalar(
        sa.select(Delivery.id)
        .where(Delivery.account_id == delivery.account_id, Delivery.id != delivery.id, others)
        .limit(1)
    )
    return other is not None


def render_result(delivery: Delivery) -> RenderResult:
    adapter = channels.adapter_for(delivery.account.platform.value)
    content_input = rendering.content_input(delivery.content, canonical_url(delivery))
    # Adapters pick their own platform's entry out of the overrides mapping.
    result = adapter.render(content_input, delivery.content.overrides or {})
    return replace(result, post=replace(result.post, idempotency_key=delivery.idempotency_key))


def render_for(delivery: Delivery) -> RenderedPost:
    return render_result(delivery).post


# ----------------------------------------------------------------------------- step 2


def send(work: Attempt) -> tuple[PublishResult | None, AdapterError | None]:
    """Talk to the platform. No transaction is open and nothing here reads the database."""
    if work.error is not None or work.post is None or work.creds is None:
        return None, work.error
    adapter = channels.adapter_for(work.platform)
    adapter.on_credentials_changed = _remember_credentials
    try:
        if work.mode == "mass" and work.client_msg_id:
            # No search first: the clientmsgid makes a resend answer with the first send's msg_id.
            return wechat_mass.send(adapter, work.creds, work.post, work.client_msg_id), None
        if work.recovering:
            found = adapter.find_published(work.creds, work.post)
            if found is not None:
                return found, None
        return adapter.publish(work.creds, work.post), None
    except AdapterError as exc:
        return None, exc


# ----------------------------------------------------------------------------- step 3


def finish_attempt(work: Attempt, result: PublishResult | None, error: AdapterError | None) -> NextStep:
    """Transaction B: record what the platform said, decide what happens next, and hand the
    account on to its next waiting delivery (the outcome's ``follower``).

    The hot path — published, accepted for later (WeChat, Douyin), or a retry — writes the
    result, its audit entry, the content's roll-up and the hand-on in one statement
    (``lifecycle.move_row``), provided the row is still as transaction A left it (its lease);
    everything else, and a row changed meanwhile, goes the ORM way under the row lock."""
    persist_refreshed_credentials()
    if work.plain is not None:
        outcome = _finish_hot(work.plain, result, error)
        if outcome is not None:
            return outcome
    return _finish_orm(work.delivery_id, result, error)


def _finish_hot(row: _Row, result: PublishResult | None, error: AdapterError | None) -> NextStep | None:
    now = utcnow()
    stale = now - timedelta(seconds=setting("ENQUEUE_STALE_SECONDS", 60))
    lease = {"sending_started_at": row.sending_started_at}
    if result is not None and result.state == "published":
        values = {"platform_post_id": result.post_id, "sent_at": now, **_url(result)}
        moved = lifecycle.move_row(
            row, DeliveryStatus.sent, now=now, values=values, expect=lease, hand_on=stale, account_success=True
        )
        return None if moved is None else NextStep("done", follower=moved.follower)
    if result is not None and result.state == "pending":
        values = {
            "platform_post_id": result.post_id,
            **_url(result),
            "last_error_code": None,
            "last_error_message": ACCEPTED_MESSAGE,
        }
        moved = lifecycle.move_row(row, None, now=now, values=values, expect=lease, hand_on=stale, awaiting=True)
        if moved is None:
            return None
        if moved.awaiting:  # the account's poll, already running, reads this post too (publishers.poll)
            return NextStep("done", reason=JOINED_POLL, follower=moved.follower)
        return NextStep("poll", delay=setting("STATUS_POLL_SECONDS", 3), follower=moved.follower)
    if result is not None or error is None or error.code == "48001":
        return None  # 48001 marks the account without API rights: the ORM way notes it
    decision = retry_policy.after_publish_error(error, row.attempts, retry_policy.Policy.from_config())
    if decision.action != retry_policy.RETRY:
        return None
    attempts = max(0, row.attempts - 1) if decision.give_back_attempt else row.attempts
    values = {
        "attempts": attempts,
        "retryable": True,
        "next_attempt_at": now + timedelta(seconds=decision.delay),
    }
    # a retry after a lost answer leaves the post unresolved: the account waits for it
    waiting = replace(row, status=DeliveryStatus.retrying, last_error_code=decision.code)
    moved = lifecycle.move_row(
        row,
        DeliveryStatus.retrying,
        now=now,
        values=values,
        expect=lease,
        code=decision.code,
        message=decision.message,
        after={"delay_s": round(decision.delay, 1)},
        hand_on=None if is_unresolved(waiting) else stale,
    )
    if moved is None:
        return None
    return NextStep("retry", delay=decision.delay, reason=decision.code, follower=moved.follower)


ACCEPTED_MESSAGE = "平台已受理，等待平台处理结果"
JOINED_POLL = "polled with the account's other posts"


def _url(result: PublishResult) -> dict[str, str]:
    """The post's URL, where the platform gave one (an earlier one is kept otherwise)."""
    return {"platform_url": result.url} if result.url else {}


def _finish_orm(delivery_id: int, result: PublishResult | None, error: AdapterError | None) -> NextStep:
    from publishers import claim  # noqa: PLC0415  cycle: claim → lifecycle → credential_health → attempt

    delivery = db.session.scalar(for_update(sa.select(Delivery).where(Delivery.id == delivery_id)))
    if delivery is None:
        raise LookupError(f"delivery {delivery_id} vanished")
    if result is not None:
        outcome = record_result(delivery, result)
    elif error is None:
        raise ValueError("finish_attempt needs a result or an error")
    else:
        outcome = _record_error(delivery, error)
    if outcome.action == "poll" and lifecycle.awaiting_others(delivery.account_id, [delivery_id]):
        # accepted (a 群发, say) while another post of its account awaits the platform: that
        # account's poll reads this one too (publishers.poll), as on the hot path
        outcome = NextStep("done", reason=JOINED_POLL)
    return replace(outcome, follower=claim.hand_on(delivery_id))


def record_result(delivery: Delivery, result: PublishResult) -> NextStep:
    """What the platform says about the post (after publishing it, or when asked later)."""
    delivery.platform_post_id = result.post_id
    delivery.platform_url = result.url or delivery.platform_url
    delivery.platform_data_id = result.data_id or delivery.platform_data_id
    if result.state == "published":
        delivery.sent_at = utcnow()
        credential_health.note_platform_answer(delivery.account_id, ok=True)
        lifecycle.transition(delivery, DeliveryStatus.sent)
        return NextStep("done")
    if result.state == "pending":
        delivery.last_error_code = None
        delivery.last_error_message = (
            result.detail if wechat_mass.is_mass(result.post_id) and result.detail else ACCEPTED_MESSAGE
        )
        return NextStep("poll", delay=setting("STATUS_POLL_SECONDS", 3))
    if result.state == "withdrawn":
        lifecycle.transition(delivery, DeliveryStatus.withdrawn, code=result.platform_code, message="平台上已删除")
        return NextStep("done")
    fail(delivery, result.platform_code or "rejected", result.detail or "平台审核未通过", retryable=False)
    return NextStep("done")


def _record_error(delivery: Delivery, error: AdapterError) -> NextStep:
    if error.code == "48001":
        credential_health.note_platform_answer(delivery.account_id, ok=False, code="48001")
    decision = retry_policy.after_publish_error(error, delivery.attempts, retry_policy.Policy.from_config())
    if decision.action == retry_policy.MANUAL:
        lifecycle.transition(delivery, DeliveryStatus.manual, code=decision.code, message=decision.message)
        return NextStep("done")
    if decision.action == retry_policy.RETRY:
        if decision.give_back_attempt:
            delivery.attempts = max(0, delivery.attempts - 1)
        delivery.retryable = True
        delivery.next_attempt_at = utcnow() + timedelta(seconds=decision.delay)
        lifecycle.transition(
            delivery,
            DeliveryStatus.retrying,
            code=decision.code,
            message=decision.message,
            after={"delay_s": round(decision.delay, 1)},
        )
        return NextStep("retry", delay=decision.delay, reason=decision.code)
    if decision.needs_reauth:
        row = db.session.scalar(sa.select(AccountCredential).where(AccountCredential.account_id == delivery.account_id))
        if row is not None:
            row.needs_reauth = True
    fail(delivery, decision.code, decision.message, retryable=decision.retryable)
    return NextStep("done")
