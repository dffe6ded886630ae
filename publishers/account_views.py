"""Account-side publishing: credential health and 测试连接, the admins' credentials overview,
OAuth authorisation, the WeChat 第三方平台 authorisation (the unit's operators too) and the
WeChat AppID/AppSecret form, the publish settings (Douyin 代发,
群发 quotas), the 群发/发布 choice per target, and starting a held Douyin delivery.

Scope first (another unit's account: 404), then role (non-admin: 403). Secrets never appear in
a response, a page, a log line or the audit log.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, String
from flask import Blueprint, flash, redirect, render_template, request, url_for

from auth.models import Role
from auth.scoping import current_user, ensure_visible, get_scoped, visible_unit_ids
from common.errors import ApiError, Forbidden, NotFound
from common.fields import Integer
from extensions import db
from moderation.models import Content
from platforms.types import PLATFORM_LABELS
from publishers import credential_health, douyin_rules, oauth, send_modes, wechat_authorize
from publishers.models import Delivery
from registry.models import Account

api = APIBlueprint("publishing_accounts_api", __name__, url_prefix="/api/v1", tag="发布")
pages = Blueprint("publishing_accounts", __name__, url_prefix="/publishing")


class SettingsIn(Schema):
    own_account = Boolean()
    own_account_note = String(allow_none=True)
    sync_enabled = Boolean()
    delete_enabled = Boolean()
    mass_per_day = Integer(allow_none=True)
    mass_per_month = Integer(allow_none=True)


class ModeIn(Schema):
    mode = String(required=True)


class WechatAppIn(Schema):
    app_id = String(required=True)
    app_secret = String(required=True)


def _admin_account(account_id: int) -> Account:
    account = get_scoped(Account, account_id)
    if not current_user().has_role(Role.admin):
        raise Forbidden("只有管理员可以管理平台凭据和授权")
    return account


def _publisher() -> None:
    if not current_user().has_role(Role.operator, Role.admin):
        raise Forbidden("只有本单位运营人员或管理员可以执行此操作")


def _health(account: Account, health: credential_health.Health | None = None) -> dict[str, Any]:
    health = health or credential_health.assess(account)
    return {**health.as_dict(), "account_name": account.name, "platform": account.platform.value}


# ----------------------------------------------------------------------------- API


@api.get("/accounts/<int:account_id>/credentials/health")
@api.doc(summary="账号现在能否发布、为什么不能（不返回任何密钥）", security="BearerAuth")
def health_api(account_id: int) -> Any:
    return _health(get_scoped(Account, account_id))


@api.post("/accounts/<int:account_id>/credentials/test")
@api.doc(summary="测试连接：用已保存的凭据做一次无副作用的读取（管理员，审计）", security="BearerAuth")
def test_api(account_id: int) -> Any:
    account = _admin_account(account_id)
    health = credential_health.test_connection(account, current_user())
    db.session.commit()
    return _health(account, health)


@api.get("/credentials/overview")
@api.doc(summary="凭据总览：全部账号的发布就绪状态、到期时间、最近成功（管理员）", security="BearerAuth")
def overview_api() -> Any:
    if not current_user().has_role(Role.admin):
        raise Forbidden("只有管理员可以查看凭据总览")
    return {"items": [_health(a, h) for a, h in _overview()], "warnings": credential_health.open_warnings(_ids())}


@api.post("/accounts/<int:account_id>/oauth/start")
@api.doc(summary="发起平台 OAuth 授权：返回平台授权页地址（管理员，审计）", security="BearerAuth")
def oauth_start_api(account_id: int) -> Any:
    account = _admin_account(account_id)
    url = oauth.start(account, current_user())
    db.session.commit()
    return {"authorize_url": url}


@api.put("/accounts/<int:account_id>/wechat-app")
@api.input(WechatAppIn, arg_name="data")
@api.doc(summary="设置公众号 AppID/AppSecret 并立即测试连接（管理员，审计；密钥不返回）", security="BearerAuth")
def wechat_app_api(account_id: int, data: dict[str, Any]) -> Any:
    account = _admin_account(account_id)
    health = oauth.set_wechat_app(account, data["app_id"], data["app_secret"], current_user())
    db.session.commit()
    return _health(account, health)


@api.get("/accounts/<int:account_id>/publish-settings")
@api.doc(summary="账号的发布设置（抖音代发、是否同步、是否删除、群发额度）", security="BearerAuth")
def settings_api(account_id: int) -> Any:
    account = get_scoped(Account, account_id)
    return _settings(account)


@api.put("/accounts/<int:account_id>/publish-settings")
@api.input(SettingsIn, arg_name="data")
@api.doc(summary="修改账号的发布设置（管理员，审计）", security="BearerAuth")
def settings_put_api(account_id: int, data: dict[str, Any]) -> Any:
    account = _admin_account(account_id)
    douyin_rules.update(account, data, current_user())
    db.session.commit()
    return _settings(account)


@api.put("/contents/<int:content_id>/targets/<int:account_id>/send-mode")
@api.input(ModeIn, arg_name="data")
@api.doc(summary="微信公众号目标选择“群发”或“发布”（运营人员，审计）", security="BearerAuth")
def send_mode_api(content_id: int, account_id: int, data: dict[str, Any]) -> Any:
    content = get_scoped(Content, content_id)
    account = get_scoped(Account, account_id)
    _publisher()
    row = send_modes.choose(content, account, data["mode"], current_user())
    db.session.commit()
    return {"content_id": content.id, "account_id": account.id, "mode": row.mode, "quota": send_modes.quota(account.id)}


@api.post("/deliveries/<int:delivery_id>/start")
@api.doc(summary="发起一条待人工发起的抖音发送（运营人员，审计）", security="BearerAuth")
def start_api(delivery_id: int) -> Any:
    delivery = _scoped_delivery(delivery_id)
    _publisher()
    douyin_rules.start(delivery, current_user())
    db.session.commit()
    return {"id": delivery.id, "status": delivery.status.value, "account_name": delivery.account.name}


def _scoped_delivery(delivery_id: int) -> Delivery:
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound()
    ensure_visible(current_user(), delivery.content.unit_id)
    return delivery


def _settings(account: Account) -> dict[str, Any]:
    out = douyin_rules.as_dict(account)
    if account.platform.value == "wechat":
        out["mass_quota"] = send_modes.quota(account.id)
    return out


def _ids() -> list[int] | None:
    units = visible_unit_ids(current_user())
    if units is None:
        return None
    return [a.id for a in db.session.query(Account.id).filter(Account.unit_id.in_(units))]  # type: ignore[misc]


def _overview() -> list[tuple[Account, credential_health.Health]]:
    return credential_health.overview(_ids())


# ----------------------------------------------------------------------------- pages


def _back(account_id: int) -> Any:
    return redirect(url_for("registry.account_page", account_id=account_id, _anchor="credentials"))


def _page_action(account_id: int, action: Any) -> Any:
    try:
        action()
        db.session.commit()
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return _back(account_id)


def _flash_check(health: credential_health.Health, what: str) -> None:
    if health.check_ok:
        flash(f"{what}成功：平台接受了这些凭据", "success")
    else:
        flash(f"{what}失败：{health.check_message}", "error")


@pages.get("/credentials")
def overview_page() -> Any:
    if not current_user().has_role(Role.admin):
        raise Forbidden("只有管理员可以查看凭据总览")
    return render_template(
        "publishers/credentials.html",
        rows=_overview(),
        warnings=credential_health.open_warnings(_ids()),
        platform_labels=dict(PLATFORM_LABELS),
        state_labels=credential_health.STATE_LABELS,
    )


@pages.post("/accounts/<int:account_id>/credentials/test")
def test_page(account_id: int) -> Any:
    account = get_scoped(Account, account_id)

    def act() -> None:
        _admin_account(account_id)
        _flash_check(credential_health.test_connection(account, current_user()), "测试连接")

    return _page_action(account.id, act)


@pages.get("/accounts/<int:account_id>/oauth/start")
def oauth_start_page(account_id: int) -> Any:
    account = _admin_account(account_id)
    url = oauth.start(account, current_user())
    db.session.commit()
    return redirect(url)


@pages.get("/oauth/<platform>/callback")
def oauth_callback(platform: str) -> Any:
    user = current_user()
    if not user.has_role(Role.admin):
        raise Forbidden("只有管理员可以完成平台授权")
    account_id = oauth.take_state(platform, request.args.get("state"), user)
    account = get_scoped(Account, account_id)
    if request.args.get("error") or not request.args.get("code"):
        flash("平台授权未完成（已取消或被拒绝），凭据未改变", "error")
        return _back(account.id)

    def act() -> None:
        health = oauth.finish(account, request.args["code"], user)
        note = "，测试连接成功" if health.check_ok else f"，但测试连接失败：{health.check_message}"
        flash(f"已完成{PLATFORM_LABELS[account.platform]}授权，令牌已加密保存{note}", "success")

    return _page_action(account.id, act)


@pages.post("/accounts/<int:account_id>/wechat-app")
def wechat_app_page(account_id: int) -> Any:
    account = get_scoped(Account, account_id)

    def act() -> None:
        _admin_account(account_id)
        form = request.form
        health = oauth.set_wechat_app(account, form.get("app_id", ""), form.get("app_secret", ""), current_user())
        _flash_check(health, "已保存 AppID/AppSecret，测试连接")

    return _page_action(account.id, act)


@pages.post("/accounts/<int:account_id>/wechat-component/start")
def wechat_component_start_page(account_id: int) -> Any:
    account = get_scoped(Account, account_id)
    _publisher()
    try:
        links = wechat_authorize.start(account, current_user())
        db.session.commit()
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back(account.id)
    return render_template("publishers/wechat_component.html", account=account, links=links, outcome=None)


@pages.get("/wechat/component/callback")
def wechat_component_callback() -> Any:
    """WeChat comes back here (``redirect_uri?auth_code=&expires_in=``) after the administrator's scan."""
    user = current_user()
    try:
        account_id = oauth.take_state(wechat_authorize.FLOW, request.args.get("state"), user)
    except oauth.BadState:
        outcome = wechat_authorize.Outcome(False, wechat_authorize.BAD_STATE)
        return render_template("publishers/wechat_component.html", account=None, links=None, outcome=outcome), 400
    account = get_scoped(Account, account_id)
    _publisher()
    outcome = wechat_authorize.finish(account, request.args.get("auth_code", ""), user)
    db.session.commit()
    status = 200 if outcome.ok else 400
    return render_template("publishers/wechat_component.html", account=account, links=None, outcome=outcome), status


@pages.post("/accounts/<int:account_id>/publish-settings")
def settings_page(account_id: int) -> Any:
    account = get_scoped(Account, account_id)

    def act() -> None:
        _admin_account(account_id)
        data: dict[str, Any] = {
            "sync_enabled": request.form.get("sync_enabled") == "1",
            "delete_enabled": request.form.get("delete_enabled") == "1",
            "own_account": request.form.get("own_account") == "1",
            "own_account_note": request.form.get("own_account_note") or None,
        }
        douyin_rules.update(account, data, current_user())
        flash("已保存发布设置", "success")

    return _page_action(account.id, act)


@pages.post("/deliveries/<int:delivery_id>/start")
def start_page(delivery_id: int) -> Any:
    delivery = _scoped_delivery(delivery_id)
    try:
        _publisher()
        douyin_rules.start(delivery, current_user())
        db.session.commit()
        flash(f"已发起发送到抖音账号“{delivery.account.name}”", "success")
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("publishers.deliveries_page", content_id=delivery.content_id))


@pages.app_context_processor
def _account_publishing() -> dict[str, Any]:
    """``account_publishing(account_id)`` for the account page: health, settings, OAuth (admins)."""

    def account_publishing(account_id: int) -> dict[str, Any] | None:
        user = current_user()
        account = get_scoped(Account, account_id)
        if credential_health.credential_admin.fields_for(account.platform.value) is None:
            return None
        return {
            "health": credential_health.assess(account).as_dict(),
            "settings": _settings(account),
            "is_admin": user.has_role(Role.admin),
            "oauth": account.platform.value in ("weibo", "douyin", "toutiao"),
            "component": user.has_role(Role.operator, Role.admin) and wechat_authorize.available(account),
            "platform": account.platform.value,
            "wechat_auth": wechat_authorize.authorisation_label(account),
            "component_granted": wechat_authorize.granted(account),
        }

    return {"account_publishing": account_publishing}
