"""The files of a 人工发布包 and the names its steps use.

A platform without a publishing API (Toutiao articles, Douyin image posts…) gets a package the
operator carries to the platform's back office by hand. Its files are laid out as:

* ``封面/<name>`` — the cover **as the operator chose it**: center-cropped to the chosen ratio
  (``platforms.imagecrop``, the same crop the API uploads of WeChat, Weibo and Douyin make);
* ``正文图片/NN-<name>`` — each image placed in the body, in order of first appearance, once; the
  package's body (``html``, and ``正文.html`` in the zip) has each ``<img src>`` rewritten to that
  file, so the body opened from the unpacked package shows its images and says which goes where;
* ``素材/NN-<name>`` — the post's other media (images not placed in the body, video).

:func:`layout` names the files without touching their bytes (for the steps); :func:`package_files`
gives the bytes too (the cover cropped). File names are reduced to their last path segment.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from platforms.imagecrop import cropped_cover
from platforms.text import IMG_TAG_RE, SRC_ATTR_RE, body_image, body_images
from platforms.types import MediaFile, RenderedPost

COVER_DIR = "封面"
INLINE_DIR = "正文图片"
MEDIA_DIR = "素材"
_UNSAFE = re.compile(r"[\x00-\x1f:*?\"<>|]")


@dataclass(frozen=True)
class PackageFile:
    path: str  # inside the package
    role: str  # cover | inline | media
    media: MediaFile

    def describe(self) -> dict[str, Any]:
        return {**self.media.describe(), "path": self.path, "role": self.role, "crop": self.media.crop}


def _safe(name: str) -> str:
    leaf = PurePosixPath(name.replace("\\", "/")).name
    return _UNSAFE.sub("_", leaf).strip(". ") or "file"


def layout(post: RenderedPost) -> list[PackageFile]:
    """The package's files, named, in order: cover, body images, other media (original bytes)."""
    files: list[PackageFile] = []
    if post.cover is not None:
        files.append(PackageFile(f"{COVER_DIR}/{_safe(post.cover.filename)}", "cover", post.cover))
    placed = body_images(post.html, post.media)
    files += [PackageFile(f"{INLINE_DIR}/{n:02d}-{_safe(m.filename)}", "inline", m) for n, m in enumerate(placed, 1)]
    seen = {m.sha256 for m in placed}
    others: list[MediaFile] = []
    for m in post.media:
        if m.sha256 not in seen:
            seen.add(m.sha256)
            others.append(m)
    files += [PackageFile(f"{MEDIA_DIR}/{n:02d}-{_safe(m.filename)}", "media", m) for n, m in enumerate(others, 1)]
    return files


def package_files(post: RenderedPost) -> list[PackageFile]:
    """:func:`layout` with the bytes that go into the package: the cover cropped as chosen."""
    return [PackageFile(f.path, f.role, cropped_cover(f.media)) if f.role == "cover" else f for f in layout(post)]


def package_html(post: RenderedPost, files: list[PackageFile] | None = None) -> str:
    """The body with each placed image's ``src`` pointing at its file in the package."""
    by_sha = {f.media.sha256: f.path for f in (files or layout(post)) if f.role == "inline"}

    def rewrite(match: re.Match[str]) -> str:
        tag = match.group(0)
        src = SRC_ATTR_RE.search(tag)
        if src is None:
            return tag
        image = body_image(html_lib.unescape(src.group(2)), post.media)
        if image is None or image.sha256 not in by_sha:
            return tag
        return tag[: src.start(2)] + html_lib.escape(by_sha[image.sha256], quote=True) + tag[src.end(2) :]

    return IMG_TAG_RE.sub(rewrite, post.html or "")


def manual_file_steps(post: RenderedPost) -> list[str]:
    """The steps about the package's files, naming them as the package does."""
    files = layout(post)
    steps: list[str] = []
    cover = next((f for f in files if f.role == "cover"), None)
    if cover is not None:
        cropped = f"（已按所选 {cover.media.crop} 比例裁剪）" if cover.media.crop and cover.media.is_image else ""
        steps.append(f"设置封面：上传发布包中的“{cover.path}”{cropped}。")
    inline = [f.path for f in files if f.role == "inline"]
    if inline:
        steps.append(
            "正文图片需在编辑器中按位置重新上传：" + "、".join(f"“{p}”" for p in inline) + "（发布包中的“正文.html”"
            "用浏览器打开即可看到每张图片的位置）。"
        )
    others = [f.path for f in files if f.role == "media"]
    if others:
        steps.append("按顺序上传素材：" + "、".join(f"“{p}”" for p in others) + "。")
    return steps
