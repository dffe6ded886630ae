"""flask bootstrap (first run) and flask units create."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from auth import service as auth_service
from auth.cli import ask_password
from auth.models import Role, User
from common.errors import ApiError
from extensions import db
from registry.models import Unit, UnitKind
from registry.units import create_unit

units_cli = AppGroup("units", help="单位管理（命令行）")
KIND_CHOICES = click.Choice([k.value for k in UnitKind])


def _unit_data(name: str, parent: str | None, kind: str | None, credit_code: str | None, region: str | None) -> dict:
    parent_id = None
    if parent:
        parent_unit = db.session.scalar(sa.select(Unit).where(Unit.name == parent))
        if parent_unit is None:
            raise click.ClickException(f"上级单位不存在：{parent}")
        parent_id = parent_unit.id
    return {"name": name, "parent_id": parent_id, "kind": kind, "credit_code": credit_code or None, "region": region}


@units_cli.command("create")
@click.argument("name")
@click.option("--parent", default=None, help="上级单位名称")
@click.option("--kind", type=KIND_CHOICES, default=None, help="单位类型（默认 department 部门）")
@click.option("--credit-code", default=None, help="统一社会信用代码（18 位）")
@click.option("--region", default=None, help="所属地区")
def create(name: str, parent: str | None, kind: str | None, credit_code: str | None, region: str | None) -> None:
    """新建单位。"""
    name = name.strip()
    if not name:
        raise click.ClickException("单位名称不能为空")
    if credit_code and len(credit_code) != 18:
        raise click.ClickException("统一社会信用代码应为 18 位")
    try:
        unit = create_unit(_unit_data(name, parent, kind, credit_code, region))
    except ApiError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"已创建单位 {unit.name}（编号 {unit.id}）")


# config.py's development default of SECRET_KEY (`make run` needs none; production sets its own).
DEV_SECRET_KEY = "dev-only-change-me"  # noqa: S105 - the public placeholder, recognised here, not a secret


def _warn_about_default_keys() -> None:
    """A production install from an empty database should not run on the development keys (README)."""
    if current_app.config.get("SECRET_KEY") == DEV_SECRET_KEY:
        click.echo("警告：未设置 SECRET_KEY，正在使用开发默认值；生产环境必须设置（见 README“配置”）", err=True)
    if not current_app.config.get("FERNET_KEY"):
        click.echo("警告：未设置 FERNET_KEY，平台凭据的加密密钥由 SECRET_KEY 派生；生产环境必须设置", err=True)


@click.command("bootstrap")
@click.option("--unit", "unit_name", required=True, help="顶层单位名称（如 某某县人民政府）")
@click.option("--admin", "admin_name", required=True, help="第一个管理员的用户名")
@click.option("--password", default=None, help="管理员密码（至少 8 位）；不写时提示输入两次（不回显）")
@click.option("--display-name", default=None, help="管理员姓名（默认同用户名）")
@click.option("--kind", type=KIND_CHOICES, default=UnitKind.government.value, show_default=True)
@click.option("--credit-code", default=None, help="顶层单位的统一社会信用代码")
@with_appcontext
def bootstrap_command(  # noqa: PLR0917 - click passes each option positionally
    unit_name: str, admin_name: str, password: str | None, display_name: str | None, kind: str, credit_code: str | None
) -> None:
    """空数据库首次安装：建立顶层单位和第一个管理员（已有用户时拒绝执行）。"""
    if db.session.scalar(sa.select(sa.func.count()).select_from(User)):
        raise click.ClickException(
            "数据库中已有用户，bootstrap 只能在空数据库上执行一次。"
            "请用管理员账号登录后在“系统管理”（/admin）中管理单位和用户，"
            "或使用 flask units create / flask users create。"
        )
    _warn_about_default_keys()
    password = password if password is not None else ask_password("管理员密码（至少 8 位）")
    try:
        unit = db.session.scalar(sa.select(Unit).where(Unit.name == unit_name.strip()))
        if unit is None:
            unit = create_unit(_unit_data(unit_name.strip(), None, kind, credit_code, None))
        admin = auth_service.create_user(
            admin_name.strip(), unit_id=unit.id, roles=[Role.admin], password=password, display_name=display_name
        )
    except ApiError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"已创建顶层单位 {unit.name} 和管理员 {admin.username}。请登录后在“系统管理”中建立下级单位和用户。")
