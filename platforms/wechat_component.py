"""WeChat 第三方平台 (open platform component): the documented way to read a 公众号's 主体名称.

``getaccountbasicinfo`` (…/doc/oplatform/openApi/miniprogram-management/basic-info-management/
api_getaccountbasicinfo) lists only ``authorizer_access_token`` as its credential (权限集 3 for a
公众号, 30 for a 小程序): a 第三方平台 call made on behalf of an authorising account. Nothing in
the documentation lets an account's own access_token call it (docs/adapters.md records the
decision). The call the documentation supports for 主体名称 is
``POST /cgi-bin/component/api_get_authorizer_info?access_token=<component_access_token>``
(…/doc/oplatform/openApi/authorization-management/api_getauthorizerinfo): body
``{component_appid, authorizer_appid}``, answer ``authorizer_info`` {nick_name, head_img,
service_type_info {id}, verify_type_info {id}, user_name, alias, qrcode_url, business_info,
principal_name, signature} and ``authorization_info``.

The component token: ``POST /cgi-bin/component/api_component_token`` {component_appid,
component_appsecret, component_verify_ticket} → {component_access_token, expires_in: 7200}. The
ticket is pushed by WeChat every 10 minutes to the platform's 授权事件接收 URL, encrypted
(安全模式, AES-256-CBC with the EncodingAESKey, ``msg_signature`` = sha1 of the sorted token,
timestamp, nonce and ciphertext); it is valid 12 hours. :func:`open_push` decrypts and
checks it; the receiver keeps it in the shared token store.

The office configures ``component_appid``, ``component_appsecret``, ``component_token`` and
``component_aes_key`` (ADAPTER_OPTIONS["wechat"], env ``WECHAT_COMPONENT_*``); without them
nothing here is called.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import struct
import time
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from platforms.errors import AdapterError, CredentialsError, InvalidRequest, TransientError
from platforms.interaction import parse_wechat_push

TICKET_TTL = 12 * 3600
#: verify_type_info.id: -1 未认证; 0 微信认证; 1–5 新浪/腾讯微博认证, 资质认证 variants (all ≥ 0 are 认证).
UNVERIFIED = -1


def configured(options: dict[str, Any] | Any) -> bool:
    return bool(options.get("component_appid") and options.get("component_appsecret"))


def _ticket_key(appid: str) -> str:
    return f"wechat:component:ticket:{appid}"


def _token_key(appid: str) -> str:
    return f"wechat:component:token:{appid}"


def keep_ticket(store: Any, appid: str, ticket: str) -> None:
    store.set(_ticket_key(appid), ticket, TICKET_TTL)


def component_token(adapter: Any) -> str:
    """The component_access_token (cached); needs a ticket pushed within the last 12 hours."""
    appid = str(adapter.options["component_appid"])
    cached = adapter.token_store.get(_token_key(appid))
    if cached:
        return str(cached)
    ticket = adapter.token_store.get(_ticket_key(appid))
    if not ticket:
        raise CredentialsError(
            "wechat", "no_component_ticket", "尚未收到第三方平台的 component_verify_ticket 推送，暂不能读取主体信息"
        )
    resp = adapter._request(
        "POST",
        "/cgi-bin/component/api_component_token",
        json_body={
            "component_appid": appid,
            "component_appsecret": str(adapter.options["component_appsecret"]),
            "component_verify_ticket": ticket,
        },
    )
    body = adapter._json(resp)
    token = body.get("component_access_token")
    if not token:
        raise adapter._error_for(int(body.get("errcode") or -1), body.get("errmsg"), resp)
    margin = float(adapter.options.get("token_refresh_margin", 300))
    adapter.token_store.set(_token_key(appid), str(token), max(float(body.get("expires_in") or 7200) - margin, 0.0))
    return str(token)


@dataclass(frozen=True)
class AuthorizerInfo:
    name: str | None
    subject: str | None  # principal_name, 主体名称
    verified: bool | None  # verify_type_info.id ≥ 0
    user_name: str | None = None  # 原始ID (gh_…)
    alias: str | None = None  # 微信号


def parse_authorizer_info(body: dict[str, Any]) -> AuthorizerInfo:
    info = body.get("authorizer_info") or {}
    verify = info.get("verify_type_info") or {}
    vid = verify.get("id") if isinstance(verify, dict) else None
    return AuthorizerInfo(
        name=info.get("nick_name") or None,
        subject=info.get("principal_name") or None,
        verified=None if vid is None else int(vid) > UNVERIFIED,
        user_name=info.get("user_name") or None,
        alias=info.get("alias") or None,
    )


def authorizer_info(adapter: Any, authorizer_appid: str) -> AuthorizerInfo:
    """``api_get_authorizer_info`` for one 公众号 that authorised the office's 第三方平台."""
    body = _component_post(
        adapter,
        "/cgi-bin/component/api_get_authorizer_info",
        {"authorizer_appid": authorizer_appid},
        query_name="access_token",
    )
    return parse_authorizer_info(body)


def subject_of(adapter: Any, authorizer_appid: str) -> AuthorizerInfo | None:
    """The account's 主体 through the 第三方平台 when configured; None when not configured or
    not available (no ticket yet, not authorised, refused) — never a failed inspection."""
    if not configured(adapter.options) or not authorizer_appid:
        return None
    try:
        return authorizer_info(adapter, authorizer_appid)
    except AdapterError:
        return None


# ----------------------------------------------------------------------------- the ticket push


def _signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    raw = "".join(sorted([token, timestamp, nonce, encrypted])).encode("utf-8")
    return hashlib.sha1(raw).hexdigest()  # noqa: S324 - the protocol's hash


def _aes_key(encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise InvalidRequest("wechat", "bad_aes_key", "EncodingAESKey 长度不对（应为 43 个字符）")
    return key


def decrypt(encoding_aes_key: str, appid: str, encrypted: str) -> str:
    key = _aes_key(encoding_aes_key)
    try:
        dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        plain = dec.update(base64.b64decode(encrypted)) + dec.finalize()
        pad = plain[-1]
        if not 1 <= pad <= 32:
            raise ValueError("bad padding")
        plain = plain[:-pad]
        (length,) = struct.unpack(">I", plain[16:20])
        xml, tail = plain[20 : 20 + length], plain[20 + length :]
    except (ValueError, struct.error) as exc:
        raise InvalidRequest("wechat", "bad_cipher", "推送内容无法解密") from exc
    if tail.decode("utf-8", "replace") != appid:
        raise InvalidRequest("wechat", "wrong_appid", "推送不是发给本第三方平台的")
    return xml.decode("utf-8")


def open_push(
    body: bytes, *, token: str, encoding_aes_key: str, appid: str, msg_signature: str, timestamp: str, nonce: str
) -> dict[str, str]:
    """The decrypted fields of a push to the 授权事件接收 URL (InfoType component_verify_ticket,
    authorized, updateauthorized, unauthorized …). Raises InvalidRequest on a bad signature or cipher."""
    outer = parse_wechat_push(body)
    encrypted = outer.get("Encrypt", "")
    if not encrypted or not hmac.compare_digest(_signature(token, timestamp, nonce, encrypted), msg_signature or ""):
        raise InvalidRequest("wechat", "bad_signature", "推送签名不正确")
    return dict(parse_wechat_push(decrypt(encoding_aes_key, appid, encrypted).encode("utf-8")))


#: pushes that change a grant; one whose CreateTime is older than PUSH_MAX_AGE or further ahead
#: than PUSH_MAX_AHEAD seconds is taken for a replay of a captured push and ignored
GRANT_PUSHES = ("unauthorized", "updateauthorized")
PUSH_MAX_AGE = 600
PUSH_MAX_AHEAD = 300


def fresh_push(event: dict[str, str], now: float | None = None) -> bool:
    """Whether the push's CreateTime (unix seconds) is recent: not a replay."""
    try:
        created = int(event.get("CreateTime") or "")
    except ValueError:
        return False
    age = (time.time() if now is None else now) - created
    return -PUSH_MAX_AHEAD <= age <= PUSH_MAX_AGE


# ----------------------------------------------------------------------------- authorisation (授权)

#: Refusals of a grant or of an authorizer refresh: the 公众号 must authorise again.
GRANT_REFUSED = {
    61003: "该公众号未授权本第三方平台（或已取消授权）",
    61023: "刷新令牌无效（公众号已取消授权或重新授权过），请重新授权",
    61010: "授权码已过期，请重新发起授权",
    61009: "授权码无效，请重新发起授权",
}
#: 61004 ``access clientip is not registered``: our server's outbound IP is not in the office's
#: 第三方平台 whitelist (开发资料 → 白名单) — the office's configuration, not the account's grant.
OFFICE_IP_NOT_WHITELISTED = 61004
OFFICE_IP_MESSAGE = (
    "本平台服务器的出口 IP 不在网信办第三方平台的 IP 白名单中：请本平台管理员在微信开放平台的第三方平台"
    "“开发资料”里把服务器出口 IP 加入白名单。这是本平台的配置问题，公众号不需要重新授权"
)
#: 61007 ``api is unauthorized to component``: the 公众号 did not grant the 权限集 this call needs.
SCOPE_MISSING_MESSAGE = (
    "公众号没有把该接口所需的权限集授权给本平台的第三方平台：请公众号管理员重新扫码授权，"
    "并勾选账号服务、群发与通知、素材管理等权限集"
)
#: 48001 for a 公众号 authorised through the 第三方平台: re-authorise with the 权限集.
GRANT_API_UNAUTHORIZED = (
    "公众号没有给本平台该接口的权限：请公众号管理员重新扫码授权，并勾选群发与通知、素材管理等权限集"
)
#: funcscope_category ids the inspection and publishing reads need (官方“权限集列表”).
#: …/Third-party_Platforms/2.0/product/offical_account_authority.html; 3 账号服务 (basic info),
#: 7 群发与通知 (发布能力, 文章管理), 11 素材管理 (草稿、素材).
FUNC_LABELS = {1: "消息管理", 2: "用户管理", 3: "账号服务", 7: "群发与通知", 11: "素材管理", 15: "菜单管理"}
NEEDED_FUNCS = (3, 7, 11)
VIA = "component"
#: the component_access_token itself is invalid or expired
COMPONENT_TOKEN_ERRORS = (40001, 40014, 42001)


def _component_post(
    adapter: Any, path: str, body: dict[str, Any], *, query_name: str = "component_access_token"
) -> dict[str, Any]:
    """POST a 第三方平台 call with the component token (a fresh one once if it was refused)."""
    appid = str(adapter.options["component_appid"])
    for attempt in (0, 1):
        try:
            token = component_token(adapter)
        except CredentialsError as exc:  # the office's setup (no ticket yet), not the account's grant
            raise TransientError("wechat", exc.code, exc.message) from exc
        resp = adapter._request("POST", path, params={query_name: token}, json_body={"component_appid": appid, **body})
        data = adapter._json(resp)
        code = int(data.get("errcode") or 0)
        if code in COMPONENT_TOKEN_ERRORS and attempt == 0:
            adapter.token_store.delete(_token_key(appid))  # invalidated early: take a new one once
            continue
        break
    if code in GRANT_REFUSED:
        raise CredentialsError("wechat", code, GRANT_REFUSED[code], platform_message=data.get("errmsg"))
    if code == OFFICE_IP_NOT_WHITELISTED:
        raise TransientError("wechat", code, OFFICE_IP_MESSAGE, platform_message=data.get("errmsg"))
    if code:
        raise adapter._error_for(code, data.get("errmsg"), resp)
    return dict(data)


def create_preauthcode(adapter: Any) -> tuple[str, int]:
    """``api_create_preauthcode``: (pre_auth_code, expires_in)."""
    data = _component_post(adapter, "/cgi-bin/component/api_create_preauthcode", {})
    code = data.get("pre_auth_code")
    if not code:
        raise TransientError("wechat", "invalid_response", "获取预授权码的响应缺少 pre_auth_code")
    return str(code), int(data.get("expires_in") or 600)


def authorize_url(
    options: dict[str, Any] | Any, pre_auth_code: str, redirect_uri: str, biz_appid: str | None = None
) -> str:
    """The PC page the 公众号 administrator scans (auth_type=1 = 公众号 only). WeChat redirects, after
    the scan, the browser that opened the page — the operator's, which holds our one-use state.
    The phone link (``bindcomponent``) is not offered: it would redirect inside the administrator's
    WeChat, which has no session with us, and the grant's auth_code would be lost."""
    query: dict[str, str] = {
        "component_appid": str(options["component_appid"]),
        "pre_auth_code": pre_auth_code,
        "redirect_uri": redirect_uri,
        "auth_type": "1",
    }
    if biz_appid:
        query["biz_appid"] = biz_appid
    pc_base = str(options.get("component_login_base_url") or "https://mp.weixin.qq.com").rstrip("/")
    return f"{pc_base}/cgi-bin/componentloginpage?{urlencode(query)}"


@dataclass(frozen=True)
class Grant:
    appid: str
    refresh_token: str = field(repr=False)
    func_ids: tuple[int, ...]


def _authorizer_key(authorizer_appid: str) -> str:
    return f"wechat:authorizer:token:{authorizer_appid}"


def _keep_authorizer_token(adapter: Any, appid: str, token: Any, expires_in: Any) -> None:
    if token:
        margin = float(adapter.options.get("token_refresh_margin", 300))
        ttl = max(float(expires_in or 7200) - margin, 0.0)
        adapter.token_store.set(_authorizer_key(appid), str(token), ttl)


def query_auth(adapter: Any, auth_code: str) -> Grant:
    """``api_query_auth``: the grant behind an auth_code (the callback's or an authorized push's)."""
    data = _component_post(adapter, "/cgi-bin/component/api_query_auth", {"authorization_code": auth_code})
    info = data.get("authorization_info") or {}
    appid, refresh = info.get("authorizer_appid"), info.get("authorizer_refresh_token")
    if not appid or not refresh:
        raise TransientError("wechat", "invalid_response", "换取授权信息的响应缺少 authorizer_appid 或刷新令牌")
    _keep_authorizer_token(adapter, str(appid), info.get("authorizer_access_token"), info.get("expires_in"))
    ids = []
    for item in info.get("func_info") or []:
        with contextlib.suppress(AttributeError, TypeError, ValueError):
            ids.append(int(item["funcscope_category"]["id"]))
    return Grant(str(appid), str(refresh), tuple(ids))


def is_component_grant(creds: Any) -> bool:
    """Credentials stored by the 第三方平台 authorisation: an AppID and a refresh token, no AppSecret."""
    return bool(getattr(creds, "via", None) == VIA and creds.app_id and creds.refresh_token)


def forget_authorizer(adapter: Any, authorizer_appid: str) -> None:
    adapter.token_store.delete(_authorizer_key(authorizer_appid))


def authorizer_token(adapter: Any, creds: Any, *, failed: str | None = None) -> str:
    """The authorizer_access_token of a component grant (cached); refreshed with the refresh token
    (``api_authorizer_token``). A refused refresh raises CredentialsError (needs re-authorisation)."""
    appid = str(creds.app_id)
    cached = adapter.token_store.get(_authorizer_key(appid))
    if cached and cached != failed:
        return str(cached)
    if not configured(adapter.options):
        raise CredentialsError("wechat", "no_component", "本平台未配置第三方平台，无法使用该公众号的第三方平台授权")
    data = _component_post(
        adapter,
        "/cgi-bin/component/api_authorizer_token",
        {"authorizer_appid": appid, "authorizer_refresh_token": str(creds.refresh_token)},
    )
    token = data.get("authorizer_access_token")
    if not token:
        raise TransientError("wechat", "invalid_response", "刷新授权方令牌的响应缺少 authorizer_access_token")
    _keep_authorizer_token(adapter, appid, token, data.get("expires_in"))
    renewed = data.get("authorizer_refresh_token")
    if renewed and renewed != creds.refresh_token:
        adapter._credentials_changed(replace(creds, refresh_token=str(renewed)))
    return str(token)
