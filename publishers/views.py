"""Deliveries, withdraw, credentials: /api/v1 and the operator's pages."""

from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa
from apiflask import APIBlueprint
from flask import Blueprint, flash, g, redirect, render_template, request, send_file, url_for

from auth.models import Role
from auth.scoping import current_user, ensure_visible, get_scoped
from common.errors import ApiError, Forbidden, NotFound
from extensions import db
from moderation.models import CONTENT_STATUS_LABELS, Content
from platforms import channels
from platforms.types import PLATFORM_LABELS
from publishers import attempt, credential_admin, delivery_page, manual, send_modes
from publishers import withdraw as withdrawal
from publishers.models import DELIVERY_STATUS_LABELS, Delivery, DeliveryStatus
from publishers.schemas import (
    CredentialsIn,
    CredentialsStatusOut,
    DeliveryList,
    DeliveryOut,
    ManualDoneIn,
    ManualPackageOut,
    WithdrawIn,
    WithdrawOut,
)
from registry.models import Account

api = APIBlueprint("publishers_api", __name__, url_prefix="/api/v1", tag="发布")
pages = Blueprint("publishers", __name__, url_prefix="/publishing")

PUBLISH_ROLES = (Role.operator, Role.admin)


def delivery_dict(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "content_id": d.content_id,
        "version": d.version,
        "account_id": d.account_id,
        "account_name": d.account.name,
        "platform": d.account.platform.value,
        "platform_label": PLATFORM_LABELS[d.account.platform],
        "status": d.status.value,
        "status_label": DELIVERY_STATUS_LABELS[d.status],
        "attempts": d.attempts,
        "platform_post_id": d.platform_post_id,
        "platform_url": d.platform_url,
        "error_code": d.last_error_code,
        "error_message": d.last_error_message,
        "retryable": d.retryable,
        "next_attempt_at": d.next_attempt_at,
        "sent_at": d.sent_at,
        "withdrawn_at": d.withdrawn_at,
        "manual": d.status is DeliveryStatus.manual,
        **send_modes.describe(d),
    }


def _deliveries(content: Content) -> list[Delivery]:
    return list(db.session.scalars(sa.select(Delivery).where(Delivery.content_id == content.id).order_by(Delivery.id)))


def _scoped_delivery(delivery_id: int) -> Delivery:
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound()
    ensure_visible(current_user(), delivery.content.unit_id)
    return delivery


def _require_publisher() -> None:
    if not current_user().has_role(*PUBLISH_ROLES):
        raise Forbidden("只有本单位运营人员或管理员可以执行此操作")


# ----------------------------------------------------------------------------- API


@api.get("/contents/<int:content_id>/deliveries")
@api.output(DeliveryList)
@api.doc(summary="稿件在各渠道的发送情况", security="BearerAuth")
def list_deliveries(content_id: int) -> Any:
    content = get_scoped(Content, content_id)
    items = [delivery_dict(d) for d in _deliveries(content)]
    return {"items": items, "total": len(items), "content_status": content.status.value}


@api.get("/deliveries/<int:delivery_id>")
@api.output(DeliveryOut)
@api.doc(summary="单条发送记录", security="BearerAuth")
def get_delivery(delivery_id: int) -> Any:
    return delivery_dict(_scoped_delivery(delivery_id))


@api.post("/deliveries/<int:delivery_id>/retry")
@api.output(DeliveryOut)
@api.doc(summary="重试失败的发送（调度器几秒内重新发送）", security="BearerAuth")
def retry(delivery_id: int) -> Any:
    delivery = _scoped_delivery(delivery_id)
    _require_publisher()
    manual.retry_delivery(delivery, current_user())
    db.session.commit()
    return delivery_dict(delivery)


@api.post("/deliveries/<int:delivery_id>/manual-done")
@api.input(ManualDoneIn, arg_name="data")
@api.output(DeliveryOut)
@api.doc(summary="人工发布/删除已完成（平台无接口时）", security="BearerAuth")
def manual_done(delivery_id: int, data: dict[str, Any]) -> Any:
    delivery = _scoped_delivery(delivery_id)
    _require_publisher()
    manual.mark_manual_done(delivery, current_user(), url=data.get("url"))
    db.session.commit()
    return delivery_dict(delivery)


@api.get("/deliveries/<int:delivery_id>/manual-package")
@api.output(ManualPackageOut)
@api.doc(summary="人工发布所需的文本与素材清单", security="BearerAuth")
def manual_package(delivery_id: int) -> Any:
    delivery = _scoped_delivery(delivery_id)
    adapter = channels.adapter_for(delivery.account.platform.value)
    post = attempt.render_for(delivery)
    return {"package": adapter.manual_package(post)}


@api.post("/contents/<int:content_id>/withdraw")
@api.input(WithdrawIn, arg_name="data")
@api.output(WithdrawOut)
@api.doc(summary="一键撤回：取消未发送的，删除各平台已发布的", security="BearerAuth")
def withdraw(content_id: int, data: dict[str, Any]) -> Any:
    content = get_scoped(Content, content_id)
    _require_publisher()
    before = {d.id: d.status for d in _deliveries(content)}
    to_delete = withdrawal.withdraw_content(content, data["reason"], current_user())
    db.session.commit()
    cancelled = sum(
        1
        for d in _deliveries(content)
        if d.status is DeliveryStatus.cancelled and before.get(d.id) is not DeliveryStatus.cancelled
    )
    return {
        "content_id": content.id,
        "status": content.status.value,
        "cancelled": cancelled,
        "to_delete": len(to_delete),
    }


@api.put("/accounts/<int:account_id>/credentials")
@api.input(CredentialsIn, arg_name="data")
@api.output(CredentialsStatusOut)
@api.doc(summary="设置账号的平台凭据（管理员；加密保存，永不返回）", security="BearerAuth")
def set_account_credentials(account_id: int, data: dict[str, Any]) -> Any:
    account = get_scoped(Account, account_id)
    if not current_user().has_role(Role.admin):
        raise Forbidden("只有管理员可以设置平台凭据")
    credential_admin.set_credentials(account.id, data, actor=current_user())
    db.session.commit()
    return _credential_status(account)


@api.get("/accounts/<int:account_id>/credentials")
@api.output(CredentialsStatusOut)
@api.doc(summary="凭据是否已配置（不返回任何密钥）", security="BearerAuth")
def credential_status(account_id: int) -> Any:
    return _credential_status(get_scoped(Account, account_id))


def _credential_status(account: Account) -> dict[str, Any]:
    return credential_admin.status(account)


# ----------------------------------------------------------------------------- pages


@pages.get("/contents/<int:content_id>")
def deliveries_page(content_id: int) -> Any:
    content = get_scoped(Content, content_id)
    user = current_user()
    rows = [delivery_page.page_row(delivery_dict(d), d, content, user) for d in _deliveries(content)]
    can_publish = user.has_role(*PUBLISH_ROLES)
    return render_template(
        "publishers/deliveries.html",
        content=content,
        rows=rows,
        can_publish=can_publish,
        status_label=CONTENT_STATUS_LABELS[content.status],
    )


def _page_action(content_id: int, action: Any) -> Any:
    try:
        action()
        db.session.commit()
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("publishers.deliveries_page", content_id=content_id))


@pages.post("/contents/<int:content_id>/withdraw")
def withdraw_page(content_id: int) -> Any:
    """Two steps: the form posts the reason and gets a confirmation page saying what will happen on
    each channel; only its 确认撤回 (``confirm=1``) withdraws."""
    content = get_scoped(Content, content_id)  # outside the scope: 404, not a flash
    reason = (request.form.get("reason") or "").strip()
    if request.form.get("confirm") != "1":
        _require_publisher()
        if len(reason) < 2:
            flash("撤回必须填写原因（至少 2 个字）", "error")
            return redirect(url_for("publishers.deliveries_page", content_id=content_id))
        plan = [(delivery_dict(d), delivery_page.withdraw_plan(d)) for d in _deliveries(content)]
        return render_template("publishers/withdraw_confirm.html", content=content, reason=reason, plan=plan)

    def act() -> None:
        _require_publisher()
        withdrawal.withdraw_content(content, reason, current_user())
        flash("已撤回：未发送的已取消，已发布的正在各平台删除", "success")

    return _page_action(content_id, act)


@pages.get("/deliveries/<int:delivery_id>/manual-package")
def manual_package_page(delivery_id: int) -> Any:
    """The 人工发布包 (or 人工删除说明) of a delivery waiting for a person, as a zip download."""
    delivery = _scoped_delivery(delivery_id)
    if delivery.status is not DeliveryStatus.manual:
        raise NotFound("该发送不需要人工处理，没有人工发布包")
    adapter = channels.adapter_for(delivery.account.platform.value)
    if delivery.last_error_code == withdrawal.MANUAL_WITHDRAW_CODE:
        package = adapter.manual_package(None, "withdraw", post_id=delivery.platform_post_id)
        media: list[tuple[str, bytes]] = []
    else:
        post = attempt.render_for(delivery)
        package = adapter.manual_package(post)
        media = adapter.manual_files(post)  # 封面/ (cropped as chosen), 正文图片/, 素材/
    data = delivery_page.package_zip(package, media)
    name = f"人工{'删除' if package['operation'] == 'withdraw' else '发布'}包-{delivery.content_id}-{delivery.id}.zip"
    return send_file(io.BytesIO(data), mimetype="application/zip", as_attachment=True, download_name=name)


@pages.post("/deliveries/<int:delivery_id>/retry")
def retry_page(delivery_id: int) -> Any:
    delivery = _scoped_delivery(delivery_id)

    def act() -> None:
        _require_publisher()
        manual.retry_delivery(delivery, current_user())
        flash("已重新排队发送", "success")

    return _page_action(delivery.content_id, act)


@pages.post("/deliveries/<int:delivery_id>/manual-done")
def manual_done_page(delivery_id: int) -> Any:
    delivery = _scoped_delivery(delivery_id)

    def act() -> None:
        _require_publisher()
        manual.mark_manual_done(delivery, current_user(), url=request.form.get("url") or None)
        flash("已记录人工处理完成", "success")

    return _page_action(delivery.content_id, act)


def _require_admin_for_credentials() -> None:
    if not current_user().has_role(Role.admin):
        raise Forbidden("只有管理员可以设置平台凭据")


@pages.post("/accounts/<int:account_id>/credentials")
def account_credentials_page(account_id: int) -> Any:
    """The admin form on the account page: set (replace) the account's platform credentials."""
    account = get_scoped(Account, account_id)
    _require_admin_for_credentials()
    spec = credential_admin.fields_for(account.platform.value)
    names = [*spec[0], *spec[1]] if spec else []
    try:
        values = credential_admin.clean(account.platform.value, {n: request.form.get(n, "") for n in names})
        credential_admin.set_credentials(account.id, values, actor=current_user())
        db.session.commit()
    except ApiError as exc:
        db.session.rollback()
        flash(f"平台凭据未保存：{exc.message}", "error")
    else:
        labels = "、".join(credential_admin.FIELD_LABELS.get(n, n) for n in sorted(values))
        flash(f"已保存平台凭据（加密保存，不再显示）：{labels}", "success")
    return redirect(url_for("registry.account_page", account_id=account.id, _anchor="credentials"))


@pages.app_context_processor
def _credential_panel() -> dict[str, Any]:
    """``credential_panel(account_id)`` for the account page: names and 已设置/未设置 only, admins only."""

    def credential_panel(account_id: int) -> dict[str, Any] | None:
        user = g.get("user")
        if user is None or not user.has_role(Role.admin):
            return None
        account = get_scoped(Account, account_id)
        return {
            **credential_admin.status(account),
            "form_fields": credential_admin.form_fields(account.platform.value),
            "labels": credential_admin.FIELD_LABELS,
        }

    return {"credential_panel": credential_panel}
