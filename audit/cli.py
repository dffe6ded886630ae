"""flask audit verify [--expect-head HASH] [--expect-count N]."""

from __future__ import annotations

import re

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from audit import service
from audit.models import AuditEntry
from extensions import db

audit_cli = AppGroup("audit", help="审计日志")

_HASH = re.compile(r"[0-9a-f]{64}")


def _hash(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if not _HASH.fullmatch(value):
        raise click.BadParameter("须为 64 位十六进制哈希（audit verify 打印的链头哈希）/ must be a 64-digit hex hash")
    return value


def _head_problem(expected: str, head: str) -> str:
    """Why the chain's head is not the saved one: rows after it removed, or rows added since."""
    found = db.session.scalar(sa.select(AuditEntry.id).where(AuditEntry.hash == expected))
    if found is None:
        return (
            f"链头哈希不符：期望 {expected}，实际 {head}；期望的记录已不在链中（最新记录被删除或篡改）"
            f" / head hash mismatch: expected {expected}, found {head}; the expected entry is no longer"
            " in the chain (newest entries removed or altered)"
        )
    newer = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.id > found)) or 0
    return (
        f"链头哈希不符：期望 {expected}（id={found}），实际 {head}；其后又有 {newer} 条记录"
        f" / head hash mismatch: expected {expected} (id={found}), found {head}; {newer} entries follow it"
    )


@audit_cli.command("verify")
@click.option(
    "--expect-head",
    metavar="HASH",
    callback=_hash,
    help="上次打印的链头哈希；不一致则失败（可发现最新记录被删除）/ the head hash printed earlier; fail if it differs",
)
@click.option(
    "--expect-count",
    metavar="N",
    type=click.IntRange(min=0),
    help="期望的记录条数；不一致则失败 / the expected number of entries; fail if it differs",
)
def verify(expect_head: str | None, expect_count: int | None) -> None:
    """校验审计日志哈希链；完整则退出码 0，否则指出第一条异常记录。

    哈希链本身发现不了“删除最新几条”：保存上次打印的链头哈希和条数，用 --expect-head / --expect-count 核对。
    """
    count, problem, head = service.verify()
    problems: list[str] = []
    if problem is not None:
        problems.append(f"审计链异常：第一条异常记录 id={problem.entry_id}：{problem.reason}")
        # verify() stops at the first problem; the expectations are about the table as it is.
        count = db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) or 0
        head = db.session.scalar(sa.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or service.GENESIS
    if expect_head is not None and head != expect_head:
        problems.append(_head_problem(expect_head, head))
    if expect_count is not None and count != expect_count:
        problems.append(
            f"审计记录条数不符：期望 {expect_count} 条，实际 {count} 条"
            f" / entry count mismatch: expected {expect_count}, found {count}"
        )
    if problems:
        for line in problems:
            click.echo(line, err=True)
        raise SystemExit(1)
    click.echo(f"审计链完整：共 {count} 条，链头哈希 {head}")
