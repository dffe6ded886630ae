"""flask registry …: import/export the 台账 (CSV or XLSX by extension), template, overdue flags."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from auth.models import User
from common.errors import Invalid
from extensions import db
from registry import importexport, ledger, recount
from registry.errors import LedgerImportError
from registry.models import AccountStatus, Platform


@click.group("registry")
def registry_cli() -> None:
    """台账：导入、导出、模板、备案逾期标记、按节假日重算备案时限。"""


def _user(username: str | None) -> User | None:
    if not username:
        return None
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.BadParameter(f"用户不存在：{username}", param_hint="--user")
    return user


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise click.BadParameter("文件扩展名须为 .xlsx 或 .csv", param_hint="FILE")
    return suffix[1:]


@registry_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "username", help="以该用户身份导入（按其角色和单位范围）；默认系统身份，范围为全部单位")
@click.option("--dry-run", is_flag=True, help="只校验，不写入")
@with_appcontext
def import_command(file: Path, username: str | None, dry_run: bool) -> None:
    """导入台账 FILE（.xlsx 或 .csv）。任何一行有错误则不写入，逐行列出错误并以非零状态退出。"""
    _format(file)
    actor = _user(username)
    try:
        report = importexport.import_ledger(file.read_bytes(), actor, source=file.name, dry_run=dry_run)
    except LedgerImportError as exc:
        db.session.rollback()
        click.echo(exc.message, err=True)
        for error in exc.errors:
            column = f"[{error['column']}]" if error["column"] else ""
            click.echo(f"  第 {error['row']} 行{column}：{error['reason']}", err=True)
        sys.exit(1)
    if not dry_run:
        db.session.commit()
    click.echo(
        f"{'校验通过（未写入）' if dry_run else '导入完成'}：共 {report.rows} 行，新建 {report.created}，"
        f"更新 {report.updated}，未变化 {report.unchanged}，变更申请 {report.change_requests}"
    )


@registry_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--platform", type=click.Choice([p.value for p in Platform]), help="只导出该平台")
@click.option("--status", type=click.Choice([s.value for s in AccountStatus]), help="只导出该状态")
@click.option("--unit-id", type=int, help="只导出该单位")
@click.option("--overdue/--no-overdue", default=None, help="只导出（或排除）备案逾期的账号")
@with_appcontext
def export_command(
    file: Path, platform: str | None, status: str | None, unit_id: int | None, overdue: bool | None
) -> None:
    """导出台账到 FILE（按扩展名：.xlsx 或 .csv），可直接再导入。"""
    fmt = _format(file)
    flt = ledger.LedgerFilter(platform=platform, status=status, unit_id=unit_id, overdue=overdue)
    with file.open("wb") as out:
        count = importexport.export_ledger(None, flt, out, fmt)
    click.echo(f"已导出 {count} 个账号到 {file}")


@registry_cli.command("template")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), default="台账导入模板.xlsx")
def template_command(file: Path) -> None:
    """写出导入模板（XLSX）。"""
    file.write_bytes(importexport.template_workbook())
    click.echo(f"已写出模板 {file}")


@registry_cli.command("recount-deadlines")
@click.option("--year", type=int, required=True, help="刚录入节假日安排的年份，如 2027")
@click.option("--dry-run", is_flag=True, help="只列出将要改变的备案时限，不写入")
@with_appcontext
def recount_deadlines_command(year: int, dry_run: bool) -> None:
    """录入某年节假日安排后，重新计算曾按周一至周五估算的备案时限（每项写入账号历史与审计日志）。"""

    try:
        changed = recount.recount_filing_deadlines(year, dry_run=dry_run)
    except Invalid as exc:
        db.session.rollback()
        click.echo(f"错误：{exc.message}", err=True)
        sys.exit(1)
    for item in changed:
        click.echo(
            f"账号 {item.account_id}「{item.name}」：{item.old.isoformat()} → {item.new.isoformat()}"
            f"（自 {item.start.isoformat()} 起算）"
        )
    if dry_run:
        db.session.rollback()
        click.echo(f"试算：{len(changed)} 个备案时限将改变（未写入）")
    else:
        db.session.commit()
        click.echo(f"已重新计算：{len(changed)} 个备案时限改变")
