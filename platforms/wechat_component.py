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
timestamp, nonce and ciphertext); it is valid 12 hours. :func:`ticket_from_push` decrypts and
checks it; the receiver keeps it in the shared token store.

The office configures ``component_appid``, ``component_appsecret``, ``component_token`` and
``component_aes_key`` (ADAPTER_OPTIONS["wechat"], env ``WECHAT_COMPONENT_*``); without them
nothing here is called.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from platforms.errors import AdapterError, CredentialsError, InvalidRequest
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


def parse_authorizer_info(body: dict[str, Any]) -> AuthorizerInfo:
    info = body.get("authorizer_info") or {}
    verify = info.get("verify_type_info") or {}
    vid = verify.get("id") if isinstance(verify, dict) else None
    return AuthorizerInfo(
        name=info.get("nick_name") or None,
        subject=info.get("principal_name") or None,
        verified=None if vid is None else int(vid) > UNVERIFIED,
    )


def authorizer_info(adapter: Any, authorizer_appid: str) -> AuthorizerInfo:
    """``api_get_authorizer_info`` for one 公众号 that authorised the office's 第三方平台."""
    appid = str(adapter.options["component_appid"])
    resp = adapter._request(
        "POST",
        "/cgi-bin/component/api_get_authorizer_info",
        params={"access_token": component_token(adapter)},
        json_body={"component_appid": appid, "authorizer_appid": authorizer_appid},
    )
    body = adapter._json(resp)
    if int(body.get("errcode") or 0):
        raise adapter._error_for(int(body["errcode"]), body.get("errmsg"), resp)
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


def ticket_from_push(
    body: bytes, *, token: str, encoding_aes_key: str, appid: str, msg_signature: str, timestamp: str, nonce: str
) -> str | None:
    """The component_verify_ticket of a push (None for other info types, e.g. authorized /
    unauthorized). Raises InvalidRequest on a bad signature or cipher."""
    outer = parse_wechat_push(body)
    encrypted = outer.get("Encrypt", "")
    if not encrypted or not hmac.compare_digest(_signature(token, timestamp, nonce, encrypted), msg_signature or ""):
        raise InvalidRequest("wechat", "bad_signature", "推送签名不正确")
    inner = parse_wechat_push(decrypt(encoding_aes_key, appid, encrypted).encode("utf-8"))
    if inner.get("InfoType") != "component_verify_ticket":
        return None
    return inner.get("ComponentVerifyTicket") or None
