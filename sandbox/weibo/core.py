"""Weibo (微博开放平台): the blueprint, errors, authentication, the text rules and the endpoint
opening (``WEIBO``); the routes are in ``oauth``, ``statuses`` and ``articles``.

Errors are non-2xx with ``{"error", "error_code", "request"}``: 400 for parameter and
content errors, 401 for token errors, 403 for permission, account and rate-limit errors,
500/503 for system errors.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request

from sandbox.common import (
    all_params,
    post_url,
    sub_path,
)
from sandbox.endpoint import Dialect
from sandbox.faults import FaultHit, normalise
from sandbox.state import Account, Post, SandboxState, Token

PLATFORM = "weibo"
PREFIX = "/weibo"
bp = Blueprint("sandbox_weibo", __name__, url_prefix=PREFIX)

ERRORS: dict[int, str] = {
    10001: "system error!",
    10002: "service unavailable!",
    10014: "Insufficient app permissions!",
    10016: "miss required parameter ({}) , see doc for more info.",
    10017: "parameter ({})'s value invalid, expect (see doc), but get (...), see doc for more info.",
    10021: "HTTP method is not suported for this request!",
    10023: "User requests out of rate limit!",
    20003: "User does not exists!",
    20005: "Unsupported image type, only suport JPG, GIF, PNG!",
    20006: "Image size too large.",
    20012: "Text too long, please input text less than 140 characters!",
    20016: "Out of limit!",
    20019: "Repeat content!",
    20021: "Content is illegal!",
    20101: "Target weibo does not exist!",
    20102: "Not your own weibo!",
    21301: "auth faild!",
    21323: "invalid_request",
    21324: "unauthorized_client",
    21325: "invalid_grant",
    21327: "expired_token",
    21328: "unsupported_grant_type",
    21332: "invalid_access_token",
}
HTTP_STATUS: dict[int, int] = {
    10001: 500,
    10002: 503,
    10014: 403,
    10022: 403,
    10023: 403,
    10024: 403,
    20003: 403,
    20016: 403,
    20102: 403,
    21301: 401,
    21327: 401,
    21332: 401,
    21324: 401,
}
FAULT_CODES: dict[str, int] = {
    "rate_limit": 10023,
    "rate_limit_minute": 10023,
    "server_error": 10001,
    "token_expired": 21327,
    "content_rejected": 20021,
    "banned": 20003,
}

_URL = re.compile(r"https?://[^\s<>\"'，。；！？、（）【】]+", re.IGNORECASE)
_TOPIC = re.compile(r"#[^#\s]+#")
_WIDE = re.compile(r"[^\x00-\x7f]")
_SANDBOX_TOKEN = re.compile(r"sandbox:([^:\s]+)(?::.*)?")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class WbError(Exception):
    def __init__(self, code: int, arg: str = "", text: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.text = text or ERRORS.get(code, "error").format(arg)


class ArticleError(Exception):
    """An error of the long-article API, in its own ``{"code","msg","data"}`` envelope."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(code)
        self.code = code
        self.msg = msg


def _error_response(code: int, text: str) -> Response:
    response = jsonify({"error": text, "error_code": code, "request": sub_path(PREFIX)})
    response.status_code = HTTP_STATUS.get(code, 400)
    return response


@bp.errorhandler(WbError)
def _wb_error(err: WbError) -> Response:
    return _error_response(err.code, err.text)


@bp.errorhandler(ArticleError)
def _article_error(err: ArticleError) -> Response:
    response = jsonify({"code": err.code, "msg": err.msg, "data": {}})
    response.status_code = 400
    return response


def _fault_response(hit: FaultHit, path: str) -> Response:
    code = FAULT_CODES[hit.error]
    if hit.error in ("rate_limit", "rate_limit_minute") and normalise(path).endswith("statuses/share"):
        code = 20016
    return _error_response(code, ERRORS[code].format(""))


# ---- helpers -----------------------------------------------------------------------------
def _require_post() -> None:
    if request.method != "POST":
        raise WbError(10021)


def _auth(state: SandboxState, params: dict[str, Any]) -> tuple[Account, Token]:
    value = str(params.get("access_token") or "")
    header = request.headers.get("Authorization", "")
    if not value and header.startswith("OAuth2 "):
        value = header[len("OAuth2 ") :].strip()
    if not value:
        raise WbError(21301)
    token = state.token(PLATFORM, value)
    if token is None:
        match = _SANDBOX_TOKEN.fullmatch(value)
        if not (match and state.config["auto_provision"]):
            raise WbError(21332)
        token = state.add_token(
            Token(value=value, platform=PLATFORM, uid=match.group(1), kind="weibo", issued_at=state.now())
        )
    if token.revoked:
        raise WbError(21332)
    if token.expires_at is not None and state.now() >= token.expires_at:
        raise WbError(21327)
    return state.ensure_account(PLATFORM, token.uid), token


def _require_usable(account: Account) -> None:
    if not account.usable:
        raise WbError(20003)


def weibo_length(text: str, mode: str) -> int:
    """Weibo counting: a URL counts 10, a CJK/full-width char 1, an ASCII char 0.5."""
    if mode == "chars":
        return len(text)
    urls = _URL.findall(text)
    rest = _URL.sub("", text)
    wide = len(_WIDE.findall(rest))
    return 10 * len(urls) + wide + math.ceil((len(rest) - wide) / 2)


def _safe_url(text: str, domains: list[str]) -> bool:
    for url in _URL.findall(text):
        host = (urlsplit(url).hostname or "").lower()
        if any(host == d.lower() or host.endswith("." + d.lower()) for d in domains):
            return True
    return False


def weibo_time(ts: float) -> str:
    """``Tue May 31 17:46:55 +0800 2011`` in Beijing time, independent of the locale."""
    t = time.gmtime(ts + 8 * 3600)
    return (
        f"{_WEEKDAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0800 {t.tm_year}"
    )


def _uid_value(uid: str) -> int | str:
    return int(uid) if uid.isdigit() else uid


def _new_id(state: SandboxState) -> str:
    """A 16-digit status id (``id``/``idstr``/``mid``)."""
    while True:
        post_id = "49" + state.new_digits(14)
        if state.post(PLATFORM, post_id) is None:
            return post_id


# ---- seeding -----------------------------------------------------------------------------
def seed_post(state: SandboxState, account: Account, text: str, title: str, created_at: float) -> Post:
    post_id = _new_id(state)
    return state.add_post(
        Post(
            platform=PLATFORM,
            uid=account.uid,
            post_id=post_id,
            kind="article" if title else "status",
            title=title,
            text=text,
            url=post_url(PLATFORM, post_id),
            created_at=created_at,
            source="seed",
        )
    )


def issue_account_token(state: SandboxState, account: Account) -> str:
    """A fresh access token for /_sandbox/accounts (valid ``weibo_token_ttl`` seconds)."""
    token = state.add_token(
        Token(
            value="2.00" + secrets.token_hex(16),
            platform=PLATFORM,
            uid=account.uid,
            kind="weibo",
            issued_at=state.now(),
            expires_at=state.now() + int(state.config["weibo_token_ttl"]),
        )
    )
    return token.value


def _authenticate(state: SandboxState, params: dict[str, Any], platform: str) -> tuple[Account, Token | None]:
    return _auth(state, params)


WEIBO = Dialect(
    name=PLATFORM,
    error=WbError,
    render_error=lambda err, platform: _error_response(err.code, err.text),
    fault_path=lambda platform: sub_path(PREFIX),
    fault_response=lambda platform: _fault_response,
    require_method=lambda method: _require_post(),  # Weibo answers 10021 to any wrong method
    read_params=all_params,
    authenticate=_authenticate,
    require_usable=_require_usable,
)
"""The opening of every Weibo endpoint (faults, method, parameters, lock, token, account)."""
