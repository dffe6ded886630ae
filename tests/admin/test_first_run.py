"""A production install from an empty database, without seed-demo: the documented commands,
then the admin console in the pages (CSRF on), then the new operator signs in."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app import create_app
from audit.models import AuditEntry
from devkit import processes
from extensions import db
from registry.models import Unit

pytestmark = pytest.mark.slow

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite'}",
        "BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        "REDIS_URL": "",
        "SECRET_KEY": "first-run-test-secret",
        "MEDIA_DIR": str(tmp_path / "media"),
    }
    env.pop("GOVMEDIA_TEST_DB", None)
    return env


def _cli(env: dict[str, str], *args: str) -> Any:
    return processes.flask_cli(env, *args)


def _token(client: Any, path: str) -> str:
    match = CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def test_install_from_nothing_bootstrap_admin_pages_and_operator_login(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert _cli(env, "db", "upgrade").returncode == 0

    boot = _cli(env, "bootstrap", "--unit", "新安县人民政府", "--admin", "sysadmin", "--password", "Admin-pass-1")
    assert boot.returncode == 0, boot.stderr
    assert "已创建顶层单位 新安县人民政府" in boot.stdout

    again = _cli(env, "bootstrap", "--unit", "别的县", "--admin", "second", "--password", "Admin-pass-2")
    assert again.returncode != 0
    assert "只能在空数据库上执行一次" in again.stderr

    made = _cli(env, "units", "create", "新安县教育局", "--parent", "新安县人民政府", "--kind", "department")
    assert made.returncode == 0, made.stderr
    missing = _cli(env, "units", "create", "孤儿局", "--parent", "不存在的单位")
    assert missing.returncode != 0 and "上级单位不存在" in missing.stderr

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
            "BROKER_URL": "memory://",
            "SECRET_KEY": env["SECRET_KEY"],
            "RATELIMIT_STORAGE_URI": "memory://",
            "WTF_CSRF_ENABLED": True,
        }
    )
    try:
        client = app.test_client()
        response = client.post(
            "/login",
            data={"username": "sysadmin", "password": "Admin-pass-1", "csrf_token": _token(client, "/login")},
        )
        assert response.status_code == 302
        assert response.headers["Location"] == "/admin/"  # an admin lands on the admin console
        page = client.get("/admin/").get_data(as_text=True)
        assert "系统管理" in page and "单位" in page

        # a form without its CSRF token changes nothing
        refused = client.post("/admin/units", data={"name": "无令牌单位"})
        assert refused.status_code == 400 and "安全校验" in refused.get_data(as_text=True)

        with app.app_context():
            county_id = db.session.scalar(sa.select(Unit.id).where(Unit.name == "新安县人民政府"))
        response = client.post(
            "/admin/units",
            data={
                "name": "新安县城关镇人民政府",
                "parent_id": str(county_id),
                "kind": "town",
                "csrf_token": _token(client, "/admin/units"),
            },
        )
        assert response.status_code == 302
        tree = client.get("/admin/units").get_data(as_text=True)
        assert "新安县城关镇人民政府" in tree and "新安县教育局" in tree
        with app.app_context():
            town_id = db.session.scalar(sa.select(Unit.id).where(Unit.name == "新安县城关镇人民政府"))

        response = client.post(
            "/admin/users",
            data={
                "username": "zhang",
                "display_name": "张小明",
                "unit_id": str(town_id),
                "roles": ["operator"],
                "password": "Operator-pass-1",
                "csrf_token": _token(client, "/admin/users"),
            },
        )
        assert response.status_code == 302
        assert "张小明" in client.get("/admin/users").get_data(as_text=True)

        operator = app.test_client()
        response = operator.post(
            "/login",
            data={"username": "zhang", "password": "Operator-pass-1", "csrf_token": _token(operator, "/login")},
        )
        assert response.status_code == 302
        assert response.headers["Location"] == "/contents"  # an operator lands on the contents
        assert operator.get("/contents").status_code == 200
        assert operator.get("/admin/").status_code == 403

        with app.app_context():
            actions = set(db.session.scalars(sa.select(AuditEntry.action)))
        assert {"unit:create", "user:create", "user:login"} <= actions
        assert _cli(env, "audit", "verify").returncode == 0
    finally:
        with app.app_context():
            db.engine.dispose()
