# ruff: noqa: F811 - the fixtures are imported and then requested
"""Replayed 第三方平台 pushes, over HTTP against the sandbox (real DB): an ``unauthorized`` push
whose CreateTime is 11 minutes old, or an ``updateauthorized`` one 10 minutes ahead, is correctly
signed and encrypted but a replay — acknowledged, logged, and ignored: the grant is unchanged and
nothing is audited. The same push made now is applied."""

from __future__ import annotations

import logging
import time

from tests.oversight.test_inspection import unit  # noqa: F401 - fixture
from tests.oversight.test_inspection_wechat_component import COMPONENT, component  # noqa: F401 - fixture
from tests.oversight.test_wechat_component_authorisation import actions, ready, stored  # noqa: F401
from tests.oversight.test_wechat_component_errors import authorised


def push(sandbox, client, path, appid, created=None):
    body = {"component_appid": COMPONENT["component_appid"], "authorizer_appid": appid}
    if created is not None:
        body["create_time"] = created
    pushed = sandbox.call("POST", f"/_sandbox/wechat/component/{path}", json=body)
    answer = client.post("/interaction/push/wechat/component", query_string=pushed["query"], data=pushed["body"])
    assert answer.status_code == 200 and answer.get_data(as_text=True) == "success"


def test_replayed_grant_pushes_are_ignored(
    app, db_session, sandbox, ready, unit, make_account, make_user, client, caplog
):
    account, appid = authorised(db_session, sandbox, client, unit, make_account, make_user)
    grant = stored(account.id)

    with caplog.at_level(logging.WARNING):
        push(sandbox, client, "update-authorization", appid, created=int(time.time()) + 600)
        push(sandbox, client, "unauthorize", appid, created=int(time.time()) - 660)
    assert stored(account.id) == grant
    assert not actions(db_session, "account:wechat_component:updated", account.id)
    assert not actions(db_session, "account:wechat_component:unauthorized", account.id)
    replays = [r.getMessage() for r in caplog.records if "可能是重放" in r.getMessage()]
    assert len(replays) == 2 and "updateauthorized" in replays[0] and "unauthorized" in replays[1], replays

    # Within the window (a push a few minutes old is still WeChat's own): applied.
    push(sandbox, client, "unauthorize", appid, created=int(time.time()) - 240)
    assert stored(account.id) == {}
    assert actions(db_session, "account:wechat_component:unauthorized", account.id)
