"""What Douyin and Toutiao share: the ByteDance envelopes, error codes and OAuth token upkeep.

Token upkeep (PROTOCOLS.md §3 "Auth"):
- before a call, a refreshed token set cached by another worker is preferred over older
  credentials; an access token known to be expired is refreshed first;
- a refresh_token within ``renew_refresh_before`` seconds of expiry is renewed through
  ``/oauth/renew_refresh_token/`` while fewer than ``max_renewals`` (5) renewals were made;
- a call answered with an expired-token code refreshes through ``/oauth/refresh_token/``
  (form-encoded) and is retried once;
- every new token set is cached in the token store and reported through
  ``on_credentials_changed``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from platforms.base import ChannelAdapter
from platforms.errors import (
    AccountUnavailable,
    ContentRejected,
    CredentialsError,
    InvalidRequest,
    RateLimited,
    TokenExpired,
    TransientError,
    Unsupported,
)
from platforms.text import from_unix
from platforms.types import AccountProfile, CodeRule, Credentials, PublishResult, RecentListing, RecentPost

TOKEN_ERRORS = frozenset({28001008, 2190008, 10008})
#: The code ``extract_error`` reports for ``{"message":"error"}`` without any error code.
UNSPECIFIED_ERROR = -1

#: The one platform-code table shared by the Douyin and Toutiao adapters
#: (PROTOCOLS.md §3 "OAuth errors" and "Error codes to model", §5). One table on purpose:
#: both are the ByteDance open platform, with the same OAuth, envelopes and error-code
#: space (§4.1 "the Douyin flow unchanged"), so a code means the same thing on either.
BYTEDANCE_CODES: dict[int, CodeRule] = {
    # Not a platform code: ``extract_error`` gives -1 for a bare ``{"message":"error"}``
    # (legacy/OAuth envelope without an error_code, e.g. the legacy article API, §4.2).
    # Nothing says what failed, so it is treated like "system busy" (§5): retry with backoff.
    UNSPECIFIED_ERROR: CodeRule(TransientError, "平台返回错误但未给出错误码，请稍后重试"),
    # OAuth
    10002: CodeRule(InvalidRequest, "OAuth 参数错误"),
    10003: CodeRule(CredentialsError, "client_key 无效"),
    10004: CodeRule(CredentialsError, "应用没有该权限（scope）"),
    10005: CodeRule(InvalidRequest, "缺少必要参数"),
    10007: CodeRule(CredentialsError, "授权码已过期或已使用，需要重新授权"),
    10008: CodeRule(TokenExpired, "access_token 无效或已过期"),
    10010: CodeRule(CredentialsError, "refresh_token 已过期，需要用户重新授权"),
    10013: CodeRule(CredentialsError, "client_key 或 client_secret 错误"),
    10020: CodeRule(CredentialsError, "refresh_token 续期次数已达上限（5 次），需要用户重新授权"),
    # content APIs, new and old codes
    28001008: CodeRule(TokenExpired, "access_token 已过期"),
    2190008: CodeRule(TokenExpired, "access_token 已过期"),
    28001003: CodeRule(CredentialsError, "access_token 无效，需要重新授权"),
    2190002: CodeRule(CredentialsError, "access_token 无效，需要重新授权"),
    28001005: CodeRule(TransientError, "平台系统繁忙，请稍后重试"),
    28001006: CodeRule(TransientError, "平台网络异常，请稍后重试"),
    2100004: CodeRule(TransientError, "平台系统繁忙，请稍后重试"),
    28003018: CodeRule(RateLimited, "请求频率过高", "minute"),
    28003017: CodeRule(RateLimited, "接口调用额度已用完", "day"),
    2190001: CodeRule(RateLimited, "接口调用额度已用完", "day"),
    28001046: CodeRule(AccountUnavailable, "账号已被封禁"),
    28001045: CodeRule(AccountUnavailable, "账号已注销"),
    2100009: CodeRule(AccountUnavailable, "账号已被封禁或注销"),
    28001016: CodeRule(AccountUnavailable, "应用已被封禁"),
    28001018: CodeRule(CredentialsError, "应用未获得该能力"),
    2190004: CodeRule(CredentialsError, "应用未获得该能力"),
    28001012: CodeRule(CredentialsError, "用户未授予该权限（scope），需要重新授权"),
    2190003: CodeRule(CredentialsError, "用户未授予该权限（scope），需要重新授权"),
    28001015: CodeRule(InvalidRequest, "access_token 与 open_id 不匹配"),
    2190015: CodeRule(InvalidRequest, "access_token 与 open_id 不匹配"),
    28001007: CodeRule(InvalidRequest, "参数不合法"),
    2100005: CodeRule(InvalidRequest, "参数不合法"),
    2190005: CodeRule(ContentRejected, "视频文件过大"),
    2190006: CodeRule(ContentRejected, "视频时长超过 15 分钟"),
    2190007: CodeRule(InvalidRequest, "video_id 无效"),
    2111001: CodeRule(ContentRejected, "内容包含敏感词"),
    # The remaining common codes of the status-code page ("通用状态码(新)",
    # developer.open-douyin.com/docs/resource/zh-CN/dop/develop/openapi/status-code/).
    28001014: CodeRule(CredentialsError, "应用未开通任何能力，请在抖音开放平台为应用申请所需能力"),
    28001017: CodeRule(Unsupported, "平台不认识该接口地址（未知 URI），请联系平台处理"),
    28001019: CodeRule(Unsupported, "该能力已被平台封禁或下线，请联系平台处理"),
    28001020: CodeRule(CredentialsError, "该用户未绑定测试应用，请在开放平台绑定后重新授权"),
    28001021: CodeRule(CredentialsError, "测试应用已过期，请在开放平台将应用转正"),
    28001047: CodeRule(AccountUnavailable, "该用户为私密账号，无法授权或调用该能力"),
    28001052: CodeRule(RateLimited, "平台判定调用存在异常风险，请降低调用频率后再试", "minute"),
    28001056: CodeRule(Unsupported, "该能力的接口已下线，不再支持调用"),
}


def extract_error(body: Mapping[str, Any]) -> tuple[int, str] | None:
    """(code, description) from any of the three ByteDance envelopes, or None on success."""
    candidates: list[tuple[Any, Any]] = [(body.get("err_no"), body.get("err_msg"))]
    data = body.get("data")
    if isinstance(data, Mapping):
        candidates.append((data.get("error_code"), data.get("description")))
    extra = body.get("extra")
    if isinstance(extra, Mapping):
        candidates.append((extra.get("error_code"), extra.get("description")))
        candidates.append((extra.get("sub_error_code"), extra.get("sub_description")))
    for code, text in candidates:
        if code in (None, "", 0, "0"):
            continue
        try:
            return int(code), str(text or "")
        except (TypeError, ValueError):
            continue
    if body.get("message") == "error":
        return UNSPECIFIED_ERROR, ""
    return None


def data_of(body: Mapping[str, Any]) -> dict[str, Any]:
    data = body.get("data")
    return dict(data) if isinstance(data, Mapping) else {}


@dataclass
class _Auth:
    """The credentials in effect during one operation (replaced when tokens are refreshed)."""

    creds: Credentials


class ByteDanceAdapter(ChannelAdapter):
    code_table = BYTEDANCE_CODES
    #: "header" (Douyin: ``access-token`` header) or "query" (Toutiao: ``?access_token=``).
    auth_placement: ClassVar[str] = "header"

    # ------------------------------------------------------------------ tokens

    def _store_key(self, creds: Credentials) -> str:
        return f"{self.platform}:tokens:{creds.client_key or '-'}:{creds.open_id}"

    def _check_creds(self, creds: Credentials) -> None:
        if not creds.access_token or not creds.open_id:
            raise CredentialsError(self.platform, "missing_credentials", "缺少 access_token 或 open_id")

    def _newest(self, creds: Credentials) -> Credentials:
        """Credentials, or a newer token set another worker cached after refreshing."""
        raw = self.token_store.get(self._store_key(creds))
        if not raw:
            return creds
        try:
            cached = json.loads(raw)
        except ValueError:
            return creds
        current = creds
        # Each half is taken when it is newer: a later expiry means a later refresh/renewal
        # (re-authorisation through the OAuth flow gives later expiries still).
        access_exp = float(cached.get("expires_at") or 0)
        if (
            cached.get("access_token")
            and cached["access_token"] != current.access_token
            and access_exp > (current.expires_at or 0)
        ):
            current = replace(current, access_token=str(cached["access_token"]), expires_at=access_exp)
        refresh_exp = float(cached.get("refresh_expires_at") or 0)
        if (
            cached.get("refresh_token")
            and cached["refresh_token"] != current.refresh_token
            and refresh_exp > (current.refresh_expires_at or 0)
        ):
            current = replace(
                current,
                refresh_token=str(cached["refresh_token"]),
                refresh_expires_at=refresh_exp,
                renewals=max(int(cached.get("renewals") or 0), current.renewals),
            )
        return current

    def _remember(self, creds: Credentials) -> None:
        now = time.time()
        horizon = max((creds.refresh_expires_at or 0) - now, (creds.expires_at or 0) - now, 3600.0)
        self.token_store.set(
            self._store_key(creds),
            json.dumps(
                {
                    "access_token": creds.access_token,
                    "refresh_token": creds.refresh_token,
                    "expires_at": creds.expires_at,
                    "refresh_expires_at": creds.refresh_expires_at,
                    "renewals": creds.renewals,
                }
            ),
            horizon,
        )
        self._credentials_changed(creds)

    def _prepare(self, creds: Credentials) -> _Auth:
        self._check_creds(creds)
        current = self._newest(creds)
        now = time.time()
        renew_before = float(self.options.get("renew_refresh_before", 2 * 86400))
        max_renewals = int(self.options.get("max_renewals", 5))
        if (
            current.refresh_token
            and current.refresh_expires_at
            and current.refresh_expires_at - now < renew_before
            and current.refresh_expires_at > now
            and current.renewals < max_renewals
        ):
            current = self._renew(current)
        refresh_before = float(self.options.get("refresh_before", 300))
        if current.refresh_token and current.expires_at and current.expires_at - now < refresh_before:
            current = self._refresh(current)
        return _Auth(current)

    def _oauth(self, path: str, form: Mapping[str, Any]) -> dict[str, Any]:
        resp = self._request("POST", path, data=dict(form))
        body = self._json(resp)
        err = extract_error(body)
        if err is not None:
            code, text = err
            if code in TOKEN_ERRORS:
                # The refresh itself was refused: the grant is gone.
                raise CredentialsError(self.platform, code, "刷新令牌失败，需要用户重新授权", platform_message=text)
            raise self._error_for(code, text, resp)
        return data_of(body)

    def _refresh(self, creds: Credentials) -> Credentials:
        """``/oauth/refresh_token/``: a new 15-day access token."""
        if not creds.refresh_token or not creds.client_key:
            raise TokenExpired(self.platform, "no_refresh_token", "访问令牌已过期且无法刷新，需要重新授权")
        data = self._oauth(
            "/oauth/refresh_token/",
            {"client_key": creds.client_key, "grant_type": "refresh_token", "refresh_token": creds.refresh_token},
        )
        token = data.get("access_token")
        if not token:
            raise TransientError(self.platform, "invalid_response", "刷新令牌的响应缺少 access_token")
        now = time.time()
        new = replace(
            creds,
            access_token=str(token),
            expires_at=now + float(data.get("expires_in") or 15 * 86400),
            refresh_token=str(data.get("refresh_token") or creds.refresh_token),
            refresh_expires_at=(
                now + float(data["refresh_expires_in"]) if data.get("refresh_expires_in") else creds.refresh_expires_at
            ),
            open_id=str(data.get("open_id") or creds.open_id),
        )
        self._remember(new)
        return new

    def _renew(self, creds: Credentials) -> Credentials:
        """``/oauth/renew_refresh_token/``: a new 30-day refresh token (at most 5 times)."""
        if not creds.refresh_token or not creds.client_key:
            return creds
        data = self._oauth(
            "/oauth/renew_refresh_token/",
            {"client_key": creds.client_key, "refresh_token": creds.refresh_token},
        )
        token = data.get("refresh_token")
        if not token:
            raise TransientError(self.platform, "invalid_response", "续期刷新令牌的响应缺少 refresh_token")
        new = replace(
            creds,
            refresh_token=str(token),
            refresh_expires_at=time.time() + float(data.get("expires_in") or 30 * 86400),
            renewals=creds.renewals + 1,
        )
        self._remember(new)
        return new

    # ------------------------------------------------------------------ calls

    def _call(
        self,
        auth: _Auth,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        files: Any = None,
        form: Mapping[str, Any] | None = None,
        auth_in: str | None = None,
        timeout: Any = None,
    ) -> dict[str, Any]:
        """A user-scoped call; an expired token is refreshed and the call retried once."""
        placement = auth_in or self.auth_placement
        for attempt in (0, 1):
            creds = auth.creds
            query: dict[str, Any] = dict(params or {})
            headers: dict[str, str] = {}
            body_form = dict(form) if form is not None else None
            if placement == "form":
                body_form = {**(body_form or {}), "access_token": creds.access_token, "open_id": creds.open_id}
            else:
                query["open_id"] = creds.open_id
                if placement == "header":
                    headers["access-token"] = str(creds.access_token)
                    if method == "GET":  # the pages list content-type as 必填 on their GETs too
                        headers["content-type"] = "application/json"
                else:
                    query["access_token"] = creds.access_token
            resp = self._request(
                method,
                path,
                params=query or None,
                json_body=json_body,
                files=files,
                data=body_form,
                headers=headers or None,
                timeout=timeout,
            )
            body = self._json(resp)
            err = extract_error(body)
            if err is None:
                return body
            code, text = err
            if code in TOKEN_ERRORS and attempt == 0 and creds.refresh_token and creds.client_key:
                auth.creds = self._refresh(creds)
                continue
            raise self._error_for(code, text, resp)
        raise TokenExpired(self.platform, "token_retry_failed")  # pragma: no cover - loop returns

    def _upload_timeout(self) -> Any:
        return self.options.get("upload_timeout", self.timeout)

    # ------------------------------------------------------------------ shared operations

    def _userinfo(self, auth: _Auth) -> dict[str, Any]:
        body = self._call(auth, "POST", "/oauth/userinfo/", form={}, auth_in="form")
        return data_of(body)

    def _subject(self, auth: _Auth) -> str | None:
        """认证主体 from the account's own authorisation, where the platform has a read (None here:
        Toutiao's documented user API has no such field)."""
        return None

    def profile(self, creds: Credentials) -> AccountProfile:
        auth = self._prepare(creds)
        data = self._userinfo(auth)
        role = data.get("e_account_role")
        return AccountProfile(
            platform=self.platform,
            uid=str(data.get("open_id") or auth.creds.open_id),
            name=data.get("nickname"),
            # e_account_role is the 企业号 role (EAccountM/S/K): present → verified; empty or absent
            # says only "not an 企业号", not "not certified" (a 机构认证 政务号 may have none) → None.
            verified=True if role else None,
            subject=self._subject(auth),
            token_expires_in=(auth.creds.expires_at - time.time()) if auth.creds.expires_at else None,
        )

    def _item_to_recent(self, item: Mapping[str, Any]) -> RecentPost:
        share_url = item.get("share_url") or None
        return RecentPost(
            platform=self.platform,
            post_id=str(item.get("item_id", "")),
            text=str(item.get("title") or item.get("text") or ""),
            title=str(item.get("title") or ""),
            url=share_url,
            created_at=from_unix(item.get("create_time")),
            state="published" if share_url else "pending",
        )

    def _list_path(self) -> str:
        raise NotImplementedError

    def _data_path(self) -> str:
        raise NotImplementedError

    def recent_posts(self, creds: Credentials, limit: int = 10) -> list[RecentPost]:
        return list(self.recent_listing(creds, limit).posts)

    def recent_listing(self, creds: Credentials, limit: int = 10) -> RecentListing:
        """``video_list`` pages (``cursor``/``count`` ≤ 20) until ``limit``: complete only when the
        last page read says ``has_more`` false (a stop at ``limit`` or on an empty page while
        ``has_more`` is true or missing proves nothing)."""
        auth = self._prepare(creds)
        out: list[RecentPost] = []
        cursor: Any = 0
        complete = False
        while len(out) < limit:
            body = self._call(
                auth,
                "GET",
                self._list_path(),
                params={"cursor": cursor, "count": min(max(limit - len(out), 1), 20)},
            )
            data = data_of(body)
            items = data.get("list") or []
            out.extend(self._item_to_recent(i) for i in items)
            if data.get("has_more") is False:
                complete = len(out) <= limit
                break
            if not data.get("has_more") or not items:
                break
            cursor = data.get("cursor", 0)
        return RecentListing(tuple(out[:limit]), complete=complete)

    def _polls_key(self, item_id: str) -> str:
        return f"{self.platform}:polls:{item_id}"

    def _video_status(self, creds: Credentials, item_id: str) -> PublishResult:
        """Published = listed with a share_url; absent after N polls = rejected (PROTOCOLS §3c)."""
        if not item_id:
            raise InvalidRequest(self.platform, "missing_post_id", "缺少 item_id")
        auth = self._prepare(creds)
        body = self._call(auth, "POST", self._data_path(), json_body={"item_ids": [item_id]})
        items = [i for i in data_of(body).get("list") or [] if str(i.get("item_id")) == item_id]
        key = self._polls_key(item_id)
        if items:
            self.token_store.delete(key)
            recent = self._item_to_recent(items[0])
            if recent.state == "published":
                return PublishResult(item_id, recent.url, "published", None, "已发布", "share_url")
            return PublishResult(item_id, None, "pending", None, "审核中（暂未公开）", "no_share_url")
        limit = int(self.options.get("absent_polls_before_rejected", 10))
        seen = int(self.token_store.get(key) or 0) + 1
        if seen >= limit:
            self.token_store.delete(key)
            return PublishResult(
                item_id,
                None,
                "rejected",
                "absent",
                f"连续 {seen} 次查询都不在作品列表中，视为审核未通过或已被删除",
                "absent",
            )
        self.token_store.set(key, str(seen), float(self.options.get("absent_polls_ttl", 7 * 86400)))
        return PublishResult(item_id, None, "pending", None, f"作品尚未出现在列表中（第 {seen} 次查询）", "absent")


def media_id(body: Mapping[str, Any], kind: str) -> str | None:
    """``data.<kind>.<kind>_id`` (documented) or ``data.<kind>_id`` (seen in some SDKs)."""
    data = data_of(body)
    nested = data.get(kind)
    if isinstance(nested, Mapping) and nested.get(f"{kind}_id"):
        return str(nested[f"{kind}_id"])
    if data.get(f"{kind}_id"):
        return str(data[f"{kind}_id"])
    return None


__all__ = [
    "BYTEDANCE_CODES",
    "ByteDanceAdapter",
    "data_of",
    "extract_error",
    "media_id",
]
