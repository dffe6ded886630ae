"""Benchmark of 批量排期 (intake/bulk.py): rows per second of a bulk import (prints figures, asserts nothing).

    .venv/bin/python bench/bulk_schedule.py                        # 5,000 rows, SQLite
    .venv/bin/python bench/bulk_schedule.py --rows 2000 --backend postgresql

A fresh database (SQLite: a temporary file; PostgreSQL: a new database on 127.0.0.1:5432,
dropped afterwards) is migrated with Alembic and given one unit, an operator and four active
accounts. The sheet has ``--rows`` rows (two targets, a per-platform text, a publish time in
Beijing time and one or two images each) and a zip of two images. Figures, all in this one run:

- the baseline: reading and checking the whole file (``BulkSchedule.validate``: the sheet, the
  zip, every cell, the accounts and the media names), rows/s;
- the import as the worker runs it (``jobs.runner.run`` of a ``bulk_schedule`` job: validate,
  store the media, ``create_content`` per row, commit), rows/s, and its ratio to the baseline;
- the same with ``submit`` (each draft also submitted to 初审: checks, version snapshot).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import zipfile
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 16


@contextmanager
def database(backend: str, tmp: Path) -> Any:
    if backend == "postgresql":
        from devkit import processes

        with processes.fresh_postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp / 'bench.sqlite'}"


def sheet(rows: int, names: list[str]) -> bytes:
    from common.timefmt import CN_TZ
    from intake.bulk import HEADERS

    workbook = Workbook()
    ws = workbook.active
    ws.title = "批量排期"
    ws.append(HEADERS)
    start = datetime.now(CN_TZ).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
    for i in range(rows):
        at = start + timedelta(days=i % 7, minutes=(i * 7) % 600)
        values = {
            "标题": f"示范县本周工作动态第{i + 1}条",
            "正文": f"第{i + 1}条：全县各项工作有序推进。\n\n如有问题请拨打12345热线。",
            "公开属性": "主动公开",
            "稿件类型": "新闻动态",
            "发布账号": f"{names[i % 4]}、{names[(i + 1) % 4]}",
            "微博文案": f"【示范县】本周工作动态第{i + 1}条",
            "发布时间（北京时间）": at.strftime("%Y-%m-%d %H:%M"),
            "图片/附件文件名": "封面.png" if i % 2 else "封面.png、现场.jpg",
        }
        ws.append([values.get(h) for h in HEADERS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def media_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("封面.png", PNG)
        archive.writestr("图片/现场.jpg", JPEG)
    return out.getvalue()


def run(args: argparse.Namespace, tmp: Path) -> None:
    from flask_migrate import upgrade

    from auth.models import Role, User, UserRole
    from auth.service import hash_password
    from devkit.apps import make_test_app
    from extensions import db
    from intake import bulk
    from intake import jobs as intake_jobs
    from jobs import create, runner
    from registry.models import Account, AccountStatus, Platform
    from registry.units import create_unit

    with database(args.backend, tmp) as url:
        app = make_test_app(url, MEDIA_DIR=str(tmp / "media"), BULK_MAX_ROWS=max(10_000, args.rows))
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            unit = create_unit({"name": "示范县融媒体中心"})
            user = User(
                username="bench-operator",
                display_name="批量排期测试",
                unit_id=unit.id,
                password_hash=hash_password("x" * 12),
            )
            user.role_rows = [UserRole(role=Role.operator)]
            db.session.add(user)
            names = []
            for platform in ("weibo", "wechat", "douyin", "toutiao"):
                account = Account(
                    platform=Platform(platform),
                    platform_uid=f"bench-{platform}",
                    name=f"示范县发布-{platform}",
                    unit_id=unit.id,
                    status=AccountStatus.active,
                    verified_subject=unit.name,
                )
                db.session.add(account)
                names.append(account.name)
            db.session.commit()
            user_id = user.id

            data, archive = sheet(args.rows, names), media_zip()
            print(
                f"backend {args.backend}; {args.rows} rows; sheet {len(data) // 1024} KB, zip {len(archive) // 1024} KB"
            )

            actor = db.session.get(User, user_id)
            started = time.perf_counter()
            rows = bulk.BulkSchedule(actor).validate(data, archive)
            baseline = time.perf_counter() - started
            assert len(rows) == args.rows
            db.session.rollback()
            print(f"baseline  parse + validate      {args.rows / baseline:9.0f} rows/s  ({baseline:6.2f} s)")

            figures = {}
            for label, submit in (("import → drafts", False), ("import → 初审", True)):
                if submit and args.skip_submit:
                    continue
                actor = db.session.get(User, user_id)
                params = intake_jobs.start_params(
                    "bench.xlsx", submit=submit, dry_run=False, zip_data=archive, zip_name="m.zip"
                )
                job = create(intake_jobs.BULK_SCHEDULE, actor, params, upload=data)
                db.session.commit()
                started = time.perf_counter()
                outcome = runner.run(job.id)
                elapsed = time.perf_counter() - started
                job = db.session.get(type(job), job.id)
                assert outcome == "done", job.message
                assert job.result["created"] == args.rows
                figures[label] = elapsed
                print(
                    f"{label:<28}{args.rows / elapsed:9.0f} rows/s  ({elapsed:6.2f} s)  "
                    f"{elapsed / baseline:5.1f}× the baseline's time"
                )
            db.session.remove()
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--skip-submit", action="store_true", help="only the draft import")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(args, Path(tmp))


if __name__ == "__main__":
    main()
