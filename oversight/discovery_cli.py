"""flask discovery import FILE / discovery run; flask monitoring activity / closure / flag-overdue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from extensions import db
from oversight import discovery, ledger_checks, monitoring

discovery_cli = AppGroup("discovery", help="账号发现：第三方名单导入、平台检索，并与台账比对")
monitoring_cli = AppGroup("monitoring", help="账号监测：更新情况、关停复核")


def _echo_summary(summary: dict[str, Any]) -> None:
    f = summary["findings"]
    click.echo(
        f"核对平台账号 {summary['accounts_seen']} 个；问题线索：新增 {f['created']}，更新 {f['updated']}，"
        f"重新打开 {f['reopened']}，自动解决 {f['resolved']}，已关闭未变 {f['unchanged_closed']}"
    )
    by_kind = {k: v for k, v in (summary.get("findings_by_kind") or {}).items() if v}
    if by_kind:
        click.echo("按类型：" + "，".join(f"{k} {v}" for k, v in sorted(by_kind.items())))
    for platform, info in (summary.get("platforms") or {}).items():
        if isinstance(info, dict):
            click.echo(f"  {platform}: {info.get('status')}，检索词 {info.get('keywords')}，发现 {info.get('found')}")
    for err in summary.get("errors") or []:
        click.echo(f"  检索失败 {err.get('platform')}「{err.get('keyword')}」：{err.get('message') or err.get('code')}")


@discovery_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default=None, help="名单来源（第三方机构名称）")
def import_command(file: Path, source: str | None) -> None:
    """导入第三方监测名单（CSV/XLSX），全部校验通过才写入，然后与台账比对。"""
    try:
        summary = discovery.import_list(file.read_bytes(), file.name, source_ref=source)
    except discovery.ImportRowsInvalid as exc:
        db.session.rollback()
        for err in exc.errors[:200]:
            click.echo(f"第 {err['row']} 行 {err.get('column') or ''}：{err['reason']}", err=True)
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"已导入 {summary['rows']} 行。")
    _echo_summary(summary)


@discovery_cli.command("run")
@click.option("--platform", "platforms", multiple=True, help="只检索这些平台（可重复）")
@click.option("--keyword", "keywords", multiple=True, help="额外检索词（可重复）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出运行结果")
def run_command(platforms: tuple[str, ...], keywords: tuple[str, ...], as_json: bool) -> None:
    """按单位名称和认证主体在各平台检索账号，并与台账比对。"""

    def echo(done: int, total: int | None = None, message: str | None = None, *, force: bool = False) -> None:
        if message and not as_json:
            click.echo(message)

    summary = discovery.run_search(list(platforms) or None, keywords, progress=echo)
    db.session.commit()
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    else:
        _echo_summary(summary)


def _run_checks(ids: list[int], prepare_fetch_apply: Any, label: str) -> None:
    counts: dict[str, int] = {}
    created = resolved = 0
    for account_id in ids:
        probe = monitoring.prepare_probe(account_id)
        db.session.commit()
        if probe is None:
            continue
        outcome = prepare_fetch_apply(probe)
        db.session.commit()
        counts[outcome.result] = counts.get(outcome.result, 0) + 1
        created += len(outcome.created) + len(outcome.reopened)
        resolved += len(outcome.resolved)
        if outcome.error:
            click.echo(f"  账号 {account_id}：{outcome.error.get('message')}", err=True)
    names = {"checked": "已检查", "error": "失败", "deferred": "限流顺延", "skipped": "跳过"}
    detail = "，".join(f"{names.get(k, k)} {v}" for k, v in sorted(counts.items()))
    click.echo(
        f"{label}：共 {len(ids)} 个账号"
        + (f"（{detail}）" if detail else "")
        + f"；新增/重开问题线索 {created} 条，自动解决 {resolved} 条"
    )


@monitoring_cli.command("activity")
@click.option("--account", "account_ids", multiple=True, type=int, help="只检查这些账号（可重复）")
def activity_command(account_ids: tuple[int, ...]) -> None:
    """检查运行中账号的更新情况（7天预警、14天单项否决、90天僵尸号）。"""
    ids = list(account_ids) or monitoring.activity_targets()
    db.session.commit()
    _run_checks(
        ids,
        lambda probe: monitoring.apply_activity(monitoring.fetch_activity(probe, max_wait=60)),
        "更新监测",
    )


@monitoring_cli.command("closure")
@click.option("--account", "account_ids", multiple=True, type=int, help="只检查这些账号（可重复）")
def closure_command(account_ids: tuple[int, ...]) -> None:
    """复核已关停账号是否仍可访问或仍在发布。"""
    ids = list(account_ids) or monitoring.closure_targets()
    db.session.commit()
    _run_checks(
        ids,
        lambda probe: monitoring.apply_closure(monitoring.fetch_closure(probe, max_wait=60)),
        "关停复核",
    )


@monitoring_cli.command("flag-overdue")
def flag_overdue_command() -> None:
    """为备案逾期的账号生成“备案逾期”线索，已备案的自动办结。"""
    opened, resolved = ledger_checks.flag_overdue_filings()
    db.session.commit()
    click.echo(f"备案逾期线索：在办 {opened}，本次办结 {resolved}")
