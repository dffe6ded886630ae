"""Platform credentials: API, CLI and the admin form store them encrypted and never show a value."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from platforms.credentials import get_credentials
from platforms.models import AccountCredential
from registry.models import Account
from tests.conftest import PASSWORD

APP_ID = "wx5eca1d0c3e7f"
APP_SECRET = "sekret-app-7Q9xZ2"
ACCESS_TOKEN = "tok-weibo-Pq81LmZ"
BYTEDANCE = {
    "client_key": "aw-client-4f1e",
    "client_secret": "cs-dy-Vv33kk",
    "access_token": "act.dy-Nn91qq",
    "refresh_token": "rft.dy-Hh27ww",
    "open_id": "open-dy-1234",
}
SECRETS = (APP_SECRET, ACCESS_TOKEN, BYTEDANCE["client_secret"], BYTEDANCE["access_token"], BYTEDANCE["refresh_token"])


@pytest.fixture
def setup(db_session: Any, make_unit: Any, make_user: Any, api_as: Any, make_account: Any) -> Any:
    unit_a = make_unit(f"凭据测试甲县{uuid.uuid4().hex[:4]}")
    unit_b = make_unit(f"凭据测试乙县{uuid.uuid4().hex[:4]}")

    def account(platform: str, unit: Any = unit_a) -> Account:
        return make_account(unit, platform, credentials=False)

    users = {
        "admin": make_user(Role.admin, unit=unit_a),
        "operator": make_user(Role.operator, unit=unit_a),
        "auditor": make_user(Role.auditor),
        "other": make_user(Role.operator, unit=unit_b),
    }
    return {
        "wechat": account("wechat"),
        "weibo": account("weibo"),
        "douyin": account("douyin"),
        "kuaishou": account("kuaishou"),
        "users": users,
        "api": lambda who: api_as(users[who]),
    }


def put(api: Any, account_id: int, body: dict[str, Any]) -> Any:
    return api.client.put(f"/api/v1/accounts/{account_id}/credentials", headers=api.headers, json=body)


def credential_audits(db_session: Any, account_id: int) -> list[AuditEntry]:
    db_session.commit()  # audit entries are chained when the transaction commits
    return list(
        db_session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.action == "account:credentials:set", AuditEntry.object_id == str(account_id))
            .order_by(AuditEntry.id)
        )
    )


def last_audit_id(db_session: Any) -> int:
    db_session.commit()  # audit entries are chained when the transaction commits
    return db_session.scalar(sa.select(sa.func.max(AuditEntry.id))) or 0


def audits_since(db_session: Any, since: int) -> list[str]:
    """Actions recorded after ``since``, leaving out logins and API tokens the test itself made."""
    db_session.commit()  # audit entries are chained when the transaction commits
    return list(
        db_session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.id > since)
            .where(AuditEntry.action.not_like("user:%"), AuditEntry.action.not_like("api_token:%"))
        )
    )


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def login(client: Any, user: Any) -> None:
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


# ----------------------------------------------------------------------------- API


def test_admin_puts_credentials_and_nothing_echoes_them(client, db_session, setup):
    account = setup["wechat"]
    admin = setup["api"]("admin")
    response = put(admin, account.id, {"app_id": APP_ID, "app_secret": APP_SECRET})
    assert response.status_code in (200, 204), response.json
    expected = {"account_id": account.id, "configured": True, "needs_reauth": False, "fields": ["app_id", "app_secret"]}
    assert response.json == expected
    assert_no_secret(response.get_data(as_text=True))

    # What the adapters get back is exactly what was put.
    assert get_credentials(account.id) == {"app_id": APP_ID, "app_secret": APP_SECRET}

    # Nothing readable returns a value: account detail, status endpoint, the account page.
    for who in ("admin", "operator", "auditor"):
        api = setup["api"](who)
        detail = api.get(f"/api/v1/accounts/{account.id}")
        assert detail.status_code == 200
        assert_no_secret(detail.get_data(as_text=True))
        status = api.get(f"/api/v1/accounts/{account.id}/credentials")
        assert status.status_code == 200
        assert status.json["fields"] == ["app_id", "app_secret"] and status.json["configured"] is True
        assert_no_secret(status.get_data(as_text=True))
    login(client, setup["users"]["admin"])
    page = client.get(f"/registry/accounts/{account.id}").get_data(as_text=True)
    assert "平台凭据" in page and "已设置" in page and "app_secret" in page
    assert_no_secret(page)

    # At rest: only ciphertext, in the ORM and in the raw column.
    row = db_session.scalar(sa.select(AccountCredential).where(AccountCredential.account_id == account.id))
    raw = db_session.execute(
        sa.text("SELECT ciphertext FROM account_credentials WHERE account_id = :id"), {"id": account.id}
    ).scalar_one()
    for blob in (bytes(row.ciphertext), bytes(raw)):
        for plain in (APP_SECRET, APP_ID):
            assert plain.encode() not in blob

    # The audit log names the fields, never the values.
    entries = credential_audits(db_session, account.id)
    assert len(entries) == 1
    entry = entries[0]
    assert entry.after == {"fields": ["app_id", "app_secret"]}
    assert entry.actor_id == setup["users"]["admin"].id
    dumped = json.dumps([entry.before, entry.after, entry.actor_label, entry.object_id], ensure_ascii=False)
    assert APP_SECRET not in dumped and APP_ID not in dumped


def test_put_replaces_and_clears_needs_reauth(db_session, setup):
    account = setup["weibo"]
    admin = setup["api"]("admin")
    assert put(admin, account.id, {"access_token": "old-token-value"}).status_code == 200
    row = db_session.scalar(sa.select(AccountCredential).where(AccountCredential.account_id == account.id))
    row.needs_reauth = True
    db_session.flush()
    response = put(admin, account.id, {"access_token": ACCESS_TOKEN})
    assert response.status_code == 200
    assert response.json["needs_reauth"] is False
    assert get_credentials(account.id) == {"access_token": ACCESS_TOKEN}
    assert len(credential_audits(db_session, account.id)) == 2


def test_operator_gets_403_and_other_unit_gets_404(db_session, setup):
    account = setup["wechat"]
    before = last_audit_id(db_session)
    body = {"app_id": APP_ID, "app_secret": APP_SECRET}
    refused = put(setup["api"]("operator"), account.id, body)
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "forbidden"
    assert put(setup["api"]("auditor"), account.id, body).status_code == 403
    hidden = put(setup["api"]("other"), account.id, body)
    assert hidden.status_code == 404
    assert setup["api"]("other").get(f"/api/v1/accounts/{account.id}/credentials").status_code == 404
    assert put(setup["api"]("admin"), 10**9, body).status_code == 404
    assert db_session.scalar(sa.select(AccountCredential).where(AccountCredential.account_id == account.id)) is None
    assert audits_since(db_session, before) == []


# ----------------------------------------------------------------------------- CLI


def test_cli_set_with_fields_and_status(app, db_session, setup):
    account = setup["wechat"]
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "credentials",
            "set",
            str(account.id),
            "--field",
            f"app_id={APP_ID}",
            "--field",
            f"app_secret={APP_SECRET}",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "app_id" in result.output and "app_secret" in result.output
    assert APP_SECRET not in result.output and APP_ID not in result.output
    db_session.expire_all()
    assert get_credentials(account.id) == {"app_id": APP_ID, "app_secret": APP_SECRET}
    entry = credential_audits(db_session, account.id)[-1]
    assert entry.after == {"fields": ["app_id", "app_secret"]} and entry.actor_label == "cli"

    status = runner.invoke(args=["credentials", "status", str(account.id)])
    assert status.exit_code == 0, status.output
    assert "已设置" in status.output and "app_id、app_secret" in status.output
    assert "需要重新授权（needs_reauth）：否" in status.output
    assert APP_SECRET not in status.output and APP_ID not in status.output


def test_cli_status_unset_and_needs_reauth(app, db_session, setup):
    runner = app.test_cli_runner()
    unset = runner.invoke(args=["credentials", "status", str(setup["weibo"].id)])
    assert unset.exit_code == 0 and "未设置" in unset.output
    put(setup["api"]("admin"), setup["weibo"].id, {"access_token": ACCESS_TOKEN})
    row = db_session.scalar(sa.select(AccountCredential).where(AccountCredential.account_id == setup["weibo"].id))
    row.needs_reauth = True
    db_session.commit()
    flagged = runner.invoke(args=["credentials", "status", str(setup["weibo"].id)])
    assert "需要重新授权（needs_reauth）：是" in flagged.output and "access_token" in flagged.output
    assert ACCESS_TOKEN not in flagged.output
    missing = runner.invoke(args=["credentials", "status", "999999999"])
    assert missing.exit_code != 0 and "账号不存在" in missing.output


def test_cli_set_from_json_file_and_stdin(app, db_session, setup, tmp_path):
    account = setup["douyin"]
    path = tmp_path / "douyin.json"
    path.write_text(json.dumps({**BYTEDANCE, "expires_at": "2030-01-01T00:00:00+08:00"}), encoding="utf-8")
    runner = app.test_cli_runner()
    admin = setup["users"]["admin"]
    result = runner.invoke(
        args=["credentials", "set", str(account.id), "--from-file", str(path), "--user", admin.username]
    )
    assert result.exit_code == 0, result.output
    assert_no_secret(result.output)
    db_session.expire_all()
    stored = get_credentials(account.id)
    assert {k: stored[k] for k in BYTEDANCE} == BYTEDANCE
    assert stored["expires_at"] == 1893427200  # normalised to unix seconds
    assert credential_audits(db_session, account.id)[-1].actor_id == admin.id

    piped = runner.invoke(
        args=["credentials", "set", str(setup["weibo"].id), "--from-file", "-"],
        input=json.dumps({"access_token": ACCESS_TOKEN}),
    )
    assert piped.exit_code == 0, piped.output
    assert ACCESS_TOKEN not in piped.output
    assert get_credentials(setup["weibo"].id) == {"access_token": ACCESS_TOKEN}


def test_cli_prompts_without_echoing_secrets(app, db_session, setup):
    account = setup["wechat"]
    runner = app.test_cli_runner()
    result = runner.invoke(args=["credentials", "set", str(account.id)], input=f"{APP_ID}\n{APP_SECRET}\n")
    assert result.exit_code == 0, result.output
    assert "AppSecret" in result.output
    assert APP_SECRET not in result.output
    db_session.expire_all()
    assert get_credentials(account.id) == {"app_id": APP_ID, "app_secret": APP_SECRET}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--field", "app_id=wx1"], "缺少必填的凭据字段"),
        (["--field", "app_id=wx1", "--field", "app_secret=s", "--field", "access_token=zzz"], "不使用这些凭据字段"),
        (["--field", "no-equals-sign"], "key=value"),
        (["--field", "app_id=wx1", "--field", "app_secret=s", "--user", "nobody-here"], "用户不存在"),
    ],
)
def test_cli_set_refuses_bad_input_and_writes_nothing(app, db_session, setup, args, message):
    account = setup["wechat"]
    before = last_audit_id(db_session)
    result = app.test_cli_runner().invoke(args=["credentials", "set", str(account.id), *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "zzz" not in result.output
    db_session.expire_all()
    assert db_session.scalar(sa.select(AccountCredential).where(AccountCredential.account_id == account.id)) is None
    assert audits_since(db_session, before) == []


def test_cli_refuses_non_admin_user_and_platform_without_api(app, db_session, setup):
    runner = app.test_cli_runner()
    operator = setup["users"]["operator"]
    result = runner.invoke(
        args=["credentials", "set", str(setup["weibo"].id), "--field", "access_token=x", "--user", operator.username]
    )
    assert result.exit_code != 0 and "不是管理员" in result.output
    result = runner.invoke(args=["credentials", "set", str(setup["kuaishou"].id), "--field", "access_token=x"])
    assert result.exit_code != 0 and "没有发布接口" in result.output


# ----------------------------------------------------------------------------- the admin form


def test_account_page_shows_form_only_to_admin(client, db_session, setup):
    douyin = setup["douyin"]
    login(client, setup["users"]["admin"])
    page = client.get(f"/registry/accounts/{douyin.id}").get_data(as_text=True)
    assert "平台凭据（管理员）" in page and "未设置" in page
    for name in BYTEDANCE:
        assert f'name="{name}"' in page
    assert 'name="app_secret"' not in page
    assert 'name="client_secret" type="password"' in page
    wechat_page = client.get(f"/registry/accounts/{setup['wechat'].id}").get_data(as_text=True)
    assert 'name="app_id"' in wechat_page and 'name="app_secret" type="password"' in wechat_page
    client.post("/logout")

    login(client, setup["users"]["operator"])
    page = client.get(f"/registry/accounts/{douyin.id}").get_data(as_text=True)
    assert "平台凭据（管理员）" not in page and 'name="client_secret"' not in page


def test_admin_form_sets_credentials(client, db_session, setup):
    account = setup["wechat"]
    login(client, setup["users"]["admin"])
    response = client.post(
        f"/publishing/accounts/{account.id}/credentials", data={"app_id": APP_ID, "app_secret": APP_SECRET}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/registry/accounts/{account.id}#credentials")
    page = client.get(f"/registry/accounts/{account.id}").get_data(as_text=True)
    assert "已保存平台凭据" in page
    assert "已设置" in page and "<code>app_id</code>" in page and "<code>app_secret</code>" in page
    assert_no_secret(page)
    assert APP_ID not in page
    db_session.expire_all()
    assert get_credentials(account.id) == {"app_id": APP_ID, "app_secret": APP_SECRET}
    assert credential_audits(db_session, account.id)[-1].after == {"fields": ["app_id", "app_secret"]}


def test_admin_form_refuses_incomplete_set_with_chinese_flash(client, db_session, setup):
    account = setup["wechat"]
    login(client, setup["users"]["admin"])
    response = client.post(
        f"/publishing/accounts/{account.id}/credentials", data={"app_id": APP_ID}, follow_redirects=True
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "平台凭据未保存" in page and "缺少必填的凭据字段" in page
    assert db_session.scalar(sa.select(AccountCredential).where(AccountCredential.account_id == account.id)) is None


def test_admin_form_refused_for_operator_and_hidden_from_other_unit(client, db_session, setup):
    account = setup["wechat"]
    before = last_audit_id(db_session)
    data = {"app_id": APP_ID, "app_secret": APP_SECRET}
    login(client, setup["users"]["operator"])
    assert client.post(f"/publishing/accounts/{account.id}/credentials", data=data).status_code == 403
    client.post("/logout")
    login(client, setup["users"]["auditor"])
    assert client.post(f"/publishing/accounts/{account.id}/credentials", data=data).status_code == 403
    client.post("/logout")
    login(client, setup["users"]["other"])
    assert client.post(f"/publishing/accounts/{account.id}/credentials", data=data).status_code == 404
    db_session.expire_all()
    assert db_session.scalar(sa.select(AccountCredential).where(AccountCredential.account_id == account.id)) is None
    assert not credential_audits(db_session, account.id)
    assert audits_since(db_session, before) == []


def test_admin_form_requires_csrf_token(app, client, db_session, setup, monkeypatch):
    account = setup["weibo"]
    login(client, setup["users"]["admin"])
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    url = f"/publishing/accounts/{account.id}/credentials"
    refused = client.post(url, data={"access_token": ACCESS_TOKEN})
    assert refused.status_code == 400
    assert "CSRF" in refused.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.scalar(sa.select(AccountCredential).where(AccountCredential.account_id == account.id)) is None

    page = client.get(f"/registry/accounts/{account.id}").get_data(as_text=True)
    form = page[page.index('id="credentials"') :]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    accepted = client.post(url, data={"csrf_token": token, "access_token": ACCESS_TOKEN})
    assert accepted.status_code == 302
    db_session.expire_all()
    assert get_credentials(account.id) == {"access_token": ACCESS_TOKEN}


def test_admin_form_for_platform_without_api(client, db_session, setup):
    account = setup["kuaishou"]
    login(client, setup["users"]["admin"])
    page = client.get(f"/registry/accounts/{account.id}").get_data(as_text=True)
    assert "无需配置平台凭据" in page and 'name="access_token"' not in page
    response = client.post(
        f"/publishing/accounts/{account.id}/credentials", data={"access_token": "x"}, follow_redirects=True
    )
    assert "平台凭据未保存" in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(AccountCredential).where(AccountCredential.account_id == account.id)) is None
