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

import random
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from auth.models import User
from common.db import utcnow
from extensions import db
from moderation.models import Content, ContentStatus, Disclosure
from platforms import channels, credentials, wechat_mass
from platforms.errors import AdapterError, ContentRejected, CredentialsError
from platforms.models import AccountCredential
from platforms.types import Credentials, PublishResult, RenderedPost, RenderResult
from publishers import credential_admin, credential_health, douyin_rules, lifecycle, rendering, retry_policy, send_modes
from publishers.lifecycle import FINAL_STATUSES
from publishers.models import Delivery, DeliveryStatus
from publishers.shared import (
    NextStep,
    canonical_url,
    content_hash_now,
    for_update,
    is_unresolved,
    setting,
    unresolved,
)
from registry.models import Account, AccountStatus

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
            credential_admin.set_credentials(
                int(creds.account_ref), creds.to_dict(), actor_label="system:token-refresh"
            )
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


def fail(delivery: Delivery, code: str, message: str, *, retryable: bool, actor: Any = None) -> None:
    delivery.retryable = retryable
    lifecycle.transition(delivery, DeliveryStatus.failed, code=code, message=message, actor=actor)


def begin_attempt(delivery_id: int) -> NextStep | Attempt:
    """Transaction A: guards, then mark ``sending``. Returns the outcome, or the attempt to make."""
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
    if delivery.status in FINAL_STATUSES:
        return NextStep("skip", reason=f"already {delivery.status.value}")
    now = utcnow()
    lease = timedelta(seconds=setting("SENDING_LEASE_SECONDS", 120))
    if (
        delivery.status is DeliveryStatus.sending
        and delivery.sending_started_at
        and now - delivery.sending_started_at < lease
    ):
        return NextStep("skip", reason="another worker holds the lease")
    if delivery.next_attempt_at and delivery.next_attempt_at > now and delivery.status is DeliveryStatus.retrying:
        return NextStep("retry", delay=(delivery.next_attempt_at - now).total_seconds(), reason="not yet due")
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
    if not rendered.ok:
        reasons = "；".join(p.message for p in rendered.problems)
        return replace(work, error=ContentRejected(platform, "render_invalid", f"不符合平台要求：{reasons}"))
    try:
        creds = load_creds(account, ciphertext)
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


def finish_attempt(delivery_id: int, result: PublishResult | None, error: AdapterError | None) -> NextStep:
    """Transaction B: record what the platform said and decide what happens next."""
    persist_refreshed_credentials()
    delivery = db.session.scalar(for_update(sa.select(Delivery).where(Delivery.id == delivery_id)))
    if delivery is None:
        raise LookupError(f"delivery {delivery_id} vanished")
    if result is not None:
        return record_result(delivery, result)
    if error is None:
        raise ValueError("finish_attempt needs a result or an error")
    return _record_error(delivery, error)


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
            result.detail if wechat_mass.is_mass(result.post_id) and result.detail else "平台已受理，等待平台处理结果"
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
