"""WeChat 第三方平台 (open platform component) for 主体名称: the ticket push, the component token
and ``api_get_authorizer_info`` (platforms/wechat_component.py).

- ``POST /_sandbox/wechat/component/push-ticket`` ``{component_appid, component_appsecret, token,
  aes_key, url?}`` — registers the component (first time) and issues a component_verify_ticket,
  encrypted as WeChat's 安全模式 push; the answer carries the ``body`` and ``query``
  (msg_signature, timestamp, nonce) to POST to the 授权事件接收 URL (and POSTs them to ``url``
  when given);
- ``POST /_sandbox/wechat/component/authorize`` ``{component_appid, authorizer_appid,
  authorized?}`` — the 公众号 authorises the component (or withdraws it: ``authorized: false``);
- ``POST /wechat/cgi-bin/component/api_component_token`` {component_appid,
  component_appsecret, component_verify_ticket} → {component_access_token, expires_in: 7200};
  a ticket it did not issue → 61006, a wrong secret → 40125;
- ``POST /wechat/cgi-bin/component/api_get_authorizer_info?access_token=`` {component_appid,
  authorizer_appid} → ``authorizer_info`` (nick_name = the account's name, verify_type_info.id 0 or
  -1, principal_name = the account's ``subject``, user_name = its uid when that is a 原始ID gh_…,
  alias = its uid when that is a 微信号 (neither wx… nor gh_…) …) and ``authorization_info``,
  shaped like the official page's sample; not authorised → 61003; a bad token → 40001.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import struct
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import requests
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from flask import Blueprint, Flask, Response, current_app, jsonify, request

from sandbox.common import EXTENSION_KEY, get_state, json_body, run_faults
from sandbox.state import SandboxState, attach_store
from sandbox.wechat.core import PLATFORM, _envelope, _fault_response

STORE_KEY = "govmedia_sandbox_wechat_component"
ERRORS = {
    40001: "invalid credential, access_token is invalid or not latest",
    40125: "invalid appsecret",
    61003: "component is not authorized by this account",
    61006: "component ticket is invalid",
    61009: "code is invalid",
    61010: "code is expired",
    61023: "refresh_token is invalid",
}

bp = Blueprint("sandbox_wechat_component", __name__)


def encrypt(encoding_aes_key: str, appid: str, xml: str, random16: bytes) -> str:
    """WeChat's 安全模式 push encryption: AES-256-CBC, key = base64(EncodingAESKey + "="), IV = its
    first 16 bytes, plain = random(16) + length(4, big-endian) + xml + appid, PKCS#7 to 32."""
    key = base64.b64decode(encoding_aes_key + "=")
    data = xml.encode("utf-8")
    plain = random16 + struct.pack(">I", len(data)) + data + appid.encode("utf-8")
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode("ascii")


@dataclass
class Component:
    appid: str
    secret: str
    token: str = ""  # the 消息校验 Token and EncodingAESKey the pushes are sealed with
    aes_key: str = ""
    tickets: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    authorizers: list[str] = field(default_factory=list)
    #: pre_auth_code → expiry; auth_code → [authorizer AppID, expiry]; refresh token → AppID
    pre_auth_codes: dict[str, float] = field(default_factory=dict)
    auth_codes: dict[str, list[Any]] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.components: dict[str, Component] = {}

    def clear(self) -> None:
        with self.lock:
            self.components.clear()

    def dump(self) -> list[dict[str, Any]]:
        with self.lock:
            return [asdict(c) for c in self.components.values()]

    def load(self, rows: list[dict[str, Any]]) -> None:
        with self.lock:
            self.components = {r["appid"]: Component(**r) for r in rows}


@bp.record_once
def _attach(setup: Any) -> None:
    app: Flask = setup.app
    store = Store()
    app.extensions[STORE_KEY] = store
    state: SandboxState = app.extensions[EXTENSION_KEY]
    attach_store(state, "wechat_component", store, [])


@bp.before_request
def _faults() -> Response | None:
    """Injected faults (``POST /_sandbox/faults``, e.g. ``errcode`` 61004) reach the 第三方平台 calls too."""
    if request.path.startswith("/wechat/cgi-bin/component/"):
        return run_faults(PLATFORM, request.path, _fault_response)
    return None


def _store() -> Store:
    return current_app.extensions[STORE_KEY]  # type: ignore[no-any-return]


def _fail(code: int) -> Response:
    return jsonify(_envelope(code, ERRORS[code]))


def _bad(message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = 400
    return response


@bp.route("/_sandbox/wechat/component/push-ticket", methods=["POST"])
def push_ticket() -> Response:
    body = json_body() or {}
    appid, secret = str(body.get("component_appid") or ""), str(body.get("component_appsecret") or "")
    token, aes_key = str(body.get("token") or ""), str(body.get("aes_key") or "")
    if not (appid and secret and token and len(aes_key) == 43):
        return _bad("须提供 component_appid, component_appsecret, token 和 43 位 aes_key")
    ticket = "ticket@@@" + secrets.token_urlsafe(24)
    with _store().lock:
        comp = _store().components.setdefault(appid, Component(appid, secret))
        comp.secret, comp.token, comp.aes_key = secret, token, aes_key
        comp.tickets = [*comp.tickets[-2:], ticket]
    mark_dirty()
    payload: dict[str, Any] = {
        "ticket": ticket,
        **sealed_push(comp, "component_verify_ticket", ComponentVerifyTicket=ticket),
    }
    return jsonify(deliver(payload, body.get("url")))


def sealed_push(comp: Component, info_type: str, create_time: Any = None, **fields: str) -> dict[str, Any]:
    """A push to the 授权事件接收 URL, sealed in WeChat's 安全模式 with the component's Token and
    EncodingAESKey: the ``body`` and the ``query`` (msg_signature, timestamp, nonce) to post it with.
    ``create_time`` (unix seconds; default now): the push's CreateTime, to replay an old one."""
    now = str(int(time.time()))
    created = str(int(create_time)) if create_time is not None else now
    extra = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    inner = (
        f"<xml><AppId><![CDATA[{comp.appid}]]></AppId><CreateTime>{created}</CreateTime>"
        f"<InfoType><![CDATA[{info_type}]]></InfoType>{extra}</xml>"
    )
    encrypted = encrypt(comp.aes_key, comp.appid, inner, secrets.token_bytes(16))
    nonce = str(secrets.randbelow(10**9))
    signature = hashlib.sha1("".join(sorted([comp.token, now, nonce, encrypted])).encode()).hexdigest()  # noqa: S324
    return {
        "body": f"<xml><AppId><![CDATA[{comp.appid}]]></AppId><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>",
        "query": {"msg_signature": signature, "timestamp": now, "nonce": nonce, "encrypt_type": "aes"},
    }


def deliver(payload: dict[str, Any], url: Any) -> dict[str, Any]:
    """POST the push to ``url`` when given (``delivered`` tells whether it answered 200)."""
    if url:
        try:
            resp = requests.post(str(url), params=payload["query"], data=payload["body"].encode(), timeout=5)
            payload["delivered"] = resp.status_code == 200
        except requests.RequestException as exc:
            payload["delivered"], payload["error"] = False, type(exc).__name__
    return payload


@bp.route("/_sandbox/wechat/component/authorize", methods=["POST"])
def authorize() -> Response:
    body = json_body() or {}
    appid, authorizer = str(body.get("component_appid") or ""), str(body.get("authorizer_appid") or "")
    with _store().lock:
        comp = _store().components.get(appid)
        if comp is None or not authorizer:
            return _bad("先推送 ticket 注册第三方平台，并提供 authorizer_appid")
        comp.authorizers = [a for a in comp.authorizers if a != authorizer]
        if body.get("authorized", True):
            comp.authorizers.append(authorizer)
    mark_dirty()
    return jsonify({"component_appid": appid, "authorizers": comp.authorizers})


def mark_dirty() -> None:
    state = get_state()
    with state.lock:
        state.dirty = True


@bp.route("/wechat/cgi-bin/component/api_component_token", methods=["POST"])
def component_token() -> Response:
    body = json_body() or {}
    with _store().lock:
        comp = _store().components.get(str(body.get("component_appid") or ""))
        if comp is None or str(body.get("component_verify_ticket") or "") not in comp.tickets:
            return _fail(61006)
        if str(body.get("component_appsecret") or "") != comp.secret:
            return _fail(40125)
        token = "ctk." + secrets.token_urlsafe(24)
        comp.tokens = [*comp.tokens[-4:], token]
    mark_dirty()
    return jsonify({"component_access_token": token, "expires_in": 7200})


@bp.route("/wechat/cgi-bin/component/api_get_authorizer_info", methods=["POST"])
def authorizer_info() -> Response:
    body = json_body() or {}
    token = request.args.get("access_token") or request.args.get("component_access_token") or ""
    authorizer = str(body.get("authorizer_appid") or "")
    with _store().lock:
        comp = _store().components.get(str(body.get("component_appid") or ""))
        if comp is None or token not in comp.tokens:
            return _fail(40001)
        if authorizer not in comp.authorizers:
            return _fail(61003)
    state = get_state()
    with state.lock:
        app = state.apps.get((PLATFORM, authorizer))
        account = state.account(PLATFORM, app.uid) if app is not None else None
        if account is None:
            return _fail(61003)
        info = {
            "nick_name": account.name,
            "head_img": "",
            "service_type_info": {"id": 2},
            "verify_type_info": {"id": 0 if account.verified else -1},
            "user_name": original_id(account.uid),
            "alias": "" if account.uid.startswith(("wx", "gh_")) else account.uid,
            "qrcode_url": "",
            "business_info": {"open_pay": 0, "open_shake": 0, "open_scan": 0, "open_card": 0, "open_store": 0},
            "idc": 1,
            "principal_name": account.subject,
            "signature": account.description,
        }
    return jsonify(
        {
            "authorizer_info": info,
            "authorization_info": {"authorizer_appid": authorizer, "func_info": [{"funcscope_category": {"id": 3}}]},
        }
    )


def original_id(uid: str) -> str:
    """The 原始ID (``user_name``) of a sandbox 公众号: its uid when that is one (gh_…), else a
    stable one made up; a uid that is neither an AppID (wx…) nor a 原始ID is its 微信号 (``alias``)."""
    if uid.startswith("gh_"):
        return uid
    return f"gh_{hashlib.md5(uid.encode()).hexdigest()[:12]}"  # noqa: S324 - an id


def component_for_token() -> Component | None:
    """The component whose ``component_access_token`` (or ``access_token``) the query carries."""
    token = request.args.get("component_access_token") or request.args.get("access_token") or ""
    with _store().lock:
        return next((c for c in _store().components.values() if token and token in c.tokens), None)


def store() -> Store:
    return _store()


def fail(code: int) -> Response:
    return _fail(code)


def bad(message: str) -> Response:
    return _bad(message)


__all__ = ["bp", "encrypt"]
