"""`flask bootstrap` and `flask users create` ask for the password when --password is left out,
twice and without echo, so it stays out of the shell history (README, 生产安装)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

import config
from auth import service as auth_service
from auth.models import User
from extensions import db


def _user(name: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == name))


def test_bootstrap_asks_for_the_password_twice_and_signs_in_with_it(app: Any, db_session: Any) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["bootstrap", "--unit", "新安县人民政府", "--admin", "sysadmin"], input="Admin-pass-1\nAdmin-pass-1\n"
    )
    assert result.exit_code == 0, result.output
    assert "管理员密码（至少 8 位）" in result.output and "再输入一次" in result.output
    assert "Admin-pass-1" not in result.output  # not echoed
    assert "已创建顶层单位 新安县人民政府" in result.output
    admin = _user("sysadmin")
    assert admin is not None and auth_service.authenticate("sysadmin", "Admin-pass-1") is not None


def test_two_different_passwords_create_nothing(app: Any, db_session: Any) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["bootstrap", "--unit", "新安县人民政府", "--admin", "sysadmin"], input="Admin-pass-1\nAdmin-pass-2\n"
    )
    assert result.exit_code != 0
    assert "两次输入的密码不一致" in result.output
    assert _user("sysadmin") is None


def test_users_create_asks_when_the_password_is_left_out(app: Any, db_session: Any, make_unit: Any) -> None:
    make_unit(name="新安县教育局")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create", "zhang", "--unit", "新安县教育局", "--role", "operator"],
        input="Operator-pass-1\nOperator-pass-1\n",
    )
    assert result.exit_code == 0, result.output
    assert "已创建用户 zhang" in result.output
    assert auth_service.authenticate("zhang", "Operator-pass-1") is not None
    short = runner.invoke(
        args=["users", "create", "li", "--unit", "新安县教育局", "--role", "operator", "--password", "short"]
    )
    assert short.exit_code != 0 and "至少 8 位" in short.output
    assert _user("li") is None


def test_bootstrap_warns_when_the_development_keys_are_in_use(app: Any, db_session: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setitem(app.config, "SECRET_KEY", config.from_env()["SECRET_KEY"])  # what an unset variable gives
    monkeypatch.setitem(app.config, "FERNET_KEY", "")
    result = app.test_cli_runner().invoke(
        args=["bootstrap", "--unit", "新安县人民政府", "--admin", "sysadmin", "--password", "Admin-pass-1"]
    )
    assert result.exit_code == 0, result.output
    assert "未设置 SECRET_KEY" in result.output and "未设置 FERNET_KEY" in result.output


def test_bootstrap_with_its_own_keys_gives_no_warning(app: Any, db_session: Any, monkeypatch: Any) -> None:
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-real-secret-of-this-install")
    monkeypatch.setitem(app.config, "FERNET_KEY", "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=")
    result = app.test_cli_runner().invoke(
        args=["bootstrap", "--unit", "新安县人民政府", "--admin", "sysadmin", "--password", "Admin-pass-1"]
    )
    assert result.exit_code == 0, result.output
    assert "警告" not in result.output
