"""The cover's crop (issue 20): center crop with Pillow where the cover is uploaded; against the
sandbox over real HTTP for WeChat's thumb material (the stored bytes are opened and measured)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from platforms import ContentInput, MediaFile
from platforms.imagecrop import center_crop, cropped_cover
from tests.platforms import test_adapters_contract as contract
from tests.platforms.test_adapters_contract import CANONICAL, Simulator, poll

#: The contract tests' sandbox server and per-test reset, used here by name.
sandbox_url = contract.sandbox_url
sim = contract.sim


def picture(width: int, height: int, fmt: str = "JPEG") -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    # a blue band in the middle: the center crop keeps it, the sides are cut
    image.paste((30, 30, 200), (width // 2 - 10, height // 2 - 10, width // 2 + 10, height // 2 + 10))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def size_of(data: bytes) -> tuple[int, int, str]:
    with Image.open(io.BytesIO(data)) as image:
        return image.width, image.height, image.format or ""


@pytest.mark.parametrize(
    ("crop", "source", "expected"),
    [
        ("2.35:1", (900, 600), (900, 383)),  # too tall: height cut
        ("1:1", (900, 600), (600, 600)),  # too wide: width cut
        ("16:9", (400, 800), (400, 225)),
        ("2.35:1", (940, 400), (940, 400)),  # already that ratio: untouched
    ],
)
def test_center_crop_keeps_the_format_and_never_upscales(crop, source, expected):
    for fmt in ("JPEG", "PNG"):
        data = picture(*source, fmt=fmt)
        out = center_crop(data, crop)
        assert size_of(out) == (*expected, fmt)
        if expected == source:
            assert out == data
        with Image.open(io.BytesIO(out)) as image:
            assert image.convert("RGB").getpixel((expected[0] // 2, expected[1] // 2))[2] > 150  # the center kept


def test_other_formats_and_covers_without_crop_are_left_alone():
    gif = io.BytesIO()
    Image.new("RGB", (90, 30)).save(gif, format="GIF")
    assert center_crop(gif.getvalue(), "1:1") == gif.getvalue()
    cover = MediaFile("c.jpg", "image/jpeg", picture(300, 200))
    assert cropped_cover(cover) is cover


@pytest.mark.parametrize(("crop", "expected"), [("2.35:1", (900, 383)), ("1:1", (600, 600)), (None, (900, 600))])
def test_wechat_uploads_the_cover_cropped_to_the_chosen_ratio(sim: Simulator, crop, expected) -> None:
    creds = sim.account("wechat")
    adapter = sim.adapter("wechat")
    cover = MediaFile("封面.jpg", "image/jpeg", picture(900, 600), crop=crop)
    content = ContentInput(
        title="市政府召开常务会议",
        html="<p>会议研究部署近期重点工作。</p>",
        summary="常务会议研究部署近期重点工作",
        media=(cover,),
        cover=cover,
        canonical_url=CANONICAL,
        author="市政府办公室",
    )
    rendered = adapter.render(content)
    assert rendered.ok, rendered.problems
    submitted = adapter.publish(creds, rendered.post)
    assert poll(adapter, creds, submitted.post_id).state == "published"

    listed = sim.http.get(sim.base + "/_sandbox/media", params={"platform": "wechat", "kind": "thumb"}, timeout=10)
    (thumb,) = listed.json()["media"]
    stored = sim.http.get(f"{sim.base}/_sandbox/media/{thumb['media_id']}", timeout=10)
    assert stored.status_code == 200
    assert size_of(stored.content) == (*expected, "JPEG")
    (post,) = sim.posts("wechat")
    assert post["extra"]["articles"][0]["thumb_media_id"] == thumb["media_id"]


def test_weibo_and_douyin_upload_the_first_image_cropped(sim: Simulator) -> None:
    cover = MediaFile("封面.jpg", "image/jpeg", picture(900, 600), crop="16:9")
    other = MediaFile("其他.png", "image/png", picture(300, 600, fmt="PNG"))
    content = ContentInput(
        title="图说政务", text="示范县部署冬季防火工作", media=(cover, other), cover=cover, canonical_url=CANONICAL
    )
    for platform in ("weibo", "douyin"):
        creds = sim.account(platform)
        adapter = sim.adapter(platform)
        rendered = adapter.render(content)
        assert rendered.ok, rendered.problems
        adapter.publish(creds, rendered.post)
        listed = sim.http.get(sim.base + "/_sandbox/media", params={"platform": platform}, timeout=10)
        sizes = sorted(
            size_of(sim.http.get(f"{sim.base}/_sandbox/media/{m['media_id']}", timeout=10).content)[:2]
            for m in listed.json()["media"]
        )
        # the cover cut to 16:9; the second image (Douyin only; Weibo sends one picture) untouched
        assert sizes == ([(300, 600), (900, 506)] if platform == "douyin" else [(900, 506)]), platform
