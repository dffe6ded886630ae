"""Weibo (微博): ``statuses/share.json`` — ≤140 characters with a link on the app's safe domain.

The token goes in the form body for POST and in the query string for GET. Weibo answers
errors with non-2xx statuses and ``{"error", "error_code", "request"}``; the adapter reads
the body and never relies on the status code alone. There is no refresh token: an expired
token means the user must authorise the app again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests

from platforms import imagecrop
from platforms.base import ChannelAdapter
from platforms.errors import (
    AccountUnavailable,
    AdapterError,
    ContentRejected,
    CredentialsError,
    DuplicateContent,
    InvalidRequest,
    RateLimited,
    TokenExpired,
    TransientError,
    fallback_http_error,
)
from platforms.registry import register
from platforms.text import extract_links, problems_for_sizes
from platforms.types import (
    AccountProfile,
    CodeRule,
    ContentInput,
    Credentials,
    LimitProblem,
    PublishResult,
    RecentListing,
    RecentPost,
    RenderedPost,
    RenderResult,
)

#: The one platform-code table of this adapter (PROTOCOLS.md §2 and §5).
WEIBO_CODES: dict[int, CodeRule] = {
    10001: CodeRule(TransientError, "微博系统错误，请稍后重试"),
    10002: CodeRule(TransientError, "微博服务暂不可用，请稍后重试"),
    10009: CodeRule(TransientError, "微博待处理任务过多，请稍后重试"),
    10022: CodeRule(RateLimited, "IP 请求频次超过上限", "hour"),
    10023: CodeRule(RateLimited, "用户请求频次超过上限", "hour"),
    10024: CodeRule(RateLimited, "用户调用该接口的频次超过上限", "hour"),
    20016: CodeRule(RateLimited, "发微博过于频繁（每小时上限 30 条）", "hour"),
    11001: CodeRule(RateLimited, "头条文章发布过于频繁", "hour"),
    20017: CodeRule(DuplicateContent, "与最近发布的微博内容相似"),
    20019: CodeRule(DuplicateContent, "与最近发布的微博内容重复"),
    20111: CodeRule(DuplicateContent, "不能发布相同的微博"),
    20018: CodeRule(ContentRejected, "包含非法网址"),
    20020: CodeRule(ContentRejected, "包含广告信息"),
    20021: CodeRule(ContentRejected, "包含非法内容"),
    10017: CodeRule(ContentRejected, "参数无效：正文需包含应用安全域名下的链接"),
    20003: CodeRule(AccountUnavailable, "微博用户不存在"),
    10013: CodeRule(AccountUnavailable, "不合法的微博用户"),
    21314: CodeRule(CredentialsError, "令牌已被使用，需要重新授权"),
    21315: CodeRule(TokenExpired, "令牌已过期，需要重新授权"),
    21316: CodeRule(CredentialsError, "令牌已被撤销，需要重新授权"),
    21317: CodeRule(CredentialsError, "令牌不被接受，需要重新授权"),
    21319: CodeRule(CredentialsError, "用户已取消授权，需要重新授权"),
    21327: CodeRule(TokenExpired, "访问令牌已过期，需要重新授权"),
    21332: CodeRule(TokenExpired, "访问令牌无效，需要重新授权"),
    10014: CodeRule(CredentialsError, "应用没有该接口的权限"),
    10008: CodeRule(InvalidRequest, "参数错误"),
    11002: CodeRule(TransientError, "创建微博失败，请稍后重试"),
    11003: CodeRule(TransientError, "绑定微博失败，请稍后重试"),
    20101: CodeRule(InvalidRequest, "目标微博不存在"),
    20102: CodeRule(InvalidRequest, "不是本账号发布的微博"),
    20032: CodeRule(TransientError, "微博已提交，平台延迟处理"),
    # General Weibo codes seen on these endpoints (not in the PROTOCOLS tables).
    10016: CodeRule(InvalidRequest, "缺少必填参数（如 rip）"),
    10021: CodeRule(InvalidRequest, "HTTP 方法不被支持"),
    20005: CodeRule(ContentRejected, "图片格式不支持，仅支持 JPG、GIF、PNG"),
    20006: CodeRule(ContentRejected, "图片过大（须小于 5 MB）"),
    20012: CodeRule(ContentRejected, "正文超过 140 字"),
    21301: CodeRule(CredentialsError, "认证失败，需要重新授权"),
}

GONE = 20101
DELAYED = 20032
#: statuses/user_timeline: “此接口最多只返回最新的5条数据” (open.weibo.com/wiki/2/statuses/user_timeline).
TIMELINE_CAP = 5
TOPIC_RE = re.compile(r"#[^#\s]+#")
URL_RE = re.compile(r"https?://[^\s<>\"'，。；！？、（）【】]+", re.IGNORECASE)
WIDE_RE = re.compile(r"[^\x00-\x7f]")
MAX_TEXT = 140
PIC_MAX = 5 * 1024 * 1024
PIC_TYPES = ("image/jpeg", "image/jpg", "image/gif", "image/png")


def parse_weibo_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(str(value), "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None


def weibo_length(text: str, mode: str = "weibo") -> int:
    """Weibo's count: a URL counts 10, a CJK/full-width character 1, an ASCII character ½.

    ``mode="chars"`` counts every character as 1 (the strictest reading of "140 字").
    """
    if mode == "chars":
        return len(text)
    urls = URL_RE.findall(text)
    rest = URL_RE.sub("", text)
    wide = len(WIDE_RE.findall(rest))
    return 10 * len(urls) + wide + math.ceil((len(rest) - wide) / 2)


def _host_ok(url: str, domain: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    domain = domain.lower().lstrip(".")
    return host == domain or host.endswith("." + domain)


@register
class WeiboAdapter(ChannelAdapter):
    platform = "weibo"
    default_base_url = "https://api.weibo.com"
    base_capabilities = frozenset(
        {"publish", "publish_text", "publish_images", "status", "withdraw", "profile", "recent_posts", "find_published"}
    )
    code_table = WEIBO_CODES
    default_rate_limits: ClassVar[Mapping[str, Mapping[str, int]]] = {"publish": {"hour": 30}}

    # ------------------------------------------------------------------ http

    def _call(
        self,
        creds: Credentials,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        accept: frozenset[int] = frozenset(),
    ) -> tuple[dict[str, Any], int]:
        """(body, error_code): error codes in ``accept`` are returned, others raised."""
        if not creds.access_token:
            raise CredentialsError(self.platform, "missing_credentials", "缺少微博 access_token")
        if method == "GET":
            resp = self._request(method, path, params={**(params or {}), "access_token": creds.access_token})
        else:
            resp = self._request(
                method,
                path,
                params=params,
                data={**(data or {}), "access_token": creds.access_token},
                files=files,
            )
        body = self._json(resp)
        code = _error_code(body)
        if code is None:
            if resp.status_code >= 400:
                raise fallback_http_error(self.platform, resp.status_code)
            return body, 0
        if code in accept:
            return body, code
        raise self._error_for(code, body.get("error"), resp)

    def _post_url(self, status: Mapping[str, Any]) -> str | None:
        ident = status.get("idstr") or status.get("id")
        if not ident:
            return None
        user = status.get("user") or {}
        uid = str(user.get("idstr") or user.get("id") or "")
        template = self.options.get("post_url_template")
        if template is None:
            # weibo.com/<uid>/<id> on the real platform; the sandbox serves the same shape
            # under its base URL. Without a uid, the mobile page needs only the id.
            on_real = self.base_url == self.default_base_url
            if uid:
                template = "https://weibo.com/{uid}/{id}" if on_real else "{base_url}/{uid}/{id}"
            else:
                template = "https://m.weibo.cn/status/{id}" if on_real else "{base_url}/0/{id}"
        return str(template).format(id=ident, uid=uid or "0", mid=status.get("mid") or ident, base_url=self.base_url)

    # ------------------------------------------------------------------ render

    def render(
        self,
        content: ContentInput,
        overrides: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> RenderResult:
        o = self._override(overrides)
        short = str(o.get("text") or content.summary or content.title or "").strip()
        link = content.canonical_url
        text = short
        if link and link not in short:
            text = f"{short} {link}" if short else link
        problems: list[LimitProblem] = []
        if not short:
            problems.append(LimitProblem("text_missing", "text", "微博正文不能为空（请填写微博文案或摘要）"))
        if not link:
            problems.append(
                LimitProblem("link_missing", "canonical_url", "微博正文必须包含应用安全域名下的链接，但原文链接为空")
            )
        else:
            domain = self.options.get("safe_domain")
            if domain and not _host_ok(link, str(domain)):
                problems.append(
                    LimitProblem("link_not_safe_domain", "canonical_url", f"原文链接不在微博应用的安全域名 {domain} 下")
                )
        length = weibo_length(text, str(self.options.get("length_mode", "weibo")))
        if length > MAX_TEXT:
            problems.append(
                LimitProblem(
                    "text_too_long", "text", f"微博正文（含链接）按微博规则计 {length} 字，超过 {MAX_TEXT} 字上限"
                )
            )
        if TOPIC_RE.search(URL_RE.sub("", text)):
            problems.append(LimitProblem("topic_not_allowed", "text", "分享接口不允许带 #话题#，请删除话题标记"))
        pic = self._pick_picture(content)
        if pic is not None:
            problems += problems_for_sizes(
                [pic], field_name="media", max_bytes=PIC_MAX - 1, allowed_types=PIC_TYPES, label="配图"
            )
        post = RenderedPost(
            platform=self.platform,
            title=content.title,
            text=text,
            html="",
            media=(pic,) if pic is not None else (),
            cover=None,
            links=extract_links(text),
            canonical_url=link,
            idempotency_key=self._key(content, text, idempotency_key),
            summary=short,
            author=content.author,
            kind="images" if pic is not None else "text",
        )
        return RenderResult(post, tuple(problems))

    @staticmethod
    def _pick_picture(content: ContentInput) -> Any:
        if content.cover is not None and content.cover.is_image:
            return content.cover
        return next((m for m in content.media if m.is_image), None)

    # ------------------------------------------------------------------ publish

    def publish(self, creds: Credentials, post: RenderedPost) -> PublishResult:
        self._acquire(creds, "publish")
        data: dict[str, Any] = {"status": post.text}
        if self.options.get("rip"):
            data["rip"] = str(self.options["rip"])
        pic = next((m for m in post.media if m.is_image), None)
        if pic is not None:
            pic = imagecrop.cropped_cover(pic)  # the cover's chosen crop (issue 20)
        files = {"pic": (pic.filename, pic.data, pic.content_type)} if pic is not None else None
        try:
            body, code = self._call(
                creds,
                "POST",
                "/2/statuses/share.json",
                data=data,
                files=files,
                accept=frozenset({DELAYED}),
            )
        except DuplicateContent:
            # A retry after a lost answer: the first attempt did go through.
            found = self._find_by_link(creds, post)
            if found is not None:
                return found
            raise
        if code == DELAYED:
            return PublishResult(
                post_id="",
                url=None,
                state="pending",
                platform_code=str(DELAYED),
                detail="微博已受理，平台延迟 1–2 分钟处理；稍后用 find_published 确认",
                raw_status="20032",
            )
        ident = body.get("idstr") or body.get("id")
        if not ident:
            raise TransientError(self.platform, "invalid_response", "发布微博的响应缺少微博 ID")
        return PublishResult(
            post_id=str(ident),
            url=self._post_url(body),
            state="published",
            detail="已发布",
            raw_status="created",
        )

    def _find_by_link(self, creds: Credentials, post: RenderedPost) -> PublishResult | None:
        if not post.canonical_url:
            return None
        found = self.find_published(creds, post)
        if found is None:
            return None
        return PublishResult(
            found.post_id,
            found.url,
            found.state,
            detail="平台提示重复，已找到先前发布的同一条微博",
            raw_status="duplicate_found",
        )

    def status(self, creds: Credentials, post_id: str) -> PublishResult:
        if not post_id:
            raise InvalidRequest(self.platform, "missing_post_id", "缺少微博 ID，请先用 find_published 查找")
        body, code = self._call(
            creds,
            "GET",
            "/2/statuses/show.json",
            params={"id": post_id},
            accept=frozenset({GONE, DELAYED}),
        )
        if code == GONE:
            return PublishResult(post_id, None, "withdrawn", str(GONE), "微博不存在（已删除或被移除）", "20101")
        if code == DELAYED:
            return PublishResult(post_id, None, "pending", str(DELAYED), "平台延迟处理中", "20032")
        return PublishResult(post_id, self._post_url(body), "published", None, "已发布", "visible")

    def withdraw(self, creds: Credentials, post_id: str) -> PublishResult:
        self._acquire(creds, "withdraw")
        _, code = self._call(creds, "POST", "/2/statuses/destroy.json", data={"id": post_id}, accept=frozenset({GONE}))
        detail = "微博此前已不存在" if code == GONE else "已删除微博"
        return PublishResult(post_id, None, "withdrawn", str(code) if code else None, detail, "deleted")

    # ------------------------------------------------------------------ account

    def token_info(self, creds: Credentials) -> dict[str, Any]:
        """``oauth2/get_token_info``: uid, scope, expire_in — the cheapest liveness probe."""
        body, _ = self._call(creds, "POST", "/oauth2/get_token_info")
        try:
            expire_in = float(body.get("expire_in"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            expire_in = None
        if expire_in is not None and expire_in <= 0:
            raise TokenExpired(self.platform, "21327", "访问令牌已过期，需要重新授权")
        return body

    def profile(self, creds: Credentials) -> AccountProfile:
        info = self.token_info(creds)
        uid = str(info.get("uid") or "")
        user, _ = self._call(creds, "GET", "/2/users/show.json", params={"uid": uid})
        latest = user.get("status") or {}
        try:
            expires_in = float(info.get("expire_in"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            expires_in = None
        return AccountProfile(
            platform=self.platform,
            uid=str(user.get("idstr") or user.get("id") or uid),
            name=user.get("screen_name"),
            verified=user.get("verified"),
            followers=_int(user.get("followers_count")),
            posts_count=_int(user.get("statuses_count")),
            last_post_at=parse_weibo_time(latest.get("created_at")),
            profile_url=f"https://weibo.com/u/{uid}" if uid else None,
            subject=user.get("verified_reason") or None,
            token_expires_in=expires_in,
        )

    def recent_posts(self, creds: Credentials, limit: int = 10) -> list[RecentPost]:
        return list(self.recent_listing(creds, limit).posts)

    def recent_listing(self, creds: Credentials, limit: int = 10) -> RecentListing:
        """``statuses/user_timeline``: the open API returns only the newest few statuses (“此接口最多
        只返回最新的5条数据，官方移动SDK调用可返回10条”) whatever ``count`` asks. The listing is
        complete only when ``total_number`` is present and not above what came back (an account
        with fewer posts than the cap) and no ``next_cursor`` points further (the page marks the
        cursors “暂未支持”, so a non-zero one only withholds the proof). When the cap itself is
        reached, ``total_number`` may be the capped count (its meaning is not documented), so the
        author's ``statuses_count`` (the ``user`` object of each status, documented as 微博数) must
        not exceed the statuses returned either."""
        body, _ = self._call(creds, "GET", "/2/statuses/user_timeline.json", params={"count": max(1, min(limit, 100))})
        statuses = body.get("statuses") or []
        out = [self._recent(status) for status in statuses]
        total = _int(body.get("total_number"))
        more = body.get("next_cursor") not in (None, 0, "0", "")
        complete = total is not None and total <= len(statuses) and not more and len(out) <= limit
        if complete and len(statuses) >= int(self.options.get("timeline_cap", TIMELINE_CAP)):
            author = statuses[0].get("user") if isinstance(statuses[0].get("user"), Mapping) else {}
            count = _int(author.get("statuses_count"))
            complete = count is not None and count <= len(statuses)
        return RecentListing(tuple(out[:limit]), complete=complete)

    def _recent(self, status: Mapping[str, Any]) -> RecentPost:
        return RecentPost(
            platform=self.platform,
            post_id=str(status.get("idstr") or status.get("id") or ""),
            text=status.get("text") or "",
            url=self._post_url(status),
            created_at=parse_weibo_time(status.get("created_at")),
            # A repost (转发) carries the reposted status; an original post does not.
            original="retweeted_status" not in status,
        )

    def _server_error(self, resp: requests.Response) -> AdapterError | None:
        """A 5xx with ``{"error_code"}`` keeps the code; an unknown code stays retryable."""
        try:
            body = resp.json()
        except ValueError:
            return None
        code = _error_code(body) if isinstance(body, dict) else None
        if code is None:
            return None
        message = body.get("error")
        if code in self.code_table:
            return self._error_for(code, message, resp)
        text = f"微博服务器错误（HTTP {resp.status_code}）"
        return TransientError(self.platform, code, text, platform_message=message)


def _error_code(body: Mapping[str, Any]) -> int | None:
    value = body.get("error_code")
    if value in (None, "", 0, "0"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


__all__ = ["WEIBO_CODES", "WeiboAdapter", "parse_weibo_time"]
