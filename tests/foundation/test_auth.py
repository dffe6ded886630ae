from __future__ import annotations

import sqlalchemy as sa

from auth.models import ApiToken, Role
from auth.service import issue_token, revoke_token
from extensions import limiter
from tests.conftest import PASSWORD


def test_login_page_is_chinese(client):
    response = client.get("/login")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "登录" in text and 'lang="zh-CN"' in text


def test_pages_require_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_success_and_failure(client, make_user):
    user = make_user(Role.operator)
    bad = client.post("/login", data={"username": user.username, "password": "wrong-password"})
    assert bad.status_code == 401
    assert "用户名或密码错误" in bad.get_data(as_text=True)
    good = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert good.status_code == 302
    assert client.get("/").status_code == 200


def test_login_cookie_flags(client, make_user):
    user = make_user(Role.operator)
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_open_redirect_refused(client, make_user):
    user = make_user(Role.operator)
    response = client.post("/login?next=https://evil.example/", data={"username": user.username, "password": PASSWORD})
    assert response.headers["Location"] == "/contents"  # the operator's own landing page, not the foreign site


def test_api_requires_token(client):
    response = client.get("/api/v1/units")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_token_shown_once_stored_hashed_and_revocable(client, db_session, make_user):
    user = make_user(Role.auditor)
    plaintext, token = issue_token(user)
    stored = db_session.scalar(sa.select(ApiToken.token_hash).where(ApiToken.id == token.id))
    assert plaintext not in stored and len(stored) == 64
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/units", headers=headers).status_code == 200
    revoke_token(token.id)
    assert client.get("/api/v1/units", headers=headers).status_code == 401


def test_csrf_required_on_login_form(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    user = make_user(Role.operator)
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_login_rate_limited(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    limiter.reset()
    make_user(Role.operator, username="ratelimited")
    codes = [
        client.post("/login", data={"username": "ratelimited", "password": "nope-nope"}).status_code for _ in range(5)
    ]
    limiter.reset()
    assert codes[:3] == [401, 401, 401]
    assert codes[3] == 429


def test_cli_users_create_and_token(app, db_session, make_unit):
    unit = make_unit("命令行测试单位")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "cli_user",
            "--unit",
            unit.name,
            "--role",
            "operator",
            "--role",
            "reviewer_1",
            "--password",
            "longenough1",
        ]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "token", "cli_user"])
    assert result.exit_code == 0
    assert result.output.strip().startswith("gm_")
    bad = runner.invoke(
        args=["users", "create", "x", "--unit", "不存在的单位", "--role", "operator", "--password", "longenough1"]
    )
    assert bad.exit_code != 0 and "单位不存在" in bad.output
