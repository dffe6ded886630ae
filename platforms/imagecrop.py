"""Center crop of a cover image to the ratio the operator chose (``"2.35:1"``, ``"1:1"``, ``"16:9"``).

Applied where an adapter uploads the cover; the format (JPEG/PNG) is kept and the image is never
scaled up — only the surplus width or height is cut away, evenly on both sides.
"""

from __future__ import annotations

import io
from dataclasses import replace

from PIL import Image

from platforms.types import MediaFile

_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}


def ratio_of(crop: str) -> float:
    width, height = crop.split(":", 1)
    return float(width) / float(height)


def crop_box(width: int, height: int, ratio: float) -> tuple[int, int, int, int]:
    """The centered box of ``ratio`` (width/height) inside a ``width`` × ``height`` image."""
    if width / height > ratio:
        new_width = max(1, round(height * ratio))
        left = (width - new_width) // 2
        return left, 0, left + new_width, height
    new_height = max(1, round(width / ratio))
    top = (height - new_height) // 2
    return 0, top, width, top + new_height


def center_crop(data: bytes, crop: str) -> bytes:
    """``data`` (JPEG or PNG) center-cropped to ``crop``; other formats are returned unchanged."""
    with Image.open(io.BytesIO(data)) as image:
        fmt = image.format or ""
        if fmt not in _FORMATS:
            return data
        box = crop_box(image.width, image.height, ratio_of(crop))
        if box == (0, 0, image.width, image.height):
            return data
        cropped = image.crop(box)
        out = io.BytesIO()
        if fmt == "JPEG":
            cropped.save(out, format="JPEG", quality=92)
        else:
            cropped.save(out, format="PNG")
        return out.getvalue()


def cropped_cover(cover: MediaFile) -> MediaFile:
    """``cover`` with its bytes cropped to its ``crop`` (unchanged without one)."""
    if not cover.crop or not cover.is_image:
        return cover
    return replace(cover, data=center_crop(cover.data, cover.crop))
