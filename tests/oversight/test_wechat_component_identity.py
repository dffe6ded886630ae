# ruff: noqa: F811 - the fixtures are imported and then requested
"""Which 公众号 a 第三方平台 grant may be stored for, over HTTP against the sandbox (real DB).

Ledger ids of 公众号 are often the 原始ID (gh_…) or the 微信号, the AppID being known only from
stored credentials. A grant is stored only when the authorised 公众号 is provably the ledger's:
its AppID is the account's recorded one, or — the ledger knowing none — its 原始ID or 微信号 is the
ledger's platform uid, or its name is the account's name exactly (``api_get_authorizer_info``).
An AppID stored in another account's credentials is refused whatever the ledger knows. Every
refusal is audited and stores nothing."""

from __future__ import annotations

import uuid

from auth.models import Role
from publishers.credential_admin import set_credentials
from tests.oversight.test_inspection import plant, unit  # noqa: F401 - fixture
from tests.oversight.test_inspection_wechat_component import component  # noqa: F401 - fixture
from tests.oversight.test_wechat_component_authorisation import actions, login, ready, scan, start, stored  # noqa: F401


def _appid() -> str:
    return "wx" + uuid.uuid4().hex[:16]


def _authorise(client, account, uid):
    pc_url, _ = start(client, account)
    answer = client.get(scan(pc_url, uid))
    return answer.status_code, answer.get_data(as_text=True)


def test_original_id_or_alias_confirms_the_account(
    app, db_session, sandbox, ready, unit, make_account, make_user, client
):
    """Ledger uid = 原始ID (gh_…), then = 微信号: the sandbox's authorizer_info names it, the grant is stored."""
    by_gh, by_alias = f"gh_{uuid.uuid4().hex[:12]}", f"xian{uuid.uuid4().hex[:8]}"
    gh_appid, alias_appid = _appid(), _appid()
    first = make_account(unit, "wechat", uid=by_gh, credentials=False, name="示范县发布")
    second = make_account(unit, "wechat", uid=by_alias, credentials=False, name="示范县融媒")
    plant(sandbox, "wechat", by_gh, app_id=gh_appid, name="另起的名字")
    plant(sandbox, "wechat", by_alias, app_id=alias_appid, name="又一个名字")
    login(client, make_user(Role.operator, unit=unit))
    db_session.commit()

    status, text = _authorise(client, first, by_gh)
    assert status == 200 and f"授权成功：公众号（AppID {gh_appid}）" in text, text
    assert stored(first.id)["app_id"] == gh_appid
    status, text = _authorise(client, second, by_alias)
    assert status == 200 and f"授权成功：公众号（AppID {alias_appid}）" in text, text
    assert stored(second.id)["app_id"] == alias_appid


def test_exact_name_confirms_the_account(app, db_session, sandbox, ready, unit, make_account, make_user, client):
    uid, appid = f"gh_{uuid.uuid4().hex[:12]}", _appid()
    ledger_uid = f"老台账编号{uuid.uuid4().hex[:6]}"
    account = make_account(unit, "wechat", uid=ledger_uid, credentials=False, name="示范县发布厅")
    plant(sandbox, "wechat", uid, app_id=appid, name="示范县发布厅")
    login(client, make_user(Role.operator, unit=unit))
    db_session.commit()
    status, text = _authorise(client, account, uid)
    assert status == 200 and "授权成功" in text, text
    assert stored(account.id)["app_id"] == appid


def test_unconfirmable_gongzhonghao_is_refused_and_nothing_changes(
    app, db_session, sandbox, ready, unit, make_account, make_user, client
):
    """The ledger knows the 原始ID only; the administrator authorises another 公众号 nobody registered."""
    mine, stranger, appid = f"gh_{uuid.uuid4().hex[:12]}", f"gh_{uuid.uuid4().hex[:12]}", _appid()
    account = make_account(unit, "wechat", uid=mine, credentials=False, name="示范县发布")
    plant(sandbox, "wechat", stranger, app_id=appid, name="不相干的公众号")
    login(client, make_user(Role.operator, unit=unit))
    db_session.commit()
    status, text = _authorise(client, account, stranger)
    assert status == 400 and "授权未完成" in text, text
    assert "无法确认授权的公众号就是台账中的该账号：请先在台账补登其 AppID、原始ID 或微信号" in text, text
    assert "不相干的公众号" in text and "没有任何改变" in text
    assert stored(account.id) == {}
    (entry,) = actions(db_session, "account:wechat_component:refused", account.id)
    assert entry.after["reason"] == "unconfirmed" and entry.after["authorizer_appid"] == appid


def test_appid_stored_for_another_units_account_is_refused(
    app, db_session, sandbox, ready, unit, make_unit, make_account, make_user, client
):
    """Another unit's account keeps the AppID in its credentials only (ledger uid = 微信号): even
    when the names match, the grant is refused for this account."""
    appid, name = _appid(), "示范县发布"
    elsewhere = make_unit("别的县人民政府")
    theirs = make_account(elsewhere, "wechat", uid=f"bie{uuid.uuid4().hex[:8]}", credentials=False, name=name)
    plant(sandbox, "wechat", theirs.platform_uid, app_id=appid, name=name)
    set_credentials(theirs.id, {"app_id": appid, "app_secret": "s" * 32})
    account = make_account(unit, "wechat", uid=f"gh_{uuid.uuid4().hex[:12]}", credentials=False, name=name)
    login(client, make_user(Role.operator, unit=unit))
    db_session.commit()
    status, text = _authorise(client, account, theirs.platform_uid)
    assert status == 400 and f"授权的公众号（AppID {appid}）是台账中的另一个账号“{name}”" in text, text
    assert stored(account.id) == {}
    assert stored(theirs.id) == {"app_id": appid, "app_secret": "s" * 32}
    (entry,) = actions(db_session, "account:wechat_component:refused", account.id)
    assert entry.after["reason"] == "other_account"
