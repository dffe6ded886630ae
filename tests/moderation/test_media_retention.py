"""Uploads: size and count limits, content titles without control characters, and retention."""

from __future__ import annotations

import io
import os
import time

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

import jobs
from audit.models import AuditEntry
from common import media
from registry.jobs import LEDGER_IMPORT
from tasks import jobs as scheduled
from tasks.media import prune_media
from tests.moderation.test_contents_api import _create

OLD = time.time() - 40 * 86_400  # older than the default 30-day retention


def post_file(client, data: bytes, name: str = "a.txt", mime: str = "text/plain"):
    # Encoded here, in memory: the test client spools bodies over 500 KB to a file it never closes.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), name, content_type=mime)})
    return client.post("/api/v1/media", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_upload_over_the_size_limit_is_refused(app, api_as, team, media_dir, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_MAX_MB", 1)
    client = api_as(team.operator)
    too_big = post_file(client, b"x" * (1024 * 1024 + 1))
    assert too_big.status_code == 413
    assert too_big.json["error"]["code"] == "payload_too_large"
    assert "1 MB" in too_big.json["error"]["message"]
    assert not media_dir.exists() or not any(media_dir.iterdir())  # nothing was stored
    assert post_file(client, b"x" * (1024 * 1024)).status_code == 201


def test_too_many_media_per_content_are_refused(app, api_as, team, media_dir, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_MAX_PER_CONTENT", 2)
    client = api_as(team.operator)
    items = []
    for i in range(3):
        stored = post_file(client, f"附件{i}".encode(), f"{i}.txt").json
        items.append({k: stored[k] for k in ("name", "content_type", "sha256")})
    refused = _create(client, team, media=items)
    assert refused.status_code == 422
    assert "最多 2 个" in refused.json["error"]["details"]["media"][0]
    assert _create(client, team, media=items[:2]).status_code == 201


@pytest.mark.parametrize("title", ["标题\x00", "标题\x1b[2J", "第一行\n第二行", "隐藏\u2028换行"])
def test_content_title_with_control_characters_is_refused(api_as, team, title):
    response = _create(api_as(team.operator), team, title=title)
    assert response.status_code == 422
    assert "控制字符" in response.json["error"]["details"]["title"][0]


# ----------------------------------------------------------------------------- retention


@pytest.fixture
def stored(app, media_dir, make_content, team, db_session):
    """Files: used by a content, a job's input, a job's result; unreferenced old; unreferenced new; a stale temp."""

    def put(data: bytes, *, old: bool) -> str:
        sha = media.save(data)
        if old:
            os.utime(media_dir / sha, (OLD, OLD))
        return sha

    used = put(b"content image", old=True)
    make_content(media=[{"name": "a.png", "content_type": "image/png", "sha256": used}])
    job_input = jobs.create(LEDGER_IMPORT, team.operator, {"dry_run": True}, upload=b"job upload")
    os.utime(media_dir / job_input.params["sha256"], (OLD, OLD))
    result = put(b"job result", old=True)
    job_input.result = {"file": {"sha256": result, "filename": "x.xlsx"}}
    orphan_old = put(b"abandoned upload", old=True)
    orphan_new = put(b"fresh upload", old=False)
    temp = media_dir / (("f" * 64) + ".tmp")
    temp.write_bytes(b"half written")
    os.utime(temp, (OLD, OLD))
    db_session.flush()
    return {
        "kept": {used, job_input.params["sha256"], result, orphan_new},
        "removed": {orphan_old, temp.name},
    }


def test_prune_removes_only_unreferenced_old_files(app, stored, media_dir, db_session):

    dry = prune_media(dry_run=True)
    assert set(dry["files"]) == stored["removed"] and dry["dry_run"]
    assert {p.name for p in media_dir.iterdir()} == stored["kept"] | stored["removed"]  # nothing removed yet

    summary = prune_media()
    assert set(summary["files"]) == stored["removed"] and summary["removed"] == 2
    assert {p.name for p in media_dir.iterdir()} == stored["kept"]
    db_session.commit()  # audit entries are chained at commit
    entry = db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "media:prune")).one()
    assert entry.after["removed"] == 2 and set(entry.after["files"]) == stored["removed"]


def test_saving_an_old_file_again_restarts_its_age(app, media_dir):
    with app.app_context():
        sha = media.save(b"uploaded twice")
        os.utime(media_dir / sha, (OLD, OLD))
        media.save(b"uploaded twice")
        assert media.prune(set(), 30 * 86_400).removed == []


def test_prune_cli_and_schedule(app, stored, media_dir, db_session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["media", "prune", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "将删除 2 个文件" in result.output
    assert {p.name for p in media_dir.iterdir()} == stored["kept"] | stored["removed"]
    result = runner.invoke(args=["media", "prune"])
    assert result.exit_code == 0, result.output
    assert "已删除 2 个文件" in result.output
    assert {p.name for p in media_dir.iterdir()} == stored["kept"]
    periodic = {job_id: (func, trigger) for job_id, func, trigger in scheduled.periodic_jobs(app)}
    assert periodic["media-prune"][0] == "tasks.media:run_prune"
    assert periodic["media-prune"][1]["trigger"] == "cron"
