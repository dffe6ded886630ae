"""Media retention: remove uploaded files nothing refers to once they are old enough.

A stored file (common/media.py, named by its SHA-256) is *referenced* while any content's media
list, any saved content version (what reviewers diff and what was approved), any background
job (its uploaded input or its result file) or any 整改 feedback (its evidence files) names it.
Everything else older than
``MEDIA_RETENTION_DAYS`` — uploads abandoned in the editor, replaced attachments — is removed.

Runs daily from the scheduler (``media-prune``, which queues :func:`prune_task`) and on demand
with ``flask media prune [--dry-run]``. Each run that removes something writes one audit entry
``media:prune`` with the count, bytes and file names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click
import sqlalchemy as sa
from celery import shared_task
from flask.cli import with_appcontext

from audit import service as audit
from common import media
from extensions import db
from jobs import JobRun
from moderation.models import Content, ContentVersion
from oversight.workorders.models import WorkOrderEvent
from tasks.scheduler import get_app

DAY_SECONDS = 86_400


def _hashes(value: Any) -> Iterator[str]:
    """Every SHA-256-looking string anywhere in a JSON value (keys ``sha256`` or not)."""
    if isinstance(value, str):
        if media.is_sha256(value):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _hashes(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _hashes(item)


def referenced_media() -> set[str]:
    """The stored files something still needs (see module doc)."""
    found: set[str] = set()
    columns = (Content.media, ContentVersion.snapshot, JobRun.params, JobRun.result, WorkOrderEvent.evidence)
    for column in columns:
        for value in db.session.execute(sa.select(column).execution_options(yield_per=1000)).scalars():
            found.update(_hashes(value))
    return found


def prune_media(*, dry_run: bool = False, days: int | None = None, actor_label: str = "system:scheduler") -> dict:
    """Remove (or with ``dry_run`` only list) unreferenced files older than the retention age.

    Flushes the audit entry; the caller commits.
    """
    days = media.retention_days() if days is None else days
    result = media.prune(referenced_media(), days * DAY_SECONDS, dry_run=dry_run)
    summary = {
        "removed": len(result.removed),
        "bytes": result.bytes,
        "kept_referenced": result.kept_referenced,
        "kept_recent": result.kept_recent,
        "retention_days": days,
        "dry_run": dry_run,
    }
    if result.removed and not dry_run:
        audit.record(
            "media:prune",
            object_type="media",
            after={**summary, "files": result.removed},
            actor_label=actor_label,
        )
    return {**summary, "files": result.removed}


@shared_task(name="tasks.media.prune")
def prune_task() -> dict:
    summary = prune_media()
    summary.pop("files")
    return summary


def run_prune() -> None:
    """Scheduled daily (tasks/jobs.py): queue the prune on the worker."""

    get_app()  # configures the Celery app of this process
    prune_task.delay()


@click.group("media")
def media_cli() -> None:
    """上传素材：清理无引用的旧文件。"""


@media_cli.command("prune")
@click.option("--dry-run", is_flag=True, help="只列出将删除的文件，不删除")
@click.option("--days", type=click.IntRange(min=0), default=None, help="保留天数（默认 MEDIA_RETENTION_DAYS）")
@with_appcontext
def prune_command(dry_run: bool, days: int | None) -> None:
    """删除没有任何稿件、稿件版本或后台任务引用、且超过保留期的素材文件。"""
    summary = prune_media(dry_run=dry_run, days=days, actor_label="system:cli")
    db.session.commit()
    for name in summary["files"]:
        click.echo(("将删除 " if dry_run else "已删除 ") + name)
    verb = "将删除" if dry_run else "已删除"
    click.echo(
        f"{verb} {summary['removed']} 个文件（{summary['bytes']} 字节）；"
        f"保留有引用的 {summary['kept_referenced']} 个、保留期（{summary['retention_days']} 天）内的 "
        f"{summary['kept_recent']} 个"
    )
