"""``flask scoring …``: validate and load rules versions, compute scores, draw the 抽查 sample."""

from __future__ import annotations

import json
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from auth.models import User
from common.errors import ApiError
from common.timefmt import bj
from extensions import db
from oversight.scoring import rules, schedule, service

scoring_cli = AppGroup("scoring", help="考评：检查指标规则、计分、抽查")
rules_cli = AppGroup("rules", help="考评规则文件（YAML）：校验、载入新版本、查看历史")
scoring_cli.add_command(rules_cli)


def _actor(username: str | None):  # type: ignore[no-untyped-def]

    if not username:
        return None
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"用户 {username} 不存在")
    return user


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"无法读取 {path}：{exc}") from None


@rules_cli.command("validate")
@click.argument("path")
def validate_command(path: str) -> None:
    """Check a rules file without loading it."""

    try:
        parsed = rules.parse(_read(path))
    except rules.RulesError as exc:
        raise click.ClickException(f"{exc.message}\n{json.dumps(exc.details, ensure_ascii=False, indent=2)}") from None
    inds = parsed.data["indicators"]
    click.echo(
        f"校验通过：版本 {parsed.version}，单项否决 {len(parsed.data['veto'])} 项，"
        f"指标 {len(inds)} 个、扣分项 {sum(len(i['items']) for i in inds)} 个，合格线 {parsed.pass_line:g}"
    )


@rules_cli.command("load")
@click.argument("path")
@click.option("--by", "username", required=True, help="载入人（用户名，记入审计日志）")
@click.option("--note", default=None, help="说明（如依据的文件）")
def load_command(path: str, username: str, note: str | None) -> None:
    """Validate and load a rules file as a new version (new scores use it; old ones keep theirs)."""

    actor = _actor(username)
    try:
        row = service.load_rules(_read(path), actor, note=note, label=f"cli:{username}")
    except ApiError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.message} {json.dumps(exc.detail, ensure_ascii=False)}") from None
    db.session.commit()
    click.echo(f"已载入规则版本 {row.version}（sha256 {row.sha256[:12]}…）；之后计算的分数使用此版本")


@rules_cli.command("list")
def list_command() -> None:
    """Loaded rules versions, newest first."""

    rows = service.rules_history()
    if not rows:
        service.current_rules()
        db.session.commit()
        rows = service.rules_history()
    for i, row in enumerate(rows):
        mark = "（当前）" if i == 0 else ""
        click.echo(f"{row.version}{mark}\t{bj(row.loaded_at)}（北京时间）\t{row.loaded_by_label}\t{row.note or ''}")


@scoring_cli.command("compute")
@click.option("--period", default=None, help="季度 2026Q4 或月份 2026-11（默认本季度）")
@click.option("--account", "account_id", type=int, default=None, help="只计算这个账号（编号）")
def compute_command(period: str | None, account_id: int | None) -> None:
    """Score every monitored account for the period with the current rules."""

    try:
        p = service.parse_period(period or service.current_quarter())
        summary = service.compute(p, None, account_id=account_id, label="cli:scoring")
    except ApiError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(
        f"{p.label}：计算 {summary['accounts']} 个账号（规则版本 {summary['rules_version']}），"
        f"合格 {summary['passed']} 个，单项否决 {summary['vetoed']} 个"
    )


@scoring_cli.command("run")
@click.option(
    "--period",
    default=None,
    help="只做这一期：已结束的季度在检查点计分，进行中的季度暂计分，"
    "月份 2026-12 抽取该月抽查样本（默认：定时任务的全部步骤）",
)
def run_command(period: str | None) -> None:
    """The scheduled round now: check-point scores, today's provisional scores, the month's draw.

    Idempotent: what is done already is not done again.
    """

    try:
        steps = schedule.run(period=period)
    except ApiError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    for step in steps:
        click.echo(schedule.describe(step))
