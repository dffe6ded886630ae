"""Toutiao (头条号): video through the ByteDance open platform; articles are manual.

Video: ``/toutiao/video/upload/`` → ``/toutiao/video/create/`` with ``open_id`` and
``access_token`` in the query string (scope ``toutiao.video.create``); the same video_id
never creates a second item, so create is idempotent. Status and recent posts come from
``/toutiao/video/data/`` and ``/toutiao/video/list/``.

Articles: there is no current public API. With ``options["legacy_articles"] = True`` the
2018 ``mp.toutiao.com/open/new_article_post/`` call is used — **unverified legacy**,
probably partner-only — otherwise ``publish`` raises ``Unsupported`` and the caller offers
``manual_package``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from platforms._bytedance import ByteDanceAdapter, data_of, extract_error, media_id
from platforms.errors import CredentialsError, InvalidRequest, TransientError, Unsupported
from platforms.manual_files import manual_file_steps
from platforms.registry import register
from platforms.text import extract_links, html_to_text
from platforms.types import ContentInput, Credentials, LimitProblem, PublishResult, RenderedPost, RenderResult

TEXT_MAX = 30
ARTICLE_TITLE = (5, 30)
ARTICLE_PREFIX = "article:"


@register
class ToutiaoAdapter(ByteDanceAdapter):
    platform = "toutiao"
    default_base_url = "https://open.snssdk.com"
    base_capabilities = frozenset({"publish", "publish_video", "status", "profile", "recent_posts", "find_published"})
    auth_placement = "query"

    def _capabilities(self) -> frozenset[str]:
        caps = set(super()._capabilities())
        if self._legacy_enabled():
            caps.add("publish_article")
        return frozenset(caps)

    def _legacy_enabled(self) -> bool:
        return bool(self.options.get("legacy_articles")) and bool(self.options.get("legacy_base_url"))

    def _list_path(self) -> str:
        return "/toutiao/video/list/"

    def _data_path(self) -> str:
        return "/toutiao/video/data/"

    # ------------------------------------------------------------------ render

    def render(
        self,
        content: ContentInput,
        overrides: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> RenderResult:
        o = self._override(overrides)
        video = next((m for m in content.media if m.is_video), None)
        problems: list[LimitProblem] = []
        if video is not None:
            text = str(o.get("text") or content.title or content.summary or "").strip()
            if not text:
                problems.append(LimitProblem("text_missing", "text", "头条视频需要标题文案"))
            elif len(text) > TEXT_MAX:
                problems.append(
                    LimitProblem("text_too_long", "text", f"头条视频标题 {len(text)} 字，超过 {TEXT_MAX} 字上限")
                )
            post = RenderedPost(
                platform=self.platform,
                title=text,
                text=text,
                media=(video,),
                cover=content.cover,
                links=extract_links(text),
                canonical_url=content.canonical_url,
                idempotency_key=self._key(content, text, idempotency_key),
                summary=content.summary,
                author=content.author,
                kind="video",
            )
            return RenderResult(post, tuple(problems))
        title = str(o.get("title") or content.title or "").strip()
        low, high = ARTICLE_TITLE
        if not low <= len(title) <= high:
            problems.append(
                LimitProblem("title_length", "title", f"头条号文章标题须为 {low}–{high} 字，当前 {len(title)} 字")
            )
        markup = str(o.get("html") or content.html or "")
        text = html_to_text(markup) or content.text
        post = RenderedPost(
            platform=self.platform,
            title=title,
            text=text,
            html=markup,
            media=tuple(m for m in content.media if m.is_image),
            cover=content.cover,
            links=extract_links(markup, content.text),
            canonical_url=content.canonical_url,
            idempotency_key=self._key(content, text, idempotency_key),
            summary=content.summary,
            author=content.author,
            kind="article",
        )
        return RenderResult(post, tuple(problems))

    # ------------------------------------------------------------------ publish

    def publish(self, creds: Credentials, post: RenderedPost) -> PublishResult:
        video = next((m for m in post.media if m.is_video), None)
        if video is None:
            if self._legacy_enabled():
                return self._publish_legacy_article(creds, post)
            raise Unsupported(
                self.platform,
                "no_article_api",
                "头条号没有公开的文章发布接口，请使用人工发布包在头条号后台发布",
            )
        auth = self._prepare(creds)
        self._acquire(auth.creds, "publish")
        body = self._call(
            auth,
            "POST",
            "/toutiao/video/upload/",
            files={"video": (video.filename, video.data, video.content_type)},
            timeout=self._upload_timeout(),
        )
        video_id = media_id(body, "video")
        if not video_id:
            raise TransientError(self.platform, "invalid_response", "上传视频的响应缺少 video_id")
        created = self._call(
            auth, "POST", "/toutiao/video/create/", json_body={"video_id": video_id, "text": post.text}
        )
        item_id = data_of(created).get("item_id")
        if not item_id:
            raise TransientError(self.platform, "invalid_response", "发布视频的响应缺少 item_id")
        return PublishResult(
            post_id=str(item_id),
            url=None,
            state="pending",
            detail="视频已创建，等待平台审核",
            raw_status="created",
        )

    def _publish_legacy_article(self, creds: Credentials, post: RenderedPost) -> PublishResult:
        """Unverified legacy: ``POST mp.toutiao.com/open/new_article_post/`` (form-encoded)."""
        if not creds.access_token or not creds.client_key:
            raise CredentialsError(self.platform, "missing_credentials", "缺少 access_token 或 client_key")
        self._acquire(creds, "publish")
        base = str(self.options["legacy_base_url"]).rstrip("/")
        resp = self._request(
            "POST",
            f"{base}/open/new_article_post/",
            params={"access_token": creds.access_token, "client_key": creds.client_key},
            data={"title": post.title, "content": post.html, "save": str(self.options.get("legacy_save", 0))},
        )
        body = self._json(resp)
        err = extract_error(body)
        if err is not None or body.get("message") != "success":
            code, text = err if err is not None else (-1, "")
            raise self._error_for(code, text, resp)
        data = body.get("data")
        ident: Any = None
        url = None
        if isinstance(data, Mapping):
            ident = next((data[k] for k in ("pgc_id", "article_id", "item_id", "group_id", "id") if data.get(k)), None)
            url = data.get("url") or data.get("article_url")
        elif data not in (None, ""):
            ident = data
        if ident in (None, ""):
            raise TransientError(self.platform, "invalid_response", "旧版文章接口的响应缺少文章编号")
        return PublishResult(
            post_id=f"{ARTICLE_PREFIX}{ident}",
            url=url,
            state="published",
            detail="旧版文章接口（未经验证）已受理，请在头条号后台核对",
            raw_status="legacy_accepted",
        )

    def status(self, creds: Credentials, post_id: str) -> PublishResult:
        if post_id.startswith(ARTICLE_PREFIX):
            return PublishResult(
                post_id,
                None,
                "published",
                None,
                "旧版文章接口没有状态查询，请在头条号后台核对",
                "legacy_unverifiable",
            )
        if not post_id:
            raise InvalidRequest(self.platform, "missing_post_id", "缺少 item_id")
        return self._video_status(creds, post_id)

    def withdraw(self, creds: Credentials, post_id: str) -> PublishResult:
        raise Unsupported(
            self.platform,
            "no_delete_api",
            "头条号开放平台没有删除接口，请在头条号后台人工删除",
        )

    def _manual_instructions(self, operation: str, post: RenderedPost | None, post_id: str | None) -> list[str]:
        if operation == "withdraw":
            return [
                "登录头条号后台（mp.toutiao.com），进入“作品管理”。",
                f"找到该作品（编号：{post_id or '见发布记录'}），选择删除。",
                "完成后在本系统中将该投递标记为“已撤回”。",
            ]
        steps = [
            "登录头条号后台（mp.toutiao.com），点击“创作 → 文章”。",
            "复制“标题”（5–30 字）填入标题栏，复制“正文”（HTML）粘贴到编辑器，核对图片与格式。",
        ]
        if post is not None:
            steps += manual_file_steps(post)  # 封面/ cropped as chosen, 正文图片/ in body order
        if post is not None and post.canonical_url:
            steps.append(f"在文末注明原文链接：{post.canonical_url}（头条号会去除外链，可写成文字）。")
        steps.append("点击“发布”，审核通过后把文章链接填回本系统，并标记为“已人工发布”。")
        return steps
