"""``flask notify``: send reminders now, manage group robots, send a test message."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from extensions import db
from notify import reminders, robots
from notify.models import ROBOT_KINDS, RobotWebhook


@click.group("notify")
def notify_cli() -> None:
    """待办提醒：立即发送、群机器人设置。"""


@notify_cli.command("run")
@with_appcontext
def run_command() -> None:
    """立即生成并发送提醒（免打扰时段内只生成站内提醒，外部渠道等到时段结束）。"""
    result = reminders.run()
    if result["quiet"]:
        click.echo(f"新提醒 {result['created']} 条；现在是免打扰时段，{result['waiting']} 条邮件/机器人消息稍后发送")
    else:
        click.echo(
            f"新提醒 {result['created']} 条；发出 {result['sent']} 条，失败 {result['failed']} 条；"
            f"每日汇总邮件 {result['digests']} 封"
        )


@notify_cli.command("robot-add")
@click.option("--unit", "unit_id", type=int, required=True, help="单位 ID（本单位人员的提醒发到这个群）")
@click.option("--kind", type=click.Choice(ROBOT_KINDS), required=True, help="wecom（企业微信）或 dingtalk（钉钉）")
@click.option("--name", required=True, help="显示名称，如“教育局工作群”")
@click.option("--url", prompt="Webhook 地址", hide_input=True, help="机器人的 Webhook 地址（含 key / access_token）")
@click.option("--secret", default="", prompt="加签密钥（钉钉，没有请直接回车）", hide_input=True, show_default=False)
@with_appcontext
def robot_add(unit_id: int, kind: str, name: str, url: str, secret: str) -> None:
    """添加群机器人；地址和密钥加密保存，不回显。"""
    robot = robots.add(unit_id, kind, name, url, secret or None)
    db.session.commit()
    info = robots.describe(robot)
    signed = "已加签" if info["signed"] else "未加签"
    click.echo(f"已添加机器人 #{info['id']}（{info['kind_label']}，{info['host']}，{signed}）")


@notify_cli.command("robot-list")
@with_appcontext
def robot_list() -> None:
    """列出群机器人（不显示地址中的密钥）。"""
    for robot in db.session.scalars(sa.select(RobotWebhook).order_by(RobotWebhook.id)):
        info = robots.describe(robot)
        state = "启用" if info["enabled"] else "停用"
        click.echo(f"#{info['id']} 单位 {info['unit_id']} {info['kind_label']} {info['name']} {info['host']} {state}")


@notify_cli.command("robot-disable")
@click.argument("robot_id", type=int)
@with_appcontext
def robot_disable(robot_id: int) -> None:
    """停用一个群机器人。"""
    robot = db.session.get(RobotWebhook, robot_id)
    if robot is None:
        raise click.ClickException(f"没有机器人 #{robot_id}")
    robots.set_enabled(robot, False)
    db.session.commit()
    click.echo(f"已停用机器人 #{robot_id}")
