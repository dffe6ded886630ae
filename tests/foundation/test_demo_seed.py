"""`make run` starts again whatever accounts the registry has gained: the demo's sandbox seed
and the sandbox accept accounts without a 认证主体 or a platform uid (issue #19)."""

from __future__ import annotations

import json

from registry.models import Account, AccountStatus, Platform


def test_sandbox_accepts_null_optional_fields():
    from sandbox import create_sandbox_app

    client = create_sandbox_app({}).test_client()
    answer = client.post(
        "/_sandbox/accounts",
        json={"platform": "weibo", "uid": "5550001", "name": "无主体", "subject": None, "description": None},
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.get_json()["account"]["subject"] == ""
    bad = client.post("/_sandbox/accounts", json={"platform": "weibo", "uid": "5550002", "subject": 3})
    assert bad.status_code == 400  # a wrong type is still refused


def test_seed_file_with_incomplete_accounts_starts_the_sandbox(app, db_session, make_unit, tmp_path):
    from demo import sandbox_seed, seed
    from sandbox import create_sandbox_app
    from sandbox.__main__ import _seed
    from sandbox.common import EXTENSION_KEY

    seed()
    unit = make_unit("缺项单位")
    for uid, subject in (("7770001", None), (None, "缺项单位")):
        db_session.add(
            Account(
                platform=Platform.weibo,
                platform_uid=uid,
                name=f"缺项账号{uid}",
                unit_id=unit.id,
                status=AccountStatus.applying,
                verified_subject=subject,
            )
        )
    db_session.flush()
    bodies = sandbox_seed()
    assert all(body["uid"] for body in bodies)
    assert all(isinstance(body.get("subject", ""), str) for body in bodies)  # never null
    path = tmp_path / "sandbox-seed.json"
    path.write_text(json.dumps(bodies, ensure_ascii=False), encoding="utf-8")

    sandbox = create_sandbox_app({})
    _seed(sandbox, str(path))  # raised ValueError ("subject 必须是字符串") before the fix
    state = sandbox.extensions[EXTENSION_KEY]
    created = state.account("weibo", "7770001")
    assert created is not None and created.subject == "" and created.name == "缺项账号7770001"
    assert len([a for a in state.accounts.values() if a.name.startswith("缺项账号")]) == 1
