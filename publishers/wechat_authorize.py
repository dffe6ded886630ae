"""A 公众号 authorises the office's 微信开放平台第三方平台 (instead of handing over its AppSecret).

``start`` (the unit's operator or an admin, from the account page) gets a pre_auth_code and builds
the PC page the 公众号 administrator scans, coming back — in the operator's browser — to our
callback with a one-use ``state`` bound to the user and the account (the OAuth flow's session
states, ``publishers.oauth``). No phone link and no API start: the state lives in the starting
browser's session, and WeChat's phone link redirects inside the administrator's WeChat. ``finish`` swaps the auth_code
(``api_query_auth``); the authorised AppID must be the ledger account's (its recorded AppID or a
``wx…`` platform uid), must not be stored for or be the uid of another ledger account, and, when
the ledger knows no AppID, ``api_get_authorizer_info`` must confirm it (原始ID or 微信号 = the
platform uid, or the exact name); else nothing changes. Stored: ``{app_id, refresh_token, via:
"component"}``, encrypted like every credential; the adapter then reads and publishes with the
authorizer_access_token.

The push receiver calls ``withdrawn`` for ``unauthorized`` (the grant is removed: the account is
not authorised again) and ``renewed`` for ``updateauthorized`` of an account authorised this way.
Every step is audited; no token is ever shown, logged or audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import url_for

from audit import service as audit
from common.errors import Invalid
from extensions import db
from platforms import channels, credentials, wechat_component
from platforms.errors import AdapterError
from platforms.models import AccountCredential
from platforms.types import Credentials
from publishers import credential_admin, credential_health, oauth
from registry.models import Account, Platform

FLOW = "wechat_component"
#: what a grant brings; everything else stored (push_token, an admin-set AppSecret) is kept
GRANT_FIELDS = ("app_id", "refresh_token", "via")
BAD_STATE = "授权请求无效、已过期或已经用过（防伪校验未通过），凭据没有改变。请回到账号页重新发起授权"


@dataclass(frozen=True)
class Links:
    pc_url: str
    expires_in: int
    biz_appid: str | None


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    health: credential_health.Health | None = None


def _audit(
    what: str, account_id: int, *, after: dict[str, Any], actor: Any = None, actor_label: str | None = None
) -> None:
    audit.record(
        f"account:wechat_component:{what}",
        object_type="accounts",
        object_id=account_id,
        after=after,
        actor=actor,
        actor_label=actor_label,
    )


def _adapter() -> Any:
    return channels.adapter_for("wechat")


def available(account: Account) -> bool:
    """A WeChat account, and the office runs a 第三方平台 (WECHAT_COMPONENT_APPID/APPSECRET)."""
    return account.platform is Platform.wechat and wechat_component.configured(_adapter().options)


def _stored(account_id: int) -> dict[str, Any]:
    try:
        return credentials.get_credentials(account_id)
    except credentials.CredentialsUnavailable:
        return {}


def _complete_grant(values: dict[str, Any]) -> bool:
    return wechat_component.is_component_grant(Credentials.from_mapping(values))


def granted(account: Account) -> bool:
    """Whether the 公众号 is authorised through the 第三方平台 with a usable grant (the account page
    then offers 重新授权 instead of a first authorisation)."""
    return account.platform is Platform.wechat and _complete_grant(_stored(account.id))


def authorisation_label(account: Account) -> str | None:
    """How a 公众号 lets the platform in, for the account page (never a value); None for other
    platforms. Only what works counts: a grant with its refresh token, or AppID and AppSecret."""
    if account.platform is not Platform.wechat:
        return None
    values = _stored(account.id)
    grant = values.get("via") == wechat_component.VIA
    if _complete_grant(values):
        if values.get("app_secret"):
            return "已通过第三方平台授权（另存有管理员设置的 AppSecret）"
        return "已通过第三方平台授权（不保存 AppSecret）"
    if values.get("app_id") and values.get("app_secret"):
        return "公众号开发者凭据（AppID 和 AppSecret）"
    if grant:
        return "第三方平台授权不完整（缺少刷新令牌），请重新授权"
    return "未授权"


def known_appids(account: Account) -> set[str]:
    """The AppIDs the ledger knows for the account: its stored AppID and a ``wx…`` platform uid."""
    found = {str(_stored(account.id).get("app_id") or "")}
    uid = account.platform_uid or ""
    if uid.startswith("wx"):
        found.add(uid)
    return {a for a in found if a}


def callback_url(state: str) -> str:
    return url_for("publishing_accounts.wechat_component_callback", state=state, _external=True)


def start(account: Account, user: Any) -> Links:
    """The authorisation links for ``account``; records the state and an audit entry."""
    if not available(account):
        raise Invalid("本平台未配置微信开放平台第三方平台，或该账号不是微信公众号", code="no_component")
    adapter = _adapter()
    try:
        pre_auth_code, expires_in = wechat_component.create_preauthcode(adapter)
    except AdapterError as exc:
        raise Invalid(f"获取预授权码失败：{exc.message}", code="preauthcode_failed") from exc
    state = oauth.new_state(account, user, FLOW)
    known = sorted(known_appids(account))
    biz = known[0] if len(known) == 1 else None
    pc_url = wechat_component.authorize_url(adapter.options, pre_auth_code, callback_url(state), biz)
    _audit("start", account.id, after={"biz_appid": biz}, actor=user)
    return Links(pc_url, min(expires_in, oauth.STATE_TTL), biz)


def _wechat_stored(*, besides: Account | None = None) -> list[tuple[Account, dict[str, Any]]]:
    """Every WeChat account with stored credentials (decrypted: 公众号 are few), but ``besides``."""
    stmt = (
        sa.select(Account, AccountCredential.ciphertext)
        .join(AccountCredential, AccountCredential.account_id == Account.id)
        .where(Account.platform == Platform.wechat)
    )
    if besides is not None:
        stmt = stmt.where(Account.id != besides.id)
    found = []
    for other, ciphertext in db.session.execute(stmt):
        try:
            found.append((other, credentials.decrypt(other.id, ciphertext)))
        except credentials.CredentialsUnavailable:
            continue
    return found


def _other_account(appid: str, account: Account) -> Account | None:
    """Another ledger account the AppID belongs to: as its platform uid or its stored AppID."""
    by_uid = db.session.scalar(
        sa.select(Account).where(
            Account.platform == Platform.wechat, Account.platform_uid == appid, Account.id != account.id
        )
    )
    if by_uid is not None:
        return by_uid
    return next((other for other, values in _wechat_stored(besides=account) if values.get("app_id") == appid), None)


UNCHANGED = "授权未保存，账号的凭据没有任何改变"
UNCONFIRMED = "无法确认授权的公众号就是台账中的该账号：请先在台账补登其 AppID、原始ID 或微信号"


def _unconfirmed(account: Account, appid: str) -> str | None:
    """The ledger knows no AppID: the authorised 公众号's 原始ID or 微信号 must be the ledger's
    platform uid, or its name the ledger account's name exactly (``api_get_authorizer_info``)."""
    try:
        info = wechat_component.authorizer_info(_adapter(), appid)
    except AdapterError as exc:
        return f"{UNCONFIRMED}（读取授权公众号的信息失败：{exc.message}），{UNCHANGED}"
    uid = account.platform_uid or ""
    if (uid and uid in (info.user_name, info.alias)) or (info.name and info.name == account.name):
        return None
    return f"{UNCONFIRMED}。授权的是“{info.name or '名称未知'}”（AppID {appid}），{UNCHANGED}"


def _mismatch(account: Account, appid: str) -> tuple[str, str] | None:
    """(reason code, Chinese message) why the grant of ``appid`` must not be stored, or None."""
    known = known_appids(account)
    if known and appid not in known:
        return "wrong_account", (
            f"授权的公众号（AppID {appid}）不是台账账号“{account.name}”（登记的 AppID {'、'.join(sorted(known))}），"
            f"{UNCHANGED}。请用该账号的管理员微信重新扫码授权"
        )
    other = _other_account(appid, account)
    if other is not None:
        return "other_account", f"授权的公众号（AppID {appid}）是台账中的另一个账号“{other.name}”，{UNCHANGED}"
    if not known:
        message = _unconfirmed(account, appid)
        if message is not None:
            return "unconfirmed", message
    return None


def finish(account: Account, auth_code: str, user: Any) -> Outcome:
    """Swap ``auth_code`` for the grant, check the AppID, store it, test it. Always audited; the
    caller commits (a refusal too: the audit entry is what changed)."""
    if not auth_code:
        _audit("failed", account.id, after={"code": "no_code"}, actor=user)
        return Outcome(False, "授权未完成（已取消或公众号管理员未确认），凭据未改变")
    adapter = _adapter()
    try:
        grant = wechat_component.query_auth(adapter, auth_code)
    except AdapterError as exc:
        _audit("failed", account.id, after={"code": exc.code}, actor=user)
        return Outcome(False, f"授权码无效或已过期（{exc.message}），凭据未改变。请回到账号页重新发起授权")
    refusal = _mismatch(account, grant.appid)
    if refusal is not None:
        wechat_component.forget_authorizer(adapter, grant.appid)
        _audit(
            "refused",
            account.id,
            after={"authorizer_appid": grant.appid, "expected": sorted(known_appids(account)), "reason": refusal[0]},
            actor=user,
        )
        return Outcome(False, refusal[1])
    kept = {k: v for k, v in _stored(account.id).items() if k not in GRANT_FIELDS}
    grant_values = {"app_id": grant.appid, "refresh_token": grant.refresh_token, "via": wechat_component.VIA}
    values = {**kept, **grant_values}
    credential_admin.set_credentials(account.id, values, actor=user)
    missing = [wechat_component.FUNC_LABELS[i] for i in wechat_component.NEEDED_FUNCS if i not in grant.func_ids]
    _audit(
        "authorized",
        account.id,
        after={"authorizer_appid": grant.appid, "func_ids": list(grant.func_ids), "missing": missing},
        actor=user,
    )
    health = credential_health.test_connection(account, user)
    note = "" if not missing else f"；但未授予权限集：{'、'.join(missing)}，相应的读取或发布会被拒绝，请重新授权时勾选"
    check = "测试连接成功" if health.check_ok else f"但测试连接失败：{health.check_message}"
    return Outcome(True, f"授权成功：公众号（AppID {grant.appid}）已授权本平台，{check}{note}", health)


def _component_accounts(appid: str) -> list[tuple[Account, dict[str, Any]]]:
    return [
        (account, values)
        for account, values in _wechat_stored()
        if values.get("via") == wechat_component.VIA and values.get("app_id") == appid
    ]


def without_grant(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` less the grant: the refresh token and ``via``; the AppID too unless an AppSecret
    (the admin's own credentials) is kept with it. Other fields (push_token) stay."""
    rest = {k: v for k, v in values.items() if k not in ("refresh_token", "via")}
    if not rest.get("app_secret"):
        rest.pop("app_id", None)
    return rest


def withdrawn(appid: str) -> int:
    """The 公众号 ``appid`` cancelled its authorisation: remove the grant (audited), keep the
    rest; the row goes only when nothing is left. The caller commits."""
    wechat_component.forget_authorizer(_adapter(), appid)
    found = _component_accounts(appid)
    for account, values in found:
        rest = without_grant(values)
        if rest:
            credential_admin.set_credentials(account.id, rest, actor_label="system:wechat-component-push")
        else:
            db.session.execute(sa.delete(AccountCredential).where(AccountCredential.account_id == account.id))
        _audit(
            "unauthorized",
            account.id,
            after={"authorizer_appid": appid, "kept": sorted(rest)},
            actor_label="system:wechat-component-push",
        )
    return len(found)


def renewed(appid: str, auth_code: str) -> int:
    """``updateauthorized`` (the 权限集 changed) for a 公众号 authorised this way: take the new grant.
    New authorisations come through the callback (only it knows the ledger account)."""
    found = _component_accounts(appid)
    if not found or not auth_code:
        return 0
    grant = wechat_component.query_auth(_adapter(), auth_code)
    for account, values in found:
        if grant.appid != values.get("app_id"):
            continue
        credential_admin.set_credentials(
            account.id, {**values, "refresh_token": grant.refresh_token}, actor_label="system:wechat-component-push"
        )
        _audit(
            "updated",
            account.id,
            after={"authorizer_appid": appid, "func_ids": list(grant.func_ids)},
            actor_label="system:wechat-component-push",
        )
    return len(found)
