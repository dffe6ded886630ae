"""WeChat Official Account (微信公众号): draft/add → freepublish/submit, polled via freepublish/get.

Token: for an account authorised through the office's 第三方平台, its authorizer_access_token
(platforms/wechat_component.py); otherwise ``POST /cgi-bin/stable_token`` (normal mode), cached
in the token store until five minutes before it expires; on 40001/40014/42001 the adapter takes a newer token another
worker already cached, else asks stable_token again in normal mode, and forces a refresh only
when normal mode returns the token that just failed (within the force limits); then it retries
the call once.
Post ids: ``"<publish_id>"`` right after submit, ``"<publish_id>:<article_id>"`` once
published (``status`` returns that form), ``":<article_id>"`` when only the article is known
(``find_published``).
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from platforms import imagecrop, wechat_component
from platforms.base import ChannelAdapter
from platforms.errors import (
    AccountUnavailable,
    AdapterError,
    ContentRejected,
    CredentialsError,
    InvalidRequest,
    RateLimited,
    TokenExpired,
    TransientError,
)
from platforms.ratelimit import limits_from_config
from platforms.registry import register
from platforms.text import (
    IMG_TAG_RE,
    SRC_ATTR_RE,
    body_image,
    body_images,
    extract_links,
    from_unix,
    html_to_text,
    is_local_upload,
    json_dumps,
    problems_for_sizes,
)
from platforms.types import (
    AccountProfile,
    CodeRule,
    ContentInput,
    Credentials,
    LimitProblem,
    MediaFile,
    PublishResult,
    RecentListing,
    RecentPost,
    RenderedPost,
    RenderResult,
)

log = logging.getLogger("govmedia.platforms.wechat")
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
INCOMPLETE_GRANT = "第三方平台授权不完整（缺少 AppID 或刷新令牌），请公众号管理员重新扫码授权"

#: The one platform-code table of this adapter (PROTOCOLS.md §1 and §5).
WECHAT_CODES: dict[int, CodeRule] = {
    -1: CodeRule(TransientError, "微信系统繁忙，请稍后重试"),
    40001: CodeRule(TokenExpired, "access_token 无效或 AppSecret 错误"),
    40014: CodeRule(TokenExpired, "access_token 不合法"),
    42001: CodeRule(TokenExpired, "access_token 已过期"),
    40013: CodeRule(CredentialsError, "AppID 无效，请核对公众号的 AppID"),
    40125: CodeRule(CredentialsError, "AppSecret 无效，请在公众号后台重置并更新"),
    40164: CodeRule(CredentialsError, "调用方 IP 不在公众号的 IP 白名单中，请在后台添加服务器出口 IP"),
    41001: CodeRule(InvalidRequest, "请求缺少 access_token"),
    45009: CodeRule(RateLimited, "接口今日调用次数已达上限，明日恢复", "day"),
    45011: CodeRule(RateLimited, "接口调用过于频繁，请下一分钟再试", "minute"),
    48006: CodeRule(RateLimited, "本月清零调用次数已用完", "day"),
    48001: CodeRule(
        AccountUnavailable, "公众号未获得该接口权限：未完成微信认证、认证已过期或权限被收回（个人号不能调用发布接口）"
    ),
    # 第三方平台: our outbound IP not in the office's whitelist (the office's setup, not the
    # account's: no re-authorisation), and a 权限集 the 公众号 did not grant (re-authorise).
    61004: CodeRule(TransientError, wechat_component.OFFICE_IP_MESSAGE),
    61007: CodeRule(CredentialsError, wechat_component.SCOPE_MISSING_MESSAGE),
    53500: CodeRule(AccountUnavailable, "公众号的发布功能已被封禁"),
    53501: CodeRule(RateLimited, "发布过于频繁，请稍后再试", "minute"),
    53502: CodeRule(InvalidRequest, "发布任务 publish_id 无效"),
    50001: CodeRule(AccountUnavailable, "用户未授权该接口"),
    50002: CodeRule(AccountUnavailable, "公众号受限（可能已被封禁）"),
    40007: CodeRule(InvalidRequest, "素材 media_id 无效"),
    47001: CodeRule(InvalidRequest, "提交的数据格式错误"),
    45166: CodeRule(ContentRejected, "正文内容不合法，未通过平台校验"),
    40005: CodeRule(ContentRejected, "图片文件类型不支持"),
    40009: CodeRule(ContentRejected, "图片大小超过平台上限"),
    53503: CodeRule(ContentRejected, "草稿未通过发布检查"),
    53504: CodeRule(ContentRejected, "该草稿需要在公众平台网页端操作"),
    53505: CodeRule(ContentRejected, "该草稿需要先在公众平台手动保存"),
    53600: CodeRule(InvalidRequest, "article_id 无效"),
    # WeChat's general return codes met on these endpoints (not in the PROTOCOLS tables).
    40002: CodeRule(InvalidRequest, "grant_type 不合法"),
    40004: CodeRule(InvalidRequest, "素材类型不合法"),
    40010: CodeRule(ContentRejected, "语音文件大小超过上限"),
    40011: CodeRule(ContentRejected, "视频文件大小超过上限"),
    41002: CodeRule(CredentialsError, "缺少 AppID"),
    41004: CodeRule(CredentialsError, "缺少 AppSecret"),
    41005: CodeRule(InvalidRequest, "缺少素材文件"),
    43001: CodeRule(InvalidRequest, "需要使用 GET 请求"),
    43002: CodeRule(InvalidRequest, "需要使用 POST 请求"),
    44003: CodeRule(InvalidRequest, "图文消息内容为空"),
    44004: CodeRule(ContentRejected, "正文内容为空"),
    45002: CodeRule(ContentRejected, "正文超过长度上限（须少于 20000 字符、1 MB）"),
    45003: CodeRule(ContentRejected, "标题超过 32 字上限"),
    45004: CodeRule(ContentRejected, "摘要超过 128 字上限"),
    45110: CodeRule(ContentRejected, "作者超过 16 字上限"),
    76021: CodeRule(InvalidRequest, "cgi_path 不存在"),
}

#: freepublish/get publish_status → (state, Chinese detail).
PUBLISH_STATUS: dict[int, tuple[str, str]] = {
    0: ("published", "发布成功"),
    1: ("pending", "发布中"),
    2: ("rejected", "原创声明校验未通过"),
    3: ("rejected", "发布失败（常规失败）"),
    4: ("rejected", "平台审核未通过"),
    5: ("withdrawn", "发布成功后已被删除"),
    6: ("rejected", "发布成功后被系统封禁"),
}

TITLE_MAX = 32  # 标题 (45003)
DIGEST_MAX = 128  # 摘要 (45004)
THUMB_MAX = 64 * 1024
IMAGE_MAX = 10 * 1024 * 1024
INLINE_MAX = 1024 * 1024


INLINE_TYPES = ("image/jpeg", "image/jpg", "image/png")


def inline_image_problem(image: MediaFile) -> tuple[str, str] | None:
    """(code, Chinese reason) why ``media/uploadimg`` would refuse this body image (jpg/png,
    under 1 MB), or None."""
    if image.content_type.lower() not in INLINE_TYPES:
        return (
            "media_type",
            f"正文图片“{image.filename}”格式不支持（{image.content_type}），公众号正文图片只能是 JPG 或 PNG",
        )
    if image.size >= INLINE_MAX:
        return (
            "media_too_large",
            f"正文图片“{image.filename}”大小 {image.size / 1024 / 1024:.1f} MB，"
            "公众号正文图片须小于 1 MB，请压缩后重新插入",
        )
    return None


def _has_news(item: Mapping[str, Any]) -> bool:
    """A ``freepublish/batchget`` item that carries its ``content.news_item``."""
    content = item.get("content")
    return isinstance(content, Mapping) and "news_item" in content


def _errcode(body: Mapping[str, Any]) -> int:
    try:
        return int(body.get("errcode") or 0)
    except (TypeError, ValueError):
        return 0


def split_post_id(post_id: str) -> tuple[str, str]:
    """``"pid"``, ``"pid:aid"`` or ``":aid"`` → (publish_id, article_id)."""
    publish_id, _, article_id = str(post_id).partition(":")
    return publish_id.strip(), article_id.strip()


@register
class WeChatAdapter(ChannelAdapter):
    platform = "wechat"
    default_base_url = "https://api.weixin.qq.com"
    base_capabilities = frozenset(
        {"publish", "publish_article", "status", "withdraw", "profile", "recent_posts", "find_published"}
    )
    code_table = WECHAT_CODES
    default_rate_limits: ClassVar[Mapping[str, Mapping[str, int]]] = {"publish": {"day": 100}, "withdraw": {"day": 10}}

    # ------------------------------------------------------------------ token

    def _token_key(self, creds: Credentials) -> str:
        return f"wechat:token:{creds.app_id}"

    def _token(self, creds: Credentials, *, failed: str | None = None) -> str:
        """A valid access token; after a token error (``failed``), a newer one.

        stable_token's force mode invalidates the token of every other system using the AppID
        and is limited (20 a day, 30 s apart; api_getstableaccesstoken). So after a token error
        the adapter asks in normal mode first and forces only when normal mode hands back the
        very token that just failed, within ``force_refresh_per_day``/``force_refresh_spacing``.
        """
        if wechat_component.is_component_grant(creds):
            return wechat_component.authorizer_token(self, creds, failed=failed)
        if creds.via == wechat_component.VIA and not creds.app_secret:
            raise CredentialsError(self.platform, "incomplete_grant", INCOMPLETE_GRANT)
        if not creds.app_id or not creds.app_secret:
            raise CredentialsError(self.platform, "missing_credentials", "缺少公众号 AppID 或 AppSecret")
        key = self._token_key(creds)
        cached = self.token_store.get(key)
        if cached and cached != failed:
            return cached
        token, expires_in = self._stable_token(creds, force=False)
        if failed is not None and token == failed:
            self._take_force_budget(creds)
            token, expires_in = self._stable_token(creds, force=True)
        margin = float(self.options.get("token_refresh_margin", 300))
        self.token_store.set(key, token, max(expires_in - margin, 0.0))
        return token

    def _take_force_budget(self, creds: Credentials) -> None:
        """One forced refresh of this AppID's budget, or ``TokenExpired`` (no force)."""
        spacing = float(self.options.get("force_refresh_spacing", 30))
        per_day = int(self.options.get("force_refresh_per_day", 20))
        gap_key = f"wechat:force_at:{creds.app_id}"
        if self.token_store.get(gap_key):
            raise TokenExpired(
                self.platform,
                "force_refresh_spacing",
                f"access_token 失效，{int(spacing)} 秒内不能再次强制刷新，请稍后重试",
            )
        decision = self.rate_limiter.acquire(
            self.platform, str(creds.app_id), "force_refresh", limits_from_config({"day": per_day})
        )
        if not decision.allowed:
            raise TokenExpired(
                self.platform,
                "force_refresh_limit",
                f"access_token 失效，今日强制刷新已达 {per_day} 次上限，请明日再试",
            )
        self.token_store.set(gap_key, "1", spacing)

    def _stable_token(self, creds: Credentials, *, force: bool) -> tuple[str, float]:
        resp = self._request(
            "POST",
            "/cgi-bin/stable_token",
            data=json_dumps(
                {
                    "grant_type": "client_credential",
                    "appid": creds.app_id,
                    "secret": creds.app_secret,
                    "force_refresh": force,
                }
            ).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        body = self._json(resp)
        code = _errcode(body)
        if code:
            if code in TOKEN_ERRORS:
                # On the token endpoint these mean a wrong AppSecret, not an expired token.
                raise CredentialsError(
                    self.platform,
                    code,
                    "获取 access_token 失败：AppSecret 错误",
                    platform_message=body.get("errmsg"),
                )
            raise self._error_for(code, body.get("errmsg"), resp)
        token = body.get("access_token")
        if not token:
            raise TransientError(self.platform, "invalid_response", "获取 access_token 的响应缺少令牌")
        return str(token), float(body.get("expires_in") or 7200)

    def _call(
        self,
        creds: Credentials,
        path: str,
        *,
        json_body: Any = None,
        files: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """POST with ``?access_token=``; a token error refreshes once and retries once."""
        token = self._token(creds)
        for attempt in (0, 1):
            query = {**(params or {}), "access_token": token}
            if files is not None:
                resp = self._request("POST", path, params=query, files=files, timeout=self._upload_timeout())
            else:
                resp = self._request(
                    "POST",
                    path,
                    params=query,
                    data=json_dumps(json_body if json_body is not None else {}).encode("utf-8"),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
            body = self._json(resp)
            code = _errcode(body)
            if not code:
                return body
            if code in TOKEN_ERRORS and attempt == 0:
                token = self._token(creds, failed=token)
                continue
            raise self.refusal(creds, code, body.get("errmsg"), resp)
        raise TokenExpired(self.platform, "token_retry_failed")  # pragma: no cover - loop returns

    def refusal(self, creds: Credentials, code: int, platform_message: Any, resp: Any) -> AdapterError:
        """The error for ``code``; 48001 of a 第三方平台 grant advises re-authorising with the 权限集
        (not 微信认证: the 公众号 may simply not have granted it)."""
        if code == 48001 and wechat_component.is_component_grant(creds):
            return AccountUnavailable(
                self.platform, code, wechat_component.GRANT_API_UNAUTHORIZED, platform_message=platform_message
            )
        return self._error_for(code, platform_message, resp)

    def _upload_timeout(self) -> Any:
        return self.options.get("upload_timeout", self.timeout)

    # ------------------------------------------------------------------ render

    def render(
        self,
        content: ContentInput,
        overrides: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> RenderResult:
        o = self._override(overrides)
        title = str(o.get("title", content.title) or "").strip()
        author = str(o.get("author", content.author) or "").strip()
        digest = str(o.get("summary", content.summary) or "").strip()
        markup = str(o.get("html", content.html) or "")
        if not markup.strip() and content.text:
            markup = "".join(f"<p>{_escape(p)}</p>" for p in content.text.splitlines() if p.strip())
        text = html_to_text(markup) or content.text
        images = tuple(m for m in content.media if m.is_image)
        article_type = o.get("article_type", self.options.get("article_type", "news"))

        problems: list[LimitProblem] = []
        if not title:
            problems.append(LimitProblem("title_missing", "title", "公众号文章必须有标题"))
        elif len(title) > TITLE_MAX:
            problems.append(
                LimitProblem("title_too_long", "title", f"标题 {len(title)} 字，超过公众号 {TITLE_MAX} 字上限")
            )
        if len(author) > 16:
            problems.append(LimitProblem("author_too_long", "author", f"作者 {len(author)} 字，超过公众号 16 字上限"))
        if len(digest) > DIGEST_MAX:
            problems.append(
                LimitProblem("summary_too_long", "summary", f"摘要 {len(digest)} 字，超过公众号 {DIGEST_MAX} 字上限")
            )
        if not markup.strip():
            problems.append(LimitProblem("content_missing", "html", "公众号文章正文不能为空"))
        elif len(markup) >= 20000:
            problems.append(LimitProblem("content_too_long", "html", f"正文 {len(markup)} 字符，须少于 20000 字符"))
        elif len(markup.encode("utf-8")) >= 1024 * 1024:
            problems.append(LimitProblem("content_too_large", "html", "正文须小于 1 MB"))
        cover = content.cover
        if cover is None:
            if article_type == "news":
                problems.append(LimitProblem("cover_missing", "cover", "公众号图文消息必须有封面图"))
        elif self._thumb_type() == "thumb":
            problems += problems_for_sizes(
                [cover],
                field_name="cover",
                max_bytes=THUMB_MAX,
                allowed_types=("image/jpeg", "image/jpg"),
                label="封面图",
            )
        else:
            problems += problems_for_sizes(
                [cover],
                field_name="cover",
                max_bytes=IMAGE_MAX,
                allowed_types=("image/jpeg", "image/jpg", "image/png", "image/gif", "image/bmp"),
                label="封面图",
            )
        problems += [LimitProblem(found[0], "media", found[1]) for found in map(inline_image_problem, images) if found]
        if _missing_local_images(markup, images):
            problems.append(
                LimitProblem("inline_image_missing", "html", "正文中有图片不在内容的图片列表中，请重新插入该图片")
            )
        post = RenderedPost(
            platform=self.platform,
            title=title,
            text=text,
            html=markup,
            media=images,
            cover=cover,
            links=extract_links(markup),
            canonical_url=content.canonical_url,
            idempotency_key=self._key(content, text, idempotency_key),
            summary=digest,
            author=author,
            kind="article",
        )
        return RenderResult(post, tuple(problems))

    def _thumb_type(self) -> str:
        return str(self.options.get("thumb_material_type", "thumb"))

    # ------------------------------------------------------------------ publish

    def _media_cache_key(self, creds: Credentials, kind: str, sha: str) -> str:
        return f"wechat:media:{creds.app_id}:{kind}:{sha}"

    def _media_ttl(self) -> float:
        return float(self.options.get("media_cache_ttl", 86400))

    def _upload_thumb(self, creds: Credentials, cover: Any, *, fresh: bool = False) -> str:
        kind = self._thumb_type()
        cover = imagecrop.cropped_cover(cover)
        key = self._media_cache_key(creds, kind, cover.sha256)
        if not fresh:
            cached = self.token_store.get(key)
            if cached:
                return cached
        body = self._call(
            creds,
            "/cgi-bin/material/add_material",
            params={"type": kind},
            files={"media": (cover.filename, cover.data, cover.content_type)},
        )
        media_id = body.get("media_id")
        if not media_id:
            raise TransientError(self.platform, "invalid_response", "上传封面的响应缺少 media_id")
        self.token_store.set(key, str(media_id), self._media_ttl())
        return str(media_id)

    def _upload_inline(self, creds: Credentials, image: Any) -> str:
        """``media/uploadimg`` (jpg/png under 1 MB) → the mmbiz URL for the article body.

        Checked before sending: a file the platform would refuse (40005/40009) is a
        ``ContentRejected`` with the reason, never a retried upload."""
        problem = inline_image_problem(image)
        if problem:
            raise ContentRejected(self.platform, problem[0], problem[1])
        key = self._media_cache_key(creds, "uploadimg", image.sha256)
        cached = self.token_store.get(key)
        if cached:
            return cached
        body = self._call(
            creds,
            "/cgi-bin/media/uploadimg",
            files={"media": (image.filename, image.data, image.content_type)},
        )
        url = body.get("url")
        if not url:
            raise TransientError(self.platform, "invalid_response", "上传正文图片的响应缺少 url")
        self.token_store.set(key, str(url), self._media_ttl())
        return str(url)

    def body_image_layout(self, post: RenderedPost) -> tuple[list[MediaFile], list[MediaFile]]:
        """(images placed in the body, in order; the post's other images, appended at its end):
        what ``_content_with_images`` uploads, for the preview to show the same."""
        placed = body_images(post.html, post.media)
        shas = {m.sha256 for m in placed}
        appended: dict[str, MediaFile] = {}
        for image in post.media:
            if image.is_image and image.sha256 not in shas:
                appended.setdefault(image.sha256, image)
        return placed, list(appended.values())

    def _content_with_images(self, creds: Credentials, post: RenderedPost) -> str:
        """The body with every placed image uploaded once and its ``src`` rewritten to the
        mmbiz URL; images of the post not placed in the body are appended at its end."""
        for image in post.media:  # refuse before the first upload, not half-way through
            problem = inline_image_problem(image) if image.is_image else None
            if problem:
                raise ContentRejected(self.platform, problem[0], problem[1])
        if _missing_local_images(post.html, post.media):
            raise ContentRejected(
                self.platform, "inline_image_missing", "正文中的图片不在内容的图片列表中，请重新插入该图片"
            )
        uploaded: dict[str, str] = {}  # sha256 → URL: the same image is uploaded once per delivery

        def url_for(image: MediaFile) -> str:
            if image.sha256 not in uploaded:
                uploaded[image.sha256] = self._upload_inline(creds, image)
            return uploaded[image.sha256]

        def rewrite(match: re.Match[str]) -> str:
            tag = match.group(0)
            src = SRC_ATTR_RE.search(tag)
            if src is None:
                return tag
            ref = html_lib.unescape(src.group(2))
            image = body_image(ref, post.media)
            if image is None:
                return tag  # an address of its own (mmbiz, or one WeChat filters out)
            return tag[: src.start(2)] + _escape(url_for(image)) + tag[src.end(2) :]

        markup = IMG_TAG_RE.sub(rewrite, post.html)
        for image in post.media:
            if image.is_image and image.sha256 not in uploaded:
                alt = _escape(image.alt_text)
                markup += f'<p><img src="{_escape(url_for(image))}" alt="{alt}"/></p>'
        return markup

    def publish(self, creds: Credentials, post: RenderedPost) -> PublishResult:
        self._acquire(creds, "publish")
        media_id = self.add_draft(creds, post)
        submitted = self._call(creds, "/cgi-bin/freepublish/submit", json_body={"media_id": media_id})
        publish_id = submitted.get("publish_id")
        if publish_id in (None, ""):
            raise TransientError(self.platform, "invalid_response", "提交发布的响应缺少 publish_id")
        return PublishResult(
            post_id=str(publish_id),
            url=None,
            state="pending",
            detail="已提交发布，等待微信处理",
            raw_status="submitted",
        )

    def add_draft(self, creds: Credentials, post: RenderedPost) -> str:
        """``draft/add`` with the post's images uploaded; returns the draft's media_id (also
        what 群发 sends, platforms/wechat_mass.py)."""
        article_type = self.options.get("article_type", "news")
        if post.cover is None and article_type == "news":
            raise InvalidRequest(self.platform, "cover_missing", "公众号图文消息必须有封面图")
        content = self._content_with_images(creds, post)
        thumb = self._upload_thumb(creds, post.cover) if post.cover is not None else None

        def article(thumb_id: str | None) -> dict[str, Any]:
            item: dict[str, Any] = {
                "article_type": article_type,
                "title": post.title,
                "author": post.author,
                "digest": post.summary,
                "content": content,
                "content_source_url": post.canonical_url or "",
                "need_open_comment": int(self.options.get("need_open_comment", 0)),
                "only_fans_can_comment": int(self.options.get("only_fans_can_comment", 0)),
            }
            if thumb_id:
                item["thumb_media_id"] = thumb_id
            return item

        try:
            draft = self._call(creds, "/cgi-bin/draft/add", json_body={"articles": [article(thumb)]})
        except InvalidRequest as exc:
            # A cached thumb id the platform no longer knows: upload again, once.
            if exc.code != "40007" or post.cover is None:
                raise
            thumb = self._upload_thumb(creds, post.cover, fresh=True)
            draft = self._call(creds, "/cgi-bin/draft/add", json_body={"articles": [article(thumb)]})
        media_id = draft.get("media_id")
        if not media_id:
            raise TransientError(self.platform, "invalid_response", "新建草稿的响应缺少 media_id")
        return str(media_id)

    # ------------------------------------------------------------------ status / withdraw

    def status(self, creds: Credentials, post_id: str) -> PublishResult:
        publish_id, article_id = split_post_id(post_id)
        if not publish_id:
            if not article_id:
                raise InvalidRequest(self.platform, "missing_post_id", "缺少 publish_id 或 article_id")
            return self._status_by_article(creds, article_id)
        body = self._call(creds, "/cgi-bin/freepublish/get", json_body={"publish_id": publish_id})
        try:
            code = int(body.get("publish_status"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            code = -1
        state, detail = PUBLISH_STATUS.get(code, ("pending", "未知的发布状态，稍后再查询"))
        article_id = str(body.get("article_id") or article_id or "")
        url = None
        items = (body.get("article_detail") or {}).get("item") or []
        if items:
            url = items[0].get("article_url")
        if code in (2, 3, 4) and body.get("fail_idx"):  # “当发布状态为2或4时，返回不通过的文章编号”; 3 seen too
            detail += "，失败的文章序号：" + "、".join(str(i) for i in body["fail_idx"])
        return PublishResult(
            post_id=f"{publish_id}:{article_id}" if article_id else publish_id,
            url=url,
            state=state,  # type: ignore[arg-type]
            platform_code=None if code in (0, 1, 5) else f"publish_status:{code}",
            detail=detail,
            raw_status=f"publish_status={code}",
        )

    def _status_by_article(self, creds: Credentials, article_id: str) -> PublishResult:
        body = self._call(creds, "/cgi-bin/freepublish/getarticle", json_body={"article_id": article_id})
        items = body.get("news_item") or []
        live = [i for i in items if not i.get("is_deleted")]
        if items and not live:
            return PublishResult(f":{article_id}", None, "withdrawn", detail="文章已被删除", raw_status="is_deleted=1")
        url = (live or [{}])[0].get("url")
        return PublishResult(f":{article_id}", url, "published", detail="发布成功", raw_status="is_deleted=0")

    def withdraw(self, creds: Credentials, post_id: str) -> PublishResult:
        publish_id, article_id = split_post_id(post_id)
        if not article_id:
            current = self.status(creds, publish_id)
            if current.state == "pending":
                raise TransientError(self.platform, "publish_status:1", "文章仍在发布中，稍后再撤回")
            if current.state != "published":
                return PublishResult(
                    current.post_id,
                    current.url,
                    current.state,
                    current.platform_code,
                    detail=f"{current.detail}，无需撤回",
                    raw_status=current.raw_status,
                )
            publish_id, article_id = split_post_id(current.post_id)
        self._acquire(creds, "withdraw")
        self._call(creds, "/cgi-bin/freepublish/delete", json_body={"article_id": article_id, "index": 0})
        return PublishResult(
            post_id=f"{publish_id}:{article_id}",
            url=None,
            state="withdrawn",
            detail="已从公众号删除",
            raw_status="deleted",
        )

    # ------------------------------------------------------------------ account

    def profile(self, creds: Credentials) -> AccountProfile:
        body = self._call(creds, "/cgi-bin/freepublish/batchget", json_body={"offset": 0, "count": 1, "no_content": 1})
        last = max(
            (t for t in (from_unix(i.get("update_time")) for i in body.get("item") or []) if t),
            default=None,
        )
        # 主体: the 第三方平台's api_get_authorizer_info when the office runs one (the documented
        # call), else getaccountbasicinfo on the account's own token (undocumented; best effort).
        component = wechat_component.subject_of(self, creds.app_id or "")
        if component is not None:
            name, verified, subject = component.name, component.verified, component.subject
        else:
            info = self._basic_info(creds)
            raw_verify = info.get("wx_verify_info")
            verify: dict[str, Any] = raw_verify if isinstance(raw_verify, dict) else {}
            name, subject = info.get("nickname") or None, info.get("principal_name") or None
            verified = bool(verify["qualification_verify"]) if "qualification_verify" in verify else None
        return AccountProfile(
            platform=self.platform,
            uid=creds.app_id,
            name=name,
            verified=verified,
            posts_count=_int_or_none(body.get("total_count")),
            last_post_at=last,
            status="active",
            subject=subject,
        )

    def _basic_info(self, creds: Credentials) -> dict[str, Any]:
        """``POST /cgi-bin/account/getaccountbasicinfo`` — 主体名称 (``principal_name``), name and
        微信认证 of the account. The official page lists only ``authorizer_access_token`` (a
        第三方平台 call, 权限集 3) as its credential; the account's own access_token is not
        documented for it, so this is a best-effort fallback when no 第三方平台 is configured
        (platforms/wechat_component.py). Where the platform refuses (48001 and the like), the
        profile simply has no 认证主体 — never a failed inspection."""
        try:
            return self._call(creds, "/cgi-bin/account/getaccountbasicinfo", json_body={})
        except RateLimited:
            raise
        except AdapterError as exc:
            log.info("wechat getaccountbasicinfo not available for %s: %s", creds.account_ref, exc.code)
            return {}

    def recent_posts(self, creds: Credentials, limit: int = 10) -> list[RecentPost]:
        return list(self.recent_listing(creds, limit).posts)

    def recent_listing(self, creds: Credentials, limit: int = 10) -> RecentListing:
        """``freepublish/batchget`` pages (count ≤ 20) until ``limit``: complete when the items
        read reach ``total_count`` (the number of 发布 messages; 群发 are never listed).

        ``no_content: 1`` is documented as “1 表示不返回content字段”: read as the article's HTML
        ``content`` (what maintained clients and scripts over the live API see: ``news_item`` with
        titles still there). Should a page come back without ``content.news_item``, it is asked
        again with ``no_content: 0``; an item still without it is a published message all the
        same and is listed by its ``article_id`` (no title or link), so that a complete listing
        never misses one."""
        posts: list[RecentPost] = []
        offset = 0
        complete = False
        while len(posts) < limit:
            count = min(20, max(limit - len(posts), 1))
            page = {"offset": offset, "count": count, "no_content": 1}
            body = self._call(creds, "/cgi-bin/freepublish/batchget", json_body=page)
            if any(not _has_news(item) for item in body.get("item") or []):
                body = self._call(creds, "/cgi-bin/freepublish/batchget", json_body={**page, "no_content": 0})
            items = body.get("item") or []
            for item in items:
                created = from_unix(item.get("update_time"))
                if not _has_news(item):
                    posts.append(
                        RecentPost(platform=self.platform, post_id=str(item.get("article_id", "")), created_at=created)
                    )
                    continue
                for news in item["content"].get("news_item") or []:
                    if news.get("is_deleted"):
                        continue
                    posts.append(
                        RecentPost(
                            platform=self.platform,
                            post_id=str(item.get("article_id", "")),
                            title=news.get("title") or "",
                            text=news.get("digest") or "",
                            url=news.get("url"),
                            created_at=created,
                            canonical_url=news.get("content_source_url") or None,
                        )
                    )
                    break  # one entry per published message (its first live article)
            offset += len(items)
            total = _int_or_none(body.get("total_count"))
            if total is not None and offset >= total:
                complete = len(posts) <= limit
                break
            if not items or total is None:
                break
        return RecentListing(tuple(posts[:limit]), complete=complete)

    def find_published(self, creds: Credentials, post: RenderedPost) -> PublishResult | None:
        limit = int(self.options.get("find_published_limit", 20))
        for recent in self.recent_posts(creds, limit):
            same_url = bool(post.canonical_url) and recent.canonical_url == post.canonical_url
            same_text = recent.title == post.title and (recent.text or "") == (post.summary or "")
            if same_url or (not post.canonical_url and same_text):
                return PublishResult(
                    post_id=f":{recent.post_id}",
                    url=recent.url,
                    state="published",
                    detail="在公众号已发布列表中找到了这篇文章",
                )
        return None

    def _manual_instructions(self, operation: str, post: RenderedPost | None, post_id: str | None) -> list[str]:
        if operation == "withdraw":
            return [
                "登录微信公众平台（mp.weixin.qq.com），进入“内容与互动 → 发表记录”。",
                f"找到该文章（article_id：{split_post_id(post_id or '')[1] or '见发布记录'}），选择“删除”。",
                "删除不可恢复；完成后在本系统中将该投递标记为“已撤回”。",
            ]
        return super()._manual_instructions(operation, post, post_id)


def _missing_local_images(markup: str, images: tuple[MediaFile, ...]) -> bool:
    """An ``<img>`` of our upload store whose file is not among the post's images."""
    for tag in IMG_TAG_RE.findall(markup):
        src = SRC_ATTR_RE.search(tag)
        ref = html_lib.unescape(src.group(2)) if src else ""
        if is_local_upload(ref) and body_image(ref, images) is None:
            return True
    return False


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _escape(text: str) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


__all__ = ["PUBLISH_STATUS", "WECHAT_CODES", "WeChatAdapter", "split_post_id"]
