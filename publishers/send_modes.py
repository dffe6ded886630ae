"""WeChat 群发 or 发布, per content and target, and the 群发 quotas (DOMAIN.md R35).

The operator chooses before the content goes out (``choose``); the claim copies the choice
into ``Delivery.send_mode`` (``mode_by_account``). A 群发 delivery is refused before any call
when the account's quota is used up (``quota_refusal``): per Beijing day and per month,
``AccountPublishSettings.mass_per_day/month`` or the configured ``WECHAT_MASS_PER_DAY/MONTH``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from audit import service as audit
from common.db import utcnow
from common.errors import Conflict, Invalid
from common.timefmt import CN_TZ, day_start_utc
from extensions import db
from moderation.models import Content
from publishers import douyin_rules
from publishers.models import (
    SEND_MODE_LABELS,
    AccountPublishSettings,
    Delivery,
    DeliveryStatus,
    SendMode,
    TargetSendMode,
)
from registry.models import Account, Platform

WITHDRAW_NOTES = {
    SendMode.mass.value: "群发的撤回只能让图文详情页失效；已送达粉丝的消息卡片仍保留在对方手机上，无法收回",
    SendMode.publish.value: "发布的撤回会从公众号“发表记录”中删除该文章，链接失效，不可恢复",
}


def choose(content: Content, account: Account, mode: str, actor: Any) -> TargetSendMode:
    """Record the operator's choice for one WeChat target; audited. Flushes."""
    if account.platform is not Platform.wechat:
        raise Invalid("只有微信公众号可以选择“群发”或“发布”", code="not_wechat")
    if account.id not in {a.id for a in content.targets}:
        raise Invalid("该账号不是这篇稿件的发布账号", code="not_a_target")
    try:
        chosen = SendMode(mode)
    except ValueError:
        raise Invalid("发送方式只能是 mass（群发）或 publish（发布）", details={"mode": ["mass", "publish"]}) from None
    delivery = db.session.scalar(
        sa.select(Delivery).where(Delivery.content_id == content.id, Delivery.account_id == account.id)
    )
    if delivery is not None and (
        delivery.status not in (DeliveryStatus.pending, DeliveryStatus.held) or delivery.attempts
    ):
        raise Conflict("该账号的发送已开始，不能再改发送方式")
    row = db.session.scalar(
        sa.select(TargetSendMode).where(
            TargetSendMode.content_id == content.id, TargetSendMode.account_id == account.id
        )
    )
    before = row.mode if row else None
    if row is None:
        row = TargetSendMode(content_id=content.id, account_id=account.id, mode=chosen.value)
        db.session.add(row)
    row.mode = chosen.value
    row.chosen_by_id = getattr(actor, "id", None)
    if delivery is not None:
        delivery.send_mode = chosen.value
    audit.record(
        "content:send-mode",
        content,
        before={"account_id": account.id, "mode": before},
        after={"account_id": account.id, "mode": chosen.value, "label": SEND_MODE_LABELS[chosen]},
        actor=actor,
    )
    db.session.flush()
    return row


def mode_by_account(content_id: int) -> dict[int, str]:
    return dict(
        db.session.execute(
            sa.select(TargetSendMode.account_id, TargetSendMode.mode).where(TargetSendMode.content_id == content_id)
        ).all()
    )


def modes_of(content_ids: list[int]) -> dict[tuple[int, int], str]:
    """``mode_by_account`` for many contents in one query: (content id, account id) → mode."""
    rows = db.session.execute(
        sa.select(TargetSendMode.content_id, TargetSendMode.account_id, TargetSendMode.mode).where(
            TargetSendMode.content_id.in_(content_ids)
        )
    )
    return {(content_id, account_id): mode for content_id, account_id, mode in rows}


def limits(account_id: int) -> tuple[int, int]:
    settings = db.session.scalar(
        sa.select(AccountPublishSettings).where(AccountPublishSettings.account_id == account_id)
    )
    per_day = settings.mass_per_day if settings and settings.mass_per_day is not None else None
    per_month = settings.mass_per_month if settings and settings.mass_per_month is not None else None
    return (
        int(current_app.config["WECHAT_MASS_PER_DAY"]) if per_day is None else per_day,
        int(current_app.config["WECHAT_MASS_PER_MONTH"]) if per_month is None else per_month,
    )


def quota(account_id: int, now: datetime | None = None, *, exclude: int | None = None) -> dict[str, int]:
    """群发 used and allowed for the account today and this month (Beijing time)."""
    now = now or utcnow()
    today = now.replace(tzinfo=UTC).astimezone(CN_TZ).date()
    day_start = day_start_utc(today)
    month_start = day_start_utc(today.replace(day=1))
    used = sa.and_(
        Delivery.account_id == account_id,
        Delivery.send_mode == SendMode.mass.value,
        Delivery.platform_post_id.is_not(None),
        Delivery.id != (exclude or 0),
    )

    def count(since: datetime) -> int:
        return int(db.session.scalar(sa.select(sa.func.count()).where(used, Delivery.sending_started_at >= since)) or 0)

    per_day, per_month = limits(account_id)
    return {
        "per_day": per_day,
        "per_month": per_month,
        "used_today": count(day_start),
        "used_month": count(month_start),
    }


def quota_refusal(delivery: Delivery) -> tuple[str, str] | None:
    """Why this 群发 must not go out now (quota used up), or None."""
    q = quota(delivery.account_id, exclude=delivery.id)
    if q["used_today"] >= q["per_day"]:
        return "mass_quota_day", f"该公众号今日群发次数已用完（每天 {q['per_day']} 次），未发送；可改为“发布”或明日再发"
    if q["used_month"] >= q["per_month"]:
        return "mass_quota_month", f"该公众号本月群发次数已用完（每月 {q['per_month']} 次），未发送；可改为“发布”"
    return None


def describe(delivery: Delivery) -> dict[str, Any]:
    """The delivery's 发送方式 and what a withdrawal can take back, for the operator's page and API."""

    platform = delivery.account.platform
    label = note = None
    if platform is Platform.wechat:
        mode = delivery.send_mode or SendMode.publish.value
        label = SEND_MODE_LABELS[SendMode(mode)]
        note = WITHDRAW_NOTES[mode]
    elif douyin_rules.keeps_post(delivery):
        note = douyin_rules.KEPT_MESSAGE
    return {"send_mode": delivery.send_mode, "send_mode_label": label, "withdraw_note": note}


# ----------------------------------------------------------------------------- the editor's field

MODES = (SendMode.publish, SendMode.mass)
MODE_HELP = {
    SendMode.publish.value: "发布：进入公众号“发表记录”，不推送到粉丝的消息列表，不占群发次数",
    SendMode.mass.value: (
        "群发：推送到全部粉丝的消息列表，占用群发次数；撤回只能让图文详情页失效，已送达的消息卡片无法收回"
    ),
}


def editor_options(content: Content | None, accounts: list[Account]) -> list[dict[str, Any]]:
    """The 群发/发布 radio of each WeChat target in the content editor, with the quota text."""
    chosen = mode_by_account(content.id) if content is not None and content.id else {}
    out = []
    for account in accounts:
        if account.platform is not Platform.wechat or account.id is None:
            continue
        q = quota(account.id)
        out.append(
            {
                "account_id": account.id,
                "account_name": account.name,
                "platform": account.platform.value,
                "field": f"send_mode_{account.id}",
                "legend": f"“{account.name}”的发送方式",
                "options": [
                    {"value": m.value, "label": SEND_MODE_LABELS[m]} for m in (SendMode.publish, SendMode.mass)
                ],
                "current": chosen.get(account.id, SendMode.publish.value),
                "help": [
                    MODE_HELP[SendMode.publish.value],
                    MODE_HELP[SendMode.mass.value],
                    f"群发额度（北京时间）：每天 {q['per_day']} 次，今日已用 {q['used_today']} 次；"
                    f"每月 {q['per_month']} 次，本月已用 {q['used_month']} 次。额度用完时群发不会发出。",
                ],
            }
        )
    return out


def editor_save(content: Content, form: Any, actor: Any) -> None:
    """Record the editor's posted choices for the content's WeChat targets (only changed ones)."""
    current = mode_by_account(content.id)
    for account in content.targets:
        if account.platform is not Platform.wechat:
            continue
        mode = form.get(f"send_mode_{account.id}")
        if mode and mode != current.get(account.id, SendMode.publish.value):  # 发布 is the default
            choose(content, account, mode, actor)
