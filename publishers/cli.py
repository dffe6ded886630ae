"""flask credentials set / status: platform credentials per account, never printed."""

from __future__ import annotations

import json
from typing import Any

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from auth.models import Role, User
from common.errors import ApiError
from extensions import db
from platforms.types import PLATFORM_LABELS
from publishers import credential_admin
from registry.models import Account

credentials_cli = AppGroup("credentials", help="账号的平台凭据（加密保存，永不显示）")


def _account(account_id: int) -> Account:
    account = db.session.get(Account, account_id)
    if account is None:
        raise click.ClickException(f"账号不存在：{account_id}")
    return account


def _title(account: Account) -> str:
    return f"账号 {account.id}：{account.name}（{PLATFORM_LABELS.get(account.platform, account.platform.value)}）"


def _admin(username: str | None) -> User | None:
    if not username:
        return None
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.BadParameter(f"用户不存在：{username}", param_hint="--user")
    if not user.has_role(Role.admin):
        raise click.BadParameter(f"用户 {username} 不是管理员", param_hint="--user")
    return user


def _from_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            # Name the bad option by position only: the text may hold a secret.
            raise click.BadParameter("格式须为 key=value", param_hint="--field")
        values[key.strip()] = value
    return values


def _from_file(stream: Any) -> dict[str, Any]:
    try:
        data = json.load(stream)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise click.BadParameter(
            f"不是有效的 JSON（第 {getattr(exc, 'lineno', '?')} 行）", param_hint="--from-file"
        ) from None
    if not isinstance(data, dict):
        raise click.BadParameter('JSON 须为对象，如 {"app_id": "…", "app_secret": "…"}', param_hint="--from-file")
    bad = sorted(str(k) for k, v in data.items() if v is not None and not isinstance(v, str | int | float))
    if bad:
        raise click.BadParameter(f"这些字段的值须为字符串或数字：{'、'.join(bad)}", param_hint="--from-file")
    return data


def _prompt(platform: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in credential_admin.form_fields(platform):
        label = field["label"] if field["name"] in field["label"] else f"{field['label']} [{field['name']}]"
        if field["required"]:
            values[field["name"]] = click.prompt(label, hide_input=field["secret"])
        else:
            values[field["name"]] = click.prompt(
                f"{label}（可留空）", default="", show_default=False, hide_input=field["secret"]
            )
    return values


@credentials_cli.command("set")
@click.argument("account_id", type=int)
@click.option("--field", "pairs", multiple=True, metavar="KEY=VALUE", help="一个字段，可重复；值会留在命令历史中，慎用")
@click.option(
    "--from-file",
    "source",
    type=click.File("r", encoding="utf-8"),
    help='JSON 对象文件，如 {"app_id": "…", "app_secret": "…"}；"-" 表示标准输入',
)
@click.option("--user", "username", help="记入审计日志的管理员用户名；默认记为 cli")
def set_command(account_id: int, pairs: tuple[str, ...], source: Any, username: str | None) -> None:
    """设置（整体替换）账号 ACCOUNT_ID 的平台凭据。

    不给 --field 或 --from-file 时逐项提示输入（密钥不回显）。保存后只显示字段名，
    审计日志也只记录字段名，从不记录或显示值。
    """
    account = _account(account_id)
    platform = account.platform.value
    if credential_admin.fields_for(platform) is None:
        raise click.ClickException(f"{_title(account)}：该平台没有发布接口，无需配置平台凭据")
    actor = _admin(username)
    if source is None and not pairs:
        click.echo(f"{_title(account)}：请输入平台凭据（密钥不回显）")
        raw = _prompt(platform)
    else:
        raw = _from_file(source) if source is not None else {}
        raw.update(_from_pairs(pairs))
    try:
        values = credential_admin.clean(platform, raw)  # checks before any write: nothing to roll back
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    try:
        credential_admin.set_credentials(account.id, values, actor=actor, actor_label=None if actor else "cli")
    except ApiError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"已保存{_title(account)}的平台凭据（加密保存，值不显示）；字段：{'、'.join(sorted(values))}")


@credentials_cli.command("status")
@click.argument("account_id", type=int)
def status_command(account_id: int) -> None:
    """显示账号 ACCOUNT_ID 的平台凭据是否已设置、保存了哪些字段（只显示字段名）和是否需要重新授权。"""
    account = _account(account_id)
    info = credential_admin.status(account)
    click.echo(_title(account))
    if credential_admin.fields_for(account.platform.value) is None:
        click.echo("该平台没有发布接口，无需配置平台凭据")
    click.echo(f"平台凭据：{'已设置' if info['configured'] else '未设置'}")
    if info["configured"]:
        if not info["readable"]:
            click.echo("已保存的凭据无法用当前密钥（FERNET_KEY）解密，请重新设置")
        else:
            click.echo(f"已保存字段：{'、'.join(info['fields']) or '（无）'}")
        if info["missing"]:
            click.echo(f"缺少必填字段：{'、'.join(info['missing'])}")
    click.echo(f"需要重新授权（needs_reauth）：{'是' if info['needs_reauth'] else '否'}")
