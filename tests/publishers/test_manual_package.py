"""The 人工发布包 of a Toutiao article (no public article API): the cover the user cropped, not the
original; the body's inline images in the package, with the body's <img src> pointing at them; the
steps naming the package's files. Through the real download page, from a stored content."""

from __future__ import annotations

import io
import re
import uuid
import zipfile

from PIL import Image

from auth.models import Role
from common import media as media_store
from moderation.models import Content, ContentStatus
from moderation.payload import content_hash
from platforms import channels
from platforms.types import ContentInput, MediaFile
from publishers.models import Delivery, DeliveryStatus
from tests.conftest import PASSWORD


def _png(width: int, height: int, color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def _size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def test_toutiao_manual_package_has_the_cropped_cover_and_the_body_images(
    app, client, db_session, make_unit, make_user, make_account, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path))
    unit = make_unit(f"头条单位{uuid.uuid4().hex[:4]}")
    operator = make_user(Role.operator, unit=unit)
    toutiao = make_account(unit, "toutiao", credentials=False)
    cover, scene, chart = _png(800, 400, "red"), _png(300, 200, "green"), _png(200, 200, "blue")
    cover_sha, scene_sha, chart_sha = (media_store.save(d) for d in (cover, scene, chart))
    body = (
        "<p>会议部署冬季防火工作。</p>"
        f'<p><img src="/contents/uploads/{scene_sha}" alt="会议现场"></p>'
        "<p>各乡镇汇报了进展。</p>"
        f'<p><img src="/contents/uploads/{chart_sha}" alt="进度图"></p>'
        f'<p><img src="/contents/uploads/{scene_sha}" alt="会议现场（再次）"></p>'
    )
    content = Content(
        unit_id=unit.id,
        author_id=operator.id,
        title="示范县召开冬季防火工作会议",
        body_html=body,
        body_text="会议部署冬季防火工作。各乡镇汇报了进展。",
        media=[
            {"name": "cover.png", "content_type": "image/png", "sha256": cover_sha, "crop": "1:1", "role": "image"},
            {"name": "scene.png", "content_type": "image/png", "sha256": scene_sha, "role": "image"},
            {"name": "chart.png", "content_type": "image/png", "sha256": chart_sha, "role": "image"},
        ],
        status=ContentStatus.partly_failed,
    )
    content.targets = [toutiao]
    db_session.add(content)
    db_session.flush()
    content.content_hash = content.approved_hash = content_hash(content)
    content.approved_version = content.version
    delivery = Delivery(
        content_id=content.id,
        version=content.version,
        account_id=toutiao.id,
        status=DeliveryStatus.manual,
        attempts=1,
        idempotency_key=uuid.uuid4().hex,
        content_hash=content.approved_hash,
        last_error_code="manual_publish",
        retryable=False,
    )
    db_session.add(delivery)
    db_session.commit()

    assert client.post("/login", data={"username": operator.username, "password": PASSWORD}).status_code == 302
    response = client.get(f"/publishing/deliveries/{delivery.id}/manual-package")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    assert {"封面/cover.png", "正文图片/01-scene.png", "正文图片/02-chart.png", "正文.html"} <= names

    # the cover as the user chose it: 800×400 center-cropped to 1:1
    assert _size(archive.read("封面/cover.png")) == (400, 400)
    # each body image once, in order of first appearance, the bytes as uploaded
    assert archive.read("正文图片/01-scene.png") == scene and archive.read("正文图片/02-chart.png") == chart

    # the body points at the package's files; nothing points at the server any more
    page = archive.read("正文.html").decode("utf-8")
    assert re.findall(r'src="([^"]+)"', page) == [
        "正文图片/01-scene.png",
        "正文图片/02-chart.png",
        "正文图片/01-scene.png",
    ]
    assert "/contents/uploads/" not in page and "示范县召开冬季防火工作会议" in page

    # the steps name those files
    steps = archive.read("说明.txt").decode("utf-8")
    assert "设置封面：上传发布包中的“封面/cover.png”（已按所选 1:1 比例裁剪）" in steps
    assert "“正文图片/01-scene.png”、“正文图片/02-chart.png”" in steps and "mp.toutiao.com" in steps

    # the JSON API describes the same package
    api = app.test_client()
    api.post("/login", data={"username": operator.username, "password": PASSWORD})
    package = api.get(f"/api/v1/deliveries/{delivery.id}/manual-package").get_json()["package"]
    assert package["cover"]["path"] == "封面/cover.png" and package["cover"]["crop"] == "1:1"
    assert package["cover"]["sha256"] != cover_sha  # the cropped bytes, not the original
    assert [f["path"] for f in package["files"]][:3] == [
        "封面/cover.png",
        "正文图片/01-scene.png",
        "正文图片/02-chart.png",
    ]
    assert 'src="正文图片/02-chart.png"' in package["html"]


def test_a_cover_without_a_crop_and_images_outside_the_body(app):
    with app.app_context():
        adapter = channels.adapter_for("toutiao")
    photo = MediaFile("a/../photo.png", "image/png", _png(300, 100, "red"))
    extra = MediaFile("extra.png", "image/png", _png(100, 100, "blue"))
    post = adapter.render(
        ContentInput(title="示范县召开冬季防火工作会议", html="<p>正文</p>", media=(photo, extra), cover=photo)
    ).post
    files = dict(adapter.manual_files(post))
    assert files["封面/photo.png"] == photo.data  # 原图: unchanged
    assert files["素材/01-photo.png"] == photo.data and files["素材/02-extra.png"] == extra.data
    steps = adapter.manual_package(post)["instructions"]
    assert "设置封面：上传发布包中的“封面/photo.png”。" in steps
    assert "按顺序上传素材：“素材/01-photo.png”、“素材/02-extra.png”。" in steps
