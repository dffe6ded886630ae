"""flask inspection run [--account ID …] / inspection import FILE / inspection rescan."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click
from flask.cli import AppGroup

from extensions import db
from oversight.discovery import ImportRowsInvalid
from oversight.inspection import postimport, rescan, service
from oversight.models import FINDING_LABELS, FindingKind

inspection_cli = AppGroup("inspection", help="巡检：读取每个台账账号在平台上的资料和发布，追溯三审、检查、防篡改")


@inspection_cli.command("run")
@click.option("--account", "account_ids", multiple=True, type=int, help="只巡检这些账号（可重复）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出每个账号的结果")
def run_command(account_ids: tuple[int, ...], as_json: bool) -> None:
    """现在巡检（默认：台账中全部运行中/变更中/停更公告期/已暂停账号）。"""
    ids = list(account_ids) or [i for i, _ in service.sweep_targets()]
    db.session.commit()
    results: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for outcome in service.inspect_accounts(ids, max_wait=60):
        account_id = outcome.account_id
        results[outcome.result] += 1
        kinds.update(outcome.kinds)
        if as_json:
            click.echo(json.dumps(outcome.as_dict(), ensure_ascii=False, default=str))
        elif outcome.result in ("error", "not_checkable"):
            why = (outcome.error or {}).get("message") or outcome.reason
            click.echo(f"  账号 {account_id}：{'读取失败' if outcome.result == 'error' else '无法巡检'}（{why}）")
    labels = {
        "checked": "已巡检",
        "error": "读取失败",
        "not_checkable": "无法巡检",
        "deferred": "限流推迟",
        "skipped": "跳过",
    }
    click.echo("巡检 " + str(len(ids)) + " 个账号：" + "，".join(f"{labels.get(k, k)} {v}" for k, v in results.items()))
    if kinds:
        click.echo("问题线索类型：" + "，".join(f"{_kind_label(k)} {v}" for k, v in sorted(kinds.items())))


def _kind_label(kind: str) -> str:
    try:
        return FINDING_LABELS[FindingKind(kind)]
    except (KeyError, ValueError):
        return kind


@inspection_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default=None, help="数据来源（第三方监测机构名称）")
def import_command(file: Path, source: str | None) -> None:
    """导入第三方监测机构导出的发布内容（CSV/XLSX），全部校验通过才写入。"""

    try:
        summary = postimport.import_posts(file.read_bytes(), file.name, source_ref=source)
    except ImportRowsInvalid as exc:
        db.session.rollback()
        for err in exc.errors[:50]:
            click.echo(f"第 {err['row']} 行 {err.get('column') or ''}：{err['reason']}", err=True)
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(
        f"导入 {summary['rows']} 条（新增 {summary['created']}，更新 {summary['updated']}），"
        f"其中台账账号的 {summary['rows_of_registered_accounts']} 条；下次巡检时读取。"
    )


@inspection_cli.command("rescan")
def rescan_command() -> None:
    """按当前词库复查近 INSPECTION_RESCAN_DAYS 天已发布的内容（词库变更后）。"""
    total = Counter()
    after_id = 0
    while True:
        summary = rescan.rescan(after_id=after_id)
        after_id = summary["last_id"]
        db.session.commit()
        total.update({k: summary[k] for k in ("scanned", "created", "resolved")})
        if not summary["more"]:
            break
    click.echo(f"复查 {total['scanned']} 条；新增线索 {total['created']}，自动解决 {total['resolved']}")
