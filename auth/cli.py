"""flask users create / token / revoke-token / list."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from auth import service
from auth.models import Role, User, unit_model
from common.errors import ApiError
from extensions import db

users_cli = AppGroup("users", help="用户与 API 令牌管理")


def ask_password(label: str) -> str:
    """A password typed twice without echo, so it stays out of the shell history."""
    first = click.prompt(label, hide_input=True)
    if click.prompt("再输入一次", hide_input=True) != first:
        raise click.ClickException("两次输入的密码不一致，未作任何修改")
    return first


@users_cli.command("create")
@click.argument("username")
@click.option("--unit", "unit_name", required=True, help="所属单位名称")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", default=None, help="初始密码（至少 8 位）；不写时提示输入两次（不回显）")
@click.option("--display-name", default=None)
def create(
    username: str, unit_name: str, roles: tuple[str, ...], password: str | None, display_name: str | None
) -> None:
    """创建用户。"""
    unit_cls = unit_model()
    unit = db.session.scalar(sa.select(unit_cls).where(unit_cls.name == unit_name))
    if unit is None:
        raise click.ClickException(f"单位不存在：{unit_name}")
    password = password if password is not None else ask_password("初始密码（至少 8 位）")
    try:
        user = service.create_user(username, unit_id=unit.id, roles=roles, password=password, display_name=display_name)
    except ApiError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"已创建用户 {user.username}（{unit.name}；角色：{', '.join(sorted(roles))}）")


@users_cli.command("token")
@click.argument("username")
@click.option("--name", default="cli", help="令牌用途说明")
def token(username: str, name: str) -> None:
    """为用户签发新的 API 令牌（只显示这一次）。"""
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"用户不存在：{username}")
    plaintext, _ = service.issue_token(user, name=name)
    db.session.commit()
    click.echo(plaintext)


@users_cli.command("revoke-token")
@click.argument("token_id", type=int)
def revoke_token(token_id: int) -> None:
    """吊销 API 令牌。"""
    try:
        service.revoke_token(token_id)
    except ApiError as exc:
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"已吊销令牌 {token_id}")


@users_cli.command("list")
def list_users() -> None:
    """列出用户。"""
    for user in db.session.scalars(sa.select(User).order_by(User.id)):
        click.echo(f"{user.id}\t{user.username}\t{user.unit.name}\t{','.join(sorted(user.roles))}")
