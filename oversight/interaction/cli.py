"""``flask interaction poll [--account ID]``: read comments, refresh channels and findings."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from extensions import db
from oversight.interaction import service

interaction_cli = AppGroup("interaction", help="互动回应：读取评论与私信，检查超期未回复和互动渠道")


@interaction_cli.command("poll")
@click.option("--account", "account_id", type=int, default=None, help="只检查这个账号（编号）")
def poll_command(account_id: int | None) -> None:
    """Poll every monitored account (or one) now, in this process."""

    targets = service.poll_targets(account_id)
    db.session.commit()
    if account_id is not None and not targets:
        raise click.ClickException(f"账号 {account_id} 不存在或不在监测范围内（运行中/变更中/停更公告期）")
    totals = {"accounts": 0, "new_items": 0, "unreadable": 0}
    for target in targets:
        outcome = poll_one(target)
        totals["accounts"] += 1
        totals["new_items"] += outcome.new_items
        totals["unreadable"] += 0 if outcome.comments_readable else 1
        click.echo(json.dumps(outcome.as_dict(), ensure_ascii=False))
    click.echo(
        f"检查 {totals['accounts']} 个账号，新增评论/私信 {totals['new_items']} 条，"
        f"{totals['unreadable']} 个账号无法通过接口读取评论"
    )


def poll_one(account_id: int):  # type: ignore[no-untyped-def]
    """prepare → commit → ask the platform → apply → commit (what the task runs too)."""

    probe = service.prepare(account_id)
    db.session.commit()
    if probe is None:
        return service.PollOutcome(account_id)
    fetched = service.fetch(probe)
    outcome = service.apply(fetched)
    db.session.commit()
    return outcome
