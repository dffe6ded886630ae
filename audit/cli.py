"""flask audit verify."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from audit import service

audit_cli = AppGroup("audit", help="审计日志")


@audit_cli.command("verify")
def verify() -> None:
    """校验审计日志哈希链；完整则退出码 0，否则指出第一条异常记录。"""
    count, problem, head = service.verify()
    if problem is not None:
        click.echo(f"审计链异常：第一条异常记录 id={problem.entry_id}：{problem.reason}", err=True)
        raise SystemExit(1)
    click.echo(f"审计链完整：共 {count} 条，链头哈希 {head}")
