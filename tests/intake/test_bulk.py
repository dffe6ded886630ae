"""批量排期: a valid file becomes drafts with media; a bad file is reported row by row and writes
nothing; 5,000 rows run as a background job with progress."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from audit.models import AuditEntry
from auth.models import Role
from common import media as media_store
from common.timefmt import CN_TZ
from intake import bulk
from jobs import JobRun, runner
from moderation.models import Content, ContentKind, ContentStatus, Review
from tests.registry.test_pages import login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 64


def future(days: int = 2, minute: int = 0) -> str:
    at = datetime.now(CN_TZ) + timedelta(days=days)
    return at.replace(hour=9, minute=minute % 60).strftime("%Y-%m-%d %H:%M")


def sheet(rows: list[dict[str, Any]]) -> bytes:
    workbook = Workbook()
    ws = workbook.active
    ws.title = "批量排期"
    ws.append(bulk.HEADERS)
    for row in rows:
        ws.append([row.get(h) for h in bulk.HEADERS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def upload(client: Any, data: bytes, zip_data: bytes | None = None, **form: Any) -> Any:
    body: dict[str, Any] = {"file": (io.BytesIO(data), "排期.xlsx"), **form}
    if zip_data is not None:
        body["media"] = (io.BytesIO(zip_data), "素材.zip")
    return client.post("/api/v1/intake/bulk", data=body, content_type="multipart/form-data")


def contents_count(db_session: Any) -> int:
    return db_session.scalar(sa.select(sa.func.count(Content.id)))


@pytest.fixture
def world(make_unit, make_user, make_account, api_as, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "media"))
    unit = make_unit("批量县融媒体中心")
    sub = make_unit("批量县城关镇", parent=unit)
    other = make_unit("别的县")
    operator = make_user(Role.operator, unit=unit)
    weibo = make_account(unit, "weibo", name="批量县发布微博", credentials=False)
    wechat = make_account(sub, "wechat", name="城关镇公众号", credentials=False)
    foreign = make_account(other, "weibo", name="别的县发布", credentials=False)
    return {
        "unit": unit,
        "operator": operator,
        "api": api_as(operator),
        "weibo": weibo,
        "wechat": wechat,
        "foreign": foreign,
    }


def valid_rows(n: int, world: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        rows.append(
            {
                "标题": f"第{i + 1}条排期稿件",
                "正文": f"这是第{i + 1}条内容。\n\n第二段。",
                "公开属性": "主动公开",
                "稿件类型": "新闻动态",
                "发布账号": f"批量县发布微博、{world['wechat'].id}",
                "微博文案": f"微博版第{i + 1}条",
                "发布时间（北京时间）": future(1 + i % 6, i),
                "图片/附件文件名": "封面.png" if i % 2 == 0 else "封面.png、现场.jpg",
            }
        )
    return rows


def test_template_downloads_with_every_column(world):
    response = world["api"].get("/api/v1/intake/bulk/template.xlsx")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data)).active
    assert [c.value for c in ws[1]] == bulk.HEADERS
    csv_response = world["api"].get("/api/v1/intake/bulk/template.csv")
    assert csv_response.data.decode("utf-8-sig").splitlines()[0].split(",")[0] == "标题"


def test_valid_200_rows_become_200_drafts_with_media(world, db_session, run_jobs):
    before = contents_count(db_session)
    response = upload(world["api"], sheet(valid_rows(200, world)), zip_of({"封面.png": PNG, "图/现场.jpg": JPEG}))
    assert response.status_code == 202, response.json
    assert run_jobs() == ["done"]
    job = db_session.get(JobRun, response.json["id"])
    assert job.status == "done", job.message
    assert job.result["created"] == 200
    created = db_session.scalars(sa.select(Content).where(Content.id.in_(job.result["content_ids"]))).all()
    assert len(created) == 200 and contents_count(db_session) == before + 200
    first = min(created, key=lambda c: c.id)
    assert first.status is ContentStatus.draft
    assert {a.id for a in first.targets} == {world["weibo"].id, world["wechat"].id}
    assert first.overrides == {"weibo": {"text": "微博版第1条"}}
    assert first.media[0]["name"] == "封面.png" and first.media[0]["content_type"] == "image/png"
    assert media_store.load(first.media[0]["sha256"]) == PNG
    assert first.publish_at is not None and first.publish_at > datetime.utcnow()
    assert sum(len(c.media) for c in created) == 300
    audits = db_session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "content:create"))
    assert audits >= 200


def test_submit_mode_sends_each_row_to_the_first_review(world, db_session, run_jobs):
    response = upload(
        world["api"], sheet(valid_rows(3, world)), zip_of({"封面.png": PNG, "现场.jpg": JPEG}), submit="true"
    )
    assert response.status_code == 202
    assert run_jobs() == ["done"]
    job = db_session.get(JobRun, response.json["id"])
    contents = db_session.scalars(sa.select(Content).where(Content.id.in_(job.result["content_ids"]))).all()
    assert {c.status for c in contents} == {ContentStatus.review_1}
    assert (
        db_session.scalar(sa.select(sa.func.count(Review.id)).where(Review.content_id.in_([c.id for c in contents])))
        == 3
    )


def test_invalid_file_reports_every_error_by_row_and_column_and_writes_nothing(world, db_session, run_jobs):
    rows = valid_rows(6, world)
    rows[0]["发布时间（北京时间）"] = "明天上午"  # row 2: bad time
    rows[1]["发布时间（北京时间）"] = "2020-01-01 09:00"  # row 3: past time
    rows[2]["发布账号"] = "不存在的账号"  # row 4: unknown account
    rows[3]["图片/附件文件名"] = "没有的图.png"  # row 5: missing media
    rows[4]["公开属性"] = "公开"  # row 6: wrong 公开属性
    rows[5]["发布账号"] = "别的县发布"  # row 7: an account outside the operator's units
    before = (
        contents_count(db_session),
        db_session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action.like("content:%"))),
    )
    response = upload(world["api"], sheet(rows), zip_of({"封面.png": PNG, "现场.jpg": JPEG}))
    assert response.status_code == 202
    assert run_jobs() == ["failed"]
    job = db_session.get(JobRun, response.json["id"])
    errors = {(e["row"], e["column"]) for e in job.result["errors"]}
    assert errors == {
        (2, "发布时间（北京时间）"),
        (3, "发布时间（北京时间）"),
        (4, "发布账号"),
        (5, "图片/附件文件名"),
        (6, "公开属性"),
        (7, "发布账号"),
    }
    reasons = {(e["row"], e["column"]): e["reason"] for e in job.result["errors"]}
    assert "已过" in reasons[(3, "发布时间（北京时间）")]
    assert "不存在的账号" in reasons[(4, "发布账号")]
    assert "没有的图.png" in reasons[(5, "图片/附件文件名")]
    assert job.message.startswith("导入失败") and "未写入" in job.message
    after = (
        contents_count(db_session),
        db_session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action.like("content:%"))),
    )
    assert after == before


def test_the_job_page_shows_the_row_errors(world, client, db_session, run_jobs, make_user):
    rows = valid_rows(1, world)
    rows[0]["公开属性"] = "半公开"
    response = upload(world["api"], sheet(rows), zip_of({"封面.png": PNG}))
    run_jobs()
    login(client, world["operator"])
    page = client.get(f"/jobs/{response.json['id']}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "公开属性" in text and "半公开" in text


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"../evil.png": PNG}, "路径不安全"),
        ({"脚本.png": b"<script>alert(1)</script>"}, "不是可发布的图片"),
    ],
)
def test_zip_is_checked(world, db_session, run_jobs, files, reason):
    rows = valid_rows(1, world)
    rows[0]["图片/附件文件名"] = ""
    response = upload(world["api"], sheet(rows), zip_of(files))
    assert run_jobs() == ["failed"]
    job = db_session.get(JobRun, response.json["id"])
    assert any(e["column"] == "素材压缩包" and reason in e["reason"] for e in job.result["errors"])


def test_zip_limits(world, db_session, run_jobs, app, monkeypatch):
    monkeypatch.setitem(app.config, "BULK_ZIP_MAX_FILES", 2)
    rows = valid_rows(1, world)
    response = upload(world["api"], sheet(rows), zip_of({"封面.png": PNG, "a.png": PNG, "b.png": PNG}))
    assert run_jobs() == ["failed"]
    job = db_session.get(JobRun, response.json["id"])
    assert any("超过 2 个" in e["reason"] for e in job.result["errors"])


def test_interpretation_rows_link_to_their_policy_row(world, db_session, run_jobs):
    rows = [
        {
            "标题": "关于印发《示范县供暖管理办法》的通知",
            "正文": "全文",
            "稿件类型": "政策文件",
            "发布账号": "批量县发布微博",
        },
        {
            "标题": "关于《示范县供暖管理办法》的解读",
            "正文": "解读",
            "稿件类型": "政策解读",
            "所解读政策（行号）": 2,
            "发布账号": "批量县发布微博",
        },
    ]
    response = upload(world["api"], sheet(rows))
    assert run_jobs() == ["done"]
    job = db_session.get(JobRun, response.json["id"])
    policy_id, interpretation_id = job.result["content_ids"]
    interpretation = db_session.get(Content, interpretation_id)
    assert interpretation.kind is ContentKind.interpretation and interpretation.policy_id == policy_id


def test_same_named_accounts_are_told_apart_by_platform(world, db_session, run_jobs, make_account):
    twin = make_account(world["unit"], "douyin", name="批量县发布微博", credentials=False)
    rows = valid_rows(2, world)
    rows[0]["发布账号"] = "批量县发布微博（抖音）"
    rows[1]["发布账号"] = "批量县发布微博"
    response = upload(world["api"], sheet(rows), zip_of({"封面.png": PNG, "现场.jpg": JPEG}))
    assert run_jobs() == ["failed"]
    job = db_session.get(JobRun, response.json["id"])
    assert [(e["row"], e["column"]) for e in job.result["errors"]] == [(3, "发布账号")]
    assert "（平台）" in job.result["errors"][0]["reason"]
    rows[1]["发布账号"] = "微博:批量县发布微博"
    response = upload(world["api"], sheet(rows), zip_of({"封面.png": PNG, "现场.jpg": JPEG}))
    assert run_jobs() == ["done"]
    first, second = (
        db_session.get(Content, i) for i in db_session.get(JobRun, response.json["id"]).result["content_ids"]
    )
    assert [a.id for a in first.targets] == [twin.id] and [a.id for a in second.targets] == [world["weibo"].id]


def test_reviewer_may_not_import(make_user, api_as, world):
    reviewer = api_as(make_user(Role.reviewer_1, unit=world["unit"]))
    assert upload(reviewer, sheet(valid_rows(1, world))).status_code == 403


def test_5000_rows_run_in_the_background_with_progress(world, db_session, run_jobs, monkeypatch):
    seen: list[tuple[int, int | None, str | None]] = []
    original = runner.Progress.__call__

    def spy(self, done, total=None, message=None, *, force=False):
        seen.append((done, total, message))
        return original(self, done, total, message, force=force)

    monkeypatch.setattr(runner.Progress, "__call__", spy)
    rows = valid_rows(5000, world)
    for row in rows:
        row["图片/附件文件名"] = "封面.png"
    response = upload(world["api"], sheet(rows), zip_of({"封面.png": PNG}))
    assert response.status_code == 202 and response.json["status"] == "queued"
    assert run_jobs() == ["done"]
    job = db_session.get(JobRun, response.json["id"])
    assert job.result["created"] == 5000 and job.progress == job.total
    generating = [d for d, _, m in seen if m and "已生成" in m]
    assert len(generating) >= 50 and generating == sorted(generating)
    assert any(m and "正在校验" in m for _, _, m in seen)
