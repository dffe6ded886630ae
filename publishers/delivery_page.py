"""What the delivery page shows per channel: a truthful state, the next step, and who can take it.

``page_row(delivery, content, user)`` adds to ``views.delivery_dict`` what a person reads: the
state as it really is after a withdrawal (a post still on the platform is "正在从平台删除", not
"已发布"), whether the page should keep refreshing, the manual step (发布 or 删除) with its
package, retry only for errors a retry can fix, and a re-authorisation hint addressed to whoever
can act. No internal codes are shown. ``withdraw_plan`` says per channel what a withdrawal will do,
for the confirmation step.
"""

from __future__ import annotations

import html
import io
import json
import zipfile
from typing import Any

from flask import url_for

from auth.models import Role
from moderation.models import Content, ContentStatus
from platforms import channels
from publishers import credential_admin, douyin_rules
from publishers.models import Delivery, DeliveryStatus
from publishers.withdraw import MANUAL_WITHDRAW_CODE

D = DeliveryStatus
#: states the page keeps refreshing for (static/js/autorefresh.js reads data-status)
OPEN_PAGE_STATES = ("pending", "sending", "retrying", "withdrawing")


def _withdrawing(delivery: Delivery, content: Content) -> str | None:
    """After a withdrawal, what a post still on its platform is waiting for (None: not that case)."""
    if content.status is not ContentStatus.withdrawn or delivery.status not in (D.sent, D.sending):
        return None
    code = delivery.last_error_code or ""
    if code == douyin_rules.KEPT_CODE:
        return "kept"
    if code.startswith("withdraw_failed"):
        return "failed"
    return "withdrawing"


def page_row(row: dict[str, Any], delivery: Delivery, content: Content, user: Any) -> dict[str, Any]:
    is_admin = user.has_role(Role.admin)
    state = _withdrawing(delivery, content)
    status, label, message = row["status"], row["status_label"], row["error_message"] or ""
    if state == "withdrawing":
        status, label = "withdrawing", "正在从平台删除"
        message = "稿件已撤回，正在从平台删除该内容"
    elif state == "failed":
        status, label = "withdraw_failed", "删除失败"
    elif state == "kept":
        label = "已发布（平台保留）"
    elif delivery.status is D.sent:
        message = ""  # a sent row's last message is from before it went out
    manual_step = None
    if delivery.status is D.manual:
        manual_step = "withdraw" if delivery.last_error_code == MANUAL_WITHDRAW_CODE else "publish"
        label = "待人工处理（删除）" if manual_step == "withdraw" else "待人工处理（发布）"
    reauth = None
    if delivery.status is D.failed and credential_admin.status(delivery.account)["needs_reauth"]:
        reauth = "admin" if is_admin else "contact"
    return {
        **row,
        "page_status": status,
        "page_label": label,
        "page_message": message,
        "manual_step": manual_step,
        "package_url": url_for("publishers.manual_package_page", delivery_id=delivery.id) if manual_step else None,
        "can_retry": delivery.status is D.failed and bool(delivery.retryable) and reauth is None,
        "reauth": reauth,
        "account_url": url_for("registry.account_page", account_id=delivery.account_id, _anchor="credentials"),
    }


def withdraw_plan(delivery: Delivery) -> str:
    """What withdrawing does to this channel, in words, for the confirmation page."""
    if delivery.status in (D.pending, D.retrying, D.held):
        return "尚未发出，将取消发送"
    if delivery.status is D.manual and delivery.last_error_code != MANUAL_WITHDRAW_CODE:
        return "尚未人工发布，将取消；如已在平台手工发布，请在平台后台手工删除"
    if delivery.status in (D.sent, D.sending):
        if douyin_rules.keeps_post(delivery):
            return douyin_rules.KEPT_MESSAGE
        if channels.adapter_for(delivery.account.platform.value).supports("withdraw"):
            return "已发布，将通过平台接口删除"
        return "已发布，平台没有删除接口，需在平台后台手工删除"
    return "无需处理"


def package_zip(package: dict[str, Any], media: list[tuple[str, bytes]]) -> bytes:
    """The 人工发布包 as a zip: 说明.txt (steps and text), package.json, 正文.html (the body, its
    images pointing at the package's 正文图片/ files) and the files at their package paths."""
    action = "删除" if package.get("operation") == "withdraw" else "发布"
    lines = [f"{package.get('platform_label', '')}人工{action}说明", ""]
    lines += [f"{n}. {step}" for n, step in enumerate(package.get("instructions") or [], 1)]
    for key, title in (("title", "标题"), ("summary", "摘要"), ("text", "正文"), ("canonical_url", "原文链接")):
        if package.get(key):
            lines += ["", f"【{title}】", str(package[key])]
    if media:
        lines += ["", "【文件】", *(path for path, _ in media)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("说明.txt", "\n".join(lines) + "\n")
        archive.writestr("package.json", json.dumps(package, ensure_ascii=False, indent=2, default=str))
        if package.get("html"):
            title = html.escape(str(package.get("title") or ""))
            archive.writestr(
                "正文.html",
                f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title></head>'
                f"<body><h1>{title}</h1>{package['html']}</body></html>\n",
            )
        for path, data in media:
            archive.writestr(path, data)
    return buffer.getvalue()
