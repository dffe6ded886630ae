"""Credential health: can this account publish right now, and if not, why not.

``assess`` reads what is stored (never a secret's value: only expiry times, ``needs_reauth``
and what the last connection test found) and answers with a state and Chinese reasons:

- ``ok``       可以发布
- ``warning``  可以发布，但令牌即将到期（``CREDENTIAL_WARN_DAYS``，默认 7 天）或续期次数将用完
- ``blocked``  现在不能发布：未配置、缺字段、无法解密、需要重新授权、令牌/刷新令牌已过期、
               公众号无接口权限（48001）、上次测试连接凭据无效
- ``no_api``   该平台没有发布接口

``test_connection`` makes one harmless read call (WeChat ``freepublish/batchget`` count 1
without content; Weibo ``oauth2/get_token_info``; Douyin/Toutiao ``oauth/userinfo``), records
the result in ``credential_health`` and the audit log. ``scan_expiry`` (daily from the
scheduler) writes each account's warning into ``credential_health.warning``: the admins'
credentials overview and the 工作台 show it.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from audit import service as audit
from common.db import utcnow
from common.timefmt import bj
from extensions import db
from platforms import channels, credentials
from platforms.errors import AdapterError
from platforms.models import AccountCredential
from platforms.types import Credentials
from publishers import attempt, credential_admin
from publishers.models import CredentialHealth, Delivery, DeliveryStatus
from registry.models import Account

STATE_LABELS = {
    "ok": "可以发布",
    "warning": "可以发布（有预警）",
    "blocked": "不能发布",
    "no_api": "无发布接口",
}
DAY = 86_400.0


@dataclass
class Health:
    account_id: int
    state: str
    reasons: list[str] = field(default_factory=list)
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    needs_reauth: bool = False
    api_eligible: bool | None = None
    checked_at: datetime | None = None
    check_ok: bool | None = None
    check_message: str | None = None
    last_success_at: datetime | None = None
    warning: str | None = None

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "state": self.state,
            "state_label": self.label,
            "can_publish": self.state in ("ok", "warning"),
            "reasons": list(self.reasons),
            "expires_at": self.expires_at,
            "refresh_expires_at": self.refresh_expires_at,
            "needs_reauth": self.needs_reauth,
            "api_eligible": self.api_eligible,
            "checked_at": self.checked_at,
            "check_ok": self.check_ok,
            "check_message": self.check_message,
            "last_success_at": self.last_success_at,
            "warning": self.warning,
        }


def _warn_seconds() -> float:
    return float(current_app.config.get("CREDENTIAL_WARN_DAYS", 7)) * DAY


def _dt(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(float(epoch), UTC).replace(tzinfo=None)


def _bj(epoch: float) -> str:
    return bj(_dt(epoch))


def health_row(account_id: int) -> CredentialHealth | None:
    return db.session.scalar(sa.select(CredentialHealth).where(CredentialHealth.account_id == account_id))


def _ensure_row(account_id: int) -> CredentialHealth:
    row = health_row(account_id)
    if row is None:
        row = CredentialHealth(account_id=account_id)
        db.session.add(row)
    return row


def _last_sent(account_id: int) -> datetime | None:
    return db.session.scalar(
        sa.select(sa.func.max(Delivery.sent_at)).where(
            Delivery.account_id == account_id, Delivery.status == DeliveryStatus.sent
        )
    )


def assess(account: Account, now: float | None = None) -> Health:
    """The account's publishing readiness from what is stored; no platform call."""
    now = time.time() if now is None else now
    platform = account.platform.value
    row = health_row(account.id)
    cred = db.session.scalar(sa.select(AccountCredential).where(AccountCredential.account_id == account.id))
    last_sent = _last_sent(account.id)
    last_success = max((t for t in (last_sent, row.last_success_at if row else None) if t), default=None)
    health = Health(
        account.id,
        "ok",
        needs_reauth=bool(cred and cred.needs_reauth),
        api_eligible=row.api_eligible if row else None,
        checked_at=row.checked_at if row else None,
        check_ok=row.check_ok if row else None,
        check_message=row.check_message if row else None,
        last_success_at=last_success,
        warning=row.warning if row else None,
    )
    spec = credential_admin.fields_for(platform)
    if spec is None:
        health.state = "no_api"
        health.reasons.append("该平台没有发布接口，只能人工发布")
        return health
    blocked: list[str] = []
    warnings: list[str] = []
    grant = False  # a 第三方平台 grant: advice is to re-authorise with the 权限集
    if cred is None:
        blocked.append("未配置平台凭据")
    else:
        try:
            values = credentials.get_credentials(account.id)
        except credentials.CredentialsUnavailable:
            values = None
            blocked.append("已保存的凭据无法用当前密钥（FERNET_KEY）解密，请重新设置")
        if values is not None and not credentials.callable_with(values):
            blocked.append("未配置平台凭据（只保存了消息推送 Token）")
        elif values is not None:
            grant = values.get("via") == "component"
            required = credential_admin.required_fields(platform, values)
            missing = [credential_admin.FIELD_LABELS[n] for n in required if n not in values]
            if missing:
                blocked.append("缺少必填凭据：" + "、".join(missing))
            creds = Credentials.from_mapping(values)
            health.expires_at = _dt(creds.expires_at)
            health.refresh_expires_at = _dt(creds.refresh_expires_at)
            _expiry_reasons(platform, creds, now, blocked, warnings)
    if health.needs_reauth:
        blocked.append("上次调用平台时凭据被拒绝，需要重新授权或修正凭据")
    if platform == "wechat" and health.api_eligible is False:
        if grant:
            blocked.append(
                "公众号没有给本平台发布接口的权限：请公众号管理员重新扫码授权，并勾选群发与通知、素材管理等权限集"
            )
        else:
            blocked.append("公众号没有发布接口权限（未认证、个人主体或认证已过期），请先完成微信认证")
    if row is not None and row.check_ok is False and row.check_message and not health.needs_reauth:
        warnings.append(f"上次测试连接失败：{row.check_message}")
    health.reasons = blocked + warnings
    health.state = "blocked" if blocked else ("warning" if warnings else "ok")
    return health


def _expiry_reasons(platform: str, creds: Credentials, now: float, blocked: list[str], warnings: list[str]) -> None:
    warn = _warn_seconds()
    if platform == "weibo" and creds.expires_at:
        # Weibo web apps get no refresh token: an expired token means authorising again.
        if creds.expires_at <= now:
            blocked.append(f"微博访问令牌已于 {_bj(creds.expires_at)} 过期，请重新授权")
        elif creds.expires_at - now <= warn:
            warnings.append(f"微博访问令牌将于 {_bj(creds.expires_at)} 过期，到期前请重新授权")
    if platform in ("douyin", "toutiao"):
        refreshable = bool(creds.refresh_token) and (not creds.refresh_expires_at or creds.refresh_expires_at > now)
        if creds.expires_at and creds.expires_at <= now and not refreshable:
            blocked.append(f"访问令牌已于 {_bj(creds.expires_at)} 过期且无法刷新，请重新授权")
        if creds.refresh_expires_at:
            if creds.refresh_expires_at <= now:
                blocked.append(f"刷新令牌已于 {_bj(creds.refresh_expires_at)} 过期，请重新授权")
            elif creds.refresh_expires_at - now <= warn:
                if creds.renewals >= 5:
                    warnings.append(
                        f"刷新令牌将于 {_bj(creds.refresh_expires_at)} 过期，且已续期 5 次不能再续，到期前请重新授权"
                    )
                else:
                    warnings.append(f"刷新令牌将于 {_bj(creds.refresh_expires_at)} 过期（发布时会自动续期）")


# ----------------------------------------------------------------------------- test connection


def _probe(platform: str, creds: Credentials) -> dict[str, Any]:
    """One harmless read call; returns what it learnt (e.g. Weibo's remaining token lifetime)."""
    adapter = channels.adapter_for(platform)
    if platform == "weibo":
        info = adapter.token_info(creds)  # type: ignore[attr-defined]
        learnt: dict[str, Any] = {}
        with contextlib.suppress(TypeError, ValueError):
            learnt["expires_at"] = int(time.time() + float(info.get("expire_in")))
        return learnt
    adapter.profile(creds)
    return {}


def test_connection(account: Account, actor: Any) -> Health:
    """Make one harmless read call with the stored credentials; record and audit the result.

    The caller commits. Secrets never leave this function (the audit names the outcome only).
    """

    platform = account.platform.value
    try:
        creds = attempt.load_creds(account)
    except credentials.CredentialsUnavailable as exc:
        return _record_check(account, actor, ok=False, code="no_credentials", message=str(exc))
    adapter = channels.adapter_for(platform)
    adapter.on_credentials_changed = attempt._remember_credentials
    try:
        learnt = _probe(platform, creds)
    except AdapterError as exc:
        attempt.persist_refreshed_credentials()
        return _record_check(
            account, actor, ok=False, code=exc.code or type(exc).__name__, message=exc.message, error=exc
        )
    attempt.persist_refreshed_credentials()
    if learnt.get("expires_at"):
        # Weibo told us how long the token lives: keep it for the expiry warnings.
        values = {**credentials.get_credentials(account.id), **learnt}
        credential_admin.set_credentials(account.id, values, actor_label="system:connection-test")
    return _record_check(account, actor, ok=True, code=None, message="连接正常")


def _record_check(
    account: Account, actor: Any, *, ok: bool, code: str | None, message: str, error: AdapterError | None = None
) -> Health:
    row = _ensure_row(account.id)
    now = utcnow()
    row.checked_at = now
    row.check_ok = ok
    row.check_code = code
    row.check_message = message
    cred = db.session.scalar(sa.select(AccountCredential).where(AccountCredential.account_id == account.id))
    if ok:
        row.last_success_at = now
        if account.platform.value == "wechat":
            row.api_eligible = True
        if cred is not None:
            cred.needs_reauth = False
    else:
        if code == "48001":
            row.api_eligible = False
        if error is not None and error.needs_reauth and cred is not None:
            cred.needs_reauth = True
    db.session.flush()
    audit.record(
        "account:credentials:test",
        object_type="accounts",
        object_id=account.id,
        after={"ok": ok, "code": code},
        actor=actor,
    )
    return assess(account)


def note_platform_answer(account_id: int, *, ok: bool, code: str | None = None) -> None:
    """What a publish attempt learnt about the account (last success, WeChat 48001)."""
    if ok:
        row = _ensure_row(account_id)
        row.last_success_at = utcnow()
        return
    if code == "48001":
        row = _ensure_row(account_id)
        row.api_eligible = False


def success_sql(source: str) -> str:
    """``note_platform_answer(ok=True)`` as one upsert, for a statement that records a published
    post without the ORM (``publishers.lifecycle.move_row``): one row per account, its last
    success ``:hc_now``. ``source``: what the row comes from (``upd``, the CTE of the delivery's
    own UPDATE on PostgreSQL, so nothing is written if the move did not apply)."""
    return (
        "INSERT INTO credential_health (account_id, last_success_at, created_at, updated_at) "  # noqa: S608
        f"SELECT :hc_account, :hc_now, :hc_now, :hc_now FROM {source} WHERE true "
        "ON CONFLICT (account_id) DO UPDATE SET last_success_at = excluded.last_success_at, "
        "updated_at = excluded.updated_at"
    )


# ----------------------------------------------------------------------------- overview and warnings


def overview(account_ids: list[int] | None = None) -> list[tuple[Account, Health]]:
    """Every account with a publishing platform (or the given ones), with its health."""
    stmt = (
        sa.select(Account)
        .where(Account.platform.in_(list(credential_admin.PLATFORM_FIELDS)))
        .order_by(Account.platform, Account.name)
    )
    if account_ids is not None:
        stmt = stmt.where(Account.id.in_(account_ids))
    return [(account, assess(account)) for account in db.session.scalars(stmt)]


def scan_expiry(now: float | None = None) -> dict[str, int]:
    """The daily check: write (or clear) each account's warning; audit each change. Flushes."""
    counts = {"checked": 0, "warned": 0, "cleared": 0}
    stmt = sa.select(Account).join(AccountCredential, AccountCredential.account_id == Account.id)
    for account in db.session.scalars(stmt):
        counts["checked"] += 1
        health = assess(account, now)
        text = "；".join(health.reasons) if health.state in ("warning", "blocked") else None
        row = health_row(account.id)
        if (row.warning if row else None) == text:
            continue
        row = row or _ensure_row(account.id)
        row.warning = text
        row.warning_level = health.state if text else None
        row.warned_at = utcnow() if text else None
        counts["warned" if text else "cleared"] += 1
        audit.record(
            "account:credentials:warning",
            object_type="accounts",
            object_id=account.id,
            after={"state": health.state, "warning": text},
            actor_label="system:credential-check",
        )
    db.session.flush()
    return counts


def open_warnings(account_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """The warnings the last scan wrote, for the 工作台 and the overview page."""
    stmt = (
        sa.select(CredentialHealth, Account)
        .join(Account, Account.id == CredentialHealth.account_id)
        .where(CredentialHealth.warning.is_not(None))
        .order_by(CredentialHealth.warning_level, Account.name)
    )
    if account_ids is not None:
        stmt = stmt.where(Account.id.in_(account_ids))
    return [
        {
            "account_id": account.id,
            "account_name": account.name,
            "level": row.warning_level,
            "warning": row.warning,
            "warned_at": row.warned_at,
        }
        for row, account in db.session.execute(stmt)
    ]
