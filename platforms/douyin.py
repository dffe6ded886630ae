"""Douyin (抖音): upload_video (chunked above a threshold) → create_video, or images → create_image_text.

User-scoped calls carry the token in the ``access-token`` header and ``open_id`` in the
query string. Server-side publishing needs the ``video.create.bind`` scope, granted only to
website apps of enterprises, party/government bodies and public institutions. There is no
delete call in the current API, so ``withdraw`` is manual.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from platforms import imagecrop
from platforms._bytedance import ByteDanceAdapter, _Auth, data_of, media_id
from platforms.errors import AdapterError, InvalidRequest, TransientError, Unsupported
from platforms.registry import register
from platforms.text import extract_links, html_to_text, problems_for_sizes
from platforms.types import (
    ContentInput,
    Credentials,
    LimitProblem,
    MediaFile,
    PublishResult,
    RenderedPost,
    RenderResult,
)

VIDEO_MAX = 4 * 1024 * 1024 * 1024
VIDEO_SECONDS = 15 * 60
IMAGE_MAX = 20 * 1024 * 1024
IMAGES_MAX = 30
CAPTION_MAX = 1000  # 文案 (option caption_max_chars)
MB = 1024 * 1024
PREFIX = "/api/douyin/v1/video"
CERT_LABELS_PATH = "/dy_open_api/v1/user/cert_labels_info/"


@register
class DouyinAdapter(ByteDanceAdapter):
    platform = "douyin"
    default_base_url = "https://open.douyin.com"
    base_capabilities = frozenset(
        {"publish", "publish_video", "publish_images", "status", "profile", "recent_posts", "find_published"}
    )
    auth_placement = "header"

    def _list_path(self) -> str:
        return f"{PREFIX}/video_list/"

    def _subject(self, auth: _Auth) -> str | None:
        """The account's 认证标识 text (``data.CertLabelInfo.LabelText`` of 获取用户的抖音身份认证标识,
        ``GET /dy_open_api/v1/user/cert_labels_info/``, scope ``user.cert.labels_info``), taken as the
        认证主体 the way Weibo's ``verified_reason`` is. Best effort: the page does not describe the
        field, the scope needs the office's application; any refusal (28001018 no capability, quota,
        …) or an empty label means "not said" (None), never a failed read.
        ``options["cert_labels"] = False`` skips the call."""
        if not self.options.get("cert_labels", True):
            return None
        try:
            body = self._call(auth, "GET", CERT_LABELS_PATH)
        except AdapterError:
            return None
        info = data_of(body).get("CertLabelInfo")
        text = str(info.get("LabelText") or "").strip() if isinstance(info, Mapping) else ""
        return text or None

    def _data_path(self) -> str:
        return f"{PREFIX}/video_data/"

    # ------------------------------------------------------------------ render

    def render(
        self,
        content: ContentInput,
        overrides: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> RenderResult:
        o = self._override(overrides)
        caption = str(o.get("text") or content.summary or content.title or html_to_text(content.html) or "").strip()
        videos = tuple(m for m in content.media if m.is_video)
        images = tuple(m for m in content.media if m.is_image)
        caption_max = int(self.options.get("caption_max_chars", CAPTION_MAX))
        problems: list[LimitProblem] = []
        if len(caption) > caption_max:
            problems.append(
                LimitProblem("text_too_long", "text", f"抖音文案 {len(caption)} 字，超过 {caption_max} 字上限")
            )
        if videos:
            video = videos[0]
            if len(videos) > 1:
                problems.append(LimitProblem("too_many_videos", "media", "抖音一次只能发布一个视频"))
            if video.size > VIDEO_MAX:
                problems.append(LimitProblem("media_too_large", "media", "视频超过 4 GB 上限"))
            if video.duration is not None and video.duration > VIDEO_SECONDS:
                problems.append(LimitProblem("video_too_long", "media", "视频时长超过 15 分钟上限"))
            media: tuple[MediaFile, ...] = (video,)
            kind = "video"
        elif images:
            if len(images) > IMAGES_MAX:
                problems.append(
                    LimitProblem("too_many_images", "media", f"抖音图文最多 {IMAGES_MAX} 张图片，当前 {len(images)} 张")
                )
            problems += problems_for_sizes(
                images, field_name="media", max_bytes=IMAGE_MAX, allowed_types=None, label="图片"
            )
            media = images
            kind = "images"
        else:
            problems.append(
                LimitProblem("media_missing", "media", "抖音只能发布视频或图文，请至少添加一个视频或一张图片")
            )
            media = ()
            kind = "text"
        post = RenderedPost(
            platform=self.platform,
            title=content.title,
            text=caption,
            media=media,
            cover=content.cover,
            links=extract_links(caption),
            canonical_url=content.canonical_url,
            idempotency_key=self._key(content, caption, idempotency_key),
            summary=content.summary,
            author=content.author,
            kind=kind,
        )
        return RenderResult(post, tuple(problems))

    # ------------------------------------------------------------------ publish

    def _upload_video(self, auth: _Auth, video: MediaFile) -> str:
        threshold = int(self.options.get("chunk_threshold", 128 * MB))
        if video.size > threshold:
            return self._upload_video_chunked(auth, video)
        body = self._call(
            auth,
            "POST",
            f"{PREFIX}/upload_video/",
            files={"video": (video.filename, video.data, video.content_type)},
            timeout=self._upload_timeout(),
        )
        return self._video_id(body)

    def _upload_video_chunked(self, auth: _Auth, video: MediaFile) -> str:
        chunk = max(int(self.options.get("chunk_size", 20 * MB)), 1)
        init = self._call(auth, "POST", f"{PREFIX}/init_video_part_upload/", json_body={})
        upload_id = data_of(init).get("upload_id")
        if not upload_id:
            raise TransientError(self.platform, "invalid_response", "分片上传初始化的响应缺少 upload_id")
        for number, start in enumerate(range(0, video.size, chunk), start=1):
            self._call(
                auth,
                "POST",
                f"{PREFIX}/upload_video_part/",
                params={"upload_id": upload_id, "part_number": number},
                files={"video": (video.filename, video.data[start : start + chunk], video.content_type)},
                timeout=self._upload_timeout(),
            )
        done = self._call(
            auth, "POST", f"{PREFIX}/complete_video_part_upload/", params={"upload_id": upload_id}, json_body={}
        )
        return self._video_id(done)

    def _video_id(self, body: Mapping[str, Any]) -> str:
        ident = media_id(body, "video")
        if not ident:
            raise TransientError(self.platform, "invalid_response", "上传视频的响应缺少 video_id")
        return ident

    def _upload_image(self, auth: _Auth, image: MediaFile) -> str:
        body = self._call(
            auth,
            "POST",
            f"{PREFIX}/upload_image/",
            files={"image": (image.filename, image.data, image.content_type)},
            timeout=self._upload_timeout(),
        )
        ident = media_id(body, "image")
        if not ident:
            raise TransientError(self.platform, "invalid_response", "上传图片的响应缺少 image_id")
        return ident

    def publish(self, creds: Credentials, post: RenderedPost) -> PublishResult:
        video = next((m for m in post.media if m.is_video), None)
        images = [m for m in post.media if m.is_image]
        if video is None and not images:
            raise InvalidRequest(self.platform, "media_missing", "抖音只能发布视频或图文")
        auth = self._prepare(creds)
        self._acquire(auth.creds, "publish")
        if video is not None:
            video_id = self._upload_video(auth, video)
            body = self._call(
                auth, "POST", f"{PREFIX}/create_video/", json_body={"video_id": video_id, "text": post.text}
            )
        else:
            # Only the cover (the first image) carries a crop (issue 20); the others go as they are.
            image_ids = [self._upload_image(auth, imagecrop.cropped_cover(image)) for image in images]
            body = self._call(
                auth,
                "POST",
                f"{PREFIX}/create_image_text/",
                json_body={"image_list": image_ids, "text": post.text},
            )
        item_id = data_of(body).get("item_id")
        if not item_id:
            raise TransientError(self.platform, "invalid_response", "发布作品的响应缺少 item_id")
        return PublishResult(
            post_id=str(item_id),
            url=None,
            state="pending",
            detail="作品已创建，审核通过前仅作者可见",
            raw_status="created",
        )

    def status(self, creds: Credentials, post_id: str) -> PublishResult:
        return self._video_status(creds, post_id)

    def withdraw(self, creds: Credentials, post_id: str) -> PublishResult:
        raise Unsupported(
            self.platform,
            "2190004",
            "抖音开放平台当前没有删除作品的接口，请在抖音 App 或创作者中心人工删除",
        )

    def _manual_instructions(self, operation: str, post: RenderedPost | None, post_id: str | None) -> list[str]:
        if operation == "withdraw":
            return [
                "打开抖音 App 或抖音创作者服务中心（creator.douyin.com），登录该政务号。",
                f"在作品管理中找到该作品（item_id：{post_id or '见发布记录'}），选择删除或设为私密。",
                "完成后在本系统中将该投递标记为“已撤回”。",
            ]
        return super()._manual_instructions(operation, post, post_id)
