"""``flask reposts``: run the completion sweep now (what the scheduler does every REPOST_SWEEP_MINUTES)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from extensions import db
from reposts import completion


@click.group("reposts")
def reposts_cli() -> None:
    """转载任务：立即核对完成情况。"""


@reposts_cli.command("sweep")
@click.option("--task", "task_ids", type=int, multiple=True, help="只核对这些任务（可重复）；默认全部未完成的")
@with_appcontext
def sweep_command(task_ids: tuple[int, ...]) -> None:
    """核对发布记录与巡检发现的帖子，标记已完成、逾期完成和逾期未完成。"""
    result = completion.sweep(task_ids=list(task_ids) or None)
    db.session.commit()
    click.echo(f"新完成 {result.done} 项，逾期完成 {result.done_late} 项，新增逾期未完成 {result.overdue} 项")
